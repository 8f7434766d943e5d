using MemoryLab.Experiments;
using MemoryLab.Targets;

namespace StretchedKernelExample;

/// <summary>
/// <c>data: {kind: stretched-exp, beta: β}</c>: the linear functional y_t = Σ_s ρ(s) x_{t−s} (Li et al., ICLR 2021, §2)
/// of the stretched exponential ρ(t) = exp(−t^β), white-noise input. β = 1 is the exponential kernel; for β &lt; 1 the
/// tail decays more slowly than any exponential.
/// </summary>
public sealed class StretchedExpData : IDataKind
{
    public string Name => "stretched-exp";
    public string Description => "y_t = Σ_s ρ(s) x_{t−s} with the stretched exponential ρ(t) = exp(−t^β), white-noise input";

    public DataSpec Bind(SpecNode data) => new Spec(
        data.GetInt("time", 64, min: 1, doc: "sequence length T"),
        data.GetDouble("beta", 1.0, above: 0, max: 1, doc: "the stretch exponent β of ρ(t) = exp(−t^β)"));

    private sealed record Spec(int Time, double Beta) : DataSpec(Time)
    {
        public override int InputFeatures => 1;
        public override int OutputFeatures => 1;

        public override ISequenceDataset<T> Create<T>(ulong seed) =>
            new LinearFunctionalDataset<T>(MemoryKernel.FromFunction(t => Math.Exp(-Math.Pow(t, Beta)), name: $"stretched-exp β={Beta}"), Time, dt: 1, seed);
    }
}
