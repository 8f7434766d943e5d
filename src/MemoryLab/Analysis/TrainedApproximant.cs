using MemoryLab.Numerics;
using MemoryLab.Training;

namespace MemoryLab.Analysis;

/// <summary>
/// Loss of the group's residual diagonal linear RNN on the linear-functional task of Wang, Li &amp; Li (ICLR 2024)
/// (radarFudan/Curse-of-memory: <c>src/models/recurrent/simple_diagonalrnn.py</c>, <c>softplusrnn.py</c>,
/// <c>src/models/lf_module.py</c>, <c>src/models/encoders/linear.py</c>, <c>src/models/decoders/linear.py</c>,
/// <c>src/utils/temporally_weighted_error.py</c>), in kernel space.
/// Model: h_{k+1} = h_k + dt·(u x_k + b − r(v) ⊙ h_k), ŷ_k = cᵀh_{k+1} + b₀, so ŷ_k = Σ_{s≤k} ρ̂(s) x_{k−s} + d_k with the kernel
/// ρ̂(k) = dt Σ_i c_i u_i λ_i^k, λ_i = 1 − dt·r(v_i), and the input-independent offset d_k = b₀ + dt Σ_i c_i b_i Σ_{j≤k} λ_i^j
/// (b, b₀: the encoder's and decoder's biases, when the model has them). The target is y_k = Σ_{s≤k} ρ(s) x_{k−s}
/// (<c>src/data/components/lf/datagen.py</c>, dt = 1); the loss is the temporally weighted mean square
/// (1/T) Σ_t ω_t² (ŷ_t − y_t)², ω_t ∝ ((t+1)/(T+1))^p normalised to mean 1 (p = 2). Over i.i.d. N(0, 1) inputs its expectation is
/// J = Σ_k Ω_k (ρ̂(k) − ρ(k))² + (1/T) Σ_t ω_t² d_t², Ω_k = (1/T) Σ_{t=k}^{T−1} ω_t² — what this objective returns by default; with
/// <see cref="Metric"/> set to a sampled set of sequences (a minibatch, the validation or the test set) it returns that set's loss
/// (<see cref="KernelLossMetric"/>).
/// θ = (u_1..u_m, c_1..c_m, v_1..v_m[, P (m×m, row-major)][, b_1..b_m, b₀]). During training the direct map is the authors' ReLU
/// (r(v) = max(v, 0), a negative v is a frozen integrator mode λ = 1), and the training loss adds their stability-margin penalty
/// κ·max(0, 1 − min{r(v_i) &gt; 0}); for evaluation (<see cref="Training"/> false) the rates are r(v) as given, with no
/// penalty, so a perturbed direct rate can go negative (λ &gt; 1, the unstable side).
/// </summary>
public sealed class ResidualRnnKernelObjective : IObjective<double>
{
    private readonly double[] _target, _omega, _rho, _lambda, _rate, _slope, _residual, _gRho, _offset, _gOffset, _gBias;
    private readonly int _m, _t;
    private KernelLossMetric _metric;
    private readonly double[]? _s, _z, _zb, _adj, _adjNext, _gs, _tmp; // rotated form: S = PᵀDP, z_k = A^k u (and A^k b), adjoints, ∂J/∂S

