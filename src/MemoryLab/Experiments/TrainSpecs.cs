using System.Numerics;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Training;

namespace MemoryLab.Experiments;

/// <summary>A data kind in one type (what a plugin exports): its name and the binder of its <c>data:</c> section.</summary>
public interface IDataKind
{
    /// <summary>The name a <c>data:</c> section's <c>kind</c> gives.</summary>
    string Name { get; }
    /// <summary>One line on what the data is, which <c>memlab kinds</c> prints (empty unless given).</summary>
    string Description => "";
    /// <summary>Reads the section's keys (only its own: any other is an error at its line).</summary>
    DataSpec Bind(SpecNode section);
}

/// <summary>
/// Where a training run's sequences come from: the spec's <c>data:</c> section. Each kind is a record that binds its
/// own keys, knows its feature counts and creates the dataset. Every kind reads <c>time</c> (sequence length T).
/// </summary>
/// <param name="Time">Sequence length T.</param>
public abstract record DataSpec(int Time)
{
    /// <summary>The built-in data kinds, by name (default <c>teacher</c>): a new family each call, so kinds registered
    /// in one (<see cref="IDataKind"/>) reach only the experiments given that family.</summary>
    public static SpecKinds<DataSpec> CreateKinds() => new("teacher",
        ("teacher", "the linear teacher h_{t+1} = λ h_t + B x_t, y_t = Re(C h_t) of Zucchet & Orvieto (NeurIPS 2024) §5", TeacherDataSpec.Bind),
        ("linear-functional", "y_t = Σ_s ρ(s) x_{t−s} of a named memory kernel ρ, white-noise input (Li et al., ICLR 2021, §3)", LinearFunctionalDataSpec.Bind),
        ("tanh-teacher", "a random tanh RNN as the teacher, one input and one output", TanhTeacherDataSpec.Bind),
        ("lorenz96", "two-scale Lorenz-96: forcings in, slow variables out (Li et al., ICLR 2021, §5)", Lorenz96DataSpec.Bind));

    /// <summary>The built-in data kinds (for describing and for tools that read a data section without a catalog of their own).</summary>
    public static SpecKinds<DataSpec> Kinds { get; } = CreateKinds();

    /// <summary>Input features per step.</summary>
    public abstract int InputFeatures { get; }

    /// <summary>Target features per step.</summary>
    public abstract int OutputFeatures { get; }

    /// <summary>The dataset; batches are a pure function of (<paramref name="seed"/>, step).</summary>
    public abstract ISequenceDataset<T> Create<T>(ulong seed) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Reads <c>time</c>, the key every data kind has.</summary>
    protected static int BindTime(SpecNode d) => d.GetInt("time", 300, min: 1, max: MaxTime, doc: "sequence length T");

    /// <summary>Longest sequence a data kind makes.</summary>
    public const int MaxTime = 1 << 24;

    /// <summary>Largest feature or state size of a data kind.</summary>
    public const int MaxSize = 1 << 16;
}

/// <summary><c>kind: teacher</c>: the linear teacher of Zucchet &amp; Orvieto (NeurIPS 2024) §5 (<see cref="TeacherLinearSystem{T}"/>);
/// its defaults are <see cref="TeacherOptions"/>'s.</summary>
/// <param name="Time">Sequence length T.</param>
/// <param name="Teacher">Teacher sizes, ν₀, θ₀ and the teacher's own seed.</param>
public sealed record TeacherDataSpec(int Time, TeacherOptions Teacher) : DataSpec(Time)
{
    internal static TeacherDataSpec Bind(SpecNode d)
    {
        var defaults = new TeacherOptions();
        return new(BindTime(d), new TeacherOptions
        {
            StateSize = d.GetInt("state_size", defaults.StateSize, min: 1, max: MaxSize, doc: "the teacher's hidden (complex) units"),
            InputSize = d.GetInt("input_size", defaults.InputSize, min: 1, max: MaxSize, doc: "input features per step"),
            OutputSize = d.GetInt("output_size", defaults.OutputSize, min: 1, max: MaxSize, doc: "target features per step"),
            Nu0 = d.GetDouble("nu0", defaults.Nu0, min: 0, below: 1, doc: "the teacher's eigenvalue magnitudes lie in [ν₀, 1): its memory grows as ν₀ → 1"),
            Theta0 = d.GetDouble("theta0", defaults.Theta0, above: 0, max: Math.PI, doc: "the teacher's eigenvalue phases lie in [0, θ₀]"),
            Seed = (ulong)d.GetLong("teacher_seed", (long)defaults.Seed, min: 0, doc: "the teacher's own seed (the run's seed draws the data)"),
        });
    }

