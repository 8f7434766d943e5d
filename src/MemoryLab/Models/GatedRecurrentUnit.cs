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
public sealed class GatedRecurrentUnit<T> : ChunkedRecurrence<T>, IUsesGradientBuffers<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private ParameterView _wih = null!, _whh = null!, _bih = null!, _bhh = null!;
    // Forward state: h; gates (r, z, n) after their nonlinearity; hn = W_hn h + b_hn.
    private T[] _h = [], _gates = [], _hn = [];
    // Backward: ∂ of the recurrent pre-activations (∂a_r, ∂a_z, r ⊙ ∂a_n) and ∂a_n (the input side of n).
    private T[] _dgh = [], _dn = [];

    /// <inheritdoc />
    GradientBuffers<T>? IUsesGradientBuffers<T>.GradientBuffers { get; set; }
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
        _gates = new T[checked(n * 3 * h)];
        // ∂L/∂n and ∂L/∂(gate pre-activations) live only inside Backward (shared between the blocks of a deep stack).
        var shared = ((IUsesGradientBuffers<T>)this).GradientBuffers;
        _dn = shared?.Get(batch, time, h, GradientBuffers<T>.RecurrentSlot).Data ?? new T[n * h];
        _dgh = shared?.Get(batch, time, 3 * h, GradientBuffers<T>.RecurrentSlot + 1).Data ?? new T[checked(n * 3 * h)];
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
        var cell = new CellForward(H, g, gh, bhn, hPrev, hOut, hnOut);
        Lanes.ForEach<CellForward, T>(ref cell, H);
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
        var cell = new CellBackwardKernel(H, dy, hasCarry, carry, gates, hn, hPrev, dgh, dn, biasIh, biasHh);
        Lanes.ForEach<CellBackwardKernel, T>(ref cell, H);
    }

    /// <summary>
    /// The GRU cell, forward, for lanes j of one sequence and step (PyTorch's form of Cho et al. 2014, eq. 5–8,
    /// with the reset gate applied after the recurrent product, as cuDNN does):
    /// <code>
    ///   r  = σ(a_r + (W_hr h)),   z = σ(a_z + (W_hz h))        a_· = W_i· x + b_i· (+ b_h· for r, z)
    ///   hn = W_hn h + b_hn,        n = tanh(a_n + r ⊙ hn)
    ///   h' = n + z ⊙ (h − n)       (= (1 − z) ⊙ n + z ⊙ h)
    /// </code>
    /// </summary>
    private readonly ref struct CellForward : ILaneKernel<T>
    {
        private readonly ref T _gates, _gh, _bhn, _hPrev, _h, _hn;
        private readonly nuint _width;
        private readonly bool _first;

        public CellForward(int H, Span<T> gates, ReadOnlySpan<T> gh, ReadOnlySpan<T> bhn, ReadOnlySpan<T> hPrev, Span<T> h, Span<T> hn)
        {
            _gates = ref MemoryMarshal.GetReference(gates);
            _gh = ref MemoryMarshal.GetReference(gh);
            _bhn = ref MemoryMarshal.GetReference(bhn);
            _hPrev = ref MemoryMarshal.GetReference(hPrev);
            _h = ref MemoryMarshal.GetReference(h);
            _hn = ref MemoryMarshal.GetReference(hn);
            _width = (nuint)H;
            _first = hPrev.IsEmpty;
        }

        // Its own JIT root (every sigmoid and tanh inlined), fully optimised at first call (no tier-0 pass).
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            for (nuint j = from; j < to; j += (nuint)TS.Count)
            {
                nuint jr = j, jz = _width + j, jn = 2 * _width + j;
                var r = SimdMath.Sigmoid(Lane<TS, TV, T>.Load(ref _gates, jr) + Lane<TS, TV, T>.Load(ref _gh, jr));
                var z = SimdMath.Sigmoid(Lane<TS, TV, T>.Load(ref _gates, jz) + Lane<TS, TV, T>.Load(ref _gh, jz));
                var hn = Lane<TS, TV, T>.Load(ref _gh, jn) + Lane<TS, TV, T>.Load(ref _bhn, j);
                var n = SimdMath.Tanh(Lane<TS, TV, T>.Load(ref _gates, jn) + r * hn);
                var h = _first ? Lane<TS, TV, T>.Zero : Lane<TS, TV, T>.Load(ref _hPrev, j);
                r.Store(ref _gates, jr);
                z.Store(ref _gates, jz);
                n.Store(ref _gates, jn);
                hn.Store(ref _hn, j);
                (n + z * (h - n)).Store(ref _h, j);
            }
        }
    }

    /// <summary>
    /// The GRU cell, backward, for lanes j of one sequence and step; g = ∂loss/∂h' (the output gradient plus
    /// the carried ∂h):
    /// <code>
    ///   ∂a_n = g (1 − z)(1 − n²)            ∂a_r = ∂a_n hn r (1 − r)
    ///   ∂a_z = g (h − n) z (1 − z)          ∂hn  = ∂a_n r
    ///   ∂h   = g z + W_hhᵀ [∂a_r, ∂a_z, ∂hn]   (the GEMM adds the second term)
    ///   ∂b_ih += [∂a_r, ∂a_z, ∂a_n],  ∂b_hh += [∂a_r, ∂a_z, ∂hn]
    /// </code>
    /// </summary>
    private readonly ref struct CellBackwardKernel : ILaneKernel<T>
    {
        private readonly ref T _dy, _carry, _gates, _hn, _hPrev, _dgh, _dn, _biasIh, _biasHh;
        private readonly nuint _width;
        private readonly bool _hasCarry, _first;

        public CellBackwardKernel(int H, ReadOnlySpan<T> dy, bool hasCarry, Span<T> carry, ReadOnlySpan<T> gates, ReadOnlySpan<T> hn,
            ReadOnlySpan<T> hPrev, Span<T> dgh, Span<T> dn, Span<T> biasIh, Span<T> biasHh)
        {
            _dy = ref MemoryMarshal.GetReference(dy);
            _carry = ref MemoryMarshal.GetReference(carry);
            _gates = ref MemoryMarshal.GetReference(gates);
            _hn = ref MemoryMarshal.GetReference(hn);
            _hPrev = ref MemoryMarshal.GetReference(hPrev);
            _dgh = ref MemoryMarshal.GetReference(dgh);
            _dn = ref MemoryMarshal.GetReference(dn);
            _biasIh = ref MemoryMarshal.GetReference(biasIh);
            _biasHh = ref MemoryMarshal.GetReference(biasHh);
            _width = (nuint)H;
            _hasCarry = hasCarry;
            _first = hPrev.IsEmpty;
        }

        // Its own JIT root (every sigmoid and tanh inlined), fully optimised at first call (no tier-0 pass).
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, T> where TV : struct
        {
            for (nuint j = from; j < to; j += (nuint)TS.Count)
            {
                nuint jr = j, jz = _width + j, jn = 2 * _width + j;
                var one = Lane<TS, TV, T>.One;
                var g = Lane<TS, TV, T>.Load(ref _dy, j);
                if (_hasCarry) g += Lane<TS, TV, T>.Load(ref _carry, j);
                var r = Lane<TS, TV, T>.Load(ref _gates, jr);
                var z = Lane<TS, TV, T>.Load(ref _gates, jz);
                var n = Lane<TS, TV, T>.Load(ref _gates, jn);
                var h = _first ? Lane<TS, TV, T>.Zero : Lane<TS, TV, T>.Load(ref _hPrev, j);
                var dan = g * (one - z) * (one - n * n);
                var dar = dan * Lane<TS, TV, T>.Load(ref _hn, j) * r * (one - r);
                var daz = g * (h - n) * z * (one - z);
                var dhn = dan * r;
                dar.Store(ref _dgh, jr);
                daz.Store(ref _dgh, jz);
                dhn.Store(ref _dgh, jn);
                dan.Store(ref _dn, j);
                (g * z).Store(ref _carry, j);
                (Lane<TS, TV, T>.Load(ref _biasIh, jr) + dar).Store(ref _biasIh, jr);
                (Lane<TS, TV, T>.Load(ref _biasIh, jz) + daz).Store(ref _biasIh, jz);
                (Lane<TS, TV, T>.Load(ref _biasIh, jn) + dan).Store(ref _biasIh, jn);
                (Lane<TS, TV, T>.Load(ref _biasHh, jr) + dar).Store(ref _biasHh, jr);
                (Lane<TS, TV, T>.Load(ref _biasHh, jz) + daz).Store(ref _biasHh, jz);
                (Lane<TS, TV, T>.Load(ref _biasHh, jn) + dhn).Store(ref _biasHh, jn);
            }
        }
    }
}
