using MemoryLab.Numerics;
using MemoryLab.Training;

namespace MemoryLab.Analysis;

/// <summary>
/// Expected loss of the group's residual diagonal linear RNN on the linear-functional task of Wang, Li &amp; Li (ICLR 2024)
/// (radarFudan/Curse-of-memory: <c>src/models/recurrent/simple_diagonalrnn.py</c>, <c>softplusrnn.py</c>,
/// <c>src/models/lf_module.py</c>, <c>src/utils/temporally_weighted_error.py</c>), in kernel space.
/// Model: h_{k+1} = h_k + dt·(u x_k − r(v) ⊙ h_k), ŷ_k = cᵀh_{k+1}, so its kernel is
/// ρ̂(k) = dt Σ_i c_i u_i λ_i^k with λ_i = 1 − dt·r(v_i), k = 0..T−1. The target is y_k = Σ_{s≤k} ρ(k − s) x_s with
/// i.i.d. N(0, 1) inputs (<c>src/data/components/lf/datagen.py</c>, dt = 1); the loss is the temporally weighted mean square
/// (1/T) Σ_t ω_t² (ŷ_t − y_t)², ω_t ∝ ((t+1)/(T+1))^p normalised to mean 1 (p = 2). Its expectation over the inputs is the
/// weighted kernel distance J = Σ_k Ω_k (ρ̂(k) − ρ(k))², Ω_k = (1/T) Σ_{t=k}^{T−1} ω_t² — what this objective returns by default;
/// with <see cref="Metric"/> set to a sampled set of sequences (a minibatch, the validation or the test set) it returns that set's
/// loss, J = eᵀMe (<see cref="KernelLossMetric"/>).
/// θ = (u_1..u_m, c_1..c_m, v_1..v_m). During training the direct map is the authors' ReLU (r(v) = max(v, 0), a negative v is
/// a frozen integrator mode λ = 1), and the training loss adds their stability-margin penalty
/// κ·max(0, 1 − min{r(v_i) &gt; 0}); for evaluation (<see cref="Training"/> false) the rates are r(v) as given, with no
/// penalty, so a perturbed direct rate can go negative (λ &gt; 1, the unstable side).
/// The encoder and decoder biases of the authors' model are left out: they only fit the output's mean, which is 0 here.
/// </summary>
public sealed class ResidualRnnKernelObjective : IObjective<double>
{
    private readonly double[] _target, _omega, _rho, _lambda, _rate, _slope, _residual, _mResidual;
    private readonly int _m, _t;
    private KernelLossMetric _metric;
    private readonly double[]? _s, _z, _adj, _adjNext, _gs, _tmp; // rotated form: S = PᵀDP, z_k = A^k u, adjoints, ∂J/∂S

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
    /// change of basis of u and c turns it into a diagonal recurrence with rates ≥ 0; what P changes is the optimisation path and
    /// which directions a perturbation of the recurrent parameters (v and P) moves.</param>
    public ResidualRnnKernelObjective(Func<double, double> rho, int width, int window, RateParametrisation map, bool training,
        double marginPenalty = 0.01, double timeWeightPower = 2, double dt = 1, bool rotated = false)
    {
        ArgumentNullException.ThrowIfNull(rho);
        if (width <= 0) throw new ArgumentException($"width must be positive (got {width})", nameof(width));
        if (window < 2) throw new ArgumentException($"window must be ≥ 2 (got {window})", nameof(window));
        if (map.Map is not (RateMap.Direct or RateMap.Exp or RateMap.Softplus)) throw new ArgumentException($"rate map {map} is not one of the group's (direct, exp, softplus)", nameof(map));
        if (!(marginPenalty >= 0)) throw new ArgumentException($"margin penalty must be ≥ 0 (got {marginPenalty})", nameof(marginPenalty));
        if (!(dt > 0)) throw new ArgumentException($"dt must be positive (got {dt})", nameof(dt));
        _m = width; _t = window; Map = map; Training = training; MarginPenalty = marginPenalty; Dt = dt; Rotated = rotated;
        if (rotated)
        {
            _s = new double[width * width]; _z = new double[window * width]; _adj = new double[width]; _adjNext = new double[width];
            _gs = new double[width * width]; _tmp = new double[width * width];
        }
        _omega = LossWeights(window, timeWeightPower);
        _rho = new double[window];
        for (int k = 0; k < window; k++) _rho[k] = rho(k * dt);
        _target = _rho;
        _lambda = new double[width]; _rate = new double[width]; _slope = new double[width]; _residual = new double[window]; _mResidual = new double[window];
        _metric = KernelLossMetric.Expected(window, timeWeightPower);
        TimeWeightPower = timeWeightPower;
    }