    /// <inheritdoc />
    public override int InputFeatures => Teacher.InputSize;
    /// <inheritdoc />
    public override int OutputFeatures => Teacher.OutputSize;
    /// <inheritdoc />
    public override ISequenceDataset<T> Create<T>(ulong seed) => new TeacherLinearSystem<T>(Teacher, seed, Time);
}

/// <summary><c>kind: linear-functional</c>: y_t = Σ_s ρ(s) x_{t−s} of a named memory kernel (Li et al., ICLR 2021, §3).</summary>
/// <param name="Time">Sequence length T.</param>
/// <param name="Kernel">A kernel name of <see cref="MemoryKernel.FromName"/>.</param>
/// <param name="Dt">Sampling step of the kernel.</param>
public sealed record LinearFunctionalDataSpec(int Time, string Kernel, double Dt) : DataSpec(Time)
{
    internal static LinearFunctionalDataSpec Bind(SpecNode d)
    {
        var spec = new LinearFunctionalDataSpec(BindTime(d),
            d.GetString("kernel", "exp", doc: "the memory kernel ρ by name: exp, pol, shift, twoparts, airy, sin, geometric, pol-wang, pol-tanh (docs/memory-kernels.md)"),
            d.GetDouble("dt", 1.0, above: 0, doc: "sampling step of the kernel: ρ is read at s·dt"));
        try { MemoryKernel.FromName(spec.Kernel); }
        catch (ArgumentException e) { throw d.Error("kernel", e.Message); }
        return spec;
    }

    /// <inheritdoc />
    public override int InputFeatures => 1;
    /// <inheritdoc />
    public override int OutputFeatures => 1;
    /// <inheritdoc />
    public override ISequenceDataset<T> Create<T>(ulong seed) => new LinearFunctionalDataset<T>(MemoryKernel.FromName(Kernel), Time, Dt, seed);
}

/// <summary><c>kind: tanh-teacher</c>: a random tanh RNN as the teacher (<see cref="TanhRnnTeacher{T}"/>), one input and one output.</summary>
/// <param name="Time">Sequence length T.</param>
/// <param name="Hidden">The teacher's hidden units.</param>
/// <param name="TeacherSeed">The teacher's own seed (the run's seed draws the data).</param>
public sealed record TanhTeacherDataSpec(int Time, int Hidden, ulong TeacherSeed) : DataSpec(Time)
{
    internal static TanhTeacherDataSpec Bind(SpecNode d) =>
        new(BindTime(d), d.GetInt("hidden", 16, min: 1, max: MaxSize, doc: "the teacher's hidden units"),
            (ulong)d.GetLong("teacher_seed", 42, min: 0, doc: "the teacher's own seed (the run's seed draws the data)"));

    /// <inheritdoc />
    public override int InputFeatures => 1;
    /// <inheritdoc />
    public override int OutputFeatures => 1;
    /// <inheritdoc />
    public override ISequenceDataset<T> Create<T>(ulong seed) => new TanhRnnTeacher<T>(1, Hidden, 1, Time, teacherSeed: TeacherSeed, dataSeed: seed);
}

/// <summary><c>kind: lorenz96</c>: two-scale Lorenz-96 with the default <see cref="Lorenz96Settings"/> (forcings in, slow variables out).</summary>
/// <param name="Time">Sequence length T.</param>
public sealed record Lorenz96DataSpec(int Time) : DataSpec(Time)
{
    private static readonly Lorenz96Settings Settings = new();

    internal static Lorenz96DataSpec Bind(SpecNode d) => new(BindTime(d));

