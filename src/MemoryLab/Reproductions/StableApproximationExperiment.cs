using MemoryLab.Analysis;
using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;
using Rate = MemoryLab.Numerics.RateParametrisation;

namespace MemoryLab.Reproductions;

/// <summary>
/// <c>wang24-stable-approximation</c> (Wang, Li &amp; Li, ICLR 2024, §3 and Fig. 1; the reparametrisations of Wang &amp; Li's
/// StableSSM): perturbation error E_m(β) = sup_{‖θ̃ − θ_m‖∞ ≤ β} J(θ̃) of trained width-m models θ_m, J the expected test
/// loss of the group's linear-functional task (radarFudan/Curse-of-memory <c>src/data/lf_datamodule.py</c>: e^{−t} and
/// (1 + 0.1t)^{−1.1}, dt = 1, T = 100). The models are the group's residual linear RNNs (recurrence PᵀDP in a trainable basis P, or
/// diagonal) under the direct (ReLU in training), exp and softplus parametrisations of the recurrent rates, trained as the group trains them
/// (<see cref="ApproximantTraining"/>); least-squares fits are an optional, labelled mode. Which parameters are perturbed is a
/// setting: the recurrent parameters v only, as in Wang24's definition of E_m(β), or u, c and v, as the group's
/// <c>src/perturb.py</c> does. Protocol: <see cref="PerturbationAnalysis"/> (Gaussian noise rescaled to max-norm β, running
/// maximum). Wang24 Fig. 1 reads the curves by where those of consecutive widths cross (<see cref="CrossingPoint"/>): the
/// crossings stay put for exponential memory and drift to 0 for power-law memory under the direct parametrisation.
/// </summary>
public sealed class StableApproximationExperiment : ReproductionKind<StableApproximationExperiment.Settings>
{
    /// <summary>Settings of one scale (spec <c>experiments/reproduce/wang24-stable-approximation/</c>).</summary>
    /// <param name="Widths">Widths m, trained (or fitted) in increasing order.</param>
    /// <param name="Window">Sequence length T: the kernels are sampled at t = 0..T−1 (dt = 1).</param>
    /// <param name="Repeats">Perturbations drawn per β (running maximum).</param>
    /// <param name="MaxIterations">Levenberg–Marquardt iterations per start of the least-squares fit (least-squares mode only).</param>
    /// <param name="PowerLawExponent">Exponent p of the power-law target (1 + c·t)^{−p}.</param>
    /// <param name="PowerLawScale">Time scale c of the power-law target.</param>
    /// <param name="PerturbAll">True: every parameter (u, c too) is perturbed; false: the recurrent parameters v only.</param>
    /// <param name="Trained">True: the group's trained approximants (<see cref="ApproximantTraining"/>); false: least-squares fits.</param>
    /// <param name="Training">The training settings (trained mode).</param>
    /// <param name="MarginPenalty">κ of the authors' stability-margin penalty in the training loss.</param>
    /// <param name="TimeWeightPower">p of the loss's temporal weights ((t+1)/(T+1))^p.</param>
    /// <param name="Seed">Seed of the initialisations, the data and the perturbations.</param>
    /// <param name="Minibatch">True: the authors' minibatch gradients on a fixed sampled training set, validation-loss stopping and
    /// the test set's loss for E_m(β); false: expected-loss gradients, full batch, and the expected loss throughout.</param>
    /// <param name="TrainSize">Training sequences (minibatch mode).</param>
    /// <param name="ValidationSize">Validation sequences (minibatch mode).</param>
    /// <param name="TestSize">Test sequences (minibatch mode).</param>
    /// <param name="BatchSize">Sequences per minibatch (minibatch mode).</param>
    /// <param name="SoftplusBasis">True: the softplus models carry the authors' trainable basis P (recurrence PᵀDP, P initialised
    /// orthogonal; <see cref="ResidualRnnKernelObjective"/>'s rotated form), perturbed with the recurrent parameters.</param>
    /// <param name="Biases">True: the models carry the encoder's and the decoder's biases (the authors' nn.Linear layers).</param>
    /// <param name="Seeds">Replicates: seeds Seed, Seed + 1, …; the curves are read one by one and their crossings and E_m(0) pooled by the median.</param>
    /// <param name="DirectBasis">True: the direct (ReLU) models carry the trainable basis P too, as the group's <c>rnn</c> model
    /// (src/models/recurrent/simple_rnn.py); false: diagonal, as its <c>diagonalrnn</c>.</param>
    public sealed record Settings(int[] Widths, int Window, int Repeats, int MaxIterations, double PowerLawExponent, double PowerLawScale, bool PerturbAll,
        bool Trained, ApproximantTrainingOptions Training, double MarginPenalty, double TimeWeightPower, ulong Seed = 0,
        bool Minibatch = false, int TrainSize = 0, int ValidationSize = 0, int TestSize = 0, int BatchSize = 0, bool SoftplusBasis = false,
        bool Biases = false, bool DirectBasis = false, int Seeds = 1);

