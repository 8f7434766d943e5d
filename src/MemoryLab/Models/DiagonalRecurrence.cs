using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>How the direct input-to-output path D is shaped.</summary>
public enum SkipConnection
{
    /// <summary>No D term.</summary>
    None,
    /// <summary>D is a full [out × in] matrix: y += D x.</summary>
    Full,
    /// <summary>D is a vector (in = out): y += D ⊙ x (LRU23).</summary>
    Diagonal,
}

/// <summary>How the ring initialisation draws B, C, D and the phase (LRU23 §3.2; Zucchet24 §5, in the authors' code).</summary>
public enum RingInitialisation
{
    /// <summary>LRU23: θ ~ U[0, max_phase]; B_re, B_im ~ N(0, 1/(2·in)); C_re, C_im ~ N(0, 1/N); D ~ N(0, 1).</summary>
    Lru23,
    /// <summary>Zucchet24 teacher–student code: θ ~ U[−max_phase, max_phase]; B_re, B_im ~ N(0, 1/N); C_re, C_im, D ~ N(0, 1).</summary>
    TeacherStudent,
}

/// <summary>Settings of a <see cref="DiagonalRecurrence{T}"/>.</summary>
public sealed record DiagonalRecurrenceOptions
{
    /// <summary>Number of complex state neurons N.</summary>
    public required int StateSize { get; init; }
    /// <summary>How λ is parametrised: a built-in map (a layer given an <see cref="IEigenvalueMap{T}"/> of its own uses that instead).</summary>
    public EigenvalueParametrisation Parametrisation { get; init; } = EigenvalueParametrisation.Default;
    /// <summary>Input normalisation γ.</summary>
    public InputNormalisation Normalisation { get; init; } = InputNormalisation.None;
    /// <summary>How a learned γ is a parameter (only with <see cref="InputNormalisation.Learned"/>).</summary>
    public GammaParametrisation Gamma { get; init; } = GammaParametrisation.Log;
    /// <summary>Where a learned γ starts (only with <see cref="InputNormalisation.Learned"/>).</summary>
    public GammaInitialisation GammaInit { get; init; } = GammaInitialisation.Modulus;
    /// <summary>The D path.</summary>
    public SkipConnection Skip { get; init; } = SkipConnection.Full;
    /// <summary>Smallest |λ| of the ring initialisation.</summary>
    public double RMin { get; init; } = DefaultRMin;
    /// <summary>Largest |λ| of the ring initialisation (≤ 1).</summary>
    public double RMax { get; init; } = DefaultRMax;
    /// <summary>Largest phase of the ring initialisation.</summary>
    public double MaxPhase { get; init; } = DefaultMaxPhase;
    /// <summary>Which variant of the ring initialisation draws the weights.</summary>
    public RingInitialisation Init { get; init; } = RingInitialisation.Lru23;
    /// <summary>Scan, convolution, or chosen per shape and thread count by <see cref="LtiCostModel"/> (default in code: the
    /// scan; a spec's default is <c>auto</c>, resolved into the run's spec when the run is planned).</summary>
    public LtiAlgorithm Algorithm { get; init; } = LtiAlgorithm.Scan;

    /// <summary>Default of <see cref="RMin"/>: the whole disc (Orvieto et al. 2023, §3.2).</summary>
    public const double DefaultRMin = 0.0;
    /// <summary>Default of <see cref="RMax"/>.</summary>
    public const double DefaultRMax = 1.0;
    /// <summary>Default of <see cref="MaxPhase"/>: the whole circle.</summary>
    public const double DefaultMaxPhase = 2 * Math.PI;

    /// <summary>Throws <see cref="ArgumentException"/> for out-of-range settings.</summary>
    public void Validate()
    {
        if (StateSize <= 0) throw new ArgumentException($"state size must be positive (got {StateSize})");
        if (!(RMin >= 0 && RMin <= RMax && RMax <= 1)) throw new ArgumentException($"ring radii must satisfy 0 ≤ r_min ≤ r_max ≤ 1 (got {RMin}, {RMax})");
        if (!(MaxPhase > 0) || double.IsInfinity(MaxPhase)) throw new ArgumentException($"max phase must be positive (got {MaxPhase})");
        if (Normalisation != InputNormalisation.Learned && (Gamma != GammaParametrisation.Log || GammaInit != GammaInitialisation.Modulus))
            throw new ArgumentException($"gamma and gamma_init apply only to a learned γ (normalisation: learned), not to normalisation {Normalisation.ToString().ToLowerInvariant()}");
    }
}

