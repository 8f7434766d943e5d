using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>How a <see cref="GatedRecurrentUnit{T}"/> is initialised.</summary>
public enum GruInitialization
{
    /// <summary>Zucchet24 §5 (the authors' code): update-gate bias <c>log U[T_min, T_max]</c> ("chrono", Tallec &amp;
    /// Ollivier 2018), each recurrent gate block orthogonal, input weights N(0, 2/in), other biases 0.</summary>
    Chrono,
    /// <summary>PyTorch's default: every weight and bias U[−1/√H, 1/√H].</summary>
    PyTorch,
}

/// <summary>
/// The gated recurrent unit with PyTorch's equations (<c>torch.nn.GRU</c>), h₋₁ = 0, output y_t = h_t:
/// <code>
///   r = σ(W_ir x + b_ir + W_hr h + b_hr)
///   z = σ(W_iz x + b_iz + W_hz h + b_hz)
///   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
///   h' = (1 − z) ⊙ n + z ⊙ h
/// </code>
/// z multiplies the <i>old</i> state, so a large positive update bias means long memory: with b_z the
/// total update-gate bias, the memory time is <c>T = 1/(1 − σ(b_z))</c> (Zucchet24 Fig. 12).
/// </summary>
/// <remarks>
/// Parameters, PyTorch's names and layouts (gate order r, z, n): <c>weight_ih</c> [3H, in] (group
/// <c>input</c>), <c>weight_hh</c> [3H, H] (group <c>recurrent</c>), <c>bias_ih</c>, <c>bias_hh</c> [3H]
/// (group <c>bias</c>). Backward, per step in reverse time with g = ∂loss/∂h':
/// <c>∂n = g(1−z)</c>, <c>∂z = g(h−n)</c>, <c>∂a_n = ∂n(1−n²)</c>, <c>∂r = ∂a_n ⊙ (W_hn h + b_hn)</c>,
/// pre-activation gradients <c>∂a_r = ∂r r(1−r)</c>, <c>∂a_z = ∂z z(1−z)</c>, and
/// <c>∂h = g z + W_hhᵀ [∂a_r, ∂a_z, r ⊙ ∂a_n]</c>.
/// </remarks>
public sealed class GatedRecurrentUnit<T> : ChunkedRecurrence<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private ParameterView _wih = null!, _whh = null!, _bih = null!, _bhh = null!;
    // Forward state: h; gates (r, z, n) after their nonlinearity; hn = W_hn h + b_hn.
    private T[] _h = [], _gates = [], _hn = [];
    // Backward: ∂ of the recurrent pre-activations (∂a_r, ∂a_z, r ⊙ ∂a_n) and ∂a_n (the input side of n).
    private T[] _dgh = [], _dn = [];
    // Per-chunk scratch: h W_hhᵀ for one step; the carried ∂h.
    private T[] _gh = [], _carry = [];
    private T[] _foldedBias = [];

    /// <summary>A GRU with <paramref name="hiddenSize"/> units.</summary>
    /// <param name="inputSize">Features per input step.</param>
    /// <param name="hiddenSize">Width of h.</param>
    /// <param name="initialization">Chrono (default, Zucchet24 §5) or PyTorch's uniform init.</param>
    /// <param name="chronoMin">T_min of the chrono update bias log U[T_min, T_max].</param>
    /// <param name="chronoMax">T_max of the chrono update bias.</param>
    /// <param name="chunkSize">Sequences per parallel chunk.</param>
    public GatedRecurrentUnit(int inputSize, int hiddenSize, GruInitialization initialization = GruInitialization.Chrono,
        double chronoMin = 1, double chronoMax = 10, int chunkSize = DefaultChunkSize)
        : base(inputSize, hiddenSize, gates: 3, chunkSize)
    {
        if (!Enum.IsDefined(initialization)) throw new ArgumentOutOfRangeException(nameof(initialization), initialization, "unknown initialisation");
        if (!(chronoMin > 0) || !(chronoMax >= chronoMin) || !double.IsFinite(chronoMax))
            throw new ArgumentException($"chrono init needs 0 < T_min ≤ T_max < ∞, got [{chronoMin}, {chronoMax}]");
        Initialization = initialization;
        ChronoMin = chronoMin;
        ChronoMax = chronoMax;
    }

    /// <summary>The initialisation scheme.</summary>
    public GruInitialization Initialization { get; }
    /// <summary>T_min of the chrono init.</summary>
    public double ChronoMin { get; }
    /// <summary>T_max of the chrono init.</summary>
    public double ChronoMax { get; }
    /// <summary>W_ih = [W_ir; W_iz; W_in], <c>[3H, in]</c>.</summary>
    public ParameterView InputWeights => _wih;
    /// <summary>W_hh = [W_hr; W_hz; W_hn], <c>[3H, H]</c>.</summary>
    public ParameterView RecurrentWeights => _whh;
    /// <summary>b_ih = [b_ir, b_iz, b_in].</summary>
    public ParameterView InputBias => _bih;
    /// <summary>b_hh = [b_hr, b_hz, b_hn].</summary>
    public ParameterView RecurrentBias => _bhh;

    /// <summary>Memory time of a unit whose total update-gate bias is <paramref name="updateBias"/>:
    /// <c>T = 1/(1 − σ(b_z)) = 1 + e^{b_z}</c> (h' ≈ σ(b_z) h + …, Zucchet24 Fig. 12).</summary>
    public static double MemoryTime(double updateBias) => 1 + Math.Exp(updateBias);

    /// <inheritdoc />
    protected override void DeclareParameters(ParameterLayout layout, string prefix)
    {
        int g = 3 * HiddenSize;
        _wih = layout.Add(ParameterLayout.Join(prefix, "weight_ih"), "input", g, InputSize);
        _whh = layout.Add(ParameterLayout.Join(prefix, "weight_hh"), "recurrent", g, HiddenSize);
        _bih = layout.Add(ParameterLayout.Join(prefix, "bias_ih"), "bias", g);
        _bhh = layout.Add(ParameterLayout.Join(prefix, "bias_hh"), "bias", g);
    }

    /// <inheritdoc />
    public override void Initialize(Span<T> theta, CounterRng rng)
    {
        int h = HiddenSize;
        if (Initialization == GruInitialization.PyTorch)
        {
            double k = 1 / Math.Sqrt(h);
            Initializers.Uniform(_wih.Of(theta), rng.Fork(0), -k, k);
            Initializers.Uniform(_whh.Of(theta), rng.Fork(1), -k, k);
            Initializers.Uniform(_bih.Of(theta), rng.Fork(2), -k, k);
            Initializers.Uniform(_bhh.Of(theta), rng.Fork(3), -k, k);
            return;
        }
        Initializers.Normal(_wih.Of(theta), rng.Fork(0), Math.Sqrt(2.0 / InputSize));
        var whh = _whh.Of(theta);
        for (int gate = 0; gate < 3; gate++) Initializers.Orthogonal(whh.Slice(gate * h * h, h * h), h, rng.Fork(1).Fork((ulong)gate));
        _bih.Of(theta).Clear();
        _bhh.Of(theta).Clear();
        // Chrono: b_iz = log u, u ~ U[T_min, T_max] (b_hz = 0), so σ(b_z) = u/(1+u) keeps the old state.
        var bz = _bih.Of(theta).Slice(h, h);
        var chrono = rng.Fork(2);
        for (int i = 0; i < h; i++) bz[i] = T.CreateTruncating(Math.Log(chrono.NextUniform(ChronoMin, ChronoMax)));
    }

    /// <inheritdoc />
    protected override void AllocateBuffers(int batch, int time)
    {
        int h = HiddenSize, n = checked(batch * time);
        _h = new T[n * h];
        _hn = new T[n * h];
        _dn = new T[n * h];
        _gates = new T[checked(n * 3 * h)];
        _dgh = new T[checked(n * 3 * h)];
        _gh = new T[ChunkCount * ChunkSize * 3 * h];
        _carry = new T[ChunkCount * ChunkSize * h];
        _foldedBias = new T[3 * h];
    }

    /// <inheritdoc />
    protected override void BeginForward()
    {
        // b_hr and b_hz add to the input side unchanged; b_hn sits inside r ⊙ (…) and stays in the cell.
        int h = HiddenSize;
        var bih = _bih.Of(Theta);
        var bhh = _bhh.Of(Theta);
        bih.CopyTo(_foldedBias);
        Elementwise.AddInPlace(_foldedBias.AsSpan(0, 2 * h), bhh[..(2 * h)]);
    }

    /// <inheritdoc />
    protected override ParameterView InputWeightView => _wih;

    /// <inheritdoc />
    protected override ParameterView RecurrentWeightView => _whh;

    /// <inheritdoc />
    protected override void ForwardChunk(int chunk, int b0, int rows)
    {
        int H = HiddenSize, G = 3 * H, D = InputSize, steps = Time, n = rows * steps;
        int ldh = steps * H, ldg = steps * G;
        var x = Input.Data.AsSpan(b0 * steps * D, n * D);
        var gates = _gates.AsSpan(b0 * ldg, rows * ldg);
        var h = _h.AsSpan(b0 * ldh, rows * ldh);
        var hn = _hn.AsSpan(b0 * ldh, rows * ldh);
        var gh = _gh.AsSpan(chunk * ChunkSize * G, rows * G);
        var bhn = _bhh.Of(Theta).Slice(2 * H, H);
        bool narrow = NarrowInput;
        if (!narrow)
        {
            Gemm.Multiply(Transpose.No, Transpose.No, n, G, D, T.One, x, D, InputWeightsT, G, T.Zero, gates, G);
            Elementwise.AddBiasToRows(gates, n, G, _foldedBias);
        }
        for (int t = 0; t < steps; t++)
        {
            if (t > 0) Gemm.Multiply(Transpose.No, Transpose.No, rows, G, H, T.One, h[((t - 1) * H)..], ldh, RecurrentWeightsT, G, T.Zero, gh, G);
            else gh.Clear();
            for (int i = 0; i < rows; i++)
            {
                int o = i * ldh + t * H;
                var g = gates.Slice(i * ldg + t * G, G);
                if (narrow) ProjectRow(x.Slice((i * steps + t) * D, D), InputWeightsT, _foldedBias, g);
                Cell(H, g, gh.Slice(i * G, G), bhn, t > 0 ? h.Slice(o - H, H) : default, h.Slice(o, H), hn.Slice(o, H));
            }
        }
        h.CopyTo(Output.Data.AsSpan(b0 * ldh, rows * ldh));
    }

    /// <summary>One GRU cell for one sequence. <paramref name="g"/> holds the input projections (a_r, a_z, a_n)
    /// and is overwritten with (r, z, n); an empty <paramref name="hPrev"/> means h = 0.</summary>
    private static void Cell(int H, Span<T> g, ReadOnlySpan<T> gh, ReadOnlySpan<T> bhn, ReadOnlySpan<T> hPrev, Span<T> hOut, Span<T> hnOut)
    {
        ref T rg = ref MemoryMarshal.GetReference(g);
        ref T rgh = ref MemoryMarshal.GetReference(gh);
        ref T rb = ref MemoryMarshal.GetReference(bhn);
        ref T rh = ref MemoryMarshal.GetReference(hOut);
        ref T rhn = ref MemoryMarshal.GetReference(hnOut);
        bool first = hPrev.IsEmpty;
        ref T rp = ref MemoryMarshal.GetReference(hPrev);
        int j = 0, w = Vector<T>.Count;
        for (; j <= H - w; j += w)
        {
            nuint jr = (nuint)j, jz = (nuint)(H + j), jn = (nuint)(2 * H + j);
            var r = Elementwise.Sigmoid(Vector.LoadUnsafe(ref rg, jr) + Vector.LoadUnsafe(ref rgh, jr));
            var z = Elementwise.Sigmoid(Vector.LoadUnsafe(ref rg, jz) + Vector.LoadUnsafe(ref rgh, jz));
            var hn = Vector.LoadUnsafe(ref rgh, jn) + Vector.LoadUnsafe(ref rb, jr);
            var nn = Elementwise.Tanh(Vector.LoadUnsafe(ref rg, jn) + r * hn);
            var hp = first ? Vector<T>.Zero : Vector.LoadUnsafe(ref rp, jr);
            r.StoreUnsafe(ref rg, jr);
            z.StoreUnsafe(ref rg, jz);
            nn.StoreUnsafe(ref rg, jn);
            hn.StoreUnsafe(ref rhn, jr);
            (nn + z * (hp - nn)).StoreUnsafe(ref rh, jr);
        }
        for (; j < H; j++)
        {
            T r = Elementwise.Sigmoid(Unsafe.Add(ref rg, j) + Unsafe.Add(ref rgh, j));
            T z = Elementwise.Sigmoid(Unsafe.Add(ref rg, H + j) + Unsafe.Add(ref rgh, H + j));
            T hn = Unsafe.Add(ref rgh, 2 * H + j) + Unsafe.Add(ref rb, j);
            T nn = Elementwise.Tanh(Unsafe.Add(ref rg, 2 * H + j) + r * hn);
            T hp = first ? T.Zero : Unsafe.Add(ref rp, j);
            Unsafe.Add(ref rg, j) = r;
            Unsafe.Add(ref rg, H + j) = z;
            Unsafe.Add(ref rg, 2 * H + j) = nn;
            Unsafe.Add(ref rhn, j) = hn;
            Unsafe.Add(ref rh, j) = nn + z * (hp - nn);
        }
    }

    /// <inheritdoc />
    protected override void BackwardChunk(int chunk, int b0, int rows, Span<T> partial)
    {
        int H = HiddenSize, G = 3 * H, D = InputSize, steps = Time, n = rows * steps;
        int ldh = steps * H, ldg = steps * G;
        var gates = _gates.AsSpan(b0 * ldg, rows * ldg);
        var dgh = _dgh.AsSpan(b0 * ldg, rows * ldg);
        var h = _h.AsSpan(b0 * ldh, rows * ldh);
        var hn = _hn.AsSpan(b0 * ldh, rows * ldh);
        var dn = _dn.AsSpan(b0 * ldh, rows * ldh);
        var dy = OutputGradient.Data.AsSpan(b0 * ldh, rows * ldh);
        var x = Input.Data.AsSpan(b0 * steps * D, n * D);
        var dx = InputGradient is { } dxt ? dxt.Data.AsSpan(b0 * steps * D, n * D) : default;
        var carry = _carry.AsSpan(chunk * ChunkSize * H, rows * H);
        var whh = _whh.Of(Theta);
        var pbih = Slice(partial, _bih);
        var pbhh = Slice(partial, _bhh);
        bool narrow = NarrowInput;
        for (int t = steps - 1; t >= 0; t--)
        {
            for (int i = 0; i < rows; i++)
            {
                int o = i * ldh + t * H, og = i * ldg + t * G;
                var dg = dgh.Slice(og, G);
                var dni = dn.Slice(o, H);
                CellBackward(H, dy.Slice(o, H), t < steps - 1, carry.Slice(i * H, H), gates.Slice(og, G), hn.Slice(o, H),
                    t > 0 ? h.Slice(o - H, H) : default, dg, dni, pbih, pbhh);
                if (!narrow) continue;
                int row = (i * steps + t) * D;
                var dxr = dx.IsEmpty ? default : dx.Slice(row, D);
                dxr.Clear();
                AccumulateInputRow(dg[..(2 * H)], 0, G, x.Slice(row, D), InputWeightsT, InputGradientT(chunk), dxr);
                AccumulateInputRow(dni, 2 * H, G, x.Slice(row, D), InputWeightsT, InputGradientT(chunk), dxr);
            }
            if (t > 0) Gemm.Multiply(Transpose.No, Transpose.No, rows, H, G, T.One, dgh[(t * G)..], ldg, whh, H, T.One, carry, H);
        }
        var pwhh = Slice(partial, _whh);
        if (steps > 1)
            for (int i = 0; i < rows; i++)
                Gemm.Multiply(Transpose.Yes, Transpose.No, G, H, steps - 1, T.One, dgh[(i * ldg + G)..], G, h[(i * ldh)..], H, T.One, pwhh, H);
        if (narrow) return;
        var wih = _wih.Of(Theta);
        var pwih = Slice(partial, _wih);
        // Input side: the r and z pre-activations share ∂ with the recurrent side; n's is ∂a_n.
        Gemm.Multiply(Transpose.Yes, Transpose.No, 2 * H, D, n, T.One, dgh, G, x, D, T.One, pwih, D);
        Gemm.Multiply(Transpose.Yes, Transpose.No, H, D, n, T.One, dn, H, x, D, T.One, pwih[(2 * H * D)..], D);
        if (dx.IsEmpty) return;
        Gemm.Multiply(Transpose.No, Transpose.No, n, D, 2 * H, T.One, dgh, G, wih, D, T.Zero, dx, D);
        Gemm.Multiply(Transpose.No, Transpose.No, n, D, H, T.One, dn, H, wih[(2 * H * D)..], D, T.One, dx, D);
    }

    /// <summary>One reverse step for one sequence: reads g = dy + carry (carry only when <paramref name="hasCarry"/>),
    /// writes the gate gradients, adds them to the bias gradients — input side (∂a_r, ∂a_z, ∂a_n), recurrent
    /// side (∂a_r, ∂a_z, r ⊙ ∂a_n) — and sets carry ← g ⊙ z (the GEMM then adds W_hhᵀ ∂).</summary>
    private static void CellBackward(int H, ReadOnlySpan<T> dy, bool hasCarry, Span<T> carry, ReadOnlySpan<T> gates, ReadOnlySpan<T> hn,
        ReadOnlySpan<T> hPrev, Span<T> dgh, Span<T> dn, Span<T> biasIh, Span<T> biasHh)
    {
        ref T rbi = ref MemoryMarshal.GetReference(biasIh);
        ref T rbh = ref MemoryMarshal.GetReference(biasHh);
        ref T rdy = ref MemoryMarshal.GetReference(dy);
        ref T rc = ref MemoryMarshal.GetReference(carry);
        ref T rg = ref MemoryMarshal.GetReference(gates);
        ref T rhn = ref MemoryMarshal.GetReference(hn);
        ref T rd = ref MemoryMarshal.GetReference(dgh);
        ref T rdn = ref MemoryMarshal.GetReference(dn);
        bool first = hPrev.IsEmpty;
        ref T rp = ref MemoryMarshal.GetReference(hPrev);
        int j = 0, w = Vector<T>.Count;
        var one = Vector<T>.One;
        for (; j <= H - w; j += w)
        {
            nuint jr = (nuint)j, jz = (nuint)(H + j), jn = (nuint)(2 * H + j);
            var g = Vector.LoadUnsafe(ref rdy, jr);
            if (hasCarry) g += Vector.LoadUnsafe(ref rc, jr);
            var r = Vector.LoadUnsafe(ref rg, jr);
            var z = Vector.LoadUnsafe(ref rg, jz);
            var nn = Vector.LoadUnsafe(ref rg, jn);
            var hp = first ? Vector<T>.Zero : Vector.LoadUnsafe(ref rp, jr);
            var dan = g * (one - z) * (one - nn * nn);
            var dar = dan * Vector.LoadUnsafe(ref rhn, jr) * r * (one - r);
            var daz = g * (hp - nn) * z * (one - z);
            var dhn = dan * r;
            dar.StoreUnsafe(ref rd, jr);
            daz.StoreUnsafe(ref rd, jz);
            dhn.StoreUnsafe(ref rd, jn);
            dan.StoreUnsafe(ref rdn, jr);
            (g * z).StoreUnsafe(ref rc, jr);
            (Vector.LoadUnsafe(ref rbi, jr) + dar).StoreUnsafe(ref rbi, jr);
            (Vector.LoadUnsafe(ref rbi, jz) + daz).StoreUnsafe(ref rbi, jz);
            (Vector.LoadUnsafe(ref rbi, jn) + dan).StoreUnsafe(ref rbi, jn);
            (Vector.LoadUnsafe(ref rbh, jr) + dar).StoreUnsafe(ref rbh, jr);
            (Vector.LoadUnsafe(ref rbh, jz) + daz).StoreUnsafe(ref rbh, jz);
            (Vector.LoadUnsafe(ref rbh, jn) + dhn).StoreUnsafe(ref rbh, jn);
        }
        for (; j < H; j++)
        {
            T g = Unsafe.Add(ref rdy, j);
            if (hasCarry) g += Unsafe.Add(ref rc, j);
            T r = Unsafe.Add(ref rg, j), z = Unsafe.Add(ref rg, H + j), nn = Unsafe.Add(ref rg, 2 * H + j);
            T hp = first ? T.Zero : Unsafe.Add(ref rp, j);
            T dan = g * (T.One - z) * (T.One - nn * nn);
            T dar = dan * Unsafe.Add(ref rhn, j) * r * (T.One - r), daz = g * (hp - nn) * z * (T.One - z), dhn = dan * r;
            Unsafe.Add(ref rd, j) = dar;
            Unsafe.Add(ref rd, H + j) = daz;
            Unsafe.Add(ref rd, 2 * H + j) = dhn;
            Unsafe.Add(ref rdn, j) = dan;
            Unsafe.Add(ref rc, j) = g * z;
            Unsafe.Add(ref rbi, j) += dar;
            Unsafe.Add(ref rbi, H + j) += daz;
            Unsafe.Add(ref rbi, 2 * H + j) += dan;
            Unsafe.Add(ref rbh, j) += dar;
            Unsafe.Add(ref rbh, H + j) += daz;
            Unsafe.Add(ref rbh, 2 * H + j) += dhn;
        }
    }
}
