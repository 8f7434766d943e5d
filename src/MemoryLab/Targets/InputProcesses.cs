using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Targets;

/// <summary>
/// A random input process x_t, t = 0..T−1, for one feature. Features of a multi-feature input are independent
/// copies (each drawn from its own forked stream). The exact first and second moments are known, so exact
/// population losses and autocorrelation tests need no sampling (Zucchet24 §B1 uses E[x_t x_{t+Δ}] = ρ^{|Δ|}).
/// </summary>
public interface IInputProcess
{
    /// <summary>A short name for reports.</summary>
    string Name { get; }

    /// <summary>Fills <paramref name="sequence"/> (x_0..x_{T−1}) from <paramref name="rng"/>.</summary>
    void Sample(CounterRng rng, Span<double> sequence);

    /// <summary>E[x_t].</summary>
    double Mean(int t);

    /// <summary>E[x_t x_s] (the autocovariance plus the product of means).</summary>
    double SecondMoment(int t, int s);
}

/// <summary>Factories for the input processes of Li21 §2 and Zucchet24 §3 and §5, and the batch filler they share.</summary>
public static class InputProcess
{
    /// <summary>i.i.d. N(mean, std²); Li21's sampled functional uses std = dt (x_t ~ dt·N(0,1)).</summary>
    public static WhiteNoiseProcess WhiteNoise(double std = 1, double mean = 0) => new(std, mean);

    /// <summary>Stationary AR(1) with E[x_t x_{t+Δ}] = variance·ρ^{|Δ|}, started in its stationary law (Zucchet24 B1).</summary>
    public static AutoregressiveProcess Ar1(double correlation, double variance = 1) => new(correlation, variance);

    /// <summary>x_t = level for all t, level ~ N(mean, std²) per sequence (std = 0: deterministic); the ρ = 1 limit of B1.</summary>
    public static ConstantProcess Constant(double mean = 0, double std = 1) => new(mean, std);

    /// <summary>x_t = a·1[t ≥ start], a ~ N(mean, std²) per sequence (Wang24's memory-function probe).</summary>
    public static HeavisideProcess Step(int start = 0, double mean = 0, double std = 1) => new(start, mean, std);

    /// <summary>White + AR(1) mixture with E[x_t x_{t+Δ}] = a·δ_Δ + b·r^{|Δ|} (Zucchet24 §5, Figs. 5, 13).</summary>
    public static MixtureProcess Mixture(double whiteVariance, double arVariance, double arCorrelation) => new(whiteVariance, arVariance, arCorrelation);

    /// <summary>The autocorrelation Zucchet24 fitted to BERT input embeddings: 0.332·δ_Δ + 0.0431·0.997^{|Δ|} (Zucchet24 §5, Fig. 5).</summary>
    public static MixtureProcess BertLike() => new(0.332, 0.0431, 0.997);

    /// <summary>
    /// Fills <paramref name="inputs"/> [batch, time, features] for training step <paramref name="step"/>: sequence b, feature f
    /// is drawn from <c>CounterRng(seed, purpose, substream = step).Fork(b·features + f)</c>, so every value is a pure
    /// function of (seed, step, b, f) — the same bits whatever the batch is split into.
    /// </summary>
    public static void Fill<T>(IInputProcess process, ulong seed, long step, SequenceTensor<T> inputs, RandomPurpose purpose = RandomPurpose.Data)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(inputs);
        int time = inputs.Time, features = inputs.Features;
        var root = new CounterRng(seed, purpose, unchecked((ulong)step));
        double[] rented = System.Buffers.ArrayPool<double>.Shared.Rent(time);
        try
        {
            var scratch = rented.AsSpan(0, time);
            for (int b = 0; b < inputs.Batch; b++)
                for (int f = 0; f < features; f++)
                {
                    process.Sample(root.Fork((ulong)b * (ulong)features + (ulong)f), scratch);
                    var seq = inputs.Sequence(b);
                    for (int t = 0; t < time; t++) seq[t * features + f] = T.CreateTruncating(scratch[t]);
                }
        }
        finally
        {
            System.Buffers.ArrayPool<double>.Shared.Return(rented);
        }
    }

    internal static void CheckFinite(double value, string name)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite");
    }

    internal static void CheckNonNegative(double value, string name)
    {
        if (!(value >= 0) || !double.IsFinite(value)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and ≥ 0");
    }
}

