using System.Diagnostics;
using System.Globalization;
using System.Text;
using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Reproductions;

namespace MemoryLab.Cli.Bench;

/// <summary>One timed pair of a <see cref="SweepRow"/>: a training run beside the bench model step timed just before and just
/// after it (their mean), so the two are compared at nearly the same moment on a host whose speed drifts.</summary>
/// <param name="ModelStepMs">Median bench model step (forward, loss, backward, Adam on a fixed batch), mean of the stretches before and after the run.</param>
/// <param name="ModelCpuMs">Process CPU ms per bench model step over those stretches (mean of before and after).</param>
/// <param name="TrainStepMs">Wall ms per step of the training run, from its steps_per_second (first to last step).</param>
/// <param name="TrainMedianStepMs">Median wall ms of the run's single steps (from the elapsed_s it logs every step): the same
/// statistic as the bench model step's.</param>
/// <param name="TrainCpuMsPerStep">Process CPU ms per step of the run (set-up, checkpoints and summary included).</param>
internal readonly record struct TrainPair(double ModelStepMs, double ModelCpuMs, double TrainStepMs, double TrainMedianStepMs, double TrainCpuMsPerStep)
{
    /// <summary>Train step (rate) over model step.</summary>
    public double Ratio => TrainStepMs / ModelStepMs;
    /// <summary>Median train step over model step.</summary>
    public double MedianStepRatio => TrainMedianStepMs / ModelStepMs;
    /// <summary>Train over model in CPU time.</summary>
    public double CpuRatio => TrainCpuMsPerStep / ModelCpuMs;
}

/// <summary>One row of <see cref="SweepThroughput"/>: a student at one batch size, its bench model step beside full training
/// runs of <c>memlab train</c> (data from the teacher, loss, Adam, logging every step, checkpoints), timed in alternation,
/// and the run-steps per second of a sweep of such runs on each worker count.</summary>
/// <param name="Model">Bench model name (<c>lru</c>, <c>complex_diagonal</c>, <c>linear_rnn</c>).</param>
/// <param name="Batch">Sequences per step.</param>
/// <param name="Algorithm">The algorithm <c>auto</c> picked on one thread.</param>
/// <param name="Pairs">The timed pairs (training run, model step around it).</param>
/// <param name="Sweeps">Per worker count: run-steps per second (wall) and CPU ms per run-step.</param>
/// <param name="DrawMs">Median wall ms of drawing one batch alone (the teacher's Gaussian inputs and its response), what a training
/// step does beyond the bench model step's work besides logging.</param>
internal sealed record SweepRow(string Model, int Batch, string Algorithm, IReadOnlyList<TrainPair> Pairs,
    IReadOnlyList<(int Workers, double RunStepsPerSecond, double CpuMsPerRunStep)> Sweeps, double DrawMs)
{
    private static double Median(IEnumerable<double> values) => MemoryLab.Analysis.Statistics.Median(values);

    /// <summary>Median over the pairs of the bench model step.</summary>
    public double ModelStepMs => Median(Pairs.Select(p => p.ModelStepMs));
    /// <summary>Median over the pairs of the model step's CPU ms.</summary>
    public double ModelCpuMs => Median(Pairs.Select(p => p.ModelCpuMs));
    /// <summary>Median over the pairs of the training runs' ms per step (rate).</summary>
    public double TrainStepMs => Median(Pairs.Select(p => p.TrainStepMs));
    /// <summary>Median over the pairs of the training runs' median step.</summary>
    public double TrainMedianStepMs => Median(Pairs.Select(p => p.TrainMedianStepMs));
    /// <summary>Median over the pairs of the training runs' CPU ms per step.</summary>
    public double TrainCpuMsPerStep => Median(Pairs.Select(p => p.TrainCpuMsPerStep));
    /// <summary>Median over the pairs of train step (rate) over model step (wall).</summary>
    public double Ratio => Median(Pairs.Select(p => p.Ratio));
    /// <summary>Smallest and largest pair ratio.</summary>
    public (double Min, double Max) RatioRange => (Pairs.Min(p => p.Ratio), Pairs.Max(p => p.Ratio));
    /// <summary>Median over the pairs of the median train step over the model step.</summary>
    public double MedianStepRatio => Median(Pairs.Select(p => p.MedianStepRatio));
    /// <summary>Smallest and largest pair ratio of median steps.</summary>
    public (double Min, double Max) MedianStepRatioRange => (Pairs.Min(p => p.MedianStepRatio), Pairs.Max(p => p.MedianStepRatio));
    /// <summary>The train step less the batch draw, over the model step: what the rest of the training loop (loss, Adam, logging,
    /// checkpoints) adds to the engine's step.</summary>
    public double RatioWithoutDraw => Median(Pairs.Select(p => (p.TrainStepMs - DrawMs) / p.ModelStepMs));
    /// <summary>Train step over model step in CPU time (what load from other processes does not change).</summary>
    public double CpuRatio => Median(Pairs.Select(p => p.CpuRatio));
}

