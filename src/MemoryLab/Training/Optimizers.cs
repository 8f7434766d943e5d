using System.Numerics;
using System.Runtime.Intrinsics;
using MemoryLab.Numerics;

namespace MemoryLab.Training;

/// <summary>Per-group optimiser settings: parameters whose <see cref="ParameterView.Group"/> equals <paramref name="Group"/>
/// get lr × <paramref name="LearningRateFactor"/> and weight decay <paramref name="WeightDecay"/> (the LRU training recipe of Orvieto et al., ICML 2023).</summary>
public sealed record ParameterGroupRule(string Group, double LearningRateFactor = 1.0, double? WeightDecay = null);

/// <summary>
/// An optimiser over the flat parameter vector, with parameter groups and global-norm clipping.
/// <see cref="Step"/> allocates nothing. Its state (moments, step count) is exposed for checkpoints.
/// </summary>
public abstract class Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly (int Offset, int Length, double LrFactor, double WeightDecay)[] _segments;

    /// <summary>An optimiser for θ laid out as <paramref name="layout"/>; groups not named in <paramref name="groups"/> use factor 1 and <paramref name="weightDecay"/>.</summary>
    protected Optimizer(ParameterLayout layout, double weightDecay, IEnumerable<ParameterGroupRule>? groups, double clipNorm)
    {
        if (!(weightDecay >= 0)) throw new ArgumentException($"weight decay must be ≥ 0 (got {weightDecay})");
        if (!(clipNorm >= 0)) throw new ArgumentException($"clip norm must be ≥ 0 (0 = off; got {clipNorm})");
        var rules = (groups ?? []).ToDictionary(g => g.Group, StringComparer.Ordinal);
        _segments = layout.Views.Select(v =>
        {
            rules.TryGetValue(v.Group, out var r);
            return (v.Offset, v.Length, r?.LearningRateFactor ?? 1.0, r?.WeightDecay ?? weightDecay);
        }).ToArray();
        Dimension = layout.Count;
        ClipNorm = clipNorm;
    }

    /// <summary>Length of θ.</summary>
    public int Dimension { get; }
    /// <summary>Global gradient-norm clip (0 = no clipping).</summary>
    public double ClipNorm { get; }
    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; protected set; }
    /// <summary>The gradient norm before clipping at the latest step.</summary>
    public double LastGradientNorm { get; private set; }

    /// <summary>Named state arrays (for checkpoints); their contents may be overwritten to restore a state.</summary>
    public abstract IReadOnlyList<(string Name, T[] Values)> State { get; }

    /// <summary>Restores the step count (with <see cref="State"/>, a full restore).</summary>
    public void RestoreStepCount(long steps) => StepCount = steps;

    /// <summary>One update of θ with gradient g at learning rate <paramref name="learningRate"/>. Clips g in place first when enabled.</summary>
    public void Step(Span<T> theta, Span<T> gradient, double learningRate)
    {
        if (theta.Length != Dimension || gradient.Length != Dimension)
            throw new ArgumentException($"θ and gradient must have {Dimension} entries");
        double norm = 0;
        foreach (var g in gradient) { double d = double.CreateTruncating(g); norm += d * d; }
        norm = Math.Sqrt(norm);
        LastGradientNorm = norm;
        if (ClipNorm > 0 && norm > ClipNorm)
        {
            T s = T.CreateTruncating(ClipNorm / norm);
            for (int i = 0; i < gradient.Length; i++) gradient[i] *= s;
        }
        StepCount++;
        foreach (var (offset, length, factor, wd) in _segments)
            Update(theta.Slice(offset, length), gradient.Slice(offset, length), offset, learningRate * factor, wd);
    }

    /// <summary>Updates one segment [offset, offset+length) of θ.</summary>
    protected abstract void Update(Span<T> theta, ReadOnlySpan<T> gradient, int offset, double learningRate, double weightDecay);
}