    /// <summary>The loss of width-<paramref name="width"/> models against the kernel <paramref name="rho"/> on k = 0..T−1.</summary>
    /// <param name="rho">Target kernel ρ(k·dt).</param>
    /// <param name="width">Width m.</param>
    /// <param name="window">Sequence length T.</param>
    /// <param name="map">Rate parametrisation r (direct, exp or softplus).</param>
    /// <param name="training">True: the authors' training form (ReLU on the direct map and the margin penalty).</param>
    /// <param name="marginPenalty">κ of the margin penalty (training form only).</param>
    /// <param name="timeWeightPower">p of the temporal weights ((t+1)/(T+1))^p.</param>
    /// <param name="dt">Step size of the residual recurrence.</param>
    /// <param name="rotated">True: the recurrence is PᵀDP with a trainable m×m matrix P (θ gains P, row-major, after v), as the
    /// authors' softplus model (<c>src/models/recurrent/softplusrnn.py</c>, CustomOrthogonalLayer: P starts orthogonal and is then
    /// trained freely). The function class is the same as without P: PᵀDP is symmetric positive semi-definite, so an orthogonal
    /// change of basis of u, b and c turns it into a diagonal recurrence with rates ≥ 0; what P changes is the optimisation path
    /// and which directions a perturbation of the recurrent parameters (v and P) moves.</param>
    /// <param name="biased">True: the encoder's bias b (m) and the decoder's bias b₀ (the authors' nn.Linear layers have them);
    /// θ gains (b, b₀) at its end.</param>
    public ResidualRnnKernelObjective(Func<double, double> rho, int width, int window, RateParametrisation map, bool training,
        double marginPenalty = 0.01, double timeWeightPower = 2, double dt = 1, bool rotated = false, bool biased = false)
    {
        ArgumentNullException.ThrowIfNull(rho);
        if (width <= 0) throw new ArgumentException($"width must be positive (got {width})", nameof(width));
        if (window < 2) throw new ArgumentException($"window must be ≥ 2 (got {window})", nameof(window));
        if (map.Map is not (RateMap.Direct or RateMap.Exp or RateMap.Softplus)) throw new ArgumentException($"rate map {map} is not one of the group's (direct, exp, softplus)", nameof(map));
        if (!(marginPenalty >= 0)) throw new ArgumentException($"margin penalty must be ≥ 0 (got {marginPenalty})", nameof(marginPenalty));
        if (!(dt > 0)) throw new ArgumentException($"dt must be positive (got {dt})", nameof(dt));
        _m = width; _t = window; Map = map; Training = training; MarginPenalty = marginPenalty; Dt = dt; Rotated = rotated; Biased = biased;
        if (rotated)
        {
            _s = new double[width * width]; _z = new double[window * width]; _zb = new double[window * width]; _adj = new double[width];
            _adjNext = new double[width]; _gs = new double[width * width]; _tmp = new double[width * width];
        }
        _omega = LossWeights(window, timeWeightPower);
        _rho = new double[window];
        for (int k = 0; k < window; k++) _rho[k] = rho(k * dt);
        _target = _rho;
        _lambda = new double[width]; _rate = new double[width]; _slope = new double[width];
        _residual = new double[window]; _gRho = new double[window]; _offset = new double[window]; _gOffset = new double[window]; _gBias = new double[window];
        _metric = KernelLossMetric.Expected(window, timeWeightPower);
        TimeWeightPower = timeWeightPower;
    }