/// <summary>A student of a projected paper-scale grid.</summary>
/// <param name="Key">What tells it apart from the grid's other students (<see cref="SweepThroughput.StudentKey(SpecNode)"/>).</param>
/// <param name="Model">The model spec of its first run, as canonical JSON (which YAML reads).</param>
/// <param name="Runs">Its runs in the grid.</param>
internal sealed record GridStudent(string Key, string Model, int Runs);

/// <summary>The sweep rates at batch 128 of a student of the projected grids that no bench row covers (a multi-head dense
/// RNN, a normalised complex diagonal RNN): run-steps per second (wall) and CPU ms per run-step, per worker count.</summary>
internal sealed record StudentSweep(string Key, IReadOnlyList<(int Workers, double RunStepsPerSecond, double CpuMsPerRunStep)> Sweeps);

/// <summary>What <c>memlab bench --sweep</c> measured: the rows, and the projected grids' other students; with the grids
/// (<see cref="SweepThroughput.PaperGrids"/>), planned once for both the measurement and the projection.</summary>
internal sealed record SweepMeasurements(IReadOnlyList<SweepRow> Rows, IReadOnlyList<StudentSweep> Students,
    IReadOnlyList<(string Name, GridStudent[] Students)> Grids);

/// <summary>
/// <c>memlab bench --sweep</c>: the throughput of the Zucchet &amp; Orvieto (NeurIPS 2024, §5) teacher–student sweep. For each
/// student (LRU, complex diagonal, dense linear RNN) and batch size it times the bench model step, a real training run
/// (<c>kind: train</c> through the results store, as <c>memlab sweep</c> runs it) and sweeps of such runs on 1 … N workers, and
/// projects the paper-scale grids from the measured rates. Load from other processes is recorded beside each figure
/// (<c>/proc/loadavg</c>), and CPU times are given too, since they do not depend on it.
/// </summary>
internal static class SweepThroughput
{
    /// <summary>The reproductions whose paper-scale grids the bench projects.</summary>
    public static readonly string[] ProjectedReproductions = ["zucchet24-teacher-student", "zucchet24-ablation"];

    /// <summary>The students of each projected grid with their runs, planned from the reproduction's embedded paper spec (so the
    /// projection counts what <c>memlab reproduce --scale paper</c> runs: 350 dense, 490 complex diagonal and 350 LRU runs in
    /// the teacher–student grid; in the ablation 50 dense RNNs, 40 each of its two multi-head dense RNNs, 70 each of its two
    /// complex diagonal RNNs and 70 LRUs).</summary>
    public static IReadOnlyList<(string Name, GridStudent[] Students)> PaperGrids(ExperimentRegistry kinds)
    {
        var reproductions = ReproductionRegistry.CreateDefault(kinds);
        return ProjectedReproductions.Select(name =>
        {
            var r = reproductions.Find(name) ?? throw new InvalidOperationException($"no reproduction '{name}' is registered");
            var plan = SweepPlan.FromSpec(ReproductionSpecs.Load(r, ReproductionScale.Paper, null, out _), r.Name, kinds);
            var students = plan.Runs.GroupBy(run => StudentKey(run.Spec.Child("model")))
                .Select(g => new GridStudent(g.Key, g.First().Spec.Child("model").ToCanonicalJson(), g.Count())).ToArray();
            return ($"{name} (paper)", students);
        }).ToList();
    }