/// <summary>i.i.d. Gaussian input x_t ~ N(μ, σ²).</summary>
public sealed class WhiteNoiseProcess : IInputProcess
{
    /// <summary>N(mean, std²); throws on a negative or non-finite std.</summary>
    public WhiteNoiseProcess(double std = 1, double mean = 0)
    {
        InputProcess.CheckNonNegative(std, nameof(std));
        InputProcess.CheckFinite(mean, nameof(mean));
        Std = std;
        MeanValue = mean;
    }

    /// <summary>σ.</summary>
    public double Std { get; }
    /// <summary>μ.</summary>
    public double MeanValue { get; }
    /// <inheritdoc />
    public string Name => MeanValue == 0 ? $"white(σ={Std})" : $"white(μ={MeanValue},σ={Std})";
    /// <inheritdoc />
    public void Sample(CounterRng rng, Span<double> sequence)
    {
        for (int t = 0; t < sequence.Length; t++) sequence[t] = MeanValue + Std * rng.NextNormal();
    }
    /// <inheritdoc />
    public double Mean(int t) => MeanValue;
    /// <inheritdoc />
    public double SecondMoment(int t, int s) => MeanValue * MeanValue + (t == s ? Std * Std : 0);
}

/// <summary>Stationary AR(1): x_0 ~ N(0, v), x_t = ρ x_{t−1} + √(v(1−ρ²))·ε_t, so E[x_t x_s] = v·ρ^{|t−s|} at every t.</summary>
public sealed class AutoregressiveProcess : IInputProcess
{
    /// <summary>Throws unless |ρ| &lt; 1 and v ≥ 0.</summary>
    public AutoregressiveProcess(double correlation, double variance = 1)
    {
        if (!(Math.Abs(correlation) < 1)) throw new ArgumentOutOfRangeException(nameof(correlation), correlation, "AR(1) correlation must satisfy |ρ| < 1 (use Constant for ρ = 1)");
        InputProcess.CheckNonNegative(variance, nameof(variance));
        Correlation = correlation;
        Variance = variance;
    }

    /// <summary>ρ.</summary>
    public double Correlation { get; }
    /// <summary>Stationary variance v.</summary>
    public double Variance { get; }
    /// <inheritdoc />
    public string Name => $"ar1(ρ={Correlation})";
    /// <inheritdoc />
    public void Sample(CounterRng rng, Span<double> sequence)
    {
        if (sequence.IsEmpty) return;
        double sd = Math.Sqrt(Variance), innovation = sd * Math.Sqrt(1 - Correlation * Correlation);
        double x = sd * rng.NextNormal();
        sequence[0] = x;
        for (int t = 1; t < sequence.Length; t++)
        {
            x = Correlation * x + innovation * rng.NextNormal();
            sequence[t] = x;
        }
    }
    /// <inheritdoc />
    public double Mean(int t) => 0;
    /// <inheritdoc />
    public double SecondMoment(int t, int s) => Variance * Math.Pow(Correlation, Math.Abs(t - s));
}

/// <summary>A constant sequence x_t = L with L ~ N(μ, σ²) drawn once per sequence.</summary>
public sealed class ConstantProcess : IInputProcess
{
    /// <summary>Throws on non-finite μ or negative σ.</summary>
    public ConstantProcess(double mean = 0, double std = 1)
    {
        InputProcess.CheckFinite(mean, nameof(mean));
        InputProcess.CheckNonNegative(std, nameof(std));
        MeanValue = mean;
        Std = std;
    }

