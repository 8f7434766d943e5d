using System.Numerics;
using MemoryLab.Models;
using MemoryLab.Numerics;

namespace CustomParametrisation;

/// <summary>
/// A complex diagonal recurrence with a parametrisation of its own, the "logit-polar" map
/// <code>
///   λ_j = σ(p_j) · e^{i q_j},   σ(p) = 1 / (1 + e^{−p})
///   h_t = λ ⊙ h_{t−1} + exp(γ_log) ⊙ (B x_t),   y_t = Re(C h_t) + D ⊙ x_t
/// </code>
/// |λ| = σ(p) stays in (0, 1) whatever p, like the LRU's exp(−exp(ν_log)), but the phase q is trained directly
/// rather than through θ = exp(θ_log). Everything except the eigenvalue map is the LRU (LRU23).
/// </summary>
/// <remarks>
/// How it is built, without touching the library: an inner <see cref="DiagonalRecurrence{T}"/> with the default
/// parametrisation (its two eigenvalue parameters are Re λ and Im λ) runs the fused forward pass and the
/// adjoint scan. This layer owns θ's entries: before each forward pass it writes λ = σ(p)e^{iq} and the shared
/// weights (γ_log, B, C, D) into the inner layer's θ, and after each backward pass it carries ∂L/∂(Re λ, Im λ)
/// to (p, q) by the chain rule
/// <code>
///   ∂L/∂p = σ(p)(1 − σ(p)) · (cos q · ∂L/∂Re λ + sin q · ∂L/∂Im λ)
///   ∂L/∂q = σ(p) · (−sin q · ∂L/∂Re λ + cos q · ∂L/∂Im λ)
/// </code>
/// and adds the shared weights' gradients as they are. (A production layer would fuse the copies into the scan;
/// they cost O(parameters) per pass, small next to the O(batch·time·N) scan.)
/// </remarks>
public sealed class LogitPolarRecurrence<T> : ISequenceLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly DiagonalRecurrence<T> _inner;
    private readonly ParameterLayout _innerLayout = new();
    private readonly ParameterView _innerRe, _innerIm;
    private readonly T[] _innerTheta, _innerGradient;
    private readonly int _n;
    private readonly List<(ParameterView Outer, ParameterView Inner)> _shared = [];
    private ParameterView _p = null!, _q = null!;

    /// <summary>A layer on <paramref name="features"/> input/output features with <paramref name="stateSize"/> complex
    /// neurons, ring-initialised on |λ| ∈ [<paramref name="rMin"/>, <paramref name="rMax"/>] like the LRU.</summary>
    public LogitPolarRecurrence(int features, int stateSize, double rMin = 0.0, double rMax = 1.0, double maxPhase = 2 * Math.PI,
        RingInitialisation init = RingInitialisation.Lru23)
    {
        _n = stateSize;
        _inner = new DiagonalRecurrence<T>(features, features, new DiagonalRecurrenceOptions
        {
            StateSize = stateSize,
            Parametrisation = EigenvalueParametrisation.Default, // inner (p, q) = (Re λ, Im λ)
            Normalisation = InputNormalisation.Learned,
            Skip = SkipConnection.Diagonal,
            RMin = rMin,
            RMax = rMax,
            MaxPhase = maxPhase,
            Init = init,
        });
        _inner.Declare(_innerLayout, "");
        var (re, im) = DiagonalRecurrence<T>.EigenvalueNames(EigenvalueParametrisation.Default);
        _innerRe = _innerLayout[re];
        _innerIm = _innerLayout[im];
        _innerTheta = new T[_innerLayout.Count];
        _innerGradient = new T[_innerLayout.Count];
    }

    /// <inheritdoc />
    public int InputSize => _inner.InputSize;
    /// <inheritdoc />
    public int OutputSize => _inner.OutputSize;

    /// <summary>Declares <c>nu_logit</c> (p) and <c>theta</c> (q), then the LRU's other weights under their usual names.</summary>
    public void Declare(ParameterLayout layout, string prefix)
    {
        _p = layout.Add(ParameterLayout.Join(prefix, "nu_logit"), "recurrent", _n);
        _q = layout.Add(ParameterLayout.Join(prefix, "theta"), "recurrent", _n);
        _shared.Clear();
        foreach (var view in _innerLayout.Views)
            if (view != _innerRe && view != _innerIm)
                _shared.Add((layout.Add(ParameterLayout.Join(prefix, view.Name), view.Group, view.Shape), view));
    }

    /// <summary>The LRU's ring initialisation (same draws for the same seed), written as p = logit|λ|, q = arg λ.</summary>
    public void Initialize(Span<T> theta, CounterRng rng)
    {
        _inner.Initialize(_innerTheta, rng);
        var re = _innerRe.Of(_innerTheta); var im = _innerIm.Of(_innerTheta);
        var p = _p.Of(theta); var q = _q.Of(theta);
        for (int j = 0; j < _n; j++)
        {
            double x = double.CreateTruncating(re[j]), y = double.CreateTruncating(im[j]);
            double nu = Math.Clamp(Math.Sqrt(x * x + y * y), 1e-7, 1 - 1e-7); // logit is finite inside (0, 1)
            p[j] = T.CreateTruncating(Math.Log(nu / (1 - nu)));
            q[j] = T.CreateTruncating(Math.Atan2(y, x));
        }
        foreach (var (outer, inner) in _shared) inner.Of(_innerTheta).CopyTo(outer.Of(theta));
    }

    /// <inheritdoc />
    public void Prepare(int batch, int time, WorkerPool pool) => _inner.Prepare(batch, time, pool);

    /// <inheritdoc />
    public void Forward(T[] theta, SequenceTensor<T> input, SequenceTensor<T> output, bool training)
    {
        var p = _p.Of(theta); var q = _q.Of(theta);
        var re = _innerRe.Of(_innerTheta); var im = _innerIm.Of(_innerTheta);
        for (int j = 0; j < _n; j++)
        {
            T nu = Sigmoid(p[j]);
            re[j] = nu * T.Cos(q[j]);
            im[j] = nu * T.Sin(q[j]);
        }
        foreach (var (outer, inner) in _shared) outer.Of(theta).CopyTo(inner.Of(_innerTheta));
        _inner.Forward(_innerTheta, input, output, training);
    }

    /// <inheritdoc />
    public void Backward(T[] theta, SequenceTensor<T> outputGradient, SequenceTensor<T>? inputGradient, T[] gradient)
    {
        Array.Clear(_innerGradient);
        _inner.Backward(_innerTheta, outputGradient, inputGradient, _innerGradient);
        var p = _p.Of(theta); var q = _q.Of(theta);
        var dp = _p.Of(gradient); var dq = _q.Of(gradient);
        var dRe = _innerRe.Of(_innerGradient); var dIm = _innerIm.Of(_innerGradient);
        for (int j = 0; j < _n; j++)
        {
            T nu = Sigmoid(p[j]), c = T.Cos(q[j]), s = T.Sin(q[j]);
            dp[j] += nu * (T.One - nu) * (c * dRe[j] + s * dIm[j]);
            dq[j] += nu * (c * dIm[j] - s * dRe[j]);
        }
        foreach (var (outer, inner) in _shared)
        {
            var into = outer.Of(gradient); var from = inner.Of(_innerGradient);
            for (int i = 0; i < into.Length; i++) into[i] += from[i];
        }
    }

    private static T Sigmoid(T x) => T.One / (T.One + T.Exp(-x));
}