/// <summary>
/// Complex diagonal linear recurrence ("cRNN", and with exp parametrisation + learned γ, the LRU):
/// <code>
///   h_t = λ ⊙ h_{t−1} + γ(λ) ⊙ (B x_t),   h_{−1} = 0,   λ, h ∈ ℂᴺ
///   y_t = Re(C h_t) + D x_t
/// </code>
/// (Zucchet &amp; Orvieto, NeurIPS 2024, §2–4; Orvieto et al., ICML 2023, §3, the LRU). Backward is the adjoint scan
/// g_t = C̄ᵀ dy_t + λ̄ ⊙ g_{t+1} with ∂L/∂λ = Σ_t g_t ⊙ conj(h_{t−1}). The sweeps themselves are the kernels of
/// <see cref="DiagonalKernel{T}"/>, which <see cref="Prepare"/> picks once for the shape: the checkpointed one-feature scan, the
/// fused scan of narrow layers, GEMMs around the scan for wide layers, or, since the layer is linear time-invariant, the
/// causal convolution with K_s = Re(C diag(λ^s) γ⊙B) (+ D at s = 0) (<see cref="LtiAlgorithm.Convolution"/>). All agree to
/// rounding; each gives the same bits for any thread count.
/// </summary>
public class DiagonalRecurrence<T> : ISequenceLayer<T>, ILtiLayer where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly DiagonalRecurrenceOptions _o;
    private readonly IEigenvalueMap<T> _map;
    private readonly int _n, _din, _dout;
    private ParameterView _p = null!, _q = null!, _bRe = null!, _bIm = null!, _cRe = null!, _cIm = null!;
    private ParameterView? _gammaParameter, _d; // _gammaParameter: γ_log or γ (a learned γ)
    // λ and B̃ᵀ = (γ ⊙ B)ᵀ as the kernels read them, γ and ∂L/∂γ (per forward pass).
    private DiagonalWeights<T> _w = null!;
    private T[] _gamma = [], _dGamma = [];
    // The kernel for the prepared shape and algorithm (DiagonalKernel.For).
    private DiagonalKernel<T> _kernel = null!;
    private LtiAlgorithm _algorithm = LtiAlgorithm.Scan;
    private int _batch, _time;

    /// <summary>A diagonal recurrence from <paramref name="inputSize"/> to <paramref name="outputSize"/> features, λ written in
    /// the built-in map <see cref="DiagonalRecurrenceOptions.Parametrisation"/>.</summary>
    public DiagonalRecurrence(int inputSize, int outputSize, DiagonalRecurrenceOptions options)
        : this(inputSize, outputSize, options, EigenvalueMaps.For<T>(options.Parametrisation))
    {
    }

    /// <summary>A diagonal recurrence whose λ is written in <paramref name="map"/> (which replaces
    /// <see cref="DiagonalRecurrenceOptions.Parametrisation"/>).</summary>
    public DiagonalRecurrence(int inputSize, int outputSize, DiagonalRecurrenceOptions options, IEigenvalueMap<T> map)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(map);
        options.Validate();
        _map = map;
        if (inputSize <= 0 || outputSize <= 0) throw new ArgumentException($"input and output sizes must be positive (got {inputSize}, {outputSize})");
        if (options.Skip == SkipConnection.Diagonal && inputSize != outputSize)
            throw new ArgumentException($"a diagonal skip needs input size = output size (got {inputSize}, {outputSize})");
        _o = options;
        _n = options.StateSize;
        _din = inputSize;
        _dout = outputSize;
        _gamma = new T[_n]; _dGamma = new T[_n];
    }

    /// <summary>The settings.</summary>
    public DiagonalRecurrenceOptions Options => _o;
    /// <summary>How λ is written in terms of the layer's two eigenvalue parameters.</summary>
    public IEigenvalueMap<T> Map => _map;
    /// <summary>The algorithm the latest <see cref="Prepare"/> settled on (<see cref="LtiAlgorithm.Auto"/> resolved by <see cref="LtiCostModel.Choose"/>).</summary>
    public LtiAlgorithm ResolvedAlgorithm => _algorithm;
    /// <inheritdoc />
    public LtiAlgorithm AlgorithmFor(int batch, int time, int threads) => _o.Algorithm == LtiAlgorithm.Auto
        ? LtiCostModel.Choose(LtiLayerKind.Diagonal, batch, time, _n, _din, _dout, threads: threads)
        : _o.Algorithm;
    /// <inheritdoc />
    public int InputSize => _din;
    /// <inheritdoc />
    public int OutputSize => _dout;

    /// <summary>Names of the two eigenvalue parameters for a parametrisation (minimal-LRU's names for exp).</summary>
    public static (string P, string Q) EigenvalueNames(EigenvalueParametrisation kind) => EigenvalueMaps.For<T>(kind).ParameterNames;

    /// <inheritdoc />
    public void Declare(ParameterLayout layout, string prefix)
    {
        var (pn, qn) = _map.ParameterNames;
        _p = layout.Add(ParameterLayout.Join(prefix, pn), "recurrent", _n);
        _q = layout.Add(ParameterLayout.Join(prefix, qn), "recurrent", _n);
        if (_o.Normalisation == InputNormalisation.Learned)
            _gammaParameter = layout.Add(ParameterLayout.Join(prefix, _o.Gamma == GammaParametrisation.Log ? "gamma_log" : "gamma"), "recurrent", _n);
        _bRe = layout.Add(ParameterLayout.Join(prefix, "B_re"), "input", _n, _din);
        _bIm = layout.Add(ParameterLayout.Join(prefix, "B_im"), "input", _n, _din);
        _cRe = layout.Add(ParameterLayout.Join(prefix, "C_re"), "readout", _dout, _n);
        _cIm = layout.Add(ParameterLayout.Join(prefix, "C_im"), "readout", _dout, _n);
        _d = _o.Skip switch
        {
            SkipConnection.Full => layout.Add(ParameterLayout.Join(prefix, "D"), "skip", _dout, _din),
            SkipConnection.Diagonal => layout.Add(ParameterLayout.Join(prefix, "D"), "skip", _din),
            _ => null,
        };
        _w = new DiagonalWeights<T>(_n, _din, _dout, _cRe, _cIm, _d, _o.Skip == SkipConnection.Diagonal);
    }

    /// <summary>Ring initialisation (LRU23): |λ|² ~ U[r_min², r_max²], θ per <see cref="RingInitialisation"/>.
    /// Edge guards: u₁ &lt; 1 and u₂ &gt; 0 are drawn from open intervals, and |λ| is kept below 1 − 1e−7,
    /// so log-parametrisations stay finite.</summary>
    public void Initialize(Span<T> theta, CounterRng rng)
    {
        var p = _p.Of(theta); var q = _q.Of(theta);
        double r2min = _o.RMin * _o.RMin, r2max = _o.RMax * _o.RMax;
        for (int i = 0; i < _n; i++)
        {
            double u1 = rng.NextDouble(), u2 = rng.NextOpenDouble();
            double nu = Math.Min(Math.Sqrt(u1 * (r2max - r2min) + r2min), 1 - 1e-7);
            double phase = _o.Init == RingInitialisation.Lru23 ? _o.MaxPhase * u2 : _o.MaxPhase * (2 * u2 - 1);
            var (pp, qq) = _map.FromPolar(nu, phase);
            p[i] = T.CreateTruncating(pp); q[i] = T.CreateTruncating(qq);
            if (_gammaParameter != null) _gammaParameter.Of(theta)[i] = T.CreateTruncating(InitialGamma(nu, phase));
        }
        bool lru = _o.Init == RingInitialisation.Lru23;
        double bStd = lru ? Math.Sqrt(1.0 / (2 * _din)) : Math.Sqrt(1.0 / _n);
        double cStd = lru ? Math.Sqrt(1.0 / _n) : 1.0;
        rng.FillNormal(_bRe.Of(theta), 0, bStd);
        rng.FillNormal(_bIm.Of(theta), 0, bStd);
        rng.FillNormal(_cRe.Of(theta), 0, cStd);
        rng.FillNormal(_cIm.Of(theta), 0, cStd);
        if (_d != null) rng.FillNormal(_d.Of(theta), 0, 1);
    }

    // The learned γ's parameter at λ₀ = ν e^{iφ}: γ₀² = 1 − |λ₀|² or 1 − (Re λ₀)², kept above 1e−12.
    private double InitialGamma(double nu, double phase)
    {
        double r = _o.GammaInit == GammaInitialisation.Modulus ? nu : nu * Math.Cos(phase);
        double g2 = Math.Max(1 - r * r, 1e-12);
        return _o.Gamma == GammaParametrisation.Log ? 0.5 * Math.Log(g2) : Math.Sqrt(g2);
    }

    /// <inheritdoc />
    public void Prepare(int batch, int time, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (batch <= 0 || time <= 0) throw new ArgumentException($"batch and time must be positive, got batch {batch}, time {time}");
        _batch = batch; _time = time;
        _algorithm = AlgorithmFor(batch, time, pool.Threads);
        _kernel = DiagonalKernel<T>.For(_w, _algorithm == LtiAlgorithm.Convolution, batch, time, pool);
    }

    /// <summary>λ (real and imaginary parts) and γ at θ, written into the given spans.</summary>
    public void Eigenvalues(ReadOnlySpan<T> theta, Span<T> re, Span<T> im, Span<T> gamma)
    {
        var p = _p.Of(theta); var q = _q.Of(theta);
        for (int i = 0; i < _n; i++)
        {
            var (r, m) = _map.ToLambda(p[i], q[i]);
            re[i] = r; im[i] = m;
            gamma[i] = _o.Normalisation != InputNormalisation.Learned ? EigenvalueMaps.Gamma(_o.Normalisation, T.Sqrt(r * r + m * m)).Gamma
                : _o.Gamma == GammaParametrisation.Log ? T.Exp(_gammaParameter!.Of(theta)[i])
                : _gammaParameter!.Of(theta)[i];
        }
    }

    /// <inheritdoc />
    public void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training)
    {
        CheckShape(input, _din); CheckShape(output, _dout);
        // λ and γ at θ, and B̃ = γ ⊙ B (kept transposed, [in × N], as the kernels read it).
        Eigenvalues(theta, _w.Lr, _w.Li, _gamma);
        var bRe = _bRe.Of(theta); var bIm = _bIm.Of(theta);
        for (int i = 0; i < _n; i++)
            for (int j = 0; j < _din; j++)
            {
                _w.BtRe[j * _n + i] = _gamma[i] * bRe[i * _din + j];
                _w.BtIm[j * _n + i] = _gamma[i] * bIm[i * _din + j];
            }
        // h_t = λ ⊙ h_{t−1} + B̃ x_t,  y_t = Re(C h_t) + D x_t
        _kernel.Forward(theta, input, output);
    }

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient)
    {
        CheckShape(outputGradient, _dout);
        if (inputGradient != null) CheckShape(inputGradient, _din);
        // g_t = ∂L/∂h_t = C̄ᵀ dy_t + λ̄ ⊙ g_{t+1};  ∂L/∂λ = Σ_t g_t ⊙ conj(h_{t−1}),  ∂L/∂B̃ = Σ_t g_t x_tᵀ,
        // ∂L/∂C = Σ_t dy_t h_tᴴ,  ∂L/∂D = Σ_t dy_t x_tᵀ,  ∂L/∂x_t = Re(B̃ᴴ g_t) + Dᵀ dy_t
        var adjoint = _kernel.Backward(theta, outputGradient, inputGradient, gradient);
        ChainToParameters(theta, gradient, adjoint.BtRe, adjoint.BtIm, adjoint.Lr, adjoint.Li);
    }

    // From ∂L/∂B̃ᵀ ([in × N], B̃ = γ ⊙ B) and ∂L/∂λ to the parameters: B, γ (learned or a function of |λ|) and λ's parametrisation.
    private void ChainToParameters(T[] theta, T[] gradient, ReadOnlySpan<T> dB, ReadOnlySpan<T> dBi, ReadOnlySpan<T> dLr, ReadOnlySpan<T> dLi)
    {
        var gbRe = _bRe.Of(gradient); var gbIm = _bIm.Of(gradient);
        var bRe = _bRe.Of(theta); var bIm = _bIm.Of(theta);
        var dGamma = _dGamma.AsSpan();
        dGamma.Clear();
        for (int i = 0; i < _n; i++)
            for (int j = 0; j < _din; j++)
            {
                T dbr = dB[j * _n + i], dbi = dBi[j * _n + i];
                gbRe[i * _din + j] += _gamma[i] * dbr;
                gbIm[i * _din + j] += _gamma[i] * dbi;
                dGamma[i] += bRe[i * _din + j] * dbr + bIm[i * _din + j] * dbi;
            }
        var p = _p.Of(theta); var q = _q.Of(theta);
        var gp = _p.Of(gradient); var gq = _q.Of(gradient);
        for (int i = 0; i < _n; i++)
        {
            T dAbs = T.Zero;
            if (_o.Normalisation == InputNormalisation.Learned)
                _gammaParameter!.Of(gradient)[i] += _o.Gamma == GammaParametrisation.Log ? dGamma[i] * _gamma[i] : dGamma[i];
            else if (_o.Normalisation != InputNormalisation.None)
            {
                T abs = T.Sqrt(_w.Lr[i] * _w.Lr[i] + _w.Li[i] * _w.Li[i]);
                dAbs = dGamma[i] * EigenvalueMaps.Gamma(_o.Normalisation, abs).DGamma;
            }
            var (dp, dq) = _map.Backward(p[i], q[i], dLr[i], dLi[i], dAbs);
            gp[i] += dp; gq[i] += dq;
        }
    }

    private void CheckShape(SequenceTensor<T> t, int features)
    {
        if (!t.HasShape(_batch, _time, features))
            throw new ArgumentException($"expected a tensor of shape [{_batch}, {_time}, {features}], got {t}");
    }

    /// <summary>The state h of the latest forward pass: real and imaginary parts, [batch, time, N]
    /// (empty when the layer runs the convolution algorithm, which never forms the states, or the one-feature
    /// scan, which keeps only checkpoints).</summary>
    public (ReadOnlyMemory<T> Re, ReadOnlyMemory<T> Im) States => _kernel?.States ?? (ReadOnlyMemory<T>.Empty, ReadOnlyMemory<T>.Empty);
}