    /// <summary>μ.</summary>
    public double MeanValue { get; }
    /// <summary>σ.</summary>
    public double Std { get; }
    /// <inheritdoc />
    public string Name => $"constant(μ={MeanValue},σ={Std})";
    /// <inheritdoc />
    public void Sample(CounterRng rng, Span<double> sequence) => sequence.Fill(MeanValue + Std * rng.NextNormal());
    /// <inheritdoc />
    public double Mean(int t) => MeanValue;
    /// <inheritdoc />
    public double SecondMoment(int t, int s) => MeanValue * MeanValue + Std * Std;
}

/// <summary>A Heaviside step x_t = a·1[t ≥ start], a ~ N(μ, σ²) per sequence.</summary>
public sealed class HeavisideProcess : IInputProcess
{
    /// <summary>Throws on a negative start or invalid amplitude law.</summary>
    public HeavisideProcess(int start = 0, double mean = 0, double std = 1)
    {
        if (start < 0) throw new ArgumentOutOfRangeException(nameof(start), start, "step start must be ≥ 0");
        InputProcess.CheckFinite(mean, nameof(mean));
        InputProcess.CheckNonNegative(std, nameof(std));
        Start = start;
        MeanValue = mean;
        Std = std;
    }

    /// <summary>First step where the input is on.</summary>
    public int Start { get; }
    /// <summary>μ.</summary>
    public double MeanValue { get; }
    /// <summary>σ.</summary>
    public double Std { get; }
    /// <inheritdoc />
    public string Name => $"step(t≥{Start})";
    /// <inheritdoc />
    public void Sample(CounterRng rng, Span<double> sequence)
    {
        double a = MeanValue + Std * rng.NextNormal();
        for (int t = 0; t < sequence.Length; t++) sequence[t] = t >= Start ? a : 0;
    }
    /// <inheritdoc />
    public double Mean(int t) => t >= Start ? MeanValue : 0;
    /// <inheritdoc />
    public double SecondMoment(int t, int s) => t >= Start && s >= Start ? MeanValue * MeanValue + Std * Std : 0;
}

/// <summary>x_t = √a·ε_t + √b·z_t with ε white and z a unit stationary AR(1) of correlation r, independent:
/// E[x_t x_{t+Δ}] = a·δ_Δ + b·r^{|Δ|} (Zucchet24's BERT-embedding surrogate, §5, Fig. 5).</summary>
public sealed class MixtureProcess : IInputProcess
{
    private readonly AutoregressiveProcess _ar;

    /// <summary>Throws unless a, b ≥ 0 and |r| &lt; 1.</summary>
    public MixtureProcess(double whiteVariance, double arVariance, double arCorrelation)
    {
        InputProcess.CheckNonNegative(whiteVariance, nameof(whiteVariance));
        InputProcess.CheckNonNegative(arVariance, nameof(arVariance));
        _ar = new AutoregressiveProcess(arCorrelation, 1);
        WhiteVariance = whiteVariance;
        ArVariance = arVariance;
    }

    /// <summary>a.</summary>
    public double WhiteVariance { get; }
    /// <summary>b.</summary>
    public double ArVariance { get; }
    /// <summary>r.</summary>
    public double ArCorrelation => _ar.Correlation;
    /// <inheritdoc />
    public string Name => $"mixture({WhiteVariance}·δ+{ArVariance}·{ArCorrelation}^|Δ|)";
    /// <inheritdoc />
    public void Sample(CounterRng rng, Span<double> sequence)
    {
        _ar.Sample(rng, sequence);
        double sa = Math.Sqrt(WhiteVariance), sb = Math.Sqrt(ArVariance);
        for (int t = 0; t < sequence.Length; t++) sequence[t] = sb * sequence[t] + sa * rng.NextNormal();
    }
    /// <inheritdoc />
    public double Mean(int t) => 0;
    /// <inheritdoc />
    public double SecondMoment(int t, int s) => (t == s ? WhiteVariance : 0) + ArVariance * Math.Pow(ArCorrelation, Math.Abs(t - s));
}
