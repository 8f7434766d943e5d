using System.Globalization;
using System.Text;
using MemoryLab.Experiments;

namespace MemoryLab.Reproductions;

/// <summary>One student of the teacher–student sweeps (SCIENCE.md B3 E3/E4): a model spec and its learning-rate grid.</summary>
/// <param name="Id">Stable number of the student in the experiment's data files (its row in the report's legend).</param>
/// <param name="Name">The model's <c>name</c> option in the spec (the label the selection rule groups by).</param>
/// <param name="Label">Legend text (chart markup).</param>
/// <param name="ModelYaml">The model's options as YAML flow-mapping content; <c>{nu0}</c> is replaced by the teacher's ν₀
/// (the ring initialisation of the diagonal students uses r_min = ν₀, SCIENCE.md B3 E3).</param>
/// <param name="LearningRates">Peak learning rates swept (the best is taken per ν₀).</param>
public sealed record StudentSpec(int Id, string Name, string Label, string ModelYaml, IReadOnlyList<double> LearningRates);

/// <summary>The grid of a teacher–student sweep: teachers (ν₀), seeds, training length and the students.</summary>
/// <param name="Nu0s">Teacher eigenvalue-magnitude floors ν₀.</param>
/// <param name="Seeds">Seeds 0..Seeds−1 (student initialisation and data; the teacher seed is fixed at 42).</param>
/// <param name="Steps">Adam steps (cosine 1e−7 → peak → 1e−7, no warm-up).</param>
/// <param name="Batch">Sequences per step.</param>
/// <param name="Time">Sequence length T.</param>
/// <param name="CheckpointEvery">Periodic checkpoint interval (resumability of long runs).</param>
/// <param name="Students">The students with their learning-rate grids.</param>
public sealed record TeacherStudentGrid(IReadOnlyList<double> Nu0s, int Seeds, long Steps, int Batch, int Time, long CheckpointEvery,
    IReadOnlyList<StudentSpec> Students);