    /// <inheritdoc />
    public override Settings Bind(SpecNode s)
    {
        // Each choice is a name with its allowed values, so the spec reference (memlab kinds) lists them and reads on past them.
        string perturb = s.GetString("perturb", allowed: ["recurrent", "all"],
            doc: "recurrent: perturb the recurrent parameters only (Wang24's definition of E_m(β)); all: every parameter");
        string approximants = s.GetString("approximants", allowed: ["trained", "least-squares"],
            doc: "trained: approximants trained by the group's procedure; least-squares: best sums of exponentials (labelled, not the paper's)");
        string gradients = s.GetString("gradients", allowed: ["minibatch", "expected"],
            doc: "minibatch: the authors' sampled training set; expected: the expected loss, full batch");
        string basis = s.GetString("softplus_basis", allowed: ["learned", "none"],
            doc: "learned: the authors' trainable P, recurrence PᵀDP; none: diagonal");
        string directBasis = s.GetString("direct_basis", allowed: ["learned", "none"],
            doc: "learned: the direct (ReLU) recurrence in a trainable basis P as well, PᵀDP (the group's rnn model); none: diagonal (its diagonalrnn)");
        string biases = s.GetString("biases", allowed: ["learned", "none"], doc: "learned: the authors' encoder and decoder biases; none: no biases");
        var widths = s.GetIntList("widths", min: 1, minCount: 2, doc: "widths m, increasing");
        int minEpochs = s.GetInt("min_epochs", min: 1, doc: "fewest epochs of each width");
        var training = new ApproximantTrainingOptions
        {
            LearningRate = s.GetDouble("learning_rate", above: 0, doc: "AdamW learning rate"),
            WeightDecay = s.GetDouble("weight_decay", min: 0, doc: "AdamW weight decay"),
            ClipNorm = s.GetDouble("clip_norm", min: 0, doc: "global gradient-norm clip"),
            StepsPerEpoch = s.GetInt("steps_per_epoch", min: 1, doc: "steps per epoch (gradients: expected; minibatch: train_size / batch_size)"),
            MinEpochs = minEpochs,
            MaxEpochs = s.GetInt("max_epochs", min: minEpochs, doc: "most epochs of each width"),
            PlateauFactor = s.GetDouble("plateau_factor", above: 0, below: 1, doc: "learning-rate factor when the validation loss plateaus"),
            PlateauPatience = s.GetInt("plateau_patience", min: 0, doc: "epochs without improvement before that"),
            InitialThreshold = s.GetDouble("stopping_threshold", above: 0, doc: "the first width stops once its validation loss is below this"),
            ThresholdFactor = s.GetDouble("threshold_factor", above: 0, doc: "each next width stops below this times the previous width's best validation loss"),
            ExpInitialRate = ExpInitialRate(s),
        };
        bool minibatch = gradients == "minibatch";
        int batch = s.GetInt("batch_size", min: 1, doc: "sequences per AdamW step"),
            trainSize = s.GetInt("train_size", min: 1, doc: "training sequences");
        var settings = new Settings(widths, s.GetInt("window", min: 2, doc: "sequence length T (kernels sampled at t = 0 … T−1)"),
            s.GetInt("repeats", min: 1, doc: "Gaussian perturbations per β (their running maximum is kept)"),
            s.GetInt("max_iterations", min: 1, doc: "least-squares approximants only: Levenberg–Marquardt iterations per start"),
            s.GetDouble("power_law_exponent", above: 1, doc: "p of the power-law target (1 + c·t)^{−p}"),
            s.GetDouble("power_law_scale", above: 0, doc: "c of (1 + c·t)^{−p}"),
            perturb == "all",
            approximants == "trained", training, s.GetDouble("margin_penalty", min: 0, doc: "weight of relu(1 − stability margin) added to the training loss"),
            s.GetDouble("time_weight_power", min: 0, doc: "the loss weighs step t by ((t+1)/(T+1))^this"),
            (ulong)s.GetLong("seed", min: 0, doc: "seed of the initialisations and of the perturbations"),
            minibatch, trainSize, s.GetInt("validation_size", min: 1, doc: "validation sequences"),
            s.GetInt("test_size", min: 1, doc: "test sequences (E_m(β) is their loss)"),
            batch,
            basis == "learned", biases == "learned", directBasis == "learned",
            s.GetInt("seeds", min: 1, doc: "replicates: seeds seed, seed + 1, …, each trained and perturbed on its own; crossings and E_m(0) are their medians"));
        // Checks of several values together come after every read, so describing the kind (placeholder values) lists every key.
        for (int i = 1; i < widths.Length; i++)
            if (widths[i] <= widths[i - 1]) throw s.Error("widths", $"must increase (got {widths[i]} after {widths[i - 1]})");
        if (minibatch && trainSize % batch != 0) throw s.Error("train_size", $"must be a multiple of batch_size {batch} (got {trainSize})");
        return settings;
    }