    /// <summary>The settings of a student's model spec that only name it or place its initial eigenvalues: a step does the same
    /// work whatever they are, so one measurement serves all their values.</summary>
    private static readonly string[] InitialOnly = ["name", "r_min", "r_max", "max_phase", "init", "gamma_init"];

    /// <summary>A student as the projection tells students apart: its model spec without <see cref="InitialOnly"/>'s settings, as
    /// <c>kind key=value …</c> (keys sorted), e.g. <c>linear_rnn algorithm=convolution heads=32 hidden=64</c>.</summary>
    public static string StudentKey(SpecNode model)
    {
        var leaves = model.Flatten()
            .Select(l => (Key: l.Key[(l.Key.LastIndexOf('.') + 1)..], Value: l.Value.Trim('"')))
            .Where(l => !InitialOnly.Contains(l.Key)).ToList();
        string kind = leaves.FirstOrDefault(l => l.Key == "kind").Value ?? "?";
        return string.Join(' ', leaves.Where(l => l.Key != "kind").OrderBy(l => l.Key, StringComparer.Ordinal)
            .Select(l => $"{l.Key}={l.Value}").Prepend(kind));
    }

    /// <summary>The <see cref="StudentKey(SpecNode)"/> of a bench model's training runs at <paramref name="batch"/>.</summary>
    public static string StudentKey(string model, int batch, ExperimentRegistry registry) =>
        StudentKey(SweepPlan.FromSpec(SpecParser.ParseText(Spec(model, batch, WarmupSteps), "bench-sweep.yaml"), "bench", registry).Runs[0].Spec.Child("model"));

    /// <summary>Steps of a paper-scale run.</summary>
    public const int PaperSteps = 10_000;

