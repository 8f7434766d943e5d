using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Targets;

/// <summary>
/// Settings of the two-scale Lorenz-96 target (Lorenz, 1996; used as a nonlinear target by Li, Han, E &amp; Li, ICLR 2021,
/// Fig. 1, whose constants are not published: the defaults below are chosen):
/// <c>dx_k/dt = x_{k−1}(x_{k+1} − x_{k−2}) − x_k + F_k + h_x·mean_j y_{j,k}</c>,
/// <c>dy_{j,k}/dt = [y_{j+1,k}(y_{j−1,k} − y_{j+2,k}) − y_{j,k} + h_y·x_k]/ε</c>.
/// Slow variables x_k are cyclic in k (K of them); the J·K fast variables form one ring in the order
/// y_{0,0}, y_{1,0}, …, y_{J−1,0}, y_{0,1}, … (the usual convention: y_{J,k} = y_{0,k+1}).
/// </summary>
/// <param name="K">Number of slow variables (≥ 4 so the stencil k−2..k+1 is distinct). Default 8 (chosen).</param>
/// <param name="J">Fast variables per slow variable (≥ 1). Default 4 (chosen).</param>
/// <param name="Epsilon">Time-scale separation ε (0.5).</param>
/// <param name="Hx">Coupling of fast into slow h_x (−1).</param>
/// <param name="Hy">Coupling of slow into fast h_y (1).</param>
/// <param name="Dt">RK4 step (0.01).</param>
/// <param name="SubSteps">RK4 steps per sample (10).</param>
/// <param name="ForcingMin">Lower end of the forcing law F_k ~ U(min, max), redrawn every sample (0.6).</param>
/// <param name="ForcingMax">Upper end of the forcing law (1.2).</param>
/// <param name="InitialStd">Initial state ~ N(0, std²) per variable (0: start at rest, so the output is a
/// functional of the forcing alone).</param>
public sealed record Lorenz96Settings(int K = 8, int J = 4, double Epsilon = 0.5, double Hx = -1, double Hy = 1,
    double Dt = 0.01, int SubSteps = 10, double ForcingMin = 0.6, double ForcingMax = 1.2, double InitialStd = 0)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (K < 4) throw new ArgumentOutOfRangeException(nameof(K), K, "Lorenz-96 needs K ≥ 4 slow variables");
        if (J < 1) throw new ArgumentOutOfRangeException(nameof(J), J, "Lorenz-96 needs J ≥ 1 fast variables per slow one");
        if (!(Epsilon > 0) || !double.IsFinite(Epsilon)) throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon, "time-scale separation ε must be positive");
        if (!double.IsFinite(Hx)) throw new ArgumentOutOfRangeException(nameof(Hx), Hx, "h_x must be finite");
        if (!double.IsFinite(Hy)) throw new ArgumentOutOfRangeException(nameof(Hy), Hy, "h_y must be finite");
        if (!(Dt > 0) || !double.IsFinite(Dt)) throw new ArgumentOutOfRangeException(nameof(Dt), Dt, "integration step must be positive");
        if (SubSteps < 1) throw new ArgumentOutOfRangeException(nameof(SubSteps), SubSteps, "need at least one sub-step per sample");
        if (!double.IsFinite(ForcingMin) || !double.IsFinite(ForcingMax) || ForcingMax < ForcingMin)
            throw new ArgumentException($"forcing range [{ForcingMin}, {ForcingMax}] is invalid");
        if (!(InitialStd >= 0) || !double.IsFinite(InitialStd)) throw new ArgumentOutOfRangeException(nameof(InitialStd), InitialStd, "initial std must be finite and ≥ 0");
    }
}

/// <summary>
/// The two-scale Lorenz-96 system (Lorenz, 1996) integrated with classical RK4. State layout: x_0..x_{K−1},
/// then y in ring order (index K + k·J + j). Holds its RK4 scratch, so one instance per thread.
/// </summary>
public sealed class Lorenz96System
{
    private readonly double[] _k1, _k2, _k3, _k4, _tmp;

    /// <summary>A system with the given settings (validated).</summary>
    public Lorenz96System(Lorenz96Settings? settings = null)
    {
        Settings = settings ?? new Lorenz96Settings();
        Settings.Validate();
        int n = StateSize;
        _k1 = new double[n]; _k2 = new double[n]; _k3 = new double[n]; _k4 = new double[n]; _tmp = new double[n];
    }

    /// <summary>The settings.</summary>
    public Lorenz96Settings Settings { get; }

    /// <summary>K + J·K.</summary>
    public int StateSize => Settings.K * (1 + Settings.J);