    /// <summary>The loss's quadratic form in the kernel error: the expected loss (the default) or the loss over a sampled set of
    /// sequences, e.g. the current minibatch (<see cref="KernelLossMetric"/>). Settable between evaluations.</summary>
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
    /// <inheritdoc />
    public int Dimension => Rotated ? 3 * _m + _m * _m : 3 * _m;
    /// <summary>True: the recurrence is PᵀDP with a trainable P (θ = (u, c, v, P)).</summary>
    public bool Rotated { get; }

    /// <summary>ρᵀMρ (Σ_k Ω_k ρ(k)² for the expected loss): the loss of the zero model under <see cref="Metric"/>.</summary>
    public double ZeroModelLoss => _metric.Apply(_rho, Span<double>.Empty);

    /// <summary>The model kernel ρ̂(k), k = 0..T−1, at θ.</summary>
    public double[] Kernel(ReadOnlySpan<double> theta)
    {
        Rates(theta);
        var y = new double[_t];
        if (Rotated) { RotatedKernel(theta, y); return y; }
        for (int i = 0; i < _m; i++)
        {
            double a = Dt * theta[i] * theta[_m + i], p = 1;
            for (int k = 0; k < _t; k++) { y[k] += a * p; p *= _lambda[i]; }
        }
        return y;
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
    }

