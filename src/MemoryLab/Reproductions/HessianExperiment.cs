using System.Numerics;
using System.Text.Json;
using MemoryLab.Analysis;
using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;
using MemoryLab.Targets;
using MemoryLab.Training;

namespace MemoryLab.Reproductions;

/// <summary>
/// <c>zucchet24-hessian</c> (Zucchet24 Fig. 4, §4; the authors' figures/hessian_analysis.ipynb and figures/linear_system_adam_lr.ipynb).
/// (1) A teacher with n = 4 states, two conjugate eigenvalue pairs ν e^{±iφ}, ν = 0.99 + 0.003·U, φ = 2π·U, written as
/// A = P·blockdiag(ν R(φ))·P⁻¹ with P ~ N(0, 1/n) (so A is dense), B ~ N(0, 1), C ~ N(0, 1/n), D ~ N(0, 1).
/// The float64 Hessian of ½·mean(ŷ − y)² on one batch of 64 white-noise sequences (T = 300) is taken at the teacher's own
/// parameters (loss 0) for the dense RNN (A, B, C, D) and for the complex diagonal equivalent
/// (<see cref="DiagonalEquivalent.Convert"/>: λ, B̄ = V⁻¹B, C̄ = CV, D), by 4-point differences of exact gradients
/// (<see cref="Hessian"/>). Concentration of an eigenvector: the effective number of parameters 1/IPR
/// (<see cref="Hessian.InverseParticipationRatio"/>). (2) Adam's effective learning rate per parameter group, as the authors
/// measure it (the step for a unit gradient, geometric mean over the group; <see cref="AuthorsEffectiveRate"/>), during a constant-lr
/// training of a dense RNN and an LRU student on the teacher–student task at ν₀ = 0.99 — both with the same lr, so the difference
/// comes from the gradients' scale alone.
/// </summary>
public sealed class HessianExperiment : ReproductionKind<HessianExperiment.Settings>
{
    private const int TeacherStates = 4; // the structure of Fig. 4's teacher (two conjugate pairs; figures/hessian_analysis.ipynb), not a knob

    /// <summary>Settings of one scale (spec <c>experiments/reproduce/zucchet24-hessian/</c>).</summary>
    /// <param name="HessianBatch">Sequences in the one batch whose loss the Hessian is taken of.</param>
    /// <param name="Time">Sequence length T (Hessian and training).</param>
    /// <param name="DifferenceStep">Step of the 4-point differences of exact gradients.</param>
    /// <param name="HessianDataSeed">Seed of the white-noise batch of part (1).</param>
    /// <param name="TeacherSeed">Seed of both teachers.</param>
    /// <param name="Nu0">ν₀ of the teacher–student teacher of part (2), also the LRU's ring r_min.</param>
    /// <param name="TeacherStateSize">State size n of the teacher–student teacher of part (2).</param>
    /// <param name="TeacherTheta0">Phase bound θ₀ of the teacher–student teacher of part (2).</param>
    /// <param name="TrainingDataSeed">Seed of the training batches of part (2).</param>
    /// <param name="InitSeed">Seed of both students' initialisation in part (2).</param>
    /// <param name="Hidden">Hidden units of the two students of part (2).</param>
    /// <param name="Batch">Sequences per Adam step in part (2).</param>
    /// <param name="Steps">Adam steps in part (2).</param>
    /// <param name="LearningRate">Adam's constant learning rate, the same for both students.</param>
    public sealed record Settings(int HessianBatch, int Time, double DifferenceStep, ulong HessianDataSeed, ulong TeacherSeed, double Nu0,
        int TeacherStateSize, double TeacherTheta0, ulong TrainingDataSeed, ulong InitSeed, int Hidden, int Batch, int Steps, double LearningRate);

