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
/// (Zucchet24 §2–4, LRU23). State is kept as split real/imaginary arrays so the scan vectorises over N.
/// Backward is the adjoint scan g_{t−1} = e_{t−1} + λ̄ ⊙ g_t with ∂L/∂λ = Σ_t g_t ⊙ conj(h_{t−1}).
/// The layer is linear time-invariant, so with <see cref="LtiAlgorithm.Convolution"/> it instead builds the kernel
/// K_s = Re(C diag(λ^s) γ⊙B) (+ D at s = 0) and convolves (<see cref="ToeplitzConvolution{T}"/>); its backward maps
/// ∂L/∂K back through the adjoint recursion a_{s−1} = ∂L/∂λ^{s−1} + λ̄ a_s, ∂L/∂λ = Σ_s a_s conj(λ^{s−1}).
/// </summary>
public class DiagonalRecurrence<T> : ISequenceLayer<T>, ILtiLayer, IUsesGradientBuffers<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal const int ChunkSize = 8; // sequences per parallel chunk: fixed, so results do not depend on threads

    private readonly DiagonalRecurrenceOptions _o;
    private readonly IEigenvalueMap<T> _map;
    private readonly int _n, _din, _dout;
    private ParameterView _p = null!, _q = null!, _bRe = null!, _bIm = null!, _cRe = null!, _cIm = null!;
    private ParameterView? _gammaParameter, _d; // _gammaParameter: γ_log or γ (a learned γ)

    // Per-forward derived quantities.
    private T[] _lr = [], _li = [], _gamma = [], _dGamma = [], _btRe = [], _btIm = []; // B̃ᵀ = (γ ⊙ B)ᵀ, [in × N]
    // Per-shape buffers.
    private int _batch, _time, _chunks, _stateRows; // _stateRows: state rows kept per sequence (T, or the one-feature checkpoints)
    private T[] _hr = [], _hi = [], _gr = [], _gi = [];
    private int _hrAt, _hiAt; // where the 64-byte-aligned states start in _hr, _hi (pinned arrays)
    // Fused backward scratch per chunk: g_{t+1} of the sequence in flight (2N), or with one feature the recomputed
    // states of one segment (ScanKernels.OneFeatureScratchLength).
    private T[] _pG = [];
    private int _pGAt, _pGStride;
    private T[] _pLr = [], _pLi = [], _pBRe = [], _pBIm = [], _pCRe = [], _pCIm = [], _pD = [];
    private WorkerPool _pool = null!;

    /// <inheritdoc />
    GradientBuffers<T>? IUsesGradientBuffers<T>.GradientBuffers { get; set; }
    private readonly ChunkAction _forward, _backward;
    // Arguments of the call in flight (read by the chunk bodies).
    private T[] _theta = [];
    private SequenceTensor<T> _x = null!, _y = null!, _dy = null!;
    private SequenceTensor<T>? _dx;
    // Convolution path (allocated in Prepare when it is the resolved algorithm).
    private LtiAlgorithm _algorithm = LtiAlgorithm.Scan;
    private ToeplitzConvolution<T>? _conv;
    private T[] _wr = [], _wi = [], _u = [], _v = [], _kernel = [], _dKernel = [], _dWr = [], _dWi = [], _dU = [], _dV = [];
    private T[] _dBtRe = [], _dBtIm = [], _dLr = [], _dLi = [];

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
        _forward = new ChunkAction(ForwardChunk);
        _backward = new ChunkAction(BackwardChunk);
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
        _batch = batch; _time = time; _pool = pool;
        _algorithm = AlgorithmFor(batch, time, pool.Threads);
        _lr = new T[_n]; _li = new T[_n]; _gamma = new T[_n]; _dGamma = new T[_n];
        _btRe = new T[_din * _n]; _btIm = new T[_din * _n];
        if (_algorithm == LtiAlgorithm.Convolution)
        {
            _conv ??= new ToeplitzConvolution<T>(_din, _dout);
            _conv.Prepare(batch, time, pool);
            int dd = _din * _dout;
            _wr = new T[time * _n]; _wi = new T[time * _n]; _dWr = new T[time * _n]; _dWi = new T[time * _n];
            _u = new T[_n * dd]; _v = new T[_n * dd]; _dU = new T[_n * dd]; _dV = new T[_n * dd];
            _kernel = new T[time * dd]; _dKernel = new T[time * dd];
            _dBtRe = new T[_din * _n]; _dBtIm = new T[_din * _n]; _dLr = new T[_n]; _dLi = new T[_n];
            _hr = _hi = _gr = _gi = [];
            _chunks = 0;
            return;
        }
        _chunks = WorkerPool.ChunkCount(batch, ChunkSize);
        // With one input and one output feature only checkpoints are kept (every ScanKernels.OneFeatureSegment steps);
        // otherwise every state. Aligned so that no 512-bit state load or store straddles two cache lines.
        _stateRows = OneFeature ? ScanKernels.OneFeatureCheckpoints(time) : time;
        int states = checked(batch * _stateRows * _n);
        _hr = ScanKernels.AllocateAligned<T>(states, out _hrAt); _hi = ScanKernels.AllocateAligned<T>(states, out _hiAt);
        // The fused scans keep g (or one segment's states) in a scratch per chunk; only the GEMM path stores g for every step.
        if (Fused)
        {
            _pGStride = OneFeature ? ScanKernels.OneFeatureScratchLength(_n) : 2 * _n;
            _pG = ScanKernels.AllocateAligned<T>(_chunks * _pGStride, out _pGAt);
        }
        else if (((IUsesGradientBuffers<T>)this).GradientBuffers is { } shared && _stateRows == time)
        {
            // The adjoint states g live only inside Backward (shared between the blocks of a deep stack).
            _gr = shared.Get(batch, time, _n, GradientBuffers<T>.RecurrentSlot).Data;
            _gi = shared.Get(batch, time, _n, GradientBuffers<T>.RecurrentSlot + 1).Data;
        }
        else { _gr = new T[states]; _gi = new T[states]; }
        _pLr = new T[_chunks * _n]; _pLi = new T[_chunks * _n];
        _pBRe = new T[_chunks * _din * _n]; _pBIm = new T[_chunks * _din * _n];
        _pCRe = new T[_chunks * _dout * _n]; _pCIm = new T[_chunks * _dout * _n];
        _pD = new T[_chunks * _dout * _din];
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
        Eigenvalues(theta, _lr, _li, _gamma);
        var bRe = _bRe.Of(theta); var bIm = _bIm.Of(theta);
        for (int i = 0; i < _n; i++)
            for (int j = 0; j < _din; j++)
            {
                _btRe[j * _n + i] = _gamma[i] * bRe[i * _din + j];
                _btIm[j * _n + i] = _gamma[i] * bIm[i * _din + j];
            }
        _theta = theta; _x = input; _y = output;
        if (_algorithm == LtiAlgorithm.Convolution) ConvolutionForward(theta);
        else _pool.Run(_forward, _chunks);
    }

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient)
    {
        CheckShape(outputGradient, _dout);
        if (inputGradient != null) CheckShape(inputGradient, _din);
        _theta = theta; _dy = outputGradient; _dx = inputGradient;
        if (_algorithm == LtiAlgorithm.Convolution)
        {
            ConvolutionBackward(theta, gradient);
            return;
        }
        _pool.Run(_backward, _chunks);

        // Reduce the per-chunk partial gradients in chunk order (deterministic), then apply the chain rule.
        var dB = ReduceChunks(_pBRe, _din * _n);
        var dBi = ReduceChunks(_pBIm, _din * _n);
        AddChunks(_pCRe, _dout * _n, _cRe.Of(gradient));
        AddChunks(_pCIm, _dout * _n, _cIm.Of(gradient));
        if (_d != null) AddChunks(_pD, _d.Length, _d.Of(gradient));
        var dLr = ReduceChunks(_pLr, _n); var dLi = ReduceChunks(_pLi, _n);
        ChainToParameters(theta, gradient, dB, dBi, dLr, dLi);
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
                T abs = T.Sqrt(_lr[i] * _lr[i] + _li[i] * _li[i]);
                dAbs = dGamma[i] * EigenvalueMaps.Gamma(_o.Normalisation, abs).DGamma;
            }
            var (dp, dq) = _map.Backward(p[i], q[i], dLr[i], dLi[i], dAbs);
            gp[i] += dp; gq[i] += dq;
        }
    }

    // Sums chunk slices into slice 0 of the same buffer and returns it (the buffer is scratch after backward).
    private Span<T> ReduceChunks(T[] partials, int length)
    {
        var total = partials.AsSpan(0, length);
        for (int c = 1; c < _chunks; c++) Kernels.Add(total, partials.AsSpan(c * length, length));
        return total;
    }

    private void AddChunks(T[] partials, int length, Span<T> into)
    {
        for (int c = 0; c < _chunks; c++) Kernels.Add(into, partials.AsSpan(c * length, length));
    }

    private void CheckShape(SequenceTensor<T> t, int features)
    {
        if (!t.HasShape(_batch, _time, features))
            throw new ArgumentException($"expected a tensor of shape [{_batch}, {_time}, {features}], got {t}");
    }

    /// <summary>Narrow layers (the teacher–student shape, d = 1) run the fused one-sweep scans of
    /// <see cref="ScanKernels"/>: with few features the rank-d GEMMs are memory passes, not compute. Wide
    /// layers (the deep stack) keep the GEMMs, where they are the efficient way to apply B̃, C and D.</summary>
    private bool Fused => _din <= FusedMaxFeatures && _dout <= FusedMaxFeatures;

    /// <summary>One input and one output feature (so <see cref="Fused"/>): the fused scans keep only checkpoints and the backward pass
    /// recomputes each segment's states in cache (<see cref="ScanKernels.DiagonalForwardOneFeature{T}"/>).</summary>
    private bool OneFeature => _din == 1 && _dout == 1;

    /// <summary>Widest input/output for the fused scan: up to here its d FMAs per state element cost less than
    /// the extra passes over the states that the GEMM path makes.</summary>
    internal const int FusedMaxFeatures = 8;

    private void ForwardChunk(int chunk)
    {
        int b0 = chunk * ChunkSize, count = Math.Min(ChunkSize, _batch - b0), rows = count * _time;
        var x = _x.Sequences(b0, count);
        Span<T> hr = StateRows(_hr, _hrAt, b0, count), hi = StateRows(_hi, _hiAt, b0, count);
        if (Fused)
        {
            var yf = _y.Sequences(b0, count);
            if (OneFeature)
                ScanKernels.DiagonalForwardOneFeature<T>(x, hr, hi, _lr, _li, _btRe, _btIm, _cRe.Of(_theta), _cIm.Of(_theta), yf, count, _time, _n);
            else
                ScanKernels.DiagonalForward<T>(x, hr, hi, _lr, _li, _btRe, _btIm, _cRe.Of(_theta), _cIm.Of(_theta), yf, count, _time, _n, _din, _dout);
            if (_o.Skip == SkipConnection.Full)
                Gemm.Multiply(Transpose.No, Transpose.Yes, rows, _dout, _din, T.One, x, _din, _d!.Of(_theta), _din, T.One, yf, _dout);
            else if (_o.Skip == SkipConnection.Diagonal)
                Kernels.AddRowsScaled(yf, x, _d!.Of(_theta), rows);
            return;
        }
        // Inputs of every step at once: u = x B̃ᵀ, written where the states will go.
        if (_din == 1)
        {
            // One input feature: the same bits as the GEMMs below, without their tiling overhead.
            NarrowProducts.OuterProduct(x, _btRe, T.One, hr, rows);
            NarrowProducts.OuterProduct(x, _btIm, T.One, hi, rows);
        }
        else
        {
            Gemm.Multiply(Transpose.No, Transpose.No, rows, _n, _din, T.One, x, _din, _btRe, _n, T.Zero, hr, _n);
            Gemm.Multiply(Transpose.No, Transpose.No, rows, _n, _din, T.One, x, _din, _btIm, _n, T.Zero, hi, _n);
        }
        for (int b = 0; b < count; b++)
            Kernels.ComplexScanForward(hr.Slice(b * _time * _n, _time * _n), hi.Slice(b * _time * _n, _time * _n), _lr, _li, _time, _n);
        // y = Re(C h) + D x = h_re C_reᵀ − h_im C_imᵀ + D x
        var y = _y.Sequences(b0, count);
        if (_dout == 1)
        {
            // One output feature: row dots with the GEMM's bits, without its 1-wide tiles.
            NarrowProducts.RowDots(hr, _cRe.Of(_theta), T.One, false, y, rows);
            NarrowProducts.RowDots(hi, _cIm.Of(_theta), -T.One, true, y, rows);
        }
        else
        {
            Gemm.Multiply(Transpose.No, Transpose.Yes, rows, _dout, _n, T.One, hr, _n, _cRe.Of(_theta), _n, T.Zero, y, _dout);
            Gemm.Multiply(Transpose.No, Transpose.Yes, rows, _dout, _n, -T.One, hi, _n, _cIm.Of(_theta), _n, T.One, y, _dout);
        }
        if (_o.Skip == SkipConnection.Full && _dout == 1)
            NarrowProducts.RowDots(x, _d!.Of(_theta), T.One, true, y, rows);
        else if (_o.Skip == SkipConnection.Full)
            Gemm.Multiply(Transpose.No, Transpose.Yes, rows, _dout, _din, T.One, x, _din, _d!.Of(_theta), _din, T.One, y, _dout);
        else if (_o.Skip == SkipConnection.Diagonal)
            Kernels.AddRowsScaled(y, x, _d!.Of(_theta), rows);
    }

    private void BackwardChunk(int chunk)
    {
        int b0 = chunk * ChunkSize, count = Math.Min(ChunkSize, _batch - b0), rows = count * _time;
        var x = _x.Sequences(b0, count);
        var dy = _dy.Sequences(b0, count);
        Span<T> hr = StateRows(_hr, _hrAt, b0, count), hi = StateRows(_hi, _hiAt, b0, count);
        if (Fused)
        {
            BackwardChunkFused(chunk, b0, count, x, dy, hr, hi);
            return;
        }
        var gr = _gr.AsSpan(b0 * _time * _n, rows * _n);
        var gi = _gi.AsSpan(b0 * _time * _n, rows * _n);
        // Direct contributions e = ∂L/∂h from the readout: e_re = dy C_re, e_im = −dy C_im.
        if (_dout == 1)
        {
            NarrowProducts.OuterProduct(dy, _cRe.Of(_theta), T.One, gr, rows);
            NarrowProducts.OuterProduct(dy, _cIm.Of(_theta), -T.One, gi, rows);
        }
        else
        {
            Gemm.Multiply(Transpose.No, Transpose.No, rows, _n, _dout, T.One, dy, _dout, _cRe.Of(_theta), _n, T.Zero, gr, _n);
            Gemm.Multiply(Transpose.No, Transpose.No, rows, _n, _dout, -T.One, dy, _dout, _cIm.Of(_theta), _n, T.Zero, gi, _n);
        }
        var dLr = _pLr.AsSpan(chunk * _n, _n); var dLi = _pLi.AsSpan(chunk * _n, _n);
        dLr.Clear(); dLi.Clear();
        for (int b = 0; b < count; b++)
        {
            int o = b * _time * _n, len = _time * _n;
            Kernels.ComplexScanBackward(gr.Slice(o, len), gi.Slice(o, len), hr.Slice(o, len), hi.Slice(o, len), _lr, _li, dLr, dLi, _time, _n);
        }
        // ∂L/∂B̃ᵀ = xᵀ g, ∂L/∂C_re = dyᵀ h_re, ∂L/∂C_im = −dyᵀ h_im.
        // One-feature sides take the narrow products (the GEMM's bits, without its 1-row tiles).
        if (_din == 1)
        {
            NarrowProducts.VectorTimesMatrix(x, gr, T.One, _pBRe.AsSpan(chunk * _n, _n), rows);
            NarrowProducts.VectorTimesMatrix(x, gi, T.One, _pBIm.AsSpan(chunk * _n, _n), rows);
        }
        else
        {
            Gemm.Multiply(Transpose.Yes, Transpose.No, _din, _n, rows, T.One, x, _din, gr, _n, T.Zero, _pBRe.AsSpan(chunk * _din * _n, _din * _n), _n);
            Gemm.Multiply(Transpose.Yes, Transpose.No, _din, _n, rows, T.One, x, _din, gi, _n, T.Zero, _pBIm.AsSpan(chunk * _din * _n, _din * _n), _n);
        }
        if (_dout == 1)
        {
            NarrowProducts.VectorTimesMatrix(dy, hr, T.One, _pCRe.AsSpan(chunk * _n, _n), rows);
            NarrowProducts.VectorTimesMatrix(dy, hi, -T.One, _pCIm.AsSpan(chunk * _n, _n), rows);
        }
        else
        {
            Gemm.Multiply(Transpose.Yes, Transpose.No, _dout, _n, rows, T.One, dy, _dout, hr, _n, T.Zero, _pCRe.AsSpan(chunk * _dout * _n, _dout * _n), _n);
            Gemm.Multiply(Transpose.Yes, Transpose.No, _dout, _n, rows, -T.One, dy, _dout, hi, _n, T.Zero, _pCIm.AsSpan(chunk * _dout * _n, _dout * _n), _n);
        }
        if (_o.Skip == SkipConnection.Full && _dout == 1)
            NarrowProducts.VectorTimesMatrix(dy, x, T.One, _pD.AsSpan(chunk * _din, _din), rows);
        else if (_o.Skip == SkipConnection.Full)
            Gemm.Multiply(Transpose.Yes, Transpose.No, _dout, _din, rows, T.One, dy, _dout, x, _din, T.Zero, _pD.AsSpan(chunk * _dout * _din, _dout * _din), _din);
        else if (_o.Skip == SkipConnection.Diagonal)
            Kernels.ColumnDotProducts(dy, x, rows, _din, _pD.AsSpan(chunk * _din, _din));
        if (_dx != null)
        {
            // ∂L/∂x = g_re B̃_re + g_im B̃_im + dy D
            var dx = _dx.Sequences(b0, count);
            if (_din == 1)
            {
                NarrowProducts.RowDots(gr, _btRe, T.One, false, dx, rows);
                NarrowProducts.RowDots(gi, _btIm, T.One, true, dx, rows);
            }
            else
            {
                Gemm.Multiply(Transpose.No, Transpose.Yes, rows, _din, _n, T.One, gr, _n, _btRe, _n, T.Zero, dx, _din);
                Gemm.Multiply(Transpose.No, Transpose.Yes, rows, _din, _n, T.One, gi, _n, _btIm, _n, T.One, dx, _din);
            }
            if (_o.Skip == SkipConnection.Full && _din == 1)
                NarrowProducts.RowDots(dy, _d!.Of(_theta), T.One, true, dx, rows);
            else if (_o.Skip == SkipConnection.Full)
                Gemm.Multiply(Transpose.No, Transpose.No, rows, _din, _dout, T.One, dy, _dout, _d!.Of(_theta), _din, T.One, dx, _din);
            else if (_o.Skip == SkipConnection.Diagonal)
                Kernels.AddRowsScaled(dx, dy, _d!.Of(_theta), rows);
        }
    }

    // K[s, i, o] = Re(Σ_n C[o,n] λ_n^s B̃[n,i]) = Σ_n Re(λ^s)_n U[n,(i,o)] − Im(λ^s)_n V[n,(i,o)],
    // U = C_re B̃_re − C_im B̃_im, V = C_re B̃_im + C_im B̃_re (per n); D joins at lag 0.
    private void ConvolutionForward(T[] theta)
    {
        int n = _n, din = _din, dout = _dout, dd = din * dout;
        _wr.AsSpan(0, n).Fill(T.One); _wi.AsSpan(0, n).Clear();
        for (int s = 1; s < _time; s++)
        {
            int prev = (s - 1) * n, cur = s * n;
            for (int k = 0; k < n; k++)
            {
                T wr = _wr[prev + k], wi = _wi[prev + k];
                _wr[cur + k] = _lr[k] * wr - _li[k] * wi;
                _wi[cur + k] = _lr[k] * wi + _li[k] * wr;
            }
        }
        var cRe = _cRe.Of(theta); var cIm = _cIm.Of(theta);
        for (int k = 0; k < n; k++)
            for (int i = 0; i < din; i++)
            {
                T br = _btRe[i * n + k], bi = _btIm[i * n + k];
                for (int o = 0; o < dout; o++)
                {
                    T cr = cRe[o * n + k], ci = cIm[o * n + k];
                    _u[k * dd + i * dout + o] = cr * br - ci * bi;
                    _v[k * dd + i * dout + o] = cr * bi + ci * br;
                }
            }
        Gemm.Multiply(Transpose.No, Transpose.No, _time, dd, n, T.One, _wr, n, _u, dd, T.Zero, _kernel, dd);
        Gemm.Multiply(Transpose.No, Transpose.No, _time, dd, n, -T.One, _wi, n, _v, dd, T.One, _kernel, dd);
        if (_o.Skip == SkipConnection.Full)
        {
            var d = _d!.Of(theta);
            for (int i = 0; i < din; i++)
                for (int o = 0; o < dout; o++) _kernel[i * dout + o] += d[o * din + i];
        }
        else if (_o.Skip == SkipConnection.Diagonal)
        {
            var d = _d!.Of(theta);
            for (int i = 0; i < din; i++) _kernel[i * dout + i] += d[i];
        }
        _conv!.Forward(_kernel, _x, _y);
    }

    // ∂L/∂K from the convolution, then back through K = Re(λ^s) U − Im(λ^s) V to C, B̃, D and λ
    // (the last by the adjoint recursion over s: a_{s−1} = ∂L/∂W_{s−1} + λ̄ a_s, ∂L/∂λ += a_s conj(W_{s−1})).
    private void ConvolutionBackward(T[] theta, T[] gradient)
    {
        int n = _n, din = _din, dout = _dout, dd = din * dout;
        _conv!.Backward(_x, _dy, _dKernel, _dx);
        if (_o.Skip == SkipConnection.Full)
        {
            var gd = _d!.Of(gradient);
            for (int i = 0; i < din; i++)
                for (int o = 0; o < dout; o++) gd[o * din + i] += _dKernel[i * dout + o];
        }
        else if (_o.Skip == SkipConnection.Diagonal)
        {
            var gd = _d!.Of(gradient);
            for (int i = 0; i < din; i++) gd[i] += _dKernel[i * dout + i];
        }
        Gemm.Multiply(Transpose.No, Transpose.Yes, _time, n, dd, T.One, _dKernel, dd, _u, dd, T.Zero, _dWr, n);
        Gemm.Multiply(Transpose.No, Transpose.Yes, _time, n, dd, -T.One, _dKernel, dd, _v, dd, T.Zero, _dWi, n);
        Gemm.Multiply(Transpose.Yes, Transpose.No, n, dd, _time, T.One, _wr, n, _dKernel, dd, T.Zero, _dU, dd);
        Gemm.Multiply(Transpose.Yes, Transpose.No, n, dd, _time, -T.One, _wi, n, _dKernel, dd, T.Zero, _dV, dd);
        var cRe = _cRe.Of(theta); var cIm = _cIm.Of(theta);
        var gcRe = _cRe.Of(gradient); var gcIm = _cIm.Of(gradient);
        _dBtRe.AsSpan().Clear(); _dBtIm.AsSpan().Clear();
        for (int k = 0; k < n; k++)
            for (int i = 0; i < din; i++)
            {
                T br = _btRe[i * n + k], bi = _btIm[i * n + k];
                for (int o = 0; o < dout; o++)
                {
                    T du = _dU[k * dd + i * dout + o], dv = _dV[k * dd + i * dout + o];
                    T cr = cRe[o * n + k], ci = cIm[o * n + k];
                    gcRe[o * n + k] += du * br + dv * bi;
                    gcIm[o * n + k] += dv * br - du * bi;
                    _dBtRe[i * n + k] += du * cr + dv * ci;
                    _dBtIm[i * n + k] += dv * cr - du * ci;
                }
            }
        _dLr.AsSpan().Clear(); _dLi.AsSpan().Clear();
        for (int s = _time - 1; s >= 1; s--)
        {
            int cur = s * n, prev = (s - 1) * n;
            for (int k = 0; k < n; k++)
            {
                T ar = _dWr[cur + k], ai = _dWi[cur + k], wr = _wr[prev + k], wi = _wi[prev + k];
                _dLr[k] += ar * wr + ai * wi;
                _dLi[k] += ai * wr - ar * wi;
                _dWr[prev + k] += ar * _lr[k] + ai * _li[k];
                _dWi[prev + k] += ai * _lr[k] - ar * _li[k];
            }
        }
        ChainToParameters(theta, gradient, _dBtRe, _dBtIm, _dLr, _dLi);
    }

    // One reverse sweep per sequence (ScanKernels.DiagonalBackward) writes every partial gradient of the chunk.
    private void BackwardChunkFused(int chunk, int b0, int count, ReadOnlySpan<T> x, ReadOnlySpan<T> dy, ReadOnlySpan<T> hr, ReadOnlySpan<T> hi)
    {
        int rows = count * _time;
        var dLr = _pLr.AsSpan(chunk * _n, _n); var dLi = _pLi.AsSpan(chunk * _n, _n);
        var dBr = _pBRe.AsSpan(chunk * _din * _n, _din * _n); var dBi = _pBIm.AsSpan(chunk * _din * _n, _din * _n);
        var dCr = _pCRe.AsSpan(chunk * _dout * _n, _dout * _n); var dCi = _pCIm.AsSpan(chunk * _dout * _n, _dout * _n);
        dLr.Clear(); dLi.Clear(); dBr.Clear(); dBi.Clear(); dCr.Clear(); dCi.Clear();
        var dx = _dx != null ? _dx.Sequences(b0, count) : Span<T>.Empty;
        var scratch = _pG.AsSpan(_pGAt + chunk * _pGStride, _pGStride);
        if (OneFeature)
            ScanKernels.DiagonalBackwardOneFeature<T>(x, dy, hr, hi, _lr, _li, _btRe, _btIm, _cRe.Of(_theta), _cIm.Of(_theta),
                scratch, dLr, dLi, dBr, dBi, dCr, dCi, dx, count, _time, _n);
        else
            ScanKernels.DiagonalBackward<T>(x, dy, hr, hi, _lr, _li, _btRe, _btIm, _cRe.Of(_theta), _cIm.Of(_theta),
                scratch, dLr, dLi, dBr, dBi, dCr, dCi, dx, count, _time, _n, _din, _dout);
        if (_o.Skip == SkipConnection.Full)
            Gemm.Multiply(Transpose.Yes, Transpose.No, _dout, _din, rows, T.One, dy, _dout, x, _din, T.Zero, _pD.AsSpan(chunk * _dout * _din, _dout * _din), _din);
        else if (_o.Skip == SkipConnection.Diagonal)
            Kernels.ColumnDotProducts(dy, x, rows, _din, _pD.AsSpan(chunk * _din, _din));
        if (_dx != null)
        {
            if (_o.Skip == SkipConnection.Full)
                Gemm.Multiply(Transpose.No, Transpose.No, rows, _din, _dout, T.One, dy, _dout, _d!.Of(_theta), _din, T.One, dx, _din);
            else if (_o.Skip == SkipConnection.Diagonal)
                Kernels.AddRowsScaled(dx, dy, _d!.Of(_theta), rows);
        }
    }

    /// <summary>Sequences b0 … b0+count−1 of a state buffer (<c>_hr</c> from <c>_hrAt</c>, or <c>_hi</c>): every state, or with one
    /// feature the checkpoints.</summary>
    private Span<T> StateRows(T[] buffer, int at, int b0, int count) => buffer.AsSpan(at + b0 * _stateRows * _n, count * _stateRows * _n);

    /// <summary>The state h of the latest forward pass: real and imaginary parts, [batch, time, N]
    /// (empty when the layer runs the convolution algorithm, which never forms the states, or the one-feature
    /// scan, which keeps only checkpoints).</summary>
    public (ReadOnlyMemory<T> Re, ReadOnlyMemory<T> Im) States => _algorithm == LtiAlgorithm.Convolution || _hr.Length == 0 || OneFeature
        ? (ReadOnlyMemory<T>.Empty, ReadOnlyMemory<T>.Empty)
        : (_hr.AsMemory(_hrAt, _batch * _time * _n), _hi.AsMemory(_hiAt, _batch * _time * _n));
}