    /// <summary>The loss's form: the expected loss (the default) or the loss over a sampled set of sequences, e.g. the current
    /// minibatch (<see cref="KernelLossMetric"/>). Settable between evaluations.</summary>
    public KernelLossMetric Metric
    {
        get => _metric;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Window != _t) throw new ArgumentException($"the loss form has window {value.Window}, the objective {_t}", nameof(value));
            _metric = value;
        }
    }

    /// <summary>p of the temporal weights ((t+1)/(T+1))^p.</summary>
    public double TimeWeightPower { get; }

    /// <summary>Ω_k = (1/T) Σ_{t=k}^{T−1} ω_t², ω_t = T·((t+1)/(T+1))^p / Σ_s ((s+1)/(T+1))^p: the weight of the kernel error at lag k
    /// in the expected temporally weighted mean square (the authors' twe_MSE) under i.i.d. unit-variance inputs.</summary>
    public static double[] LossWeights(int window, double power)
    {
        if (window < 1) throw new ArgumentException($"window must be positive (got {window})", nameof(window));
        if (!(power >= 0)) throw new ArgumentException($"power must be ≥ 0 (got {power})", nameof(power));
        var w = new double[window];
        double sum = 0;
        for (int t = 0; t < window; t++) { w[t] = Math.Pow((t + 1.0) / (window + 1.0), power); sum += w[t]; }
        var omega = new double[window];
        double tail = 0;
        for (int t = window - 1; t >= 0; t--)
        {
            double wt = w[t] * window / sum;
            tail += wt * wt;
            omega[t] = tail / window;
        }
        return omega;
    }

    /// <summary>The rate parametrisation.</summary>
    public RateParametrisation Map { get; }
    /// <summary>True: the training form (ReLU on the direct map, margin penalty).</summary>
    public bool Training { get; }
    /// <summary>κ of the margin penalty.</summary>
    public double MarginPenalty { get; }
    /// <summary>Step size of the recurrence.</summary>
    public double Dt { get; }
    /// <summary>Width m.</summary>
    public int Width => _m;
    /// <summary>Sequence length T.</summary>
    public int Window => _t;
    /// <summary>The target kernel ρ(k·dt), k = 0..T−1.</summary>
    public IReadOnlyList<double> Target => _target;
    /// <summary>The lag weights Ω_k.</summary>
    public IReadOnlyList<double> Weights => _omega;
    /// <summary>True: the recurrence is PᵀDP with a trainable P (θ holds P after v).</summary>
    public bool Rotated { get; }
    /// <summary>True: the encoder and decoder biases b, b₀ (θ ends with them).</summary>
    public bool Biased { get; }
    /// <summary>Index of P in θ (rotated form).</summary>
    public int BasisOffset => 3 * _m;
    /// <summary>Index of b in θ (biased form); b₀ follows b.</summary>
    public int BiasOffset => 3 * _m + (Rotated ? _m * _m : 0);
    /// <inheritdoc />
    public int Dimension => BiasOffset + (Biased ? _m + 1 : 0);

    /// <summary>ρᵀMρ (Σ_k Ω_k ρ(k)² for the expected loss): the loss of the zero model under <see cref="Metric"/>.</summary>
    public double ZeroModelLoss => _metric.Apply(_rho, Span<double>.Empty);

    /// <summary>The model kernel ρ̂(k), k = 0..T−1, at θ.</summary>
    public double[] Kernel(ReadOnlySpan<double> theta)
    {
        CheckLength(theta);
        Rates(theta);
        var y = new double[_t];
        AddKernel(theta, 0, y, _z);
        return y;
    }

    /// <summary>The loss at θ under <paramref name="metric"/>: the fit term only (no penalty), as the authors' val/loss and test/loss.</summary>
    public double FitLoss(ReadOnlySpan<double> theta, KernelLossMetric metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        var saved = _metric;
        Metric = metric;
        try { return Forward(theta, wantGradient: false); }
        finally { _metric = saved; }
    }

    private void CheckLength(ReadOnlySpan<double> theta)
    {
        if (theta.Length != Dimension) throw new ArgumentException($"θ has {theta.Length} entries, expected {Dimension}", nameof(theta));
    }

    // r_i, r'_i and λ_i at θ (training form: ReLU on the direct map).
    private void Rates(ReadOnlySpan<double> theta)
    {
        for (int i = 0; i < _m; i++)
        {
            double v = theta[2 * _m + i];
            if (Training && Map.Map == RateMap.Direct) { _rate[i] = Math.Max(v, 0); _slope[i] = v > 0 ? 1 : 0; }
            else { _rate[i] = Map.Rate(v); _slope[i] = Map.Derivative(v); }
            _lambda[i] = 1 - Dt * _rate[i];
        }
        if (Rotated) BuildS(theta);
    }

    // κ(k) = dt·cᵀA^k w for the input vector w = θ[offset..offset+m) (u: the kernel ρ̂; b: the bias response), added into y.
    private void AddKernel(ReadOnlySpan<double> theta, int offset, Span<double> y, double[]? z)
    {
        int m = _m, T = _t;
        var w = theta.Slice(offset, m); var c = theta.Slice(m, m);
        if (!Rotated)
        {
            for (int i = 0; i < m; i++)
            {
                double a = Dt * w[i] * c[i], p = 1;
                for (int k = 0; k < T; k++) { y[k] += a * p; p *= _lambda[i]; }
            }
            return;
        }
        var s = _s!;
        w.CopyTo(z.AsSpan(0, m));
        for (int k = 0; k < T; k++)
        {
            var zk = z.AsSpan(k * m, m);
            double out_ = 0;
            for (int a = 0; a < m; a++) out_ += c[a] * zk[a];
            y[k] += Dt * out_;
            if (k + 1 == T) break;
            var zn = z.AsSpan((k + 1) * m, m);
            for (int a = 0; a < m; a++)
            {
                double acc = 0;
                for (int b = 0; b < m; b++) acc += s[a * m + b] * zk[b];
                zn[a] = zk[a] - Dt * acc;
            }
        }
    }

    // S = PᵀDP, D = diag r(v).
    private void BuildS(ReadOnlySpan<double> theta)
    {
        int m = _m;
        var p = theta.Slice(BasisOffset, m * m); var s = _s!;
        for (int a = 0; a < m; a++)
            for (int b = 0; b <= a; b++)
            {
                double acc = 0;
                for (int i = 0; i < m; i++) acc += p[i * m + a] * _rate[i] * p[i * m + b];
                s[a * m + b] = s[b * m + a] = acc;
            }
    }

    // Gradient of a kernel κ(k) = dt·cᵀA^k w from g_k = ∂J/∂κ(k), added into ∂J/∂w, ∂J/∂c and (diagonal) ∂J/∂v or (rotated) ∂J/∂S.
    // Diagonal: ∂κ(k)/∂w_i = dt c_i λ_i^k, ∂κ(k)/∂c_i = dt w_i λ_i^k, ∂κ(k)/∂λ_i = dt c_i w_i k λ_i^{k−1}, ∂λ_i/∂v_i = −dt r'(v_i).
    // Rotated: the adjoint a_k = ∂J/∂z_k runs backwards, a_k = dt g_k c + A a_{k+1} (A symmetric); ∂J/∂w = a_0,
    // ∂J/∂c = dt Σ_k g_k z_k, ∂J/∂S = −dt Σ_k a_{k+1} z_kᵀ.
    private void AddKernelGradient(ReadOnlySpan<double> theta, int offset, ReadOnlySpan<double> g, double[]? z, Span<double> gradient)
    {
        int m = _m, T = _t;
        var w = theta.Slice(offset, m); var c = theta.Slice(m, m);
        if (!Rotated)
        {
            for (int i = 0; i < m; i++)
            {
                double ga = 0, gl = 0, p = 1, pPrev = 0;
                for (int k = 0; k < T; k++)
                {
                    ga += g[k] * p;
                    gl += g[k] * k * pPrev;
                    pPrev = p; p *= _lambda[i];
                }
                gradient[offset + i] += Dt * c[i] * ga;
                gradient[m + i] += Dt * w[i] * ga;
                gradient[2 * m + i] += Dt * c[i] * w[i] * gl * (-Dt) * _slope[i];
            }
            return;
        }
        var s = _s!; var adj = _adj!; var next = _adjNext!; var gs = _gs!;
        for (int k = T - 1; k >= 0; k--)
        {
            var zk = z.AsSpan(k * m, m);
            double wk = Dt * g[k];
            for (int a = 0; a < m; a++) gradient[m + a] += wk * zk[a];
            if (k + 1 < T)
            {
                for (int a = 0; a < m; a++)
                {
                    double na = next[a] * Dt;
                    for (int b = 0; b < m; b++) gs[a * m + b] -= na * zk[b];
                }
                for (int a = 0; a < m; a++)
                {
                    double acc = 0;
                    for (int b = 0; b < m; b++) acc += s[a * m + b] * next[b];
                    adj[a] = next[a] - Dt * acc + wk * c[a];
                }
            }
            else for (int a = 0; a < m; a++) adj[a] = wk * c[a];
            adj.AsSpan().CopyTo(next);
        }
        for (int a = 0; a < m; a++) gradient[offset + a] += next[a];
    }

    // Rotated form: ∂J/∂S = G (in _gs) → ∂J/∂d_i = (P G Pᵀ)_ii, ∂J/∂P = D P (G + Gᵀ), ∂J/∂v_i = ∂J/∂d_i · r'(v_i).
    private void FinishRotatedGradient(ReadOnlySpan<double> theta, Span<double> gradient)
    {
        int m = _m;
        var p = theta.Slice(BasisOffset, m * m); var gs = _gs!; var tmp = _tmp!;
        for (int i = 0; i < m; i++)
            for (int b = 0; b < m; b++)
            {
                double acc = 0;
                for (int a = 0; a < m; a++) acc += p[i * m + a] * (gs[a * m + b] + gs[b * m + a]);
                tmp[i * m + b] = acc;
            }
        for (int i = 0; i < m; i++)
        {
            double gd = 0;
            for (int b = 0; b < m; b++) gd += 0.5 * tmp[i * m + b] * p[i * m + b];
            gradient[2 * m + i] += gd * _slope[i];
            for (int b = 0; b < m; b++) gradient[BasisOffset + i * m + b] += _rate[i] * tmp[i * m + b];
        }
    }

    // The fit term at θ under the current metric; with wantGradient, its gradient in _gRho (∂J/∂ρ̂) and _gBias (∂J/∂κ_b, the bias
    // response's kernel), and ∂J/∂b₀ returned through _gOffset's sum.
    private double Forward(ReadOnlySpan<double> theta, bool wantGradient)
    {
        CheckLength(theta);
        int T = _t;
        Rates(theta);
        Array.Clear(_residual);
        AddKernel(theta, 0, _residual, _z);
        for (int k = 0; k < T; k++) _residual[k] -= _rho[k];
        double j = _metric.Apply(_residual, wantGradient ? _gRho : Span<double>.Empty);
        if (wantGradient) for (int k = 0; k < T; k++) _gRho[k] *= 2;
        if (!Biased) return j;
        // d_t = b₀ + Σ_{k≤t} κ_b(k), κ_b(k) = dt·cᵀA^k b.
        Array.Clear(_offset);
        AddKernel(theta, BiasOffset, _offset, _zb);
        double b0 = theta[BiasOffset + _m], run = b0;
        for (int t = 0; t < T; t++) { run += _offset[t]; _offset[t] = run; }
        j += _metric.OffsetTerms(_residual, _offset, wantGradient ? _gRho : Span<double>.Empty, _gOffset);
        if (wantGradient)
        {
            double tail = 0;
            for (int k = T - 1; k >= 0; k--) { tail += _gOffset[k]; _gBias[k] = tail; } // ∂J/∂κ_b(k) = Σ_{t≥k} ∂J/∂d_t
        }
        return j;
    }

    /// <inheritdoc />
    public double Evaluate(ReadOnlySpan<double> theta, Span<double> gradient)
    {
        int m = _m;
        bool wantGradient = !gradient.IsEmpty;
        double j = Forward(theta, wantGradient);
        if (wantGradient)
        {
            gradient.Clear();
            if (Rotated) Array.Clear(_gs!);
            AddKernelGradient(theta, 0, _gRho, _z, gradient);
            if (Biased)
            {
                AddKernelGradient(theta, BiasOffset, _gBias, _zb, gradient);
                gradient[BiasOffset + m] = _gBias[0]; // ∂J/∂b₀ = Σ_t ∂J/∂d_t
            }
            if (Rotated) FinishRotatedGradient(theta, gradient);
        }
        if (Training && MarginPenalty > 0)
        {
            // The authors' stability margin: the smallest positive rate (src/models/recurrent/*.py, stability_margin).
            int arg = -1;
            for (int i = 0; i < m; i++)
                if (_rate[i] > 0 && (arg < 0 || _rate[i] < _rate[arg])) arg = i;
            if (arg >= 0 && _rate[arg] < 1)
            {
                j += MarginPenalty * (1 - _rate[arg]);
                if (wantGradient) gradient[2 * m + arg] -= MarginPenalty * _slope[arg];
            }
        }
        return j;
    }

    /// <summary>θ in the evaluation form: the direct map's ReLU applied to v (the authors' <c>perturb_weight_initialization</c>
    /// before a perturbation), the other maps unchanged.</summary>
    public double[] ToEvaluationForm(ReadOnlySpan<double> theta)
    {
        var e = theta.ToArray();
        if (Map.Map == RateMap.Direct)
            for (int i = 0; i < _m; i++) e[2 * _m + i] = Math.Max(e[2 * _m + i], 0);
        return e;
    }
}