/// <summary>Stochastic gradient descent with optional (Nesterov) momentum, PyTorch convention:
/// b ← μ b + (g + λθ), θ ← θ − lr·b (or lr·(g + μ b) with Nesterov). μ = 0 is plain (S)GD.</summary>
public sealed class Sgd<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _buffer;
    private readonly double _momentum;
    private readonly bool _nesterov;

    /// <summary>SGD over <paramref name="layout"/>.</summary>
    public Sgd(ParameterLayout layout, double momentum = 0, bool nesterov = false, double weightDecay = 0,
        IEnumerable<ParameterGroupRule>? groups = null, double clipNorm = 0)
        : base(layout, weightDecay, groups, clipNorm)
    {
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentException($"momentum must lie in [0, 1) (got {momentum})");
        _momentum = momentum; _nesterov = nesterov;
        _buffer = new T[layout.Count];
    }

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, T[] Values)> State => [("momentum", _buffer)];

    /// <inheritdoc />
    protected override void Update(Span<T> theta, ReadOnlySpan<T> gradient, int offset, double learningRate, double weightDecay)
    {
        T lr = T.CreateTruncating(learningRate), mu = T.CreateTruncating(_momentum), wd = T.CreateTruncating(weightDecay);
        var b = _buffer.AsSpan(offset, theta.Length);
        for (int i = 0; i < theta.Length; i++)
        {
            T g = gradient[i] + wd * theta[i];
            if (_momentum == 0) { theta[i] -= lr * g; continue; }
            b[i] = StepCount == 1 ? g : mu * b[i] + g;
            theta[i] -= lr * (_nesterov ? g + mu * b[i] : b[i]);
        }
    }
}

