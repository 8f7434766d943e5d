using MemoryLab.Analysis;
using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;
using MemoryLab.Targets;
using MemoryLab.Theory;

namespace MemoryLab.Reproductions;

/// <summary>
/// <c>li21-plateaus</c> (Li, Han, E &amp; Li, ICLR 2021, §4 and Fig. 1): loss against step (linear step axis, log loss), mean ± std
/// over random initialisations, for (a) a continuous-time linear RNN trained by plain gradient descent on an exponential-sum
/// target, (b) the same on the Airy target Ai(t − t₀), and a tanh RNN (Elman, linear readout) trained by Adam on (c) the Airy linear
/// functional (white-noise inputs, T = 100) and (d) two-scale Lorenz-96 (K = 8 forcings in, K slow variables out).
/// (a)/(b) descend the exact population loss J = ∫|ρ̂ − ρ|² (<see cref="LinearRnnKernelObjective"/>: full W, U, c, so ρ̂ may
/// oscillate as the Airy kernel does; with white-noise inputs J is the expected squared error, so GD on J is the
/// large-batch limit of the paper's sampled GD). <see cref="PlateauDetector"/> counts plateaus on the linear step axis.
/// Li21's claim: short (exponential-sum) memory trains without plateaus; targets whose memory exceeds the model's initial
/// memory show plateaus (the escape time grows like e^{w₀L} with the delay L, Li21 §4), so the delay t₀ and the tanh RNN's
/// initial spectral radius are settings chosen so that the target's memory exceeds the model's.
/// </summary>
public sealed class PlateausExperiment : ReproductionKind<PlateausExperiment.Settings>
{
    /// <summary>Panel names, in the order of the <c>panel</c> column of the data files.</summary>
    public static readonly string[] Panels = ["linear RNN, GD, exponential sum", "linear RNN, GD, Airy", "tanh RNN, Adam, Airy", "tanh RNN, Adam, Lorenz-96"];

    private const int LorenzPanel = 3;

    /// <summary>Exponential-sum target ρ(t) = e^{−t} + 0.5e^{−0.5t} + 0.25e^{−2t} (short memory).</summary>
    public static MemoryKernel ExponentialSumTarget() => MemoryKernel.ExponentialSum([1.0, 0.5, 0.25], [1.0, 0.5, 2.0]);

    /// <summary>Settings of one scale (spec <c>experiments/reproduce/li21-plateaus/</c>).</summary>
    /// <param name="Runs">Random initialisations per panel (seed 1000·panel + run + 1).</param>
    /// <param name="LinearWidth">Width m of the linear RNN of panels (a)/(b).</param>
    /// <param name="LinearSteps">GD steps of panels (a)/(b).</param>
    /// <param name="LinearRate">GD learning rate of panels (a)/(b).</param>
    /// <param name="Hidden">Hidden units of the tanh RNN of panels (c)/(d).</param>
    /// <param name="AiryTanhSteps">Adam steps of panel (c).</param>
    /// <param name="AiryTime">Sequence length of panel (c).</param>
    /// <param name="LorenzSteps">Adam steps of panel (d).</param>
    /// <param name="LorenzTime">Sequence length of panel (d).</param>
    /// <param name="Batch">Batch of panel (c).</param>
    /// <param name="LorenzBatch">Batch of panel (d).</param>
    /// <param name="AdamRate">Adam's constant learning rate, panels (c)/(d).</param>
    /// <param name="Detector">Thresholds of the plateau definition.</param>
    /// <param name="AiryDelay">Delay t₀ of the Airy target Ai(t − t₀), panels (b)/(c).</param>
    /// <param name="TanhSpectralRadius">Initial spectral radius g of the tanh RNN's recurrent weights, panels (c)/(d).</param>
    public sealed record Settings(int Runs, int LinearWidth, long LinearSteps, double LinearRate, int Hidden, long AiryTanhSteps, int AiryTime,
        long LorenzSteps, int LorenzTime, int Batch, int LorenzBatch, double AdamRate, PlateauDetectorOptions Detector, double AiryDelay, double TanhSpectralRadius);