/// <summary>Settings of <see cref="ApproximantTraining"/> (defaults: the group's, radarFudan/Curse-of-memory
/// <c>configs/experiment/LF/*.yaml</c>, <c>configs/model/diagonalrnn.yaml</c>, <c>configs/experiment/LF/base.yaml</c>).</summary>
public sealed record ApproximantTrainingOptions
{
    /// <summary>AdamW learning rate (LF experiment configs: 0.01).</summary>
    public double LearningRate { get; init; } = 0.01;
    /// <summary>AdamW decoupled weight decay (model configs: 0).</summary>
    public double WeightDecay { get; init; }
    /// <summary>Global gradient-norm clip (LF base: gradient_clip_val 0.5; 0 = off).</summary>
    public double ClipNorm { get; init; } = 0.5;
    /// <summary>Optimiser steps per epoch with expected-loss gradients (128,000 training sequences in batches of 512); with
    /// minibatches an epoch is one pass over the batches.</summary>
    public int StepsPerEpoch { get; init; } = 250;
    /// <summary>Epochs always run before the stopping rule may stop (LF base: min_epochs 2).</summary>
    public int MinEpochs { get; init; } = 2;
    /// <summary>Most epochs (LF base: max_epochs 1000).</summary>
    public int MaxEpochs { get; init; } = 1000;
    /// <summary>ReduceLROnPlateau factor (model configs: 0.1).</summary>
    public double PlateauFactor { get; init; } = 0.1;
    /// <summary>ReduceLROnPlateau patience in epochs (model configs: 10).</summary>
    public int PlateauPatience { get; init; } = 10;
    /// <summary>The first width's stopping threshold (the scripts' metric_value=("100")).</summary>
    public double InitialThreshold { get; init; } = 100;
    /// <summary>Each next width's threshold is this times the previous width's best loss (src/train.py writes 0.5 × val/loss).</summary>
    public double ThresholdFactor { get; init; } = 0.5;
    /// <summary>Seed of the initialisation (<see cref="RandomPurpose.Init"/> stream).</summary>
    public ulong Seed { get; init; }
    /// <summary>Initial rate e^v of every mode under the exp map (null: v ~ N(0, 1), as the group's ReLU and softplus layers draw
    /// their weights). Wang &amp; Li's StableSSM initialises its exp-parametrised rates at 0.5 (radarFudan/StableSSM
    /// <c>src/models/recurrent/stablessm.py</c>: <c>A_weights = 0.5</c>, <c>log_A_real = log(A_weights)</c>); the group's LF runs
    /// have no exp-parametrised residual RNN. A N(0, 1) draw puts e^v above 2 — λ = 1 − e^v below −1, a kernel growing like |λ|^k —
    /// for a quarter of the modes, and above 10 (|λ|^{2·99} ≈ 10^{190}, whose gradient norm overflows, so the clipped step is 0) for
    /// one in a hundred.</summary>
    public double? ExpInitialRate { get; init; } = 0.5;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (!(LearningRate > 0)) throw new ArgumentException($"learning rate must be positive (got {LearningRate})");
        if (!(WeightDecay >= 0)) throw new ArgumentException($"weight decay must be ≥ 0 (got {WeightDecay})");
        if (!(ClipNorm >= 0)) throw new ArgumentException($"clip norm must be ≥ 0 (got {ClipNorm})");
        if (StepsPerEpoch <= 0) throw new ArgumentException($"steps per epoch must be positive (got {StepsPerEpoch})");
        if (MinEpochs < 1 || MaxEpochs < MinEpochs) throw new ArgumentException($"need 1 ≤ min epochs ≤ max epochs (got {MinEpochs}, {MaxEpochs})");
        if (!(PlateauFactor > 0 && PlateauFactor < 1)) throw new ArgumentException($"plateau factor must lie in (0, 1) (got {PlateauFactor})");
        if (PlateauPatience < 0) throw new ArgumentException($"plateau patience must be ≥ 0 (got {PlateauPatience})");
        if (!(InitialThreshold > 0) || !(ThresholdFactor > 0)) throw new ArgumentException("the stopping thresholds must be positive");
        if (ExpInitialRate is { } r && !(r > 0 && double.IsFinite(r))) throw new ArgumentException($"the exp map's initial rate must be positive (got {r})");
    }
}