    // exp_initial_rate: a positive number (every v = log of it, StableSSM's initialisation) or randn (v ~ N(0, 1)).
    private static double? ExpInitialRate(SpecNode s)
    {
        string text = s.GetString("exp_initial_rate", doc: "exp map only: every initial rate e^v (StableSSM's 0.5), or randn for v ~ N(0, 1)");
        if (text == "randn" || s.IsDescribing) return null;   // describing: a placeholder text, nothing to parse
        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double rate) || !(rate > 0) || !double.IsFinite(rate))
            throw s.Error("exp_initial_rate", $"must be a positive rate (StableSSM's 0.5) or 'randn' (v ~ N(0, 1)) (got '{text}')");
        return rate;
    }

    private static readonly Rate[] Maps = [Rate.Direct, Rate.Exp, Rate.Softplus];

    /// <inheritdoc />
    public override string Name => "wang24-stable-approximation";
    /// <inheritdoc />
    public override string Title => "Stable approximation: perturbation error E_m(β) for exponential vs power-law memory (Wang24 Figs. 1, 4)";
    /// <inheritdoc />
    public override string Method =>
        "Width-m residual linear RNNs h_{k+1} = h_k + u x_k + b − PᵀDP h_k, D = diag r(v), ŷ_k = cᵀh_{k+1} + b₀ (the group's radarFudan/Curse-of-memory models; "
        + "r = ReLU-direct, exp (rates starting at StableSSM's 0.5 unless the spec says otherwise) or softplus; P trainable and initialised orthogonal as in the group's rnn and softplusrnn models, or the identity (diagonal) where the spec says so; biases as the spec says) trained on the temporally weighted loss of the group's task (targets e^{−t} and (1 + c·t)^{−p}, "
        + "N(0, 1) inputs, T = 100, dt = 1) with the group's procedure: AdamW on minibatches of a fixed sampled training set (or, when the spec says so, "
        + "on the expected loss, full batch), gradient clip 0.5, ReduceLROnPlateau on the validation loss, widths in increasing order, "
        + "each stopped at the first epoch (after 2) whose validation loss is below half the previous width's; E_m(β) is the test set's loss. "
        + "The spec can instead use least-squares fits (labelled). The recurrent parameters v — or, when the spec says so, u, c and v — are perturbed "
        + "by Gaussian noise rescaled to max-norm β, β ∈ {0} ∪ {10^−3·2^{i/2}, i = 0..20}, repeated (see the spec) with the running maximum of the "
        + "test loss kept (Wang24's protocol, the group's src/perturb.py). The curves are read by the β where those of consecutive widths cross (Wang24 Fig. 1), "
        + "each replicate (training seed) on its own; the crossings and E_m(0) reported are the medians over the replicates, the curves drawn their pointwise medians.";

    /// <summary>The two targets (label, ρ): exponential memory e^{−t} and the power law (1 + c·t)^{−p}.</summary>
    public static IReadOnlyList<(string Label, Func<double, double> Rho)> Targets(double powerLawExponent, double powerLawScale) =>
        [("exp", t => Math.Exp(-t)), ("pol", t => Math.Pow(1 + powerLawScale * t, -powerLawExponent))];

    /// <summary>Relative squared errors at or below this are round-off: 10^6 × (2.2·10^−16)²·100, the double-precision
    /// round-off of a relative squared error summed over 100 samples.</summary>
    public const double RoundOffError = 5e-24;

    /// <summary>
    /// Where the perturbation-error curve of the wider model, <paramref name="wider"/>, crosses that of the narrower one
    /// (Wang24 Fig. 1): at β = 0 (<paramref name="betas"/>[0] = 0) the wider model must be more accurate; the crossing is
    /// the first β &gt; 0 where it is no longer, interpolated linearly in (ln β, ln E_wide − ln E_narrow) between the grid
    /// points around the sign change. +∞ when the wider model stays more accurate on the whole grid; NaN when it is not
    /// more accurate at β = 0, or when its error there is at round-off (≤ <see cref="RoundOffError"/>: an exact fit, whose
    /// order against the narrower one is noise), so no crossing is defined.
    /// </summary>
    public static double CrossingPoint(double[] betas, double[] narrower, double[] wider)
    {
        ArgumentNullException.ThrowIfNull(betas); ArgumentNullException.ThrowIfNull(narrower); ArgumentNullException.ThrowIfNull(wider);
        if (narrower.Length != betas.Length || wider.Length != betas.Length) throw new ArgumentException("the curves and the β grid differ in length");
        if (betas.Length < 2 || betas[0] != 0) throw new ArgumentException("the β grid must start at 0 and have a positive point");
        double Gap(int i) => Math.Log(wider[i]) - Math.Log(narrower[i]);
        if (!(wider[0] < narrower[0]) || !(wider[0] > RoundOffError)) return double.NaN;
        double previous = Gap(0);
        for (int i = 1; i < betas.Length; i++)
        {
            double g = Gap(i);
            if (double.IsNaN(g)) g = double.PositiveInfinity; // both broke: the wider is no longer more accurate
            if (g >= 0)
            {
                if (i == 1 || !double.IsFinite(g)) return betas[i];
                double l0 = Math.Log(betas[i - 1]), l1 = Math.Log(betas[i]);
                return Math.Exp(l0 + (l1 - l0) * (-previous) / (g - previous));
            }
            previous = g;
        }
        return double.PositiveInfinity;
    }

    /// <summary>Width-by-width approximants of <paramref name="rho"/> under <paramref name="map"/> in the evaluation form of
    /// <see cref="ResidualRnnKernelObjective"/>: trained with the group's procedure, or (least-squares mode) the best sums of
    /// exponentials Σ a_i e^{−w_i k} under the same lag weights, written as λ_i = e^{−w_i} (u = 1, c = a).</summary>
    public static IReadOnlyList<TrainedApproximant> Approximants(Func<double, double> rho, Rate map, Settings s, ulong seed, ApproximantData? data = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(rho); ArgumentNullException.ThrowIfNull(s);
        if (s.Trained)
            return ApproximantTraining.TrainSequence(m => new ResidualRnnKernelObjective(rho, m, s.Window, map, training: true, s.MarginPenalty, s.TimeWeightPower,
                rotated: Rotated(map, s), biased: s.Biases), s.Widths, s.Training with { Seed = seed }, data, cancellation);
        var weights = ResidualRnnKernelObjective.LossWeights(s.Window, s.TimeWeightPower);
        var nodes = Enumerable.Range(0, s.Window).Select(k => (double)k).ToArray();
        var kernel = KernelQuadrature.FromSamples(nodes, weights, nodes.Select(rho).ToArray());
        var fits = WidthFit.FitSequence(kernel, s.Widths.Max(), new WidthFitOptions { Seed = seed, RandomStarts = 0, MaxIterations = s.MaxIterations });
        bool rotated = Rotated(map, s);
        return s.Widths.Select(m =>
        {
            var f = fits[m - 1];
            var theta = new double[(rotated ? 3 * m + m * m : 3 * m) + (s.Biases ? m + 1 : 0)]; // biases 0
            for (int i = 0; i < m; i++) { theta[i] = 1; theta[m + i] = f.Coefficients[i]; theta[2 * m + i] = map.Inverse(-double.ExpM1(-f.Rates[i])); }
            if (rotated) for (int i = 0; i < m; i++) theta[3 * m + i * m + i] = 1; // P = I
            return new TrainedApproximant(m, theta, f.Loss, double.NaN, 0, true);
        }).ToList();
    }

    /// <summary>True when models under <paramref name="map"/> carry the trainable basis P (the softplus or the direct map, when the spec says so).</summary>
    public static bool Rotated(Rate map, Settings s) =>
        (s.SoftplusBasis && map.Map == Numerics.RateMap.Softplus) || (s.DirectBasis && map.Map == Numerics.RateMap.Direct);

    /// <inheritdoc />
    public override void Run(ReproductionContext ctx, Settings s)
    {
        var targets = Targets(s.PowerLawExponent, s.PowerLawScale);
        var betas = PerturbationAnalysis.Wang24Betas();
        int perSeed = targets.Count * Maps.Length, jobs = s.Seeds * perSeed, done = 0;
        var rows = new List<double[]>[jobs];
        // Replicate k draws its data, initialisations and perturbations from seed + k (replicate 0 is the single run of a one-seed
        // spec). The authors' data set (one draw per replicate, shared by both targets and all widths, as their seeded datagen.py):
        // minibatch mode only.
        var data = new ApproximantData?[s.Seeds];
        if (s.Trained && s.Minibatch)
            ctx.For(s.Seeds, (k, _) => data[k] = ApproximantData.Sample(s.TrainSize, s.ValidationSize, s.TestSize, s.BatchSize, s.Window, s.TimeWeightPower, s.Seed + (ulong)k));
        // Each (replicate, target, map) is one independent chain of widths, spread over the run's threads and a sweep's idle workers.
        // They are taken (target, map) first, so the replicates of the slowest chains (exponential memory, direct) start first,
        // and stored replicate first (rows[index]).
        ctx.For(jobs, (taken, _) =>
        {
            int k = taken % s.Seeds, job = taken / s.Seeds, index = k * perSeed + job;
            ulong seed = s.Seed + (ulong)k;
            int i = job / Maps.Length, p = job % Maps.Length;
            var rho = targets[i].Rho;
            var models = Approximants(rho, Maps[p], s, 1000 * seed + (ulong)job, data[k], ctx.Cancellation);
            rows[index] = [];
            foreach (var model in models)
            {
                int m = model.Width;
                var eval = new ResidualRnnKernelObjective(rho, m, s.Window, Maps[p], training: false, timeWeightPower: s.TimeWeightPower,
                    rotated: Rotated(Maps[p], s), biased: s.Biases);
                if (data[k] is not null) eval.Metric = data[k]!.Test; // E_m(β) on the test set, as the group's src/perturb.py (trainer.test)
                // θ = (u, c, v[, P][, b, b₀]); the recurrent parameters are v and P. Each tensor's noise is rescaled to max-norm β on
                // its own, as src/perturb.py does per named parameter.
                int bo = eval.BiasOffset;
                var groups = Enumerable.Range(0, eval.Dimension).Select(j => j < 3 * m ? j / m : j < bo ? 3 : j < bo + m ? 4 : 5).ToArray();
                var mask = groups.Select(g => s.PerturbAll || g is 2 or 3).ToArray();
                var curve = PerturbationAnalysis.Run(model.Theta, th => eval.Evaluate(th, Span<double>.Empty),
                    new PerturbationOptions { Betas = betas, Repeats = s.Repeats, Seed = 100_000 * seed + (ulong)(100 * i + 10 * p + m), Mask = mask, Groups = groups });
                double minRate = Enumerable.Range(0, m).Min(j => Maps[p].Rate(model.Theta[2 * m + j]));
                for (int b = 0; b < betas.Length; b++)
                    rows[index].Add([i, p, m, betas[b], curve.Error[b], model.Loss, model.Epochs, model.Reached ? 1 : 0, minRate, eval.ZeroModelLoss, k]);
            }
            ctx.Report(Interlocked.Increment(ref done) / (double)jobs, $"{targets[i].Label}, {Maps[p].Name}, seed {seed}: widths {string.Join(", ", s.Widths)} done");
        });
        var table = new DataTable("target", "map", "width", "beta", "error", "loss", "epochs", "reached", "min_rate", "zero_model_loss", "replicate");
        foreach (var r in rows) foreach (var row in r) table.Add(row);
        table.Save(ctx.File("perturbation-error.csv"));
        ctx.Report(1, "done");
    }

    /// <inheritdoc />
    public override void Report(string directory, Settings settings, ReportSection section, ClaimSet claims)
    {
        var table = DataTable.Load(Path.Combine(directory, "perturbation-error.csv"));
        var targets = Targets(settings.PowerLawExponent, settings.PowerLawScale);
        int[] widths = table.Column("width").Distinct().Order().Select(w => (int)w).ToArray();
        string perturbed = settings.PerturbAll ? "u, c and v perturbed (as the group's src/perturb.py)" : "recurrent parameters v perturbed (Wang24's definition)";
        var grid = new PanelGrid(targets.Count, Maps.Length) { Title = settings.Trained ? "Wang24: perturbation error E_m(\\beta) of the trained width-m models" : "Wang24: perturbation error E_m(\\beta) of the least-squares width-m fits (not the paper's approximants)" };
        var crossings = new Dictionary<(int Target, int Map), (double First, double Last, string Text)>();
        var exact = new List<(int Target, double MinE0, string Text)>();
        // Replicates (spec seeds): each is read on its own, then every crossing and E_m(0) is the median over the replicates.
        double[] replicates = table.Columns.Contains("replicate") ? table.Column("replicate").Distinct().Order().ToArray() : [0];
        string over = replicates.Length > 1 ? $"medians over {replicates.Length} seeds; " : "";
        for (int i = 0; i < targets.Count; i++)
        {
            var e0 = new List<(int M, double E)>();
            for (int p = 0; p < Maps.Length; p++)
            {
                var chart = Chart.Create($"{targets[i].Label} memory, {Maps[p].Name}", "\\beta", "E_m(\\beta)", AxisScale.Log, AxisScale.Log);
                var rows = table.Where("target", i).Where("map", p);
                var untrained = new List<string>();
                var pairs = new Dictionary<(int M, int M2), List<double>>();
                var levels = new Dictionary<int, List<double>>();
                var curvesOf = new Dictionary<int, List<double[]>>();
                double[] grid0 = [];
                foreach (double k in replicates)
                {
                    var curves = new List<(int M, double[] B, double[] E)>();
                    var rep = table.Columns.Contains("replicate") ? rows.Where("replicate", k) : rows;
                    for (int s = 0; s < widths.Length; s++)
                    {
                        var r = rep.Where("width", widths[s]);
                        var b = r.Column("beta");
                        var e = r.Column("error");
                        grid0 = b;
                        double e0m = e[Array.IndexOf(b, 0.0)];
                        if (p == 0) e0.Add((widths[s], e0m));
                        // A width whose loss at β = 0 is no better than the zero model's was not trained (e.g. |λ| > 1 at the
                        // initialisation overflows the gradient norm, so the clipped gradient is 0): it has no curve to read.
                        double zero = table.Columns.Contains("zero_model_loss") ? r.Column("zero_model_loss")[0] : double.PositiveInfinity;
                        if (!(e0m < zero))
                        {
                            string where = replicates.Length > 1 ? $"seed {settings.Seed + (ulong)k}: " : "";
                            untrained.Add($"{where}m={widths[s]} (E_m(0) = {ClaimCheck.Format(e0m)} ≥ the zero model's {ClaimCheck.Format(zero)})");
                            continue;
                        }
                        curves.Add((widths[s], b, e));
                        Append(levels, widths[s], e0m);
                        Append(curvesOf, widths[s], e);
                    }
                    // Wang24 Fig. 1 marks where the curves of consecutive widths cross (a pair whose wider curve stays below on the
                    // whole grid, ∞, or is not below at β = 0, NaN, marks none); a width left out pairs its neighbours.
                    for (int s = 0; s + 1 < curves.Count; s++)
                    {
                        double x = CrossingPoint(curves[s].B, curves[s].E, curves[s + 1].E);
                        if (!double.IsNaN(x)) Append(pairs, (curves[s].M, curves[s + 1].M), x);
                    }
                }
                for (int s = 0; s < widths.Length; s++)
                {
                    if (!curvesOf.TryGetValue(widths[s], out var list)) continue;
                    // The pointwise median over the replicates of the running-maximum curves (one replicate: its curve).
                    var median = grid0.Select((_, j) => Median(list.Select(e => e[j]))).ToArray();
                    var pos = grid0.Zip(median).Where(x => x.First > 0 && x.Second > 0 && double.IsFinite(x.Second)).ToArray();
                    chart.AddLine($"m = {widths[s]}", pos.Select(x => x.First).ToArray(), pos.Select(x => Math.Min(x.Second, 1e6)).ToArray(), Palette.Series(s));
                }
                string skipped = untrained.Count == 0 ? "" : "; not trained, left out: " + string.Join(", ", untrained);
                string levelText = "; E_m(0): " + string.Join(", ", levels.OrderBy(x => x.Key).Select(x => $"m={x.Key}: {ClaimCheck.Format(Median(x.Value))}"));
                // The drift is read from the first and the last pair whose median crossing lies on the grid.
                var medians = pairs.OrderBy(x => x.Key.M).Select(x => (x.Key.M, x.Key.M2, B: Median(x.Value))).ToArray();
                var found = medians.Where(x => double.IsFinite(x.B)).ToArray();
                chart.Legend = LegendPosition.TopLeft;
                grid[i, p] = chart;
                crossings[(i, p)] = (found.Length >= 2 ? found[0].B : double.NaN, found.Length >= 2 ? found[^1].B : double.NaN,
                    over + string.Join(", ", medians.Select(x => $"m={x.M}/{x.M2}: {ClaimCheck.Format(x.B)}")) + levelText + skipped);
            }
            var byWidth = e0.GroupBy(x => x.M).Select(g => (M: g.Key, E: Median(g.Select(x => x.E)))).ToArray();
            exact.Add((i, byWidth.Min(x => x.E), over + string.Join(", ", byWidth.Select(x => $"m={x.M}: {ClaimCheck.Format(x.E)}"))));
        }
        section.Figures.Add(new ReportFigure(grid, $"Running-maximum perturbation error against the noise size β (Wang24 protocol; {perturbed}). "
            + "Rows: exponential memory e^{−t} and power-law memory; columns: direct, exp and softplus rate parametrisations. "
            + "Wang24 Fig. 1 reads where the curves of consecutive widths cross.", "wang24-stable-approximation.svg"));

        // Claims (Wang24 §3, Fig. 1).
        foreach (var (i, minE0, text) in exact)
            claims.Check("approximants-not-exact", minE0, $"E_m(0): {text}", ("target", targets[i].Label));
        string Ratio((double First, double Last, string Text) c) => double.IsNaN(c.First)
            ? $"fewer than two crossings ({c.Text})" : $"last/first crossing = {ClaimCheck.Format(c.Last / c.First)} ({c.Text})";
        foreach (int p in new[] { 0, 1, 2 })
        {
            var c = crossings[(0, p)];
            claims.Check("exponential-memory-crossings-stay", c.Last / c.First, Ratio(c), ("map", Maps[p].Name));
        }
        {
            var c = crossings[(1, 0)];
            claims.Check("power-law-direct-crossings-drift-left", c.Last / c.First, Ratio(c));
        }
        foreach (int p in new[] { 1, 2 })
        {
            var c = crossings[(1, p)];
            claims.Check("power-law-stable-parametrisation-crossings-stay", c.Last / c.First, Ratio(c), ("map", Maps[p].Name));
        }
    }

    // The median with a NaN (a broken model's error) counted as +∞.
    private static double Median(IEnumerable<double> values) => Statistics.Median(values.Select(x => double.IsNaN(x) ? double.PositiveInfinity : x));

    // Appends value to the list under key, creating it.
    private static void Append<TKey, TValue>(Dictionary<TKey, List<TValue>> lists, TKey key, TValue value) where TKey : notnull
    {
        if (!lists.TryGetValue(key, out var list)) lists[key] = list = [];
        list.Add(value);
    }
}
