using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>
/// The LSTM with PyTorch's equations (<c>torch.nn.LSTM</c>), h₋₁ = c₋₁ = 0, output y_t = h_t:
/// <code>
///   [i, f, g, o] = W_ih x + b_ih + W_hh h + b_hh   (then σ, σ, tanh, σ)
///   c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
/// </code>
/// (Zucchet24 §5.) Initialisation: PyTorch's U[−1/√H, 1/√H] for every weight and bias; with a
/// <c>forgetBias</c>, b_if is set to it and b_hf to 0 (Gers et al. 2000; Jozefowicz et al. 2015 use 1).
/// </summary>
/// <remarks>
/// Parameters, PyTorch's names and layouts (gate order i, f, g, o): <c>weight_ih</c> [4H, in] (group
/// <c>input</c>), <c>weight_hh</c> [4H, H] (group <c>recurrent</c>), <c>bias_ih</c>, <c>bias_hh</c> [4H]
/// (group <c>bias</c>). Backward per step in reverse time, g = ∂loss/∂h', k = ∂loss/∂c' carried:
/// <c>k += g o (1 − tanh²c')</c>, <c>∂o = g tanh c'</c>, <c>∂i = k g</c>, <c>∂g = k i</c>, <c>∂f = k c</c>,
/// carry <c>k ← k f</c> and <c>∂h = W_hhᵀ ∂a</c> with ∂a the pre-activation gradients.
/// </remarks>
public sealed class LongShortTermMemory<T> : ChunkedRecurrence<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private ParameterView _wih = null!, _whh = null!, _bih = null!, _bhh = null!;
    private T[] _h = [], _c = [], _tc = [], _gates = [], _dg = [];
    private T[] _carryH = [], _carryC = [], _bias = [];

    /// <summary>An LSTM with <paramref name="hiddenSize"/> units.</summary>
    /// <param name="inputSize">Features per input step.</param>
    /// <param name="hiddenSize">Width of h and c.</param>
    /// <param name="forgetBias">If set, the initial forget-gate bias b_if (b_hf = 0); otherwise PyTorch's uniform init.</param>
    /// <param name="chunkSize">Sequences per parallel chunk.</param>
    public LongShortTermMemory(int inputSize, int hiddenSize, double? forgetBias = null, int chunkSize = DefaultChunkSize)
        : base(inputSize, hiddenSize, gates: 4, chunkSize)
    {
        if (forgetBias is { } fb && !double.IsFinite(fb)) throw new ArgumentOutOfRangeException(nameof(forgetBias), fb, "the forget bias must be finite");
        ForgetBias = forgetBias;
    }

    /// <summary>The initial forget-gate bias, or null for PyTorch's init.</summary>
    public double? ForgetBias { get; }
    /// <summary>W_ih = [W_ii; W_if; W_ig; W_io], <c>[4H, in]</c>.</summary>
    public ParameterView InputWeights => _wih;
    /// <summary>W_hh = [W_hi; W_hf; W_hg; W_ho], <c>[4H, H]</c>.</summary>
    public ParameterView RecurrentWeights => _whh;
    /// <summary>b_ih.</summary>
    public ParameterView InputBias => _bih;
    /// <summary>b_hh.</summary>
    public ParameterView RecurrentBias => _bhh;

    /// <inheritdoc />
    protected override void DeclareParameters(ParameterLayout layout, string prefix)
    {
        int g = 4 * HiddenSize;
        _wih = layout.Add(ParameterLayout.Join(prefix, "weight_ih"), "input", g, InputSize);
        _whh = layout.Add(ParameterLayout.Join(prefix, "weight_hh"), "recurrent", g, HiddenSize);
        _bih = layout.Add(ParameterLayout.Join(prefix, "bias_ih"), "bias", g);
        _bhh = layout.Add(ParameterLayout.Join(prefix, "bias_hh"), "bias", g);
    }

    /// <inheritdoc />
    public override void Initialize(Span<T> theta, CounterRng rng)
    {
        int h = HiddenSize;
        double k = 1 / Math.Sqrt(h);
        Initializers.Uniform(_wih.Of(theta), rng.Fork(0), -k, k);
        Initializers.Uniform(_whh.Of(theta), rng.Fork(1), -k, k);
        Initializers.Uniform(_bih.Of(theta), rng.Fork(2), -k, k);
        Initializers.Uniform(_bhh.Of(theta), rng.Fork(3), -k, k);
        if (ForgetBias is { } fb)
        {
            _bih.Of(theta).Slice(h, h).Fill(T.CreateTruncating(fb));
            _bhh.Of(theta).Slice(h, h).Clear();
        }
    }

    /// <inheritdoc />
    protected override void AllocateBuffers(int batch, int time)
    {
        int h = HiddenSize, n = checked(batch * time);
        _h = new T[n * h];
        _c = new T[n * h];
        _tc = new T[n * h];
        _gates = new T[checked(n * 4 * h)];
        _dg = new T[checked(n * 4 * h)];
        _carryH = new T[ChunkCount * ChunkSize * h];
        _carryC = new T[ChunkCount * ChunkSize * h];
        _bias = new T[4 * h];
    }

    /// <inheritdoc />
    protected override void BeginForward()
    {
        // Both biases only ever appear as a sum: fold them into the input projection once.
        _bih.Of(Theta).CopyTo(_bias);
        Elementwise.AddInPlace<T>(_bias, _bhh.Of(Theta));
    }

    /// <inheritdoc />
    protected override ParameterView InputWeightView => _wih;

    /// <inheritdoc />
    protected override ParameterView RecurrentWeightView => _whh;

    /// <inheritdoc />
    protected override void ForwardChunk(int chunk, int b0, int rows)
    {
        int H = HiddenSize, G = 4 * H, D = InputSize, steps = Time, n = rows * steps;
        int ldh = steps * H, ldg = steps * G;
        var x = Input.Data.AsSpan(b0 * steps * D, n * D);
        var gates = _gates.AsSpan(b0 * ldg, rows * ldg);
        var h = _h.AsSpan(b0 * ldh, rows * ldh);
        var c = _c.AsSpan(b0 * ldh, rows * ldh);
        var tc = _tc.AsSpan(b0 * ldh, rows * ldh);
        bool narrow = NarrowInput;
        if (!narrow)
        {
            Gemm.Multiply(Transpose.No, Transpose.No, n, G, D, T.One, x, D, InputWeightsT, G, T.Zero, gates, G);
            Elementwise.AddBiasToRows(gates, n, G, _bias);
        }
        for (int t = 0; t < steps; t++)
        {
            if (narrow)
                for (int i = 0; i < rows; i++) ProjectRow(x.Slice((i * steps + t) * D, D), InputWeightsT, _bias, gates.Slice(i * ldg + t * G, G));
            // All four gates add h W_hhᵀ, so the step's GEMM accumulates straight into the projections.
            if (t > 0) Gemm.Multiply(Transpose.No, Transpose.No, rows, G, H, T.One, h[((t - 1) * H)..], ldh, RecurrentWeightsT, G, T.One, gates[(t * G)..], ldg);
            for (int i = 0; i < rows; i++)
            {
                int o = i * ldh + t * H;
                Cell(H, gates.Slice(i * ldg + t * G, G), t > 0 ? c.Slice(o - H, H) : default, c.Slice(o, H), tc.Slice(o, H), h.Slice(o, H));
            }
        }
        h.CopyTo(Output.Data.AsSpan(b0 * ldh, rows * ldh));
    }

    /// <summary>One LSTM cell: <paramref name="g"/> holds the pre-activations (overwritten with i, f, g, o);
    /// an empty <paramref name="cPrev"/> means c = 0.</summary>
    private static void Cell(int H, Span<T> g, ReadOnlySpan<T> cPrev, Span<T> cOut, Span<T> tcOut, Span<T> hOut)
    {
        var cell = new CellForward(H, g, cPrev, cOut, tcOut, hOut);
        Lanes.ForEach<CellForward, T>(ref cell, H);
    }

    /// <inheritdoc />
    protected override void BackwardChunk(int chunk, int b0, int rows, Span<T> partial)
    {
        int H = HiddenSize, G = 4 * H, D = InputSize, steps = Time, n = rows * steps;
        int ldh = steps * H, ldg = steps * G;
        var gates = _gates.AsSpan(b0 * ldg, rows * ldg);
        var dg = _dg.AsSpan(b0 * ldg, rows * ldg);
        var h = _h.AsSpan(b0 * ldh, rows * ldh);
        var c = _c.AsSpan(b0 * ldh, rows * ldh);
        var tc = _tc.AsSpan(b0 * ldh, rows * ldh);
        var dy = OutputGradient.Data.AsSpan(b0 * ldh, rows * ldh);
        var x = Input.Data.AsSpan(b0 * steps * D, n * D);
        var dx = InputGradient is { } dxt ? dxt.Data.AsSpan(b0 * steps * D, n * D) : default;
        var carryH = _carryH.AsSpan(chunk * ChunkSize * H, rows * H);
        var carryC = _carryC.AsSpan(chunk * ChunkSize * H, rows * H);
        var whh = _whh.Of(Theta);
        var pbih = Slice(partial, _bih);
        bool narrow = NarrowInput;
        for (int t = steps - 1; t >= 0; t--)
        {
            for (int i = 0; i < rows; i++)
            {
                int o = i * ldh + t * H, og = i * ldg + t * G;
                var dgi = dg.Slice(og, G);
                CellBackward(H, dy.Slice(o, H), t < steps - 1, carryH.Slice(i * H, H), carryC.Slice(i * H, H),
                    gates.Slice(og, G), tc.Slice(o, H), t > 0 ? c.Slice(o - H, H) : default, dgi, pbih);
                if (!narrow) continue;
                int row = (i * steps + t) * D;
                var dxr = dx.IsEmpty ? default : dx.Slice(row, D);
                dxr.Clear();
                AccumulateInputRow(dgi, 0, G, x.Slice(row, D), InputWeightsT, InputGradientT(chunk), dxr);
            }
            if (t > 0) Gemm.Multiply(Transpose.No, Transpose.No, rows, H, G, T.One, dg[(t * G)..], ldg, whh, H, T.Zero, carryH, H);
        }
        // b_ih and b_hh enter only as a sum: the same gradient.
        Elementwise.AddInPlace(Slice(partial, _bhh), pbih);
        var pwhh = Slice(partial, _whh);
        if (steps > 1)
            for (int i = 0; i < rows; i++)
                Gemm.Multiply(Transpose.Yes, Transpose.No, G, H, steps - 1, T.One, dg[(i * ldg + G)..], G, h[(i * ldh)..], H, T.One, pwhh, H);
        if (narrow) return;
        Gemm.Multiply(Transpose.Yes, Transpose.No, G, D, n, T.One, dg, G, x, D, T.One, Slice(partial, _wih), D);
        if (!dx.IsEmpty) Gemm.Multiply(Transpose.No, Transpose.No, n, D, G, T.One, dg, G, _wih.Of(Theta), D, T.Zero, dx, D);
    }

    /// <summary>One reverse step for one sequence: g = dy + carried ∂h, k = carried ∂c (both only when
    /// <paramref name="hasCarry"/>); writes the pre-activation gradients, adds them to the bias gradient, and k ← k ⊙ f.</summary>
    private static void CellBackward(int H, ReadOnlySpan<T> dy, bool hasCarry, ReadOnlySpan<T> carryH, Span<T> carryC,
        ReadOnlySpan<T> gates, ReadOnlySpan<T> tc, ReadOnlySpan<T> cPrev, Span<T> dg, Span<T> bias)
    {
        var cell = new CellBackwardKernel(H, dy, hasCarry, carryH, carryC, gates, tc, cPrev, dg, bias);
        Lanes.ForEach<CellBackwardKernel, T>(ref cell, H);
    }

    /// <summary>
    /// The LSTM cell, forward, for lanes j of one sequence and step (Hochreiter &amp; Schmidhuber 1997 with the
    /// forget gate of Gers, Schmidhuber &amp; Cummins 2000; PyTorch's gate order i, f, g, o):
    /// <code>
    ///   i = σ(a_i),  f = σ(a_f),  g = tanh(a_g),  o = σ(a_o)     a = W_ih x + b_ih + W_hh h + b_hh
    ///   c' = i ⊙ g + f ⊙ c,   h' = o ⊙ tanh(c')
    /// </code>
    /// </summary>
    private readonly ref struct CellForward : ILaneKernel<T>
    {
        private readonly ref T _gates, _cPrev, _c, _tc, _h;
        private readonly nuint _width;
        private readonly bool _first;

        public CellForward(int H, Span<T> gates, ReadOnlySpan<T> cPrev, Span<T> c, Span<T> tc, Span<T> h)
        {
            _gates = ref MemoryMarshal.GetReference(gates);
            _cPrev = ref MemoryMarshal.GetReference(cPrev);
            _c = ref MemoryMarshal.GetReference(c);
            _tc = ref MemoryMarshal.GetReference(tc);
            _h = ref MemoryMarshal.GetReference(h);
            _width = (nuint)H;
            _first = cPrev.IsEmpty;
        }

        // Its own JIT root (every sigmoid and tanh inlined), fully optimised at first call (no tier-0 pass).
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            for (nuint j = from; j < to; j += (nuint)TS.Count)
            {
                nuint ji = j, jf = _width + j, jg = 2 * _width + j, jo = 3 * _width + j;
                var i = SimdMath.Sigmoid(Lane<TS, TV, T>.Load(ref _gates, ji));
                var f = SimdMath.Sigmoid(Lane<TS, TV, T>.Load(ref _gates, jf));
                var g = SimdMath.Tanh(Lane<TS, TV, T>.Load(ref _gates, jg));
                var o = SimdMath.Sigmoid(Lane<TS, TV, T>.Load(ref _gates, jo));
                var c = i * g;
                if (!_first) c += f * Lane<TS, TV, T>.Load(ref _cPrev, j);
                var tc = SimdMath.Tanh(c);
                i.Store(ref _gates, ji);
                f.Store(ref _gates, jf);
                g.Store(ref _gates, jg);
                o.Store(ref _gates, jo);
                c.Store(ref _c, j);
                tc.Store(ref _tc, j);
                (o * tc).Store(ref _h, j);
            }
        }
    }

    /// <summary>
    /// The LSTM cell, backward, for lanes j of one sequence and step; g = ∂loss/∂h' (output gradient plus the
    /// carried ∂h), k = ∂loss/∂c' carried from the step after:
    /// <code>
    ///   k   += g o (1 − tanh²c')
    ///   ∂a_i = k g_gate i (1 − i)      ∂a_f = k c f (1 − f)
    ///   ∂a_g = k i (1 − g_gate²)       ∂a_o = g tanh(c') o (1 − o)
    ///   ∂c   = k f (carried),  ∂h = W_hhᵀ ∂a (the GEMM),  ∂b += ∂a
    /// </code>
    /// </summary>
    private readonly ref struct CellBackwardKernel : ILaneKernel<T>
    {
        private readonly ref T _dy, _carryH, _carryC, _gates, _tc, _cPrev, _dg, _bias;
        private readonly nuint _width;
        private readonly bool _hasCarry, _first;

        public CellBackwardKernel(int H, ReadOnlySpan<T> dy, bool hasCarry, ReadOnlySpan<T> carryH, Span<T> carryC,
            ReadOnlySpan<T> gates, ReadOnlySpan<T> tc, ReadOnlySpan<T> cPrev, Span<T> dg, Span<T> bias)
        {
            _dy = ref MemoryMarshal.GetReference(dy);
            _carryH = ref MemoryMarshal.GetReference(carryH);
            _carryC = ref MemoryMarshal.GetReference(carryC);
            _gates = ref MemoryMarshal.GetReference(gates);
            _tc = ref MemoryMarshal.GetReference(tc);
            _cPrev = ref MemoryMarshal.GetReference(cPrev);
            _dg = ref MemoryMarshal.GetReference(dg);
            _bias = ref MemoryMarshal.GetReference(bias);
            _width = (nuint)H;
            _hasCarry = hasCarry;
            _first = cPrev.IsEmpty;
        }

        // Its own JIT root (every sigmoid and tanh inlined), fully optimised at first call (no tier-0 pass).
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            for (nuint j = from; j < to; j += (nuint)TS.Count)
            {
                nuint ji = j, jf = _width + j, jg = 2 * _width + j, jo = 3 * _width + j;
                var one = Lane<TS, TV, T>.One;
                var g = Lane<TS, TV, T>.Load(ref _dy, j);
                var k = Lane<TS, TV, T>.Zero;
                if (_hasCarry)
                {
                    g += Lane<TS, TV, T>.Load(ref _carryH, j);
                    k = Lane<TS, TV, T>.Load(ref _carryC, j);
                }
                var i = Lane<TS, TV, T>.Load(ref _gates, ji);
                var f = Lane<TS, TV, T>.Load(ref _gates, jf);
                var gg = Lane<TS, TV, T>.Load(ref _gates, jg);
                var o = Lane<TS, TV, T>.Load(ref _gates, jo);
                var t = Lane<TS, TV, T>.Load(ref _tc, j);
                k += g * o * (one - t * t);
                var c = _first ? Lane<TS, TV, T>.Zero : Lane<TS, TV, T>.Load(ref _cPrev, j);
                var dai = k * gg * i * (one - i);
                var daf = k * c * f * (one - f);
                var dag = k * i * (one - gg * gg);
                var dao = g * t * o * (one - o);
                dai.Store(ref _dg, ji);
                daf.Store(ref _dg, jf);
                dag.Store(ref _dg, jg);
                dao.Store(ref _dg, jo);
                (k * f).Store(ref _carryC, j);
                (Lane<TS, TV, T>.Load(ref _bias, ji) + dai).Store(ref _bias, ji);
                (Lane<TS, TV, T>.Load(ref _bias, jf) + daf).Store(ref _bias, jf);
                (Lane<TS, TV, T>.Load(ref _bias, jg) + dag).Store(ref _bias, jg);
                (Lane<TS, TV, T>.Load(ref _bias, jo) + dao).Store(ref _bias, jo);
            }
        }
    }
}