    /// <inheritdoc />
    public override int InputFeatures => Settings.K;
    /// <inheritdoc />
    public override int OutputFeatures => Settings.K;
    /// <inheritdoc />
    public override ISequenceDataset<T> Create<T>(ulong seed) => new Lorenz96Dataset<T>(Time, seed, Settings);
}

/// <summary>
/// The optimiser of a training spec: the <c>optimizer:</c> section. Every kind reads the peak learning rate <c>lr</c>,
/// <c>weight_decay</c>, <c>clip_norm</c> (0 = off) and per-group rules <c>groups: {GROUP: {lr_factor, weight_decay}}</c>.
/// </summary>
/// <param name="LearningRate">Peak learning rate (the schedule scales it).</param>
/// <param name="WeightDecay">Weight decay λ.</param>
/// <param name="ClipNorm">Global gradient-norm clip (0 = off).</param>
/// <param name="Groups">Per-group learning-rate factors and weight decays.</param>
public abstract record OptimizerSpec(double LearningRate, double WeightDecay, double ClipNorm, IReadOnlyList<ParameterGroupRule> Groups)
{
    /// <summary>The optimiser kinds, by name (default <c>adam</c>).</summary>
    public static SpecKinds<OptimizerSpec> Kinds { get; } = new("adam",
        ("adam", "Adam (Kingma & Ba, 2015); weight decay is added to the gradient", o => AdamSpec.Bind(o, decoupled: false, defaultWeightDecay: 0)),
        ("adamw", "AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay", o => AdamSpec.Bind(o, decoupled: true, defaultWeightDecay: 0.05)),
        ("sgd", "stochastic gradient descent with heavy-ball momentum", SgdSpec.Bind));

    /// <summary>The optimiser over θ laid out as <paramref name="layout"/>.</summary>
    public abstract Optimizer<T> Create<T>(ParameterLayout layout) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Reads the keys every optimiser has; <paramref name="defaultWeightDecay"/> is the kind's own default.</summary>
    protected static (double Lr, double WeightDecay, double ClipNorm, IReadOnlyList<ParameterGroupRule> Groups) BindCommon(SpecNode o, double defaultWeightDecay)
    {
        var groups = new List<ParameterGroupRule>();
        if (o.OptionalChild("groups", doc: "per parameter group (e.g. recurrent, dense): {GROUP: {lr_factor: 0.5, weight_decay: 0}}") is { } g)
            foreach (var name in g.Keys)
            {
                var rule = g.Child(name);
                groups.Add(new ParameterGroupRule(name, rule.GetDouble("lr_factor", 1.0, min: 0), rule.Has("weight_decay") ? rule.GetDouble("weight_decay", 0, min: 0) : null));
            }
        return (o.GetDouble("lr", 1e-3, above: 0, doc: "peak learning rate (the schedule scales it)"),
            o.GetDouble("weight_decay", defaultWeightDecay, min: 0, doc: "weight decay λ"),
            o.GetDouble("clip_norm", 0.0, min: 0, doc: "clip the gradient's global norm to this (0 = off)"), groups);
    }
}

/// <summary><c>kind: adam</c> (weight decay added to the gradient) and <c>kind: adamw</c> (decoupled weight decay, default 0.05).</summary>
/// <param name="LearningRate">Peak learning rate.</param>
/// <param name="WeightDecay">Weight decay λ.</param>
/// <param name="ClipNorm">Global gradient-norm clip (0 = off).</param>
/// <param name="Groups">Per-group rules.</param>
/// <param name="Beta1">β₁.</param>
/// <param name="Beta2">β₂.</param>
/// <param name="Epsilon">ε.</param>
/// <param name="Decoupled">True for AdamW.</param>
public sealed record AdamSpec(double LearningRate, double WeightDecay, double ClipNorm, IReadOnlyList<ParameterGroupRule> Groups,
    double Beta1, double Beta2, double Epsilon, bool Decoupled) : OptimizerSpec(LearningRate, WeightDecay, ClipNorm, Groups)
{
    internal static AdamSpec Bind(SpecNode o, bool decoupled, double defaultWeightDecay)
    {
        var (lr, wd, clip, groups) = BindCommon(o, defaultWeightDecay);
        return new(lr, wd, clip, groups, o.GetDouble("beta1", 0.9, min: 0, below: 1, doc: "decay of the first-moment average β₁"),
            o.GetDouble("beta2", 0.999, min: 0, below: 1, doc: "decay of the second-moment average β₂"),
            o.GetDouble("eps", 1e-8, above: 0, doc: "ε added to the second moment's square root"), decoupled);
    }

    /// <inheritdoc />
    public override Optimizer<T> Create<T>(ParameterLayout layout) =>
        new Adam<T>(layout, Beta1, Beta2, Epsilon, WeightDecay, decoupledWeightDecay: Decoupled, groups: Groups, clipNorm: ClipNorm);
}