    /// <inheritdoc />
    public override Settings Bind(SpecNode s)
    {
        var d = s.Child("plateau_detector", doc: "how a plateau is recognised on the loss curve");
        var detector = new PlateauDetectorOptions
        {
            MaxFall = d.GetDouble("max_fall", above: 0, below: 1, doc: "on a plateau the smoothed loss stays within this fraction of its starting level"),
            MinLengthFraction = d.GetDouble("min_length_fraction", above: 0, below: 1, doc: "a plateau lasts at least this fraction of the run's steps"),
            MinDropAfter = d.GetDouble("min_drop_after", above: 0, below: 1, doc: "it is left by a fall of at least this fraction below its level"),
            MinAcceleration = d.GetDouble("min_acceleration", min: 1, doc: "on leaving it the loss falls at least this many times faster per step"),
            SmoothingFraction = d.GetDouble("smoothing_fraction", min: 0, below: 0.5, doc: "running median of the log-loss over ± this fraction of the run"),
        };
        return new Settings(s.GetInt("runs", min: 1, doc: "random initialisations per panel"),
            s.GetInt("linear_width", min: 1, doc: "width m of the linear RNN, panels (a)/(b)"),
            s.GetLong("linear_steps", min: 2, doc: "gradient-descent steps, panels (a)/(b)"),
            s.GetDouble("linear_rate", above: 0, doc: "gradient-descent learning rate η, panels (a)/(b)"),
            s.GetInt("hidden", min: 1, doc: "tanh RNN hidden units, panels (c)/(d)"),
            s.GetLong("airy_tanh_steps", min: 2, doc: "Adam steps, panel (c)"),
            s.GetInt("airy_time", min: 2, doc: "sequence length T, panel (c)"),
            s.GetLong("lorenz_steps", min: 2, doc: "Adam steps, panel (d)"),
            s.GetInt("lorenz_time", min: 2, doc: "sequence length T, panel (d)"),
            s.GetInt("batch", min: 1, doc: "sequences per Adam step, panel (c)"),
            s.GetInt("lorenz_batch", min: 1, doc: "sequences per Adam step, panel (d)"),
            s.GetDouble("adam_rate", above: 0, doc: "Adam's constant learning rate, panels (c)/(d)"),
            detector,
            s.GetDouble("airy_delay", min: 0, max: 1000, doc: "t₀ of the Airy target Ai(t − t₀), panels (b)/(c)"),
            s.GetDouble("tanh_spectral_radius", above: 0, doc: "initial spectral radius g of the tanh RNN, panels (c)/(d)"));
    }

    /// <summary>Random initial θ = (W, U, c) of the width-m linear RNN: W = −I + 0.5·G/√m (G standard normal, so W is
    /// Hurwitz with high probability), U, c ~ N(0, 1/m).</summary>
    public static double[] RandomLinearRnn(LinearRnnKernelObjective objective, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(objective);
        int m = objective.Width, d = objective.Inputs;
        var rng = new CounterRng(seed, RandomPurpose.Init);
        var w = new double[m * m];
        var u = new double[m * d];
        var c = new double[m];
        rng.FillNormal<double>(w, 0, 0.5 / Math.Sqrt(m));
        for (int i = 0; i < m; i++) w[i * m + i] -= 1;
        rng.FillNormal<double>(u, 0, 1 / Math.Sqrt(m));
        rng.FillNormal<double>(c, 0, 1 / Math.Sqrt(m));
        return objective.Pack(w, u, c);
    }

    /// <inheritdoc />
    public override string Name => "li21-plateaus";
    /// <inheritdoc />
    public override string Title => "Plateaus in training: short vs long memory (Li21 Fig. 1)";
    /// <inheritdoc />
    public override string Method =>
        "(a)/(b): continuous-time linear RNN (full W, U, c) trained by plain GD on the exact population loss J = ∫|ρ̂−ρ|² "
        + "for ρ = e^{−t} + 0.5e^{−0.5t} + 0.25e^{−2t} and ρ = Ai(t − t₀) (t₀ in the spec); steps that would make W non-Hurwitz are retried with η halved. "
        + "Init W = −I + 0.5G/√m, U, c ~ N(0, 1/m). (c)/(d): Elman tanh RNN + linear readout, Adam (constant rate), all-steps MSE, "
        + "on the Airy linear functional (white noise) and on two-scale Lorenz-96 (K = 8, J = 4). "
        + "The tanh RNN's recurrent weights start with spectral radius g (spec). "
        + "Plateaus by PlateauDetector on the linear step axis (a flat stretch of ≥ a set fraction of the run followed by a faster drop; thresholds in "
        + "the spec) on every run's per-step loss. Runs, steps, batches and rates: see the spec (quick: "
        + "fewer runs and steps, a shorter Lorenz-96 window; paper: 10 runs, as Li21 Fig. 1).";