    /// <inheritdoc />
    public override Settings Bind(SpecNode s) => new(s.GetInt("hessian_batch", min: 1, doc: "sequences in the batch the Hessian is taken on"),
        s.GetInt("time", min: 2, doc: "sequence length T"),
        s.GetDouble("difference_step", above: 0, doc: "step of the 4-point differences of exact float64 gradients"),
        (ulong)s.GetLong("hessian_data_seed", min: 0, doc: "seed of the Hessian's white-noise batch"),
        (ulong)s.GetLong("teacher_seed", min: 0, doc: "seed of both teachers"),
        s.GetDouble("nu0", above: 0, below: 1, doc: "ν₀ of the part (2) teacher, also the LRU's r_min"),
        s.GetInt("teacher_state_size", min: 1, doc: "state size n of the part (2) teacher"),
        s.GetDouble("teacher_theta0", above: 0, max: Math.PI, doc: "largest eigenvalue phase θ₀ of that teacher"),
        (ulong)s.GetLong("training_data_seed", min: 0, doc: "seed of the part (2) training batches"),
        (ulong)s.GetLong("init_seed", min: 0, doc: "seed of both students' initialisation in part (2)"),
        s.GetInt("hidden", min: 1, doc: "student width in part (2)"),
        s.GetInt("batch", min: 1, doc: "sequences per Adam step"),
        s.GetInt("steps", min: 1, doc: "Adam steps"),
        s.GetDouble("learning_rate", above: 0, doc: "Adam's constant learning rate, equal for both students"));
    /// <summary>Eigenvectors summarised by the concentration measure.</summary>
    public const int TopVectors = 4;
    private static readonly string[] DenseGroups = ["A", "B", "C", "D"];
    private static readonly string[] LruGroups = ["nu_log", "theta_log", "gamma_log", "B_re", "B_im", "C_re", "C_im", "D"];

    /// <inheritdoc />
    public override string Name => "zucchet24-hessian";
    /// <inheritdoc />
    public override string Title => "Hessian at the optimum: dense vs complex diagonal, and Adam's effective learning rates (Zucchet24 Fig. 4)";
    /// <inheritdoc />
    public override string Method =>
        "Exact float64 Hessian (4-point differences of exact gradients) of the loss on one batch of white-noise sequences at the "
        + "teacher's own parameters (n = 4, |λ| ≈ 0.99). Adam's effective learning rate as the authors' source/train.py measures it (the step "
        + "for a gradient of ones, geometric mean per parameter group) while a dense RNN and an LRU (the same constant lr) learn the "
        + "teacher–student task at ν₀ = 0.99. Sizes, steps and rates: see the spec.";

    /// <inheritdoc />
    public override void Run(ReproductionContext ctx, Settings settings)
    {
        int HessianBatch = settings.HessianBatch, Time = settings.Time;
        double LearningRate = settings.LearningRate;
        // (1) Hessians at the optimum.
        var teacher = BuildTeacher(seed: settings.TeacherSeed);
        var dense = new SequenceModel<double>(new DenseLinearRecurrence<double>(1, 1, new DenseLinearRecurrenceOptions { StateSize = TeacherStates }));
        teacher.Theta.CopyTo(dense.Theta, 0);
        var diagonal = new SequenceModel<double>(new DiagonalRecurrence<double>(1, 1, new DiagonalRecurrenceOptions
        {
            StateSize = TeacherStates, Parametrisation = EigenvalueParametrisation.Default, Normalisation = InputNormalisation.None, Skip = SkipConnection.Full,
        }));
        DiagonalEquivalent.Convert(dense, diagonal);
        var data = new ModelTeacher(teacher, Time, dataSeed: settings.HessianDataSeed);
        var summary = new DataTable("model", "loss", "asymmetry", "mean_effective_params", "top1_effective_params", "top_eigenvalue", "condition");
        var eigen = new DataTable("model", "rank", "eigenvalue");
        var vectors = new DataTable("model", "rank", "parameter", "value");
        var names = new Dictionary<string, string[]>();
        foreach (var (model, index, label) in new[] { (dense, 0, "dense"), (diagonal, 1, "diagonal") })
        {
            ctx.Cancellation.ThrowIfCancellationRequested();
            var objective = new SupervisedObjective<double>(model, data, MeanSquaredError<double>.AllSteps(), HessianBatch, ctx.Pool);
            objective.NextBatch(0);
            var theta = (double[])model.Theta.Clone();
            double loss = objective.Evaluate(theta, new double[theta.Length]);
            int n = theta.Length;
            var h = new double[n * n];
            double asym = Hessian.Compute(objective, theta, h, step: settings.DifferenceStep);
            var table = new DataTable("i", "j", "value");
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) table.Add(i, j, h[i * n + j]);
            table.Save(ctx.File($"hessian-{label}.csv"));
            var evd = Hessian.Eigen(h, n);
            for (int k = 0; k < n; k++) eigen.Add(index, k, evd.Eigenvalues[k]);
            var top = evd.TopEigenvectors(TopVectors);
            for (int k = 0; k < TopVectors; k++) for (int i = 0; i < n; i++) vectors.Add(index, k, i, top[k][i]);
            double[] eff = top.Select(v => 1 / Hessian.InverseParticipationRatio(v)).ToArray();
            summary.Add(index, loss, asym, eff.Average(), eff[0], evd.Eigenvalues[0], evd.Eigenvalues[0] / Math.Max(evd.Eigenvalues[TopVectors - 1], 1e-300));
            names[label] = ParameterNames(model.Layout);
            ctx.Report(0.2 + 0.2 * index, $"{label} Hessian");
        }
        summary.Save(ctx.File("hessian-summary.csv"));
        eigen.Save(ctx.File("eigenvalues.csv"));
        vectors.Save(ctx.File("eigenvectors.csv"));
        AtomicFile.WriteAllText(ctx.File("parameters.json"), JsonSerializer.Serialize(names));