    /// <summary>Measures every (model, batch) row, then the sweeps of the projected grids' other students (<see cref="OtherStudents"/>);
    /// <paramref name="steps"/> steps per training run, <paramref name="runsPerWorker"/> runs per worker in each sweep.</summary>
    public static SweepMeasurements Run(IReadOnlyList<string> models, IReadOnlyList<int> batches, IReadOnlyList<int> workerCounts,
        int steps, int runsPerWorker, int pairs, string scratch, Action<string> log, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pairs, 1);
        var registry = ExperimentRegistry.CreateDefault();
        var rows = new List<SweepRow>();
        foreach (int batch in batches)
            foreach (string model in models)
            {
                ct.ThrowIfCancellationRequested();
                var shape = BenchShape.TeacherStudent.With(batch: batch);
                var description = BenchModel.All.Single(m => m.Name == model).Describe(shape);
                string algorithm = ModelFactory.CreateDefault().Build<float>(description, 1) is ILtiLayer lti
                    ? lti.AlgorithmFor(batch, shape.Time, 1).ToString().ToLowerInvariant() : "–";
                using var pool = new WorkerPool(1);
                var timer = new TrainingStepTimer(description, shape, pool);
                // An untimed short run first: the training path's code (data, loss, logging, checkpoints) is then compiled
                // optimised, as it is for every run after the first in a sweep's process and as the model step is after its warm-up.
                TrainOnce(registry, model, batch, WarmupSteps, Path.Combine(scratch, $"warmup-{model}-{batch}"), ct);
                var before = ModelStep(timer);
                var timed = new List<TrainPair>();
                for (int k = 0; k < pairs; k++)
                {
                    var (trainMs, trainMedianMs, trainCpu) = TrainOnce(registry, model, batch, steps, Path.Combine(scratch, $"train-{model}-{batch}-{k}"), ct);
                    var after = ModelStep(timer);
                    var pair = new TrainPair(0.5 * (before.WallMs + after.WallMs), 0.5 * (before.CpuMs + after.CpuMs), trainMs, trainMedianMs, trainCpu);
                    log($"train model={model} batch={batch} pair={k + 1}/{pairs} algorithm={algorithm} model_step_ms={pair.ModelStepMs:F3} (before {before.WallMs:F3}, after {after.WallMs:F3}) model_cpu_ms={pair.ModelCpuMs:F3} train_step_ms={trainMs:F3} train_median_step_ms={trainMedianMs:F3} train_cpu_ms={trainCpu:F3} ratio={pair.Ratio:F2} median_step_ratio={pair.MedianStepRatio:F2} cpu_ratio={pair.CpuRatio:F2} load={Load()}");
                    timed.Add(pair);
                    before = after;
                }
                double drawMs = DrawStep(model, batch);
                log($"draw model={model} batch={batch} draw_ms={drawMs:F3}");
                var sweeps = new List<(int, double, double)>();
                foreach (int w in workerCounts)
                {
                    var (rate, cpu) = SweepOnce(registry, Student(model), batch, steps, w, runsPerWorker * w, Path.Combine(scratch, $"sweep-{model}-{batch}-{w}"), ct);
                    log($"sweep model={model} batch={batch} workers={w} run_steps_per_s={rate:F0} cpu_ms_per_run_step={cpu:F3} load={Load()}");
                    sweeps.Add((w, rate, cpu));
                }
                rows.Add(new SweepRow(model, batch, algorithm, timed, sweeps, drawMs));
            }
        var grids = PaperGrids(registry);
        return new SweepMeasurements(rows, OtherStudents(registry, grids, rows, workerCounts, steps, runsPerWorker, scratch, log, ct), grids);
    }

    /// <summary>Sweeps at batch 128 of every student of the projected grids that no row at batch 128 covers, so that the
    /// projection counts each run at its own student's rate; none when no row is at batch 128 (there is no projection then).</summary>
    private static IReadOnlyList<StudentSweep> OtherStudents(ExperimentRegistry registry, IReadOnlyList<(string Name, GridStudent[] Students)> grids,
        IReadOnlyList<SweepRow> rows, IReadOnlyList<int> workerCounts,
        int steps, int runsPerWorker, string scratch, Action<string> log, CancellationToken ct)
    {
        if (!rows.Any(r => r.Batch == ProjectedBatch)) return [];
        var covered = rows.Where(r => r.Batch == ProjectedBatch).Select(r => StudentKey(r.Model, ProjectedBatch, registry)).ToHashSet();
        var measured = new List<StudentSweep>();
        foreach (var student in grids.SelectMany(g => g.Students).DistinctBy(s => s.Key).Where(s => !covered.Contains(s.Key)))
        {
            // Untimed first, as each row's runs: the student's own code (its layer, e.g. the multi-head products) is then compiled optimised.
            SweepOnce(registry, student.Model, ProjectedBatch, WarmupSteps, 1, 1, Path.Combine(scratch, $"student-{measured.Count}-warmup"), ct);
            var sweeps = new List<(int, double, double)>();
            foreach (int w in workerCounts)
            {
                ct.ThrowIfCancellationRequested();
                var (rate, cpu) = SweepOnce(registry, student.Model, ProjectedBatch, steps, w, runsPerWorker * w,
                    Path.Combine(scratch, $"student-{measured.Count}-{w}"), ct);
                log($"sweep student=\"{student.Key}\" batch={ProjectedBatch} workers={w} run_steps_per_s={rate:F0} cpu_ms_per_run_step={cpu:F3} load={Load()}");
                sweeps.Add((w, rate, cpu));
            }
            measured.Add(new StudentSweep(student.Key, sweeps));
        }
        return measured;
    }

    /// <summary>The batch of the paper-scale runs the projection counts.</summary>
    public const int ProjectedBatch = 128;

    /// <summary>The 1-, 5- and 15-minute load averages (Linux), or "n/a".</summary>
    public static string Load()
    {
        try { return string.Join('/', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "n/a"; }
        catch (UnauthorizedAccessException) { return "n/a"; }
    }

    /// <summary>Steps of the untimed training run before each timed one.</summary>
    public const int WarmupSteps = 1000;

    /// <summary>Process CPU time spent in each timed stretch of model steps (several clock ticks of /proc's accounting).</summary>
    private static readonly TimeSpan CpuStretch = TimeSpan.FromSeconds(0.5);

    /// <summary>The median wall ms of a bench model step of <paramref name="timer"/>, and the process CPU ms per step over a stretch of steps after it.</summary>
    private static (double WallMs, double CpuMs) ModelStep(TrainingStepTimer timer)
    {
        double wall = TrainingStepTimer.Median(timer.Time(3, 21));
        var process = Process.GetCurrentProcess();
        var start = process.TotalProcessorTime;
        int n = 0;
        TimeSpan used;
        do
        {
            for (int i = 0; i < 10; i++) timer.Step();
            n += 10;
            process.Refresh();
            used = process.TotalProcessorTime - start;
        } while (used < CpuStretch);
        return (wall, used.TotalMilliseconds / n);
    }

    /// <summary>The median wall ms of drawing one batch of <paramref name="batch"/> sequences from the training runs' data
    /// (<see cref="Spec"/>'s <c>data:</c>, bound as a run binds it), each draw a new step's, after a warm-up.</summary>
    private static double DrawStep(string model, int batch)
    {
        var spec = SpecParser.ParseText(Spec(model, batch, 1), "bench-sweep.yaml");
        var teacher = DataSpec.Kinds.Bind(spec.Child("data")).Create<float>(0);
        var x = new SequenceTensor<float>(batch, teacher.Time, teacher.InputFeatures);
        var y = new SequenceTensor<float>(batch, teacher.Time, teacher.OutputFeatures);
        long step = 0;
        for (int i = 0; i < 200; i++) teacher.FillBatch(step++, x, y);
        var times = new double[41];
        for (int i = 0; i < times.Length; i++)
        {
            long start = Stopwatch.GetTimestamp();
            teacher.FillBatch(step++, x, y);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return TrainingStepTimer.Median(times);
    }

    /// <summary>The teacher–student training spec (experiments/reproduce/zucchet24-teacher-student/training.yaml at ν₀ = 0.99) for a bench model.</summary>
    public static string Spec(string model, int batch, int steps, ulong seed = 0) => TrainSpec(Student(model), batch, steps, seed);

    /// <summary>The student (model spec, flow YAML) of a bench model in the teacher–student runs.</summary>
    private static string Student(string model) =>
        model switch
        {
            "lru" => "{kind: lru, hidden: 64, r_min: 0.99, r_max: 1.0, max_phase: 3.14, init: teacher_student}",
            "complex_diagonal" => "{kind: complex_diagonal, hidden: 64, r_min: 0.99, r_max: 1.0, max_phase: 3.14, init: teacher_student}",
            "linear_rnn" => "{kind: linear_rnn, hidden: 64}",
            _ => throw new ArgumentException($"no teacher–student student '{model}' (lru, complex_diagonal, linear_rnn)"),
        };

    /// <summary>The teacher–student training spec of <see cref="Spec"/> with <paramref name="student"/> (a model spec in flow YAML or JSON) as its model.</summary>
    private static string TrainSpec(string student, int batch, int steps, ulong seed) =>
        string.Create(CultureInfo.InvariantCulture, $$"""
            kind: train
            seed: {{seed}}
            data: {kind: teacher, time: 300, state_size: 10, nu0: 0.99, theta0: 3.14, teacher_seed: 42}
            model: {{student}}
            optimizer: {kind: adam, lr: 0.001}
            schedule: {kind: cosine, initial: 1.0e-7, end: 1.0e-7, warmup_fraction: 0}
            loss: all_steps
            steps: {{steps}}
            batch: {{batch}}
            log_every: 1
            checkpoint_every: {{CheckpointEvery(steps)}}
            """);

    /// <summary>Periodic checkpoints of a paper-scale run: every 1,000 of its 10,000 steps (the specs' <c>checkpoint_every</c>).</summary>
    public const int PaperCheckpoints = 9;

    /// <summary>The checkpoint interval that gives a run of <paramref name="steps"/> steps the periodic checkpoints of a paper-scale
    /// run in proportion (at least one): 500 for 1,000 steps, 667 for 2,000, 1,000 for 10,000. A run checkpoints at every
    /// multiple of the interval before its last step, so a bench run shorter than 2,000 steps at the specs' interval of 1,000
    /// would time none of the four fsyncs each costs.</summary>
    public static long CheckpointEvery(int steps)
    {
        int count = Math.Max(1, (int)Math.Round(steps * (double)PaperCheckpoints / PaperSteps));
        return (steps + count) / (count + 1);
    }

    private static (double WallMs, double MedianStepMs, double CpuMs) TrainOnce(ExperimentRegistry registry, string model, int batch, int steps, string dir, CancellationToken ct)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        var plan = SweepPlan.FromSpec(SpecParser.ParseText(Spec(model, batch, steps), "bench-sweep.yaml"), "bench", registry);
        var store = new ResultsStore(dir);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        SweepRunner.Run(plan.Runs, store, registry, new SweepOptions { Workers = 1 }, null, ct);
        double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / steps;
        var summary = store.ReadRun(plan.Runs[0].Id)!.Summary;
        if (summary.Status != RunStatus.Completed) throw new InvalidOperationException($"bench training run {model} batch {batch}: {summary.Status} {summary.Message}");
        double median = MedianStepMs(Path.Combine(store.RunDirectory(plan.Runs[0].Id), ResultsStore.MetricsCsvFileName));
        return (1000 / summary.Metrics["steps_per_second"], median, cpuMs);
    }

    /// <summary>The median wall ms between consecutive logged steps of a run's metrics.csv (its <c>elapsed_s</c> column; the
    /// bench's runs log every step).</summary>
    internal static double MedianStepMs(string metricsCsv)
    {
        using var reader = new StreamReader(metricsCsv);
        int column = Array.IndexOf((reader.ReadLine() ?? "").Split(','), "elapsed_s");
        if (column < 0) throw new InvalidDataException($"{metricsCsv}: no elapsed_s column");
        var gaps = new List<double>();
        double previous = double.NaN;
        while (reader.ReadLine() is { Length: > 0 } line)
        {
            double elapsed = double.Parse(line.Split(',')[column], CultureInfo.InvariantCulture);
            if (!double.IsNaN(previous)) gaps.Add(1000 * (elapsed - previous));
            previous = elapsed;
        }
        if (gaps.Count == 0) throw new InvalidDataException($"{metricsCsv}: fewer than two logged steps");
        return TrainingStepTimer.Median(gaps);
    }

    /// <summary>Run-steps per second (wall) and CPU ms per run-step of <paramref name="runs"/> training runs of <paramref name="student"/>
    /// (a model spec) on <paramref name="workers"/> workers.</summary>
    private static (double RunStepsPerSecond, double CpuMsPerRunStep) SweepOnce(ExperimentRegistry registry, string student, int batch, int steps,
        int workers, int runs, string dir, CancellationToken ct)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        var planned = new List<PlannedRun>();
        for (int i = 0; i < runs; i++)
        {
            var p = SweepPlan.FromSpec(SpecParser.ParseText(TrainSpec(student, batch, steps, (ulong)i), "bench-sweep.yaml"), "bench", registry);
            planned.Add(p.Runs[0] with { Index = i });
        }
        var store = new ResultsStore(dir);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        SweepRunner.Run(planned, store, registry, new SweepOptions { Workers = workers }, null, ct);
        double wall = clock.Elapsed.TotalSeconds;
        double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / ((double)runs * steps);
        return ((double)runs * steps / wall, cpuMs);
    }

    /// <summary>A Markdown table's header: <paramref name="columns"/>, then <paramref name="perWorker"/>'s columns for each worker count,
    /// and the alignment row (<paramref name="alignment"/>, then right-aligned worker columns).</summary>
    private static void AppendHeader(StringBuilder sb, IEnumerable<string> columns, string alignment, IEnumerable<int> workers, Func<int, string[]> perWorker)
    {
        var all = columns.Concat(workers.SelectMany(perWorker)).ToList();
        sb.Append("| ").AppendJoin(" | ", all).AppendLine(" |");
        sb.Append(alignment);
        for (int i = alignment.Count(c => c == '|') - 1; i < all.Count; i++) sb.Append("---:|");
        sb.AppendLine();
    }

    /// <summary>The table and the projections as Markdown.</summary>
    public static string Markdown(SweepMeasurements measured, string command, DateTimeOffset when, string loadBefore, string loadAfter, int steps)
    {
        var (rows, students, grids) = (measured.Rows, measured.Students, measured.Grids);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"Measured {when:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} logical cores, with `{command}`; load average (1/5/15 min) {loadBefore} before, {loadAfter} after.");
        sb.AppendLine();
        var workers = rows.SelectMany(r => r.Sweeps.Select(s => s.Workers)).Distinct().Order().ToArray();
        AppendHeader(sb, ["model", "batch", "algorithm", "bench model step ms", "train ms/step", "train / model (range)", "train median step ms",
                "median step / model (range)", "batch draw ms", "(train − draw) / model", "bench model CPU ms", "train CPU ms/step", "train / model (CPU)", "train steps/s"],
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", workers, w => [$"{w}-worker run-steps/s", $"{w}-worker CPU ms/run-step"]);
        foreach (var r in rows)
        {
            var (lo, hi) = r.RatioRange;
            var (mlo, mhi) = r.MedianStepRatioRange;
            sb.Append(inv, $"| {r.Model} | {r.Batch} | {r.Algorithm} | {r.ModelStepMs:F3} | {r.TrainStepMs:F3} | {r.Ratio:F2} ({lo:F2}–{hi:F2}) | {r.TrainMedianStepMs:F3} | {r.MedianStepRatio:F2} ({mlo:F2}–{mhi:F2}) | {r.DrawMs:F3} | {r.RatioWithoutDraw:F2} | {r.ModelCpuMs:F3} | {r.TrainCpuMsPerStep:F3} | {r.CpuRatio:F2} | {1000 / r.TrainStepMs:F0} |");
            foreach (int w in workers)
            {
                var s = r.Sweeps.FirstOrDefault(x => x.Workers == w);
                sb.Append(inv, $" {s.RunStepsPerSecond:F0} | {s.CpuMsPerRunStep:F3} |");
            }
            sb.AppendLine();
        }
        sb.AppendLine();
        int pairs = rows.Count == 0 ? 0 : rows.Max(r => r.Pairs.Count);
        sb.AppendLine(inv, $"Each training run is {steps} steps of `kind: train` at the teacher–student shape (T = 300, hidden 64, teacher n = 10, ν₀ = 0.99), logging every step and checkpointing about as often as a paper-scale run, which checkpoints {PaperCheckpoints} times in its {PaperSteps:N0} steps (here every {CheckpointEvery(steps):N0} steps), run through the results store as `memlab sweep` runs it, after an untimed {WarmupSteps}-step run that compiles the training path as a sweep's earlier runs do. Each row times {pairs} such runs in alternation with stretches of the bench model step (the median `memlab bench` step of the same model and algorithm, on a fixed batch), and compares each run with the mean of the stretches just before and after it, so that both are timed at nearly the same moment on a host whose speed drifts; every column is the median over those pairs, and the ranges give the smallest and largest pair. Train ms/step is a run's rate (steps_per_second, first to last step, so slow steps count); train median step ms is the median of its single steps (from the elapsed_s it logs each step), the statistic the bench model step uses. Train CPU ms/step is the process CPU over a run's steps (set-up, checkpoints and summary included), and the model's CPU time the mean over a stretch of steps. CPU times count this process's CPU, so they do not grow with other processes' load; run-steps/s is wall-clock. A training step also draws its batch (the teacher's Gaussian inputs and its exact response, computed in chunks with the state carried between them), which the bench model step, on a fixed batch, does not: batch draw ms is the median time of that draw alone, and (train − draw) / model what the rest of the training loop (loss, Adam, logging, checkpoints) adds to the engine's step.");
        var registry = ExperimentRegistry.CreateDefault();
        var rates = new Dictionary<string, IReadOnlyList<(int Workers, double RunStepsPerSecond, double CpuMsPerRunStep)>>();
        foreach (var r in rows.Where(r => r.Batch == ProjectedBatch)) rates[StudentKey(r.Model, ProjectedBatch, registry)] = r.Sweeps;
        foreach (var st in students) rates.TryAdd(st.Key, st.Sweeps);
        if (rates.Count > 0)
        {
            if (students.Count > 0)
            {
                sb.AppendLine();
                sb.AppendLine(inv, $"The projected grids' other students, swept alone at batch {ProjectedBatch} (the same runs, each with its own model):");
                sb.AppendLine();
                AppendHeader(sb, ["student", "runs in the grids"], "|---|---:|", workers, w => [$"{w}-worker run-steps/s", $"{w}-worker CPU ms/run-step"]);
                foreach (var st in students)
                {
                    sb.Append(inv, $"| {st.Key} | {grids.SelectMany(g => g.Students).Where(g => g.Key == st.Key).Sum(g => g.Runs):N0} |");
                    foreach (int w in workers)
                    {
                        var sw = st.Sweeps.FirstOrDefault(x => x.Workers == w);
                        sb.Append(inv, $" {sw.RunStepsPerSecond:F0} | {sw.CpuMsPerRunStep:F3} |");
                    }
                    sb.AppendLine();
                }
            }
            sb.AppendLine();
            sb.AppendLine(inv, $"Paper-scale projections ({PaperSteps:N0} steps a run, batch {ProjectedBatch}), from the measured rates:");
            sb.AppendLine();
            AppendHeader(sb, ["grid", "runs"], "|---|---:|", workers, w => [$"{w} workers (wall rate)", $"{w} workers (CPU rate, dedicated cores)"]);
            foreach (var (name, gridStudents) in grids)
            {
                if (gridStudents.Any(x => !rates.ContainsKey(x.Key))) continue;
                sb.Append(inv, $"| {name} | {gridStudents.Sum(x => x.Runs):N0} |");
                foreach (int w in workers)
                {
                    double wallS = gridStudents.Sum(x => x.Runs * (double)PaperSteps / rates[x.Key].First(s => s.Workers == w).RunStepsPerSecond);
                    double cpuS = gridStudents.Sum(x => x.Runs * (double)PaperSteps * rates[x.Key].First(s => s.Workers == w).CpuMsPerRunStep / 1000) / w;
                    sb.Append(inv, $" {wallS / 60:F0} min | {cpuS / 60:F0} min |");
                }
                sb.AppendLine();
            }
            sb.AppendLine();
            sb.AppendLine("The wall projection divides each student's run-steps in the grid by its measured sweep rate; the CPU projection assumes the workers have their cores to themselves (CPU ms per run-step × run-steps ÷ workers). Students that differ only in their name or in where their eigenvalues start (`r_min`, `r_max`, `max_phase`, `init`, `gamma_init`) do the same work a step and are counted at one rate; a grid with a student not measured is left out.");
        }
        return sb.ToString();
    }
}
