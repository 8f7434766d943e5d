using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// One kernel for the two single-gate recurrences, with h₋₁ = 0 and output y_t = h_t:
/// <code>
///   a_t = W h_{t−1} + U x_t + b,   s_t = σ(a_t),
///   h_t = h_{t−1} + dt·s_t   (residual: <see cref="ContinuousTimeRecurrence{T}"/>)
///   h_t = s_t                (plain:    <see cref="ElmanRecurrence{T}"/>)
/// </code>
/// Backward (reverse time, g_t = ∂loss/∂h_t in total): <c>g_t = ∂loss/∂y_t + c_t</c>,
/// <c>δ_t = dt·g_t ⊙ σ'(a_t)</c>, carry <c>c_{t−1} = [residual] g_t + Wᵀ δ_t</c>;
/// then ∂W = Σ_t δ_t h_{t−1}ᵀ, ∂U = Σ_t δ_t x_tᵀ, ∂b = Σ_t δ_t, ∂x_t = Uᵀ δ_t.
/// </summary>
/// <remarks>Parameters (PyTorch names): <c>weight_ih</c> U [hidden, in] (group <c>input</c>),
/// <c>weight_hh</c> W [hidden, hidden] (group <c>recurrent</c>), <c>bias</c> b [hidden] (group <c>bias</c>).
/// One bias, as in the formula (PyTorch's pair b_ih + b_hh is redundant).</remarks>
public abstract class SimpleRecurrence<T> : ChunkedRecurrence<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool _residual;
    private readonly T _dt;
    private ParameterView _wih = null!, _whh = null!, _bias = null!;
    private T[] _s = [], _h = [], _delta = [], _carry = [];

    /// <summary>Sizes, σ, and the form: <paramref name="residual"/> adds h_{t−1}, <paramref name="dt"/> scales σ.</summary>
    private protected SimpleRecurrence(int inputSize, int hiddenSize, Activation activation, bool residual, double dt, int chunkSize)
        : base(inputSize, hiddenSize, gates: 1, chunkSize)
    {
        if (!Enum.IsDefined(activation)) throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation");
        if (!(dt > 0) || !double.IsFinite(dt)) throw new ArgumentOutOfRangeException(nameof(dt), dt, "the step dt must be positive and finite");
        Activation = activation;
        _residual = residual;
        _dt = T.CreateTruncating(dt);
    }

    /// <summary>The pointwise nonlinearity σ.</summary>
    public Activation Activation { get; }

    /// <summary>Input weights U, <c>[hidden, in]</c>.</summary>
    public ParameterView InputWeights => _wih;
    /// <summary>Recurrent weights W, <c>[hidden, hidden]</c> (as stored in θ; the continuous-time layer maps its diagonal, see <see cref="ContinuousTimeRecurrence{T}.EffectiveRecurrentMatrix"/>).</summary>
    public ParameterView RecurrentWeights => _whh;
    /// <summary>Bias b, <c>[hidden]</c>.</summary>
    public ParameterView Bias => _bias;

    /// <inheritdoc />
    protected override void DeclareParameters(ParameterLayout layout, string prefix)
    {
        _wih = layout.Add(ParameterLayout.Join(prefix, "weight_ih"), "input", HiddenSize, InputSize);
        _whh = layout.Add(ParameterLayout.Join(prefix, "weight_hh"), "recurrent", HiddenSize, HiddenSize);
        _bias = layout.Add(ParameterLayout.Join(prefix, "bias"), "bias", HiddenSize);
    }

    /// <inheritdoc />
    protected override void AllocateBuffers(int batch, int time)
    {
        int n = checked(batch * time * HiddenSize);
        _s = new T[n];
        _h = _residual ? new T[n] : _s; // a plain recurrence's state is its activation
        _delta = new T[n];
        _carry = new T[ChunkCount * ChunkSize * HiddenSize];
    }

    /// <inheritdoc />
    protected override ParameterView InputWeightView => _wih;

    /// <inheritdoc />
    protected override ParameterView RecurrentWeightView => _whh;

    /// <inheritdoc />
    protected override void ForwardChunk(int chunk, int b0, int rows)
    {
        switch (Activation)
        {
            case Activation.Tanh: ForwardScan<TanhActivation>(b0, rows); break;
            case Activation.HardTanh: ForwardScan<HardTanhActivation>(b0, rows); break;
            default: ForwardScan<IdentityActivation>(b0, rows); break;
        }
    }

    /// <inheritdoc />
    protected override void BackwardChunk(int chunk, int b0, int rows, Span<T> partial)
    {
        switch (Activation)
        {
            case Activation.Tanh: BackwardScan<TanhActivation>(chunk, b0, rows, partial); break;
            case Activation.HardTanh: BackwardScan<HardTanhActivation>(chunk, b0, rows, partial); break;
            default: BackwardScan<IdentityActivation>(chunk, b0, rows, partial); break;
        }
    }

    private void ForwardScan<TOp>(int b0, int rows) where TOp : struct, IActivation
    {
        int H = HiddenSize, D = InputSize, steps = Time, ld = steps * H, n = rows * steps;
        var s = _s.AsSpan(b0 * ld, rows * ld);
        var h = _h.AsSpan(b0 * ld, rows * ld);
        var x = Input.Data.AsSpan(b0 * steps * D, n * D);
        var bias = _bias.Of(Theta);
        bool narrow = NarrowInput;
        if (!narrow)
        {
            // Input projections of every step at once: a = x Uᵀ + b.
            Gemm.Multiply(Transpose.No, Transpose.No, n, H, D, T.One, x, D, InputWeightsT, H, T.Zero, s, H);
            Elementwise.AddBiasToRows(s, n, H, bias);
        }
        for (int t = 0; t < steps; t++)
        {
            if (narrow)
                for (int i = 0; i < rows; i++) ProjectRow(x.Slice((i * steps + t) * D, D), InputWeightsT, bias, s.Slice(i * ld + t * H, H));
            if (t > 0) Gemm.Multiply(Transpose.No, Transpose.No, rows, H, H, T.One, h[((t - 1) * H)..], ld, RecurrentWeightsT, H, T.One, s[(t * H)..], ld);
            for (int i = 0; i < rows; i++)
            {
                int o = i * ld + t * H;
                ActivateRow<TOp>(s.Slice(o, H), t > 0 ? h.Slice(o - H, H) : default, h.Slice(o, H));
            }
        }
        h.CopyTo(Output.Data.AsSpan(b0 * ld, rows * ld));
    }

    /// <summary>s ← σ(s); for the residual form also h = h_prev + dt·s (h_prev empty at t = 0).</summary>
    private void ActivateRow<TOp>(Span<T> s, ReadOnlySpan<T> hPrev, Span<T> h) where TOp : struct, IActivation
    {
        var kernel = new Activate<TOp>(s, hPrev, h, _residual, _dt);
        Lanes.ForEach<Activate<TOp>, T>(ref kernel, s.Length);
    }

    private void BackwardScan<TOp>(int chunk, int b0, int rows, Span<T> partial) where TOp : struct, IActivation
    {
        int H = HiddenSize, D = InputSize, steps = Time, ld = steps * H, n = rows * steps;
        var s = _s.AsSpan(b0 * ld, rows * ld);
        var h = _h.AsSpan(b0 * ld, rows * ld);
        var delta = _delta.AsSpan(b0 * ld, rows * ld);
        var dy = OutputGradient.Data.AsSpan(b0 * ld, rows * ld);
        var x = Input.Data.AsSpan(b0 * steps * D, n * D);
        var dx = InputGradient is { } dxt ? dxt.Data.AsSpan(b0 * steps * D, n * D) : default;
        var carry = _carry.AsSpan(chunk * ChunkSize * H, rows * H);
        var w = RecurrentMatrix(Theta);
        var pb = Slice(partial, _bias);
        var gT = NarrowInput ? InputGradientT(chunk) : default;
        bool narrow = NarrowInput;
        for (int t = steps - 1; t >= 0; t--)
        {
            for (int i = 0; i < rows; i++)
            {
                int o = i * ld + t * H;
                var d = delta.Slice(o, H);
                DeltaRow<TOp>(dy.Slice(o, H), t < steps - 1, carry.Slice(i * H, H), s.Slice(o, H), d, pb);
                if (!narrow) continue;
                int row = (i * steps + t) * D;
                var dxr = dx.IsEmpty ? default : dx.Slice(row, D);
                dxr.Clear();
                AccumulateInputRow(d, 0, H, x.Slice(row, D), InputWeightsT, gT, dxr);
            }
            // c_{t−1} = [residual] g_t + δ_t W (rows of δ times W = (Wᵀδ)ᵀ).
            if (t > 0) Gemm.Multiply(Transpose.No, Transpose.No, rows, H, H, T.One, delta[(t * H)..], ld, w, H, _residual ? T.One : T.Zero, carry, H);
        }
        var dW = Slice(partial, _whh);
        if (steps > 1)
            for (int i = 0; i < rows; i++)
                Gemm.Multiply(Transpose.Yes, Transpose.No, H, H, steps - 1, T.One, delta.Slice(i * ld + H), H, h.Slice(i * ld), H, T.One, dW, H);
        if (narrow) return;
        Gemm.Multiply(Transpose.Yes, Transpose.No, H, D, n, T.One, delta, H, x, D, T.One, Slice(partial, _wih), D);
        if (!dx.IsEmpty) Gemm.Multiply(Transpose.No, Transpose.No, n, D, H, T.One, delta, H, _wih.Of(Theta), D, T.Zero, dx, D);
    }

    /// <summary>One reverse step of one sequence: g = ∂y + c (c only when <paramref name="hasCarry"/>),
    /// δ = dt·g ⊙ σ'(a), ∂b += δ; the residual form keeps c ← g for the GEMM to add Wᵀδ to.</summary>
    private void DeltaRow<TOp>(ReadOnlySpan<T> dy, bool hasCarry, Span<T> carry, ReadOnlySpan<T> s, Span<T> delta, Span<T> pb)
        where TOp : struct, IActivation
    {
        var kernel = new Delta<TOp>(dy, hasCarry, carry, s, delta, pb, _residual, _dt);
        Lanes.ForEach<Delta<TOp>, T>(ref kernel, dy.Length);
    }

    /// <summary>Forward, one sequence and step: <c>s = σ(a)</c> in place; residual form <c>h = h_{t−1} + dt·s</c>.</summary>
    private readonly ref struct Activate<TOp> : ILaneKernel<T> where TOp : struct, IActivation
    {
        private readonly ref T _s, _hPrev, _h;
        private readonly bool _residual, _first;
        private readonly T _dt;

        public Activate(Span<T> s, ReadOnlySpan<T> hPrev, Span<T> h, bool residual, T dt)
        {
            _s = ref MemoryMarshal.GetReference(s);
            _hPrev = ref MemoryMarshal.GetReference(hPrev);
            _h = ref MemoryMarshal.GetReference(h);
            _residual = residual;
            _first = hPrev.IsEmpty;
            _dt = dt;
        }

        // Its own JIT root (every sigmoid and tanh inlined), fully optimised at first call (no tier-0 pass).
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            for (nuint j = from; j < to; j += (nuint)TS.Count)
            {
                var s = TOp.Apply(Lane<TS, TV, T>.Load(ref _s, j));
                s.Store(ref _s, j);
                if (!_residual) continue;
                var dt = Lane<TS, TV, T>.Splat(_dt);
                (_first ? dt * s : Lane<TS, TV, T>.Load(ref _hPrev, j) + dt * s).Store(ref _h, j);
            }
        }
    }

    /// <summary>Backward, one sequence and step: <c>g = ∂y_t + c_t</c>, <c>δ = dt·g ⊙ σ'(a)</c>, <c>∂b += δ</c>;
    /// the residual form keeps <c>c ← g</c> (the GEMM adds Wᵀδ).</summary>
    private readonly ref struct Delta<TOp> : ILaneKernel<T> where TOp : struct, IActivation
    {
        private readonly ref T _dy, _carry, _s, _delta, _bias;
        private readonly bool _hasCarry, _residual;
        private readonly T _dt;

        public Delta(ReadOnlySpan<T> dy, bool hasCarry, Span<T> carry, ReadOnlySpan<T> s, Span<T> delta, Span<T> bias, bool residual, T dt)
        {
            _dy = ref MemoryMarshal.GetReference(dy);
            _carry = ref MemoryMarshal.GetReference(carry);
            _s = ref MemoryMarshal.GetReference(s);
            _delta = ref MemoryMarshal.GetReference(delta);
            _bias = ref MemoryMarshal.GetReference(bias);
            _hasCarry = hasCarry;
            _residual = residual;
            _dt = dt;
        }

        // Its own JIT root (every sigmoid and tanh inlined), fully optimised at first call (no tier-0 pass).
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            for (nuint j = from; j < to; j += (nuint)TS.Count)
            {
                var g = Lane<TS, TV, T>.Load(ref _dy, j);
                if (_hasCarry) g += Lane<TS, TV, T>.Load(ref _carry, j);
                if (_residual) g.Store(ref _carry, j);
                var d = Lane<TS, TV, T>.Splat(_dt) * g * TOp.DerivativeFromOutput(Lane<TS, TV, T>.Load(ref _s, j));
                d.Store(ref _delta, j);
                (Lane<TS, TV, T>.Load(ref _bias, j) + d).Store(ref _bias, j);
            }
        }
    }
}