        // (2) Adam's effective learning rate during training at ν₀ = 0.99: the library's trainer with Adam at a constant rate,
        // batches k = 1..steps, the rates recorded after the step.
        var (hidden, batch, steps) = (settings.Hidden, settings.Batch, settings.Steps);
        var task = new TeacherLinearSystem<double>(new TeacherOptions
        {
            StateSize = settings.TeacherStateSize, Nu0 = settings.Nu0, Theta0 = settings.TeacherTheta0, Seed = settings.TeacherSeed,
        }, dataSeed: settings.TrainingDataSeed, Time);
        var effective = new DataTable("model", "step", "group", "median_rate", "geometric_mean_step", "loss");
        var students = new (SequenceModel<double> Model, string[] Groups)[]
        {
            (new SequenceModel<double>(new DenseLinearRecurrence<double>(1, 1, new DenseLinearRecurrenceOptions { StateSize = hidden })), DenseGroups),
            (new SequenceModel<double>(new LinearRecurrentUnit<double>(1, hidden, rMin: settings.Nu0, rMax: 1.0)), LruGroups),
        };
        for (int s = 0; s < students.Length; s++)
        {
            var (model, groups) = students[s];
            model.Initialize(seed: settings.InitSeed);
            var objective = new SupervisedObjective<double>(model, task, MeanSquaredError<double>.AllSteps(), batch, ctx.Pool);
            var adam = new Adam<double>(model.Layout);
            var recorder = new EffectiveRates(ctx, s, model.Layout, groups, adam, LearningRate, steps, effective);
            Trainer.Run(objective, model.Theta, adam, new ConstantSchedule(LearningRate), new TrainerOptions { Steps = steps + 1 }, recorder, startStep: 1, ctx.Cancellation);
            ctx.Cancellation.ThrowIfCancellationRequested();
        }
        effective.Save(ctx.File("effective-rates.csv"));
    }

    /// <summary>Records, per parameter group, after step 1 and every steps/60-th step: the median of lr/(√v̂ + ε), and the authors' measure
    /// (their <c>source/train.py</c>): the geometric mean over the group of Adam's step for a unit gradient, floored at 0 and shifted by 10⁻⁸
    /// (<see cref="AuthorsEffectiveRate"/>).</summary>
    private sealed class EffectiveRates(ReproductionContext ctx, int student, ParameterLayout layout, string[] groups, Adam<double> adam, double learningRate,
        int steps, DataTable effective) : ITrainingObserver
    {
        public void OnStep(in StepRecord record)
        {
            long step = record.Step;
            if (step % Math.Max(1, steps / 60) == 0 || step == 1 || step == steps)
                for (int g = 0; g < groups.Length; g++)
                {
                    var view = layout[groups[g]];
                    var rates = new double[view.Length];
                    var unit = new double[view.Length];
                    for (int i = 0; i < rates.Length; i++)
                    {
                        rates[i] = adam.EffectiveLearningRate(view.Offset + i, learningRate);
                        unit[i] = adam.UnitGradientStep(view.Offset + i, learningRate);
                    }
                    Array.Sort(rates);
                    effective.Add(student, step, g, rates[rates.Length / 2], AuthorsEffectiveRate(unit), record.Loss);
                }
            if (step % 50 == 0) ctx.Report(0.4 + 0.3 * student + 0.3 * step / (double)steps, $"{(student == 0 ? "dense" : "LRU")} step {step}");
        }
    }

    /// <summary>The authors' summary of a group's effective rates (<c>source/train.py</c>, "Mean LR"): 10^mean(log₁₀(max(0, s) + 10⁻⁸)) over the
    /// group's unit-gradient steps s (<see cref="Adam{T}.UnitGradientStep"/>), a geometric mean in which a step of the wrong sign counts as 10⁻⁸.</summary>
    public static double AuthorsEffectiveRate(ReadOnlySpan<double> unitSteps)
    {
        if (unitSteps.Length == 0) throw new ArgumentException("a parameter group has at least one entry", nameof(unitSteps));
        double sum = 0;
        foreach (double x in unitSteps) sum += Math.Log10(Math.Max(0, x) + 1e-8);
        return Math.Pow(10, sum / unitSteps.Length);
    }

    /// <summary>The n = 4 teacher: two conjugate pairs ν e^{±iφ}, ν = 0.99 + 0.003·U, φ = 2π·U, dense A = P M P⁻¹.</summary>
    public static SequenceModel<double> BuildTeacher(ulong seed)
    {
        const int n = TeacherStates;
        var model = new SequenceModel<double>(new DenseLinearRecurrence<double>(1, 1, new DenseLinearRecurrenceOptions { StateSize = n }));
        var rng = new CounterRng(seed, RandomPurpose.Teacher);
        var m = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(n, n);
        for (int p = 0; p < n / 2; p++)
        {
            double nu = 0.99 + 0.003 * rng.NextDouble(), phi = 2 * Math.PI * rng.NextDouble();
            m[2 * p, 2 * p] = nu * Math.Cos(phi); m[2 * p, 2 * p + 1] = -nu * Math.Sin(phi);
            m[2 * p + 1, 2 * p] = nu * Math.Sin(phi); m[2 * p + 1, 2 * p + 1] = nu * Math.Cos(phi);
        }
        var pm = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(n, n, (_, _) => rng.NextNormal() / Math.Sqrt(n));
        var a = pm * m * pm.Inverse();
        var lay = model.Layout;
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) lay["A"].Of(model.Theta)[i * n + j] = a[i, j];
        var w = rng.Fork(1);
        w.FillNormal(lay["B"].Of(model.Theta), 0, 1.0);
        w.FillNormal(lay["C"].Of(model.Theta), 0, Math.Sqrt(1.0 / n));
        w.FillNormal(lay["D"].Of(model.Theta), 0, 1.0);
        return model;
    }

    private static string[] ParameterNames(ParameterLayout layout)
    {
        var r = new List<string>();
        foreach (var v in layout.Views) for (int i = 0; i < v.Length; i++) r.Add(v.Length == 1 ? v.Name : $"{v.Name}[{i}]");
        return [.. r];
    }

    /// <summary>White-noise inputs through a fixed teacher model (targets = its outputs).</summary>
    private sealed class ModelTeacher(SequenceModel<double> teacher, int time, ulong dataSeed) : ISequenceDataset<double>
    {
        private readonly WorkerPool _pool = new(1);
        private int _batch = -1;
        public int Time => time;
        public int InputFeatures => 1;
        public int OutputFeatures => 1;
        public ulong Seed => dataSeed;
        public void FillBatch(long step, SequenceTensor<double> inputs, SequenceTensor<double> targets)
        {
            new CounterRng(dataSeed, RandomPurpose.Data, (ulong)step).FillNormal<double>(inputs.Data);
            if (_batch != inputs.Batch) { teacher.Prepare(inputs.Batch, time, _pool); _batch = inputs.Batch; }
            teacher.Forward(inputs, training: false).Data.CopyTo(targets.Data, 0);
        }
    }

    /// <inheritdoc />
    public override void Report(string directory, Settings settings, ReportSection section, ClaimSet claims)
    {
        double LearningRate = settings.LearningRate;
        var summary = DataTable.Load(Path.Combine(directory, "hessian-summary.csv"));
        var eigen = DataTable.Load(Path.Combine(directory, "eigenvalues.csv"));
        var vectors = DataTable.Load(Path.Combine(directory, "eigenvectors.csv"));
        var effective = DataTable.Load(Path.Combine(directory, "effective-rates.csv"));
        var names = JsonSerializer.Deserialize<Dictionary<string, string[]>>(File.ReadAllText(Path.Combine(directory, "parameters.json")))
            ?? throw new InvalidDataException("parameters.json is empty");
        string[] labels = ["dense", "diagonal"];

        var grid = new PanelGrid(2, 2) { Title = "Hessian of the loss at the teacher's parameters (n = 4, |\\lambda| \\approx 0.99)" };
        for (int m = 0; m < 2; m++)
        {
            var t = DataTable.Load(Path.Combine(directory, $"hessian-{labels[m]}.csv"));
            int n = (int)t.Column("i").Max() + 1;
            var h = new double[n, n];
            foreach (var r in t.Rows) h[(int)r["i"], (int)r["j"]] = r["value"];
            grid[0, m] = Chart.Matrix(h, m == 0 ? "dense RNN: A (16), B, C, D" : "complex diagonal: Re/Im \\lambda, B, C, D", symLog: true);
            var vc = Chart.Create($"{labels[m]}: top eigenvectors", "parameter index", "|v_i|", AxisScale.Linear, AxisScale.Linear);
            for (int k = 0; k < 3; k++)
            {
                var rows = vectors.Where("model", m).Where("rank", k);
                vc.AddLine($"v_{k + 1}", rows.Column("parameter"), rows.Column("value").Select(Math.Abs).ToArray(), Palette.Series(k), marker: MarkerShape.Circle);
            }
            grid[1, m] = vc;
        }
        section.Figures.Add(new ReportFigure(grid, "Top: the Hessian (symmetric log colour scale), parameters in layout order: dense "
            + $"{string.Join(" ", names["dense"])}; diagonal {string.Join(" ", names["diagonal"])}. Bottom: |entries| of the top three eigenvectors.",
            "hessian-matrices.svg"));

        var spec = Chart.Create("Hessian spectrum", "rank", "eigenvalue", AxisScale.Linear, AxisScale.Log);
        for (int m = 0; m < 2; m++)
        {
            var rows = eigen.Where("model", m).Where(r => r["eigenvalue"] > 0);
            spec.AddPoints(labels[m], rows.Column("rank").Select(r => r + 1).ToArray(), rows.Column("eigenvalue"), null, Palette.Series(m));
        }
        var eff = Chart.Create("Adam's effective learning rate (geometric mean per group)", "step", "step for a unit gradient", AxisScale.Log, AxisScale.Log);
        int colour = 0;
        for (int s = 0; s < 2; s++)
        {
            var groups = s == 0 ? DenseGroups : LruGroups;
            for (int g = 0; g < groups.Length; g++)
            {
                if (s == 1 && groups[g] is "B_im" or "C_im") continue;
                var rows = effective.Where("model", s).Where("group", g);
                eff.AddLine($"{(s == 0 ? "RNN" : "LRU")} {groups[g].Replace("_", " ")}", rows.Column("step"), rows.Column("geometric_mean_step"), Palette.Series(colour++),
                    s == 0 ? LineDash.Solid : LineDash.Dashed);
            }
        }
        var row = new PanelGrid(1, 2) { Title = "Spectrum and Adam's per-parameter rescaling" };
        row[0, 0] = spec; row[0, 1] = eff;
        section.Figures.Add(new ReportFigure(row, "Left: positive Hessian eigenvalues (the rest are ≈ 0: symmetries). Right: Adam's effective learning rate "
            + "as the authors measure it (source/train.py): the step Adam would take for a gradient of ones, geometric mean over each parameter group "
            + $"(a step of the wrong sign counts as 10⁻⁸), lr = {LearningRate} for both students on the teacher–student task at ν₀ = 0.99 "
            + "(solid: dense RNN, dashed: LRU).",
            "hessian-spectrum-adam.svg"));

        // Claims (Zucchet24 §4, Fig. 4; written before measuring).
        double dDense = summary.Where("model", 0).Rows[0]["mean_effective_params"], dDiag = summary.Where("model", 1).Rows[0]["mean_effective_params"];
        claims.Check("diagonal-eigenvectors-concentrated", dDiag, $"diagonal {dDiag:F2} of {names["diagonal"].Length} parameters");
        claims.Check("dense-eigenvectors-spread", dDense / dDiag, $"dense {dDense:F2} of {names["dense"].Length} vs diagonal {dDiag:F2}");
        // At the last recorded step, as the authors' figure shows the rates after training (figures/linear_system_adam_lr.ipynb).
        double lastStep = effective.Column("step").Max();
        double Rate(int model, int group, string column) => effective.Where("model", model).Where("group", group).Where(r => r["step"] == lastStep).Rows[0][column];
        double rA = Rate(0, 0, "geometric_mean_step"), rNu = Rate(1, 0, "geometric_mean_step");
        claims.Check("adam-rate-of-dense-a-far-below-lru", rNu / rA, $"A {rA:E2} vs ν_log {rNu:E2} (ratio {rNu / rA:G3}) after {lastStep:F0} steps; "
            + $"median lr/(√v̂+ε): A {Rate(0, 0, "median_rate"):E2}, ν_log {Rate(1, 0, "median_rate"):E2}");
        double maxLoss = summary.Column("loss").Max();
        claims.Check("models-at-the-optimum", maxLoss, $"max loss {maxLoss:E2}; Hessian asymmetry {summary.Column("asymmetry").Max():E2}");
    }
}
