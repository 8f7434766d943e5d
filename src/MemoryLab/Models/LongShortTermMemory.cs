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
        ref T rg = ref MemoryMarshal.GetReference(g);
        ref T rcp = ref MemoryMarshal.GetReference(cPrev);
        ref T rc = ref MemoryMarshal.GetReference(cOut);
        ref T rtc = ref MemoryMarshal.GetReference(tcOut);
        ref T rh = ref MemoryMarshal.GetReference(hOut);
        bool first = cPrev.IsEmpty;
        int j = 0, w = Vector<T>.Count;
        for (; j <= H - w; j += w)
        {
            nuint ji = (nuint)j, jf = (nuint)(H + j), jg = (nuint)(2 * H + j), jo = (nuint)(3 * H + j);
            var i = Elementwise.Sigmoid(Vector.LoadUnsafe(ref rg, ji));
            var f = Elementwise.Sigmoid(Vector.LoadUnsafe(ref rg, jf));
            var gg = Elementwise.Tanh(Vector.LoadUnsafe(ref rg, jg));
            var o = Elementwise.Sigmoid(Vector.LoadUnsafe(ref rg, jo));
            var cn = i * gg;
            if (!first) cn += f * Vector.LoadUnsafe(ref rcp, ji);
            var t = Elementwise.Tanh(cn);
            i.StoreUnsafe(ref rg, ji);
            f.StoreUnsafe(ref rg, jf);
            gg.StoreUnsafe(ref rg, jg);
            o.StoreUnsafe(ref rg, jo);
            cn.StoreUnsafe(ref rc, ji);
            t.StoreUnsafe(ref rtc, ji);
            (o * t).StoreUnsafe(ref rh, ji);
        }
        for (; j < H; j++)
        {
            T i = Elementwise.Sigmoid(Unsafe.Add(ref rg, j));
            T f = Elementwise.Sigmoid(Unsafe.Add(ref rg, H + j));
            T gg = Elementwise.Tanh(Unsafe.Add(ref rg, 2 * H + j));
            T o = Elementwise.Sigmoid(Unsafe.Add(ref rg, 3 * H + j));
            T cn = i * gg;
            if (!first) cn += f * Unsafe.Add(ref rcp, j);
            T t = Elementwise.Tanh(cn);
            Unsafe.Add(ref rg, j) = i;
            Unsafe.Add(ref rg, H + j) = f;
            Unsafe.Add(ref rg, 2 * H + j) = gg;
            Unsafe.Add(ref rg, 3 * H + j) = o;
            Unsafe.Add(ref rc, j) = cn;
            Unsafe.Add(ref rtc, j) = t;
            Unsafe.Add(ref rh, j) = o * t;
        }
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
        ref T rb = ref MemoryMarshal.GetReference(bias);
        ref T rdy = ref MemoryMarshal.GetReference(dy);
        ref T rch = ref MemoryMarshal.GetReference(carryH);
        ref T rcc = ref MemoryMarshal.GetReference(carryC);
        ref T rg = ref MemoryMarshal.GetReference(gates);
        ref T rtc = ref MemoryMarshal.GetReference(tc);
        ref T rcp = ref MemoryMarshal.GetReference(cPrev);
        ref T rd = ref MemoryMarshal.GetReference(dg);
        bool first = cPrev.IsEmpty;
        int j = 0, w = Vector<T>.Count;
        var one = Vector<T>.One;
        for (; j <= H - w; j += w)
        {
            nuint ji = (nuint)j, jf = (nuint)(H + j), jg = (nuint)(2 * H + j), jo = (nuint)(3 * H + j);
            var g = Vector.LoadUnsafe(ref rdy, ji);
            var k = Vector<T>.Zero;
            if (hasCarry)
            {
                g += Vector.LoadUnsafe(ref rch, ji);
                k = Vector.LoadUnsafe(ref rcc, ji);
            }
            var i = Vector.LoadUnsafe(ref rg, ji);
            var f = Vector.LoadUnsafe(ref rg, jf);
            var gg = Vector.LoadUnsafe(ref rg, jg);
            var o = Vector.LoadUnsafe(ref rg, jo);
            var t = Vector.LoadUnsafe(ref rtc, ji);
            k += g * o * (one - t * t);
            var cp = first ? Vector<T>.Zero : Vector.LoadUnsafe(ref rcp, ji);
            var dai = k * gg * i * (one - i);
            var daf = k * cp * f * (one - f);
            var dag = k * i * (one - gg * gg);
            var dao = g * t * o * (one - o);
            dai.StoreUnsafe(ref rd, ji);
            daf.StoreUnsafe(ref rd, jf);
            dag.StoreUnsafe(ref rd, jg);
            dao.StoreUnsafe(ref rd, jo);
            (k * f).StoreUnsafe(ref rcc, ji);
            (Vector.LoadUnsafe(ref rb, ji) + dai).StoreUnsafe(ref rb, ji);
            (Vector.LoadUnsafe(ref rb, jf) + daf).StoreUnsafe(ref rb, jf);
            (Vector.LoadUnsafe(ref rb, jg) + dag).StoreUnsafe(ref rb, jg);
            (Vector.LoadUnsafe(ref rb, jo) + dao).StoreUnsafe(ref rb, jo);
        }
        for (; j < H; j++)
        {
            T g = Unsafe.Add(ref rdy, j), k = T.Zero;
            if (hasCarry)
            {
                g += Unsafe.Add(ref rch, j);
                k = Unsafe.Add(ref rcc, j);
            }
            T i = Unsafe.Add(ref rg, j), f = Unsafe.Add(ref rg, H + j), gg = Unsafe.Add(ref rg, 2 * H + j), o = Unsafe.Add(ref rg, 3 * H + j);
            T t = Unsafe.Add(ref rtc, j);
            k += g * o * (T.One - t * t);
            T cp = first ? T.Zero : Unsafe.Add(ref rcp, j);
            T dai = k * gg * i * (T.One - i), daf = k * cp * f * (T.One - f), dag = k * i * (T.One - gg * gg), dao = g * t * o * (T.One - o);
            Unsafe.Add(ref rd, j) = dai;
            Unsafe.Add(ref rd, H + j) = daf;
            Unsafe.Add(ref rd, 2 * H + j) = dag;
            Unsafe.Add(ref rd, 3 * H + j) = dao;
            Unsafe.Add(ref rcc, j) = k * f;
            Unsafe.Add(ref rb, j) += dai;
            Unsafe.Add(ref rb, H + j) += daf;
            Unsafe.Add(ref rb, 2 * H + j) += dag;
            Unsafe.Add(ref rb, 3 * H + j) += dao;
        }
    }
}