/// <summary>
/// Adam (Kingma &amp; Ba 2015) and AdamW (Loshchilov &amp; Hutter 2019), PyTorch conventions:
/// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr·m̂/(√v̂ + ε) with bias corrections
/// m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ). Weight decay is decoupled (θ ← θ(1 − lr·λ)) for AdamW and added to
/// the gradient (g + λθ) for Adam.
/// </summary>
public sealed class Adam<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _m, _v;
    private readonly double _beta1, _beta2, _eps;

    /// <summary>Adam/AdamW over <paramref name="layout"/>.</summary>
    public Adam(ParameterLayout layout, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0,
        bool decoupledWeightDecay = false, IEnumerable<ParameterGroupRule>? groups = null, double clipNorm = 0)
        : base(layout, weightDecay, groups, clipNorm)
    {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) throw new ArgumentException($"betas must lie in [0, 1) (got {beta1}, {beta2})");
        if (!(epsilon > 0)) throw new ArgumentException($"epsilon must be positive (got {epsilon})");
        _beta1 = beta1; _beta2 = beta2; _eps = epsilon;
        Decoupled = decoupledWeightDecay;
        _m = new T[layout.Count];
        _v = new T[layout.Count];
    }

    /// <summary>True for AdamW (decoupled weight decay).</summary>
    public bool Decoupled { get; }

    /// <inheritdoc />
    public override IReadOnlyList<(string Name, T[] Values)> State => [("exp_avg", _m), ("exp_avg_sq", _v)];

    /// <summary>Adam's effective learning rate for entry i: lr/(1−β₁ᵗ) / (√v̂ᵢ + ε), the step a unit first moment
    /// would take — how much Adam rescales each parameter (Zucchet24 Fig. 4).</summary>
    public double EffectiveLearningRate(int index, double learningRate)
    {
        long t = Math.Max(1, StepCount);
        double vhat = double.CreateTruncating(_v[index]) / (1 - Math.Pow(_beta2, t));
        return learningRate / (1 - Math.Pow(_beta1, t)) / (Math.Sqrt(vhat) + _eps);
    }

    /// <summary>
    /// The step Adam would take on entry i for a unit gradient, from its current state: the next step's update with
    /// g = 1 entering both moments, m' = β₁m + (1−β₁), v' = β₂v + (1−β₂), t' = t + 1, step = lr·(m'/(1−β₁ᵗ'))/(√(v'/(1−β₂ᵗ')) + ε).
    /// This is the probe of Zucchet &amp; Orvieto (NeurIPS 2024) for Fig. 11 (their source/train.py passes a tree of ones through
    /// the optimiser's update); unlike <see cref="EffectiveLearningRate"/> its sign follows m', so it can be ≤ 0.
    /// </summary>
    public double UnitGradientStep(int index, double learningRate)
    {
        Span<double> one = stackalloc double[1];
        UnitGradientSteps([index], learningRate, one);
        return one[0];
    }

    /// <summary><see cref="UnitGradientStep"/> for each of <paramref name="entries"/>, into <paramref name="steps"/>.</summary>
    public void UnitGradientSteps(ReadOnlySpan<int> entries, double learningRate, Span<double> steps)
    {
        if (steps.Length < entries.Length) throw new ArgumentException("one result per entry", nameof(steps));
        long t = StepCount + 1;
        double bc1 = 1 - Math.Pow(_beta1, t), bc2 = 1 - Math.Pow(_beta2, t);
        for (int k = 0; k < entries.Length; k++)
        {
            int i = entries[k];
            double m = _beta1 * double.CreateTruncating(_m[i]) + (1 - _beta1);
            double v = _beta2 * double.CreateTruncating(_v[i]) + (1 - _beta2);
            steps[k] = learningRate * (m / bc1) / (Math.Sqrt(v / bc2) + _eps);
        }
    }

    /// <inheritdoc />
    protected override void Update(Span<T> theta, ReadOnlySpan<T> gradient, int offset, double learningRate, double weightDecay)
    {
        long t = StepCount;
        T b1 = T.CreateTruncating(_beta1), b2 = T.CreateTruncating(_beta2);
        T c1 = T.One - b1, c2 = T.One - b2;
        T bc1 = T.CreateTruncating(1 - Math.Pow(_beta1, t)), sqrtBc2 = T.CreateTruncating(Math.Sqrt(1 - Math.Pow(_beta2, t)));
        T lr = T.CreateTruncating(learningRate), eps = T.CreateTruncating(_eps), wd = T.CreateTruncating(weightDecay);
        T stepSize = lr / bc1;
        T decay = T.One - lr * wd;
        var m = _m.AsSpan(offset, theta.Length); var v = _v.AsSpan(offset, theta.Length);
        int i = 0;
        // Whole vectors first: each lane runs the scalar loop's operations in its order (no fused multiply-add), so the same bits.
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var vb1 = Vector512.Create(b1); var vb2 = Vector512.Create(b2); var vc1 = Vector512.Create(c1); var vc2 = Vector512.Create(c2);
            var vStep = Vector512.Create(stepSize); var vDecay = Vector512.Create(decay); var vWd = Vector512.Create(wd);
            var vSqrtBc2 = Vector512.Create(sqrtBc2); var vEps = Vector512.Create(eps);
            ref T rt = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(theta);
            ref T rg = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(gradient);
            ref T rm = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(m);
            ref T rv = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(v);
            for (; i + Vector512<T>.Count <= theta.Length; i += Vector512<T>.Count)
            {
                nuint k = (nuint)i;
                var th = Vector512.LoadUnsafe(ref rt, k);
                var g = Vector512.LoadUnsafe(ref rg, k);
                if (Decoupled) th *= vDecay;
                else g += vWd * th;
                var mi = vb1 * Vector512.LoadUnsafe(ref rm, k) + vc1 * g;
                var vi = vb2 * Vector512.LoadUnsafe(ref rv, k) + vc2 * g * g;
                mi.StoreUnsafe(ref rm, k); vi.StoreUnsafe(ref rv, k);
                (th - vStep * mi / (Vector512.Sqrt(vi) / vSqrtBc2 + vEps)).StoreUnsafe(ref rt, k);
            }
        }
        for (; i < theta.Length; i++)
        {
            T g = gradient[i];
            if (Decoupled) theta[i] *= decay;
            else g += wd * theta[i];
            m[i] = b1 * m[i] + c1 * g;
            v[i] = b2 * v[i] + c2 * g * g;
            theta[i] -= stepSize * m[i] / (T.Sqrt(v[i]) / sqrtBc2 + eps);
        }
    }
}