/// <summary><c>kind: sgd</c>: SGD with heavy-ball <c>momentum</c> (default 0).</summary>
/// <param name="LearningRate">Peak learning rate.</param>
/// <param name="WeightDecay">Weight decay λ.</param>
/// <param name="ClipNorm">Global gradient-norm clip (0 = off).</param>
/// <param name="Groups">Per-group rules.</param>
/// <param name="Momentum">Momentum coefficient in [0, 1).</param>
public sealed record SgdSpec(double LearningRate, double WeightDecay, double ClipNorm, IReadOnlyList<ParameterGroupRule> Groups, double Momentum)
    : OptimizerSpec(LearningRate, WeightDecay, ClipNorm, Groups)
{
    internal static SgdSpec Bind(SpecNode o)
    {
        var (lr, wd, clip, groups) = BindCommon(o, 0);
        return new(lr, wd, clip, groups, o.GetDouble("momentum", 0.0, min: 0, below: 1, doc: "heavy-ball momentum coefficient"));
    }

    /// <inheritdoc />
    public override Optimizer<T> Create<T>(ParameterLayout layout) => new Sgd<T>(layout, Momentum, weightDecay: WeightDecay, groups: Groups, clipNorm: ClipNorm);
}

/// <summary>The learning-rate schedule of a training spec: the <c>schedule:</c> section. It scales the optimiser's peak rate.</summary>
public abstract record ScheduleSpec
{
    /// <summary>The schedule kinds, by name (default <c>cosine</c>).</summary>
    public static SpecKinds<ScheduleSpec> Kinds { get; } = new("cosine",
        ("constant", "the peak rate at every step", _ => new ConstantScheduleSpec()),
        ("cosine", "linear warm-up from initial to the peak, then cosine decay to end", CosineScheduleSpec.Bind));

    /// <summary>The schedule for a run of <paramref name="steps"/> steps peaking at <paramref name="peak"/>.</summary>
    public abstract ISchedule Create(double peak, long steps);
}

/// <summary><c>kind: constant</c>: the peak rate at every step.</summary>
public sealed record ConstantScheduleSpec : ScheduleSpec
{
    /// <inheritdoc />
    public override ISchedule Create(double peak, long steps) => new ConstantSchedule(peak);
}

/// <summary><c>kind: cosine</c>: linear warm-up from <paramref name="Initial"/> over a fraction of the steps, then cosine
/// decay from the peak to <paramref name="End"/> (<see cref="WarmupCosineSchedule"/>).</summary>
/// <param name="Initial">Rate at step 0.</param>
/// <param name="End">Rate at the last step.</param>
/// <param name="WarmupFraction">Fraction of the steps spent warming up.</param>
public sealed record CosineScheduleSpec(double Initial, double End, double WarmupFraction) : ScheduleSpec
{
    internal static CosineScheduleSpec Bind(SpecNode s) =>
        new(s.GetDouble("initial", 1e-7, min: 0, doc: "learning rate at step 0"), s.GetDouble("end", 1e-7, min: 0, doc: "learning rate at the last step"),
            s.GetDouble("warmup_fraction", 0.0, min: 0, max: 1, doc: "fraction of the steps spent warming up"));

    /// <inheritdoc />
    public override ISchedule Create(double peak, long steps) =>
        new WarmupCosineSchedule(Initial, peak, End, (long)(WarmupFraction * steps), steps).Validated();
}