/// <summary>One trained width.</summary>
/// <param name="Width">m.</param>
/// <param name="Theta">Parameters of the best epoch, in the evaluation form (<see cref="ResidualRnnKernelObjective.ToEvaluationForm"/>).</param>
/// <param name="Loss">The best epoch's monitored loss (no penalty): the validation loss with minibatch gradients (the authors'
/// val/loss), the expected loss with expected gradients.</param>
/// <param name="Threshold">The stopping threshold this width trained towards.</param>
/// <param name="Epochs">Epochs run.</param>
/// <param name="Reached">True when the loss went below the threshold (false: stopped at the epoch cap).</param>
public sealed record TrainedApproximant(int Width, double[] Theta, double Loss, double Threshold, int Epochs, bool Reached);

/// <summary>
/// The group's training procedure for the approximants of Wang, Li &amp; Li (ICLR 2024) Fig. 1 (radarFudan/Curse-of-memory
/// <c>scripts/lf_parallelized.sh</c>, <c>src/train.py</c>): the widths are trained in increasing order, each from a fresh
/// initialisation with AdamW, global-norm clipping and ReduceLROnPlateau on the epoch's monitored loss, and each stops at the end
/// of the first epoch (after <see cref="ApproximantTrainingOptions.MinEpochs"/>) whose loss is below its threshold — 100 for the
/// first width, then half the previous width's best loss (Lightning's EarlyStopping stopping_threshold with the scripts'
/// metric_value). The best epoch's parameters are kept (the scripts' best checkpoint, monitor val/loss).
/// Gradients: with <see cref="ApproximantData"/>, the authors' minibatches of a fixed sampled training set, one epoch a pass over
/// the batches in a new seeded order, the loss monitored on the validation set; without, those of the expected loss, full batch
/// (<see cref="ApproximantTrainingOptions.StepsPerEpoch"/> steps an epoch, the expected loss monitored).
/// Initialisation as PyTorch's: u ~ U(−1, 1) (nn.Linear with one input), c ~ U(−1/√m, 1/√m), v ~ N(0, 1) (torch.randn); under the
/// exp map v = log 0.5, StableSSM's (<see cref="ApproximantTrainingOptions.ExpInitialRate"/>).
/// Deterministic: a pure function of the seed, the data and the settings.
/// </summary>
public static class ApproximantTraining
{
    /// <summary>PyTorch-style initial θ = (u, c, v) for width <paramref name="width"/> from <paramref name="rng"/>; with
    /// <paramref name="rotated"/>, then P: the orthogonal factor Q of the QR factorisation of an m×m standard Gaussian matrix (the
    /// authors' CustomOrthogonalLayer in <c>src/models/recurrent/softplusrnn.py</c>; here with R's diagonal positive, i.e. Gram–Schmidt
    /// on the columns), drawn after u, c and v so that these are the same with or without P; with <paramref name="biased"/>, then
    /// the biases as PyTorch's nn.Linear: b ~ U(−1, 1) (one input), b₀ ~ U(−1/√m, 1/√m).</summary>
    public static double[] Initialise(int width, CounterRng rng, bool rotated = false, bool biased = false)
    {
        ArgumentNullException.ThrowIfNull(rng);
        int basisEnd = rotated ? 3 * width + width * width : 3 * width;
        var theta = new double[basisEnd + (biased ? width + 1 : 0)];
        double bound = 1 / Math.Sqrt(width);
        for (int i = 0; i < width; i++) theta[i] = rng.NextUniform(-1, 1);
        for (int i = 0; i < width; i++) theta[width + i] = rng.NextUniform(-bound, bound);
        for (int i = 0; i < width; i++) theta[2 * width + i] = rng.NextNormal();
        if (rotated)
        {
            var q = theta.AsSpan(3 * width, width * width); // row-major P[i, j]
            for (int k = 0; k < q.Length; k++) q[k] = rng.NextNormal();
            for (int j = 0; j < width; j++)
            {
                for (int l = 0; l < j; l++)
                {
                    double dot = 0;
                    for (int i = 0; i < width; i++) dot += q[i * width + j] * q[i * width + l];
                    for (int i = 0; i < width; i++) q[i * width + j] -= dot * q[i * width + l];
                }
                double norm = 0;
                for (int i = 0; i < width; i++) norm += q[i * width + j] * q[i * width + j];
                norm = Math.Sqrt(norm);
                for (int i = 0; i < width; i++) q[i * width + j] /= norm;
            }
        }
        if (biased)
        {
            for (int i = 0; i < width; i++) theta[basisEnd + i] = rng.NextUniform(-1, 1);
            theta[basisEnd + width] = rng.NextUniform(-bound, bound);
        }
        return theta;
    }