    /// <summary>Writes d(state)/dt for forcing F (length K).</summary>
    public void Derivative(ReadOnlySpan<double> state, ReadOnlySpan<double> forcing, Span<double> derivative)
    {
        var s = Settings;
        int kk = s.K, jj = s.J, ny = kk * jj;
        if (state.Length < StateSize || derivative.Length < StateSize || forcing.Length < kk)
            throw new ArgumentException($"Lorenz-96 state needs {StateSize} entries and forcing {kk}");
        var x = state[..kk];
        var y = state.Slice(kk, ny);
        double invJ = 1.0 / jj, invEps = 1.0 / s.Epsilon;
        for (int k = 0; k < kk; k++)
        {
            double xm1 = x[(k + kk - 1) % kk], xp1 = x[(k + 1) % kk], xm2 = x[(k + kk - 2) % kk];
            double mean = 0;
            for (int j = 0; j < jj; j++) mean += y[k * jj + j];
            mean *= invJ;
            derivative[k] = xm1 * (xp1 - xm2) - x[k] + forcing[k] + s.Hx * mean;
        }
        for (int i = 0; i < ny; i++)
        {
            double yp1 = y[(i + 1) % ny], ym1 = y[(i + ny - 1) % ny], yp2 = y[(i + 2) % ny];
            double xk = x[i / jj];
            derivative[kk + i] = (yp1 * (ym1 - yp2) - y[i] + s.Hy * xk) * invEps;
        }
    }

    /// <summary>One classical RK4 step of length <see cref="Lorenz96Settings.Dt"/> with constant forcing, in place.</summary>
    public void Step(Span<double> state, ReadOnlySpan<double> forcing)
    {
        int n = StateSize;
        double h = Settings.Dt;
        Derivative(state, forcing, _k1);
        for (int i = 0; i < n; i++) _tmp[i] = state[i] + 0.5 * h * _k1[i];
        Derivative(_tmp, forcing, _k2);
        for (int i = 0; i < n; i++) _tmp[i] = state[i] + 0.5 * h * _k2[i];
        Derivative(_tmp, forcing, _k3);
        for (int i = 0; i < n; i++) _tmp[i] = state[i] + h * _k3[i];
        Derivative(_tmp, forcing, _k4);
        for (int i = 0; i < n; i++) state[i] += h / 6 * (_k1[i] + 2 * _k2[i] + 2 * _k3[i] + _k4[i]);
    }

    /// <summary>One sample: <see cref="Lorenz96Settings.SubSteps"/> RK4 steps with the forcing held fixed.</summary>
    public void Advance(Span<double> state, ReadOnlySpan<double> forcing)
    {
        for (int i = 0; i < Settings.SubSteps; i++) Step(state, forcing);
    }
}

/// <summary>
/// Lorenz-96 sequence pairs (Li, Han, E &amp; Li, ICLR 2021, Fig. 1): input = forcing F_k(n) ~ U(0.6, 1.2) redrawn each sample
/// step n, output = slow variables x_k after integrating that sample (10 RK4 steps of 0.01), so y_n depends on
/// F_0..F_n only. Shapes [batch, T, K] → [batch, T, K]. Sequence b of step s draws from
/// <c>CounterRng(seed, Data, s).Fork(b)</c>. Throws <see cref="InvalidOperationException"/> if the state blows up.
/// </summary>
public sealed class Lorenz96Dataset<T> : ISequenceDataset<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A dataset of sequences of <paramref name="time"/> samples.</summary>
    public Lorenz96Dataset(int time, ulong seed = 0, Lorenz96Settings? settings = null)
    {
        if (time < 1) throw new ArgumentOutOfRangeException(nameof(time), time, "sequence length must be at least 1");
        Settings = settings ?? new Lorenz96Settings();
        Settings.Validate();
        Time = time;
        Seed = seed;
    }

    /// <summary>The settings.</summary>
    public Lorenz96Settings Settings { get; }
    /// <inheritdoc />
    public int Time { get; }
    /// <inheritdoc />
    public ulong Seed { get; }
    /// <inheritdoc />
    public int InputFeatures => Settings.K;
    /// <inheritdoc />
    public int OutputFeatures => Settings.K;

    /// <inheritdoc />
    public void FillBatch(long step, SequenceTensor<T> inputs, SequenceTensor<T> targets)
    {
        SequenceDataset.CheckShapes(this, inputs, targets);
        var system = new Lorenz96System(Settings);
        int kk = Settings.K;
        var state = new double[system.StateSize];
        var forcing = new double[kk];
        var root = new CounterRng(Seed, RandomPurpose.Data, unchecked((ulong)step));
        for (int b = 0; b < inputs.Batch; b++)
        {
            var rng = root.Fork((ulong)b);
            for (int i = 0; i < state.Length; i++) state[i] = Settings.InitialStd > 0 ? Settings.InitialStd * rng.NextNormal() : 0;
            var xs = inputs.Sequence(b);
            var ys = targets.Sequence(b);
            for (int t = 0; t < Time; t++)
            {
                for (int k = 0; k < kk; k++)
                {
                    forcing[k] = rng.NextUniform(Settings.ForcingMin, Settings.ForcingMax);
                    xs[t * kk + k] = T.CreateTruncating(forcing[k]);
                }
                system.Advance(state, forcing);
                for (int k = 0; k < kk; k++)
                {
                    if (!double.IsFinite(state[k]) || Math.Abs(state[k]) > 1e6)
                        throw new InvalidOperationException($"Lorenz-96 state blew up at sample {t} of sequence {b} (x_{k} = {state[k]}); reduce Dt or the forcing");
                    ys[t * kk + k] = T.CreateTruncating(state[k]);
                }
            }
        }
    }
}