    /// <inheritdoc />
    public override void Run(ReproductionContext ctx, Settings s)
    {
        var curves = new DataTable("panel", "run", "step", "loss");
        var plateaus = new DataTable("panel", "run", "count", "total_steps", "total_fraction", "initial_loss", "final_loss", "first_start", "first_end", "seconds");
        int total = Panels.Length * s.Runs, done = 0;
        // Every (panel, run) trains on its own: they spread over the run's threads and a sweep's idle workers, and their rows are
        // written in (panel, run) order.
        var losses = new double[total][];
        var summaries = new PlateauSummary[total];
        var seconds = new double[total];
        ctx.For(total, (index, pool) =>
        {
            int panel = index / s.Runs, run = index % s.Runs;
            ulong seed = (ulong)(1000 * panel + run + 1);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            losses[index] = panel switch
            {
                0 or 1 => LinearRun(panel == 0 ? ExponentialSumTarget() : MemoryKernel.Airy(delay: s.AiryDelay), s, seed, ctx.Cancellation),
                2 => TanhRun(new LinearFunctionalDataset<double>(MemoryKernel.Airy(delay: s.AiryDelay), s.AiryTime, 1, seed), s, s.AiryTanhSteps, s.Batch, seed, pool, ctx.Cancellation),
                _ => TanhRun(new Lorenz96Dataset<double>(s.LorenzTime, seed), s, s.LorenzSteps, s.LorenzBatch, seed, pool, ctx.Cancellation),
            };
            seconds[index] = clock.Elapsed.TotalSeconds;
            var l = losses[index];
            summaries[index] = PlateauDetector.Detect(l, s.Detector);
            ctx.Report(Interlocked.Increment(ref done) / (double)total, $"{Panels[panel]}, run {run}: {summaries[index].Count} plateau(s), loss {l[0]:G3} → {l[^1]:G3}");
        });
        for (int index = 0; index < total; index++)
        {
            int panel = index / s.Runs, run = index % s.Runs;
            var (l, summary) = (losses[index], summaries[index]);
            // The chart's step axis is linear (Li21 Fig. 1): 200 equally spaced steps, plus the log-spaced early ones.
            var saved = new SortedSet<long>(ReproductionTraining.LogSpacedSteps(l.Length));
            for (int k = 1; k <= 200; k++) saved.Add(Math.Max(1, (long)Math.Round(k * l.Length / 200.0)));
            foreach (long step in saved)
                curves.Add(panel, run, step, l[step - 1]);
            var first = summary.Plateaus.FirstOrDefault();
            plateaus.Add(panel, run, summary.Count, summary.TotalSteps, summary.TotalFraction, l[0], l[^1],
                first?.StartStep ?? double.NaN, first?.EndStep ?? double.NaN, seconds[index]);
        }
        curves.Save(ctx.File("curves.csv"));
        plateaus.Save(ctx.File("plateaus.csv"));
    }

    private static double[] LinearRun(MemoryKernel target, Settings s, ulong seed, CancellationToken cancel)
    {
        var objective = new LinearRnnKernelObjective(target, s.LinearWidth);
        var theta = RandomLinearRnn(objective, seed);
        return ReproductionTraining.GradientDescent(objective, theta, s.LinearSteps, s.LinearRate, cancel);
    }