    /// <summary>The initial θ for <paramref name="objective"/>'s model: <see cref="Initialise(int, CounterRng, bool, bool)"/>, then, under
    /// the exp map with <see cref="ApproximantTrainingOptions.ExpInitialRate"/> set, every v_i = log(rate) (StableSSM's initialisation).
    /// v is still drawn first, so u, c, P and the biases are the same whichever initialisation v gets.</summary>
    public static double[] Initialise(ResidualRnnKernelObjective objective, CounterRng rng, ApproximantTrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(objective); ArgumentNullException.ThrowIfNull(rng); ArgumentNullException.ThrowIfNull(options);
        int m = objective.Width;
        var theta = Initialise(m, rng, objective.Rotated, objective.Biased);
        if (objective.Map.Map == RateMap.Exp && options.ExpInitialRate is { } rate)
            theta.AsSpan(2 * m, m).Fill(objective.Map.Inverse(rate));
        return theta;
    }

    /// <summary>Trains from <paramref name="theta0"/> (training form) until the monitored loss is below <paramref name="threshold"/>
    /// at an epoch end (after the minimum epochs) or the epoch cap. <paramref name="data"/>: minibatch gradients on its training
    /// batches, the validation loss monitored (null: expected-loss gradients, the expected loss monitored).
    /// <paramref name="shuffle"/> orders the batches of each epoch (minibatch mode only).</summary>
    public static TrainedApproximant Train(ResidualRnnKernelObjective objective, double[] theta0, double threshold,
        ApproximantTrainingOptions options, ApproximantData? data = null, CounterRng? shuffle = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(objective); ArgumentNullException.ThrowIfNull(theta0); ArgumentNullException.ThrowIfNull(options);
        if (!objective.Training) throw new ArgumentException("train on the training form of the objective", nameof(objective));
        if (theta0.Length != objective.Dimension) throw new ArgumentException($"θ₀ has {theta0.Length} entries, the objective expects {objective.Dimension}", nameof(theta0));
        options.Validate();
        var monitor = data?.Validation ?? KernelLossMetric.Expected(objective.Window, objective.TimeWeightPower);
        if (monitor.Window != objective.Window) throw new ArgumentException($"the data have window {monitor.Window}, the objective {objective.Window}", nameof(data));
        var expected = objective.Metric;
        int n = objective.Dimension;
        var layout = new ParameterLayout();
        layout.Add("theta", "all", n);
        var adam = new Adam<double>(layout, weightDecay: options.WeightDecay, decoupledWeightDecay: true, clipNorm: options.ClipNorm);
        var theta = (double[])theta0.Clone();
        var g = new double[n];
        int steps = data?.Batches.Count ?? options.StepsPerEpoch;
        var order = Enumerable.Range(0, steps).ToArray();
        shuffle ??= new CounterRng(options.Seed, RandomPurpose.Data, 1);
        double lr = options.LearningRate, plateauBest = double.PositiveInfinity;
        int bad = 0, epoch = 0;
        double bestLoss = double.PositiveInfinity;
        double[] best = (double[])theta.Clone();
        bool reached = false;
        try
        {
            while (epoch < options.MaxEpochs)
            {
                cancellation.ThrowIfCancellationRequested();
                if (data is not null)
                    for (int i = steps - 1; i > 0; i--) { int j = (int)(shuffle.NextUInt64() % (ulong)(i + 1)); (order[i], order[j]) = (order[j], order[i]); }
                for (int s = 0; s < steps; s++)
                {
                    if (data is not null) objective.Metric = data.Batches[order[s]];
                    objective.Evaluate(theta, g);
                    bool finite = true;
                    foreach (var x in g) if (!double.IsFinite(x)) { finite = false; break; }
                    if (!finite) break; // diverged: the epoch loss below says so
                    adam.Step(theta, g, lr);
                }
                epoch++;
                double loss = FitLoss(objective, theta, monitor);
                if (!double.IsFinite(loss)) break;
                if (loss < bestLoss) { bestLoss = loss; Array.Copy(theta, best, n); }
                // ReduceLROnPlateau (PyTorch defaults: relative threshold 10^−4, no cooldown).
                if (loss < plateauBest * (1 - 1e-4)) { plateauBest = loss; bad = 0; }
                else if (++bad > options.PlateauPatience) { lr *= options.PlateauFactor; bad = 0; }
                if (epoch >= options.MinEpochs && loss < threshold) { reached = true; break; }
            }
        }
        finally { objective.Metric = expected; }
        return new TrainedApproximant(objective.Width, objective.ToEvaluationForm(best), bestLoss, threshold, epoch, reached);
    }