/// <summary>
/// Writes and runs the Zucchet24 teacher–student sweeps (SCIENCE.md B3 E3, E4) as ordinary <c>kind: train</c> sweep
/// specs, so the paper-scale grid runs sharded on a cluster (<c>memlab sweep --shard K/N</c>, merged by
/// <c>memlab results</c>) and the reproductions run the very same spec in-process through <see cref="SweepRunner"/>.
/// The grid is a list of sub-grids, one per (student, ν₀), because each student has its own learning-rate list and
/// the diagonal students' ring radius r_min follows ν₀. The metric is <c>final_loss</c>, the mean training loss over the
/// last 100 steps (<c>log_every: 1</c>, so the train kind's 100-record window is exactly 100 steps); the selection rule
/// takes the best learning rate per (student, ν₀).
/// </summary>
public static class TeacherStudentSweep
{
    /// <summary>
    /// Reads a teacher–student grid from one scale's section of a reproduction spec: <c>nu0s</c>, <c>seeds</c>, <c>steps</c>,
    /// <c>batch</c>, <c>time</c>, <c>checkpoint_every</c> and <c>students</c>, a mapping from a student's name (one of
    /// <paramref name="known"/>) to its learning-rate list; only the students named run, in <paramref name="known"/>'s order.
    /// </summary>
    public static TeacherStudentGrid Bind(SpecNode s, IReadOnlyList<StudentSpec> known)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(known);
        var nu0s = s.GetDoubleList("nu0s", min: 0, below: 1, minCount: 1);
        int seeds = s.GetInt("seeds", min: 1);
        long steps = s.GetLong("steps", min: 1);
        int batch = s.GetInt("batch", min: 1);
        int time = s.GetInt("time", min: 1);
        long checkpointEvery = s.GetLong("checkpoint_every", min: 1);
        var students = s.Child("students");
        foreach (string name in students.Keys)
            if (!known.Any(k => k.Name == name))
                throw new SpecException(students.KeyPosition(name), students.ChildPath(name),
                    $"unknown student; known: {string.Join(", ", known.Select(k => k.Name))}");
        var chosen = known.Where(k => students.Has(k.Name))
            .Select(k => k with { LearningRates = students.GetDoubleList(k.Name, above: 0, minCount: 1) }).ToArray();
        if (chosen.Length == 0) throw students.Error("must name at least one student with its learning rates");
        return new TeacherStudentGrid(nu0s, seeds, steps, batch, time, checkpointEvery, chosen);
    }

    /// <summary>The sweep spec (YAML) of <paramref name="grid"/>, headed by <paramref name="comment"/> lines.</summary>
    public static string ToYaml(TeacherStudentGrid grid, string comment)
    {
        ArgumentNullException.ThrowIfNull(grid);
        if (grid.Nu0s.Count == 0 || grid.Students.Count == 0 || grid.Seeds < 1)
            throw new ArgumentException("a teacher–student grid needs at least one ν₀, one student and one seed");
        var sb = new StringBuilder();
        foreach (var line in comment.Split('\n')) sb.Append("# ").Append(line.TrimEnd()).Append('\n');
        sb.Append("kind: train\nseed: 0\nprecision: float32\n");
        sb.Append($"data: {{kind: teacher, time: {grid.Time}, state_size: 10, input_size: 1, output_size: 1, nu0: {F(grid.Nu0s[0])}, theta0: 3.14, teacher_seed: 42}}\n");
        sb.Append("optimizer: {kind: adam, lr: 0.001}\n");
        sb.Append("schedule: {kind: cosine, initial: 1.0e-7, end: 1.0e-7, warmup_fraction: 0}\n");
        sb.Append("loss: all_steps\n");
        sb.Append($"steps: {grid.Steps}\nbatch: {grid.Batch}\nlog_every: 1\ncheckpoint_every: {grid.CheckpointEvery}\n");
        string seeds = "[" + string.Join(", ", Enumerable.Range(0, grid.Seeds)) + "]";
        sb.Append("grid:\n");
        foreach (var s in grid.Students)
            foreach (double nu0 in grid.Nu0s)
            {
                sb.Append($"  - data.nu0: [{F(nu0)}]\n");
                sb.Append($"    model: [{{name: {s.Name}, {s.ModelYaml.Replace("{nu0}", F(nu0), StringComparison.Ordinal)}}}]\n");
                sb.Append($"    optimizer.lr: [{string.Join(", ", s.LearningRates.Select(F))}]\n");
                sb.Append($"    seed: {seeds}\n");
            }
        sb.Append("select: {metric: final_loss, minimize: true, over: [optimizer.lr], per: [model.name, data.nu0]}\n");
        return sb.ToString();
    }

    /// <summary>Expands <paramref name="yaml"/>, runs every run into <c>DIR/runs</c> of the reproduction (finished runs are
    /// kept, so an interrupted paper-scale run continues), and returns the merged table with the selection applied.</summary>
    public static ResultsTable Run(ReproductionContext ctx, string yaml, string name)
    {
        var registry = ExperimentRegistry.CreateDefault();
        var plan = SweepPlan.FromSpec(SpecParser.ParseText(yaml, name + ".yaml"), name, registry);
        var store = new ResultsStore(ctx.File("runs"));
        store.WriteSweepSpec(plan.Spec);
        var observer = new ProgressObserver(ctx);
        var result = SweepRunner.Run(plan.Runs, store, registry, new SweepOptions { Workers = Math.Max(1, ctx.Pool.Threads) }, observer, ctx.Cancellation);
        ctx.Cancellation.ThrowIfCancellationRequested();
        if (result.Cancelled) throw new OperationCanceledException($"sweep {name} did not finish");
        return ResultsTable.Load([store.Root]);
    }

    /// <summary>
    /// The selected grid point per (student, ν₀) as a data table: <c>model</c> (the student's <see cref="StudentSpec.Id"/>),
    /// <c>nu0</c>, <c>lr</c> (best), <c>mean</c>, <c>sem</c> (NaN for one seed), <c>completed</c> and <c>runs</c> of that point,
    /// <c>initial</c> (mean initial loss) and <c>wall</c> (mean wall seconds per run). Students whose every learning rate
    /// diverged have no row.
    /// </summary>
    public static DataTable Selected(ResultsTable table, IReadOnlyList<StudentSpec> students)
    {
        var t = new DataTable("model", "nu0", "lr", "mean", "sem", "completed", "runs", "initial", "wall");
        foreach (var row in table.Rows.Where(r => r.Selected))
        {
            var flat = row.Runs[0].Spec.Flatten().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            string name = ResultsTable.DisplayValue(flat["model.name"]);
            var student = students.FirstOrDefault(s => s.Name == name)
                ?? throw new InvalidDataException($"results hold a student '{name}' that the experiment does not know");
            var loss = row.Stats["final_loss"];
            double initial = row.Stats.TryGetValue("initial_loss", out var il) ? il.Mean : double.NaN;
            double wall = row.Runs.Average(r => r.Summary.WallTime.TotalSeconds);
            t.Add(student.Id, Number(flat["data.nu0"]), Number(flat["optimizer.lr"]), loss.Mean, loss.Sem, row.Completed, row.Runs.Count, initial, wall);
        }
        return t;
    }

    private static double Number(string json) => double.Parse(json, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>A number as the spec writes it (shortest round trip, invariant culture).</summary>
    internal static string F(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Forwards finished runs as progress; serialises calls, since sweep workers report from their own threads.</summary>
    private sealed class ProgressObserver(ReproductionContext ctx) : ISweepObserver
    {
        private readonly object _gate = new();
        private int _total = 1, _done;

        public void SweepStarted(int total, int alreadyDone)
        {
            lock (_gate) { _total = Math.Max(1, total); _done = 0; }
        }

        public void RunStarted(PlannedRun run, int worker) { }

        public void RunProgress(PlannedRun run, int worker, RunProgress progress) { }

        public void RunFinished(PlannedRun run, int worker, RunSummary summary, bool skipped)
        {
            lock (_gate) ctx.Report(++_done / (double)_total, $"run {_done}/{_total}: {run.Describe()}");
        }
    }
}