    private static double[] TanhRun(ISequenceDataset<double> data, Settings s, long steps, int batch, ulong seed, WorkerPool pool, CancellationToken cancel)
    {
        var layer = new LayerStack<double>(["rnn", "readout"],
            [new ElmanRecurrence<double>(data.InputFeatures, s.Hidden, recurrentGain: s.TanhSpectralRadius), new Dense<double>(s.Hidden, data.OutputFeatures)]);
        var model = new SequenceModel<double>(layer);
        model.Initialize(seed);
        return ReproductionTraining.TrainAdam(model, data, steps, batch, s.AdamRate, pool, cancel);
    }

    /// <summary>Published results thin the loss curves (drawn only; the claims read plateaus.csv) to 300 steps per panel.</summary>
    public override PublishedData Published => new([], [new Thinning("curves.csv", ["panel"], ["step"], 300)]);

    /// <inheritdoc />
    public override void Report(string directory, Settings settings, ReportSection section, ClaimSet claims)
    {
        var curves = DataTable.Load(Path.Combine(directory, "curves.csv"));
        var plateaus = DataTable.Load(Path.Combine(directory, "plateaus.csv"));
        var grid = new PanelGrid(2, 2);
        for (int panel = 0; panel < Panels.Length; panel++)
        {
            var rows = curves.Where("panel", panel);
            var chart = Chart.Create($"({(char)('a' + panel)}) {Panels[panel]}", "step", "loss", AxisScale.Linear, AxisScale.Log);
            var steps = rows.Column("step").Distinct().Order().ToArray();
            var runs = rows.Column("run").Distinct().Order().ToArray();
            if (steps.Length > 0)
            {
                var mean = new double[steps.Length];
                var std = new double[steps.Length];
                for (int k = 0; k < steps.Length; k++)
                {
                    var v = rows.Where("step", steps[k]).Column("loss").Where(double.IsFinite).ToArray();
                    if (v.Length == 0) { mean[k] = std[k] = double.NaN; continue; }
                    mean[k] = v.Average();
                    std[k] = Math.Sqrt(v.Sum(x => (x - mean[k]) * (x - mean[k])) / Math.Max(1, v.Length - 1));
                }
                foreach (double r in runs)
                {
                    var one = rows.Where("run", r);
                    chart.AddLine(null, one.Column("step"), one.Column("loss"), "#bbbbbb");
                }
                chart.AddMeanBand($"mean ± std ({runs.Length} runs)", steps, mean, std, Palette.Series(panel));
            }
            grid[panel / 2, panel % 2] = chart;
        }
        section.Figures.Add(new ReportFigure(grid, "Loss against step (linear x, log y, as Li21 Fig. 1): grey, single runs; colour, mean ± std over random initialisations. "
            + "(a)/(b) GD on the exact population loss of a linear RNN; (c)/(d) Adam on a tanh RNN. Li21 Fig. 1: the exponential sum trains "
            + "smoothly, the Airy and Lorenz-96 targets show plateaus.", "li21-plateaus.svg"));

        // Claims (Li21 Fig. 1 / §4, written before measuring).
        string Counts(DataTable t) => string.Join(", ", t.Column("count").Select(c => c.ToString("F0")));
        var expSum = plateaus.Where("panel", 0);
        claims.Check("exponential-sum-trains-without-plateau", expSum.Rows.Count == 0 ? double.NaN : expSum.Column("count").Max(), $"plateaus per run: {Counts(expSum)}");
        for (int panel = 1; panel < Panels.Length; panel++)
        {
            var p = plateaus.Where("panel", panel);
            double fraction = p.Rows.Count == 0 ? double.NaN : p.Column("count").Count(c => c >= 1) / (double)p.Rows.Count;
            var lengths = p.Column("total_steps");
            string seen = $"fraction {fraction:F2}; plateaus per run: {Counts(p)}; total plateau length (steps): {string.Join(", ", lengths.Select(l => l.ToString("F0")))}";
            // Lorenz-96 is its own claim: its spec carries the evidence that Li21's unpublished Lorenz-96 set-up cannot be matched.
            if (panel == LorenzPanel) claims.Check("lorenz96-shows-plateaus", fraction, seen);
            else claims.Check("long-memory-shows-plateaus", fraction, seen, ("panel", Panels[panel]));
        }
    }
}