    /// <summary>The loss at θ (training form) under <paramref name="metric"/> (default: the expected loss): the fit
    /// term only, as the authors' val/loss and test/loss (no penalty).</summary>
    public static double FitLoss(ResidualRnnKernelObjective objective, ReadOnlySpan<double> theta, KernelLossMetric? metric = null)
    {
        ArgumentNullException.ThrowIfNull(objective);
        return objective.FitLoss(theta, metric ?? KernelLossMetric.Expected(objective.Window, objective.TimeWeightPower));
    }

    /// <summary>The expected test loss at θ (training form): the fit term only, as the authors' val/loss (no penalty).</summary>
    public static double TestLoss(ResidualRnnKernelObjective objective, ReadOnlySpan<double> theta) => FitLoss(objective, theta);

    /// <summary>Trains the widths in order with the group's stopping rule (threshold 100, then
    /// <see cref="ApproximantTrainingOptions.ThresholdFactor"/> × the previous width's best loss); <paramref name="data"/> as in
    /// <see cref="Train"/>.</summary>
    public static IReadOnlyList<TrainedApproximant> TrainSequence(Func<int, ResidualRnnKernelObjective> objective, IReadOnlyList<int> widths,
        ApproximantTrainingOptions options, ApproximantData? data = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(objective); ArgumentNullException.ThrowIfNull(widths); ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var results = new List<TrainedApproximant>();
        double threshold = options.InitialThreshold;
        var root = new CounterRng(options.Seed, RandomPurpose.Init);
        var shuffle = new CounterRng(options.Seed, RandomPurpose.Data, 1);
        foreach (int m in widths)
        {
            var o = objective(m);
            if (o.Width != m) throw new ArgumentException($"the objective for width {m} has width {o.Width}");
            var r = Train(o, Initialise(o, root.Fork((ulong)m), options), threshold, options, data, shuffle.Fork((ulong)m), cancellation);
            results.Add(r);
            threshold = options.ThresholdFactor * r.Loss;
        }
        return results;
    }
}