    /// <inheritdoc />
    public double Evaluate(ReadOnlySpan<double> theta, Span<double> gradient)
    {
        if (theta.Length != Dimension) throw new ArgumentException($"θ has {theta.Length} entries, expected {Dimension}", nameof(theta));
        int m = _m, T = _t;
        Rates(theta);
        Array.Clear(_residual);
        if (Rotated) RotatedKernel(theta, _residual);
        else
            for (int i = 0; i < m; i++)
            {
                double a = Dt * theta[i] * theta[m + i], p = 1;
                for (int k = 0; k < T; k++) { _residual[k] += a * p; p *= _lambda[i]; }
            }
        for (int k = 0; k < T; k++) _residual[k] -= _rho[k];
        bool wantGradient = !gradient.IsEmpty;
        double j = _metric.Apply(_residual, wantGradient ? _mResidual : Span<double>.Empty);
        if (wantGradient && Rotated) RotatedGradient(theta, gradient);
        else if (wantGradient)
        {
            gradient.Clear();
            for (int i = 0; i < m; i++)
            {
                // ∂J/∂a_i = 2 Σ_k (Me)_k λ^k, ∂J/∂λ_i = 2 a_i Σ_k (Me)_k k λ^{k−1}  (J = eᵀMe, e = ρ̂ − ρ).
                double ga = 0, gl = 0, p = 1, pPrev = 0;
                for (int k = 0; k < T; k++)
                {
                    double c = _mResidual[k];
                    ga += c * p;
                    gl += c * k * pPrev;
                    pPrev = p; p *= _lambda[i];
                }
                double u = theta[i], cc = theta[m + i], a = Dt * u * cc;
                ga *= 2; gl *= 2 * a;
                gradient[i] = Dt * cc * ga;
                gradient[m + i] = Dt * u * ga;
                gradient[2 * m + i] = gl * (-Dt) * _slope[i];
            }
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

    // Rotated form: S = PᵀDP (D = diag r(v)), A = I − dt·S, z_k = A^k u, ρ̂(k) = dt·cᵀz_k; adds ρ̂ into y.
    private void RotatedKernel(ReadOnlySpan<double> theta, Span<double> y)
    {
        int m = _m, T = _t;
        var u = theta[..m]; var c = theta.Slice(m, m); var p = theta.Slice(3 * m, m * m);
        var s = _s!; var z = _z!;
        for (int a = 0; a < m; a++)
            for (int b = 0; b <= a; b++)
            {
                double acc = 0;
                for (int i = 0; i < m; i++) acc += p[i * m + a] * _rate[i] * p[i * m + b];
                s[a * m + b] = s[b * m + a] = acc;
            }
        u.CopyTo(z.AsSpan(0, m));
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

    // Rotated form's gradient from ∂J/∂ρ̂(k) = 2(Me)_k (in _mResidual): the adjoint a_k = ∂J/∂z_k runs backwards,
    // a_k = 2 dt (Me)_k c + A a_{k+1} (A symmetric); ∂J/∂u = a_0, ∂J/∂c = 2 dt Σ_k (Me)_k z_k, ∂J/∂S = −dt Σ_k a_{k+1} z_kᵀ =: G;
    // then S = PᵀDP gives ∂J/∂d_i = (P G Pᵀ)_ii and ∂J/∂P = D P (G + Gᵀ).
    private void RotatedGradient(ReadOnlySpan<double> theta, Span<double> gradient)
    {
        int m = _m, T = _t;
        var c = theta.Slice(m, m); var p = theta.Slice(3 * m, m * m);
        var s = _s!; var z = _z!; var adj = _adj!; var next = _adjNext!; var gs = _gs!; var tmp = _tmp!;
        gradient.Clear();
        Array.Clear(gs);
        for (int k = T - 1; k >= 0; k--)
        {
            var zk = z.AsSpan(k * m, m);
            double w = 2 * Dt * _mResidual[k];
            for (int a = 0; a < m; a++) gradient[m + a] += w * zk[a];
            if (k + 1 < T)
            {
                // G −= dt · a_{k+1} z_kᵀ, then a_k = A a_{k+1} + w c.
                for (int a = 0; a < m; a++)
                {
                    double na = next[a] * Dt;
                    for (int b = 0; b < m; b++) gs[a * m + b] -= na * zk[b];
                }
                for (int a = 0; a < m; a++)
                {
                    double acc = 0;
                    for (int b = 0; b < m; b++) acc += s[a * m + b] * next[b];
                    adj[a] = next[a] - Dt * acc + w * c[a];
                }
            }
            else for (int a = 0; a < m; a++) adj[a] = w * c[a];
            adj.AsSpan().CopyTo(next);
        }
        for (int a = 0; a < m; a++) gradient[a] = next[a];
        // tmp = P (G + Gᵀ).
        for (int i = 0; i < m; i++)
            for (int b = 0; b < m; b++)
            {
                double acc = 0;
                for (int a = 0; a < m; a++) acc += p[i * m + a] * (gs[a * m + b] + gs[b * m + a]);
                tmp[i * m + b] = acc;
            }
        for (int i = 0; i < m; i++)
        {
            // ∂J/∂d_i = Σ_ab P_ia G_ab P_ib = ½ Σ_b tmp_ib P_ib.
            double gd = 0;
            for (int b = 0; b < m; b++) gd += 0.5 * tmp[i * m + b] * p[i * m + b];
            gradient[2 * m + i] = gd * _slope[i];
            for (int b = 0; b < m; b++) gradient[3 * m + i * m + b] = _rate[i] * tmp[i * m + b];
        }
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
/// Initialisation as PyTorch's: u ~ U(−1, 1) (nn.Linear with one input), c ~ U(−1/√m, 1/√m), v ~ N(0, 1) (torch.randn).
/// Deterministic: a pure function of the seed, the data and the settings.
/// </summary>
public static class ApproximantTraining
{
    /// <summary>PyTorch-style initial θ = (u, c, v) for width <paramref name="width"/> from <paramref name="rng"/>; with
    /// <paramref name="rotated"/>, then P: the orthogonal factor Q of the QR factorisation of an m×m standard Gaussian matrix (the
    /// authors' CustomOrthogonalLayer in <c>src/models/recurrent/softplusrnn.py</c>; here with R's diagonal positive, i.e. Gram–Schmidt
    /// on the columns), drawn after u, c and v so that these are the same with or without P.</summary>
    public static double[] Initialise(int width, CounterRng rng, bool rotated = false)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var theta = new double[rotated ? 3 * width + width * width : 3 * width];
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

    /// <summary>The loss at θ (training form) under <paramref name="metric"/> (default: the objective's expected loss): the fit
    /// term only, as the authors' val/loss and test/loss (no penalty).</summary>
    public static double FitLoss(ResidualRnnKernelObjective objective, ReadOnlySpan<double> theta, KernelLossMetric? metric = null)
    {
        ArgumentNullException.ThrowIfNull(objective);
        var k = objective.Kernel(theta);
        for (int i = 0; i < k.Length; i++) k[i] -= objective.Target[i];
        return (metric ?? KernelLossMetric.Expected(objective.Window, objective.TimeWeightPower)).Apply(k, Span<double>.Empty);
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
            var r = Train(o, Initialise(m, root.Fork((ulong)m), o.Rotated), threshold, options, data, shuffle.Fork((ulong)m), cancellation);
            results.Add(r);
            threshold = options.ThresholdFactor * r.Loss;
        }
        return results;
    }
}
