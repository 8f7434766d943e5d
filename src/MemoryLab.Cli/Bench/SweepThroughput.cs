using System.Diagnostics;
using System.Globalization;
using System.Text;
using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Cli.Bench;

/// <summary>One row of <see cref="SweepThroughput"/>: a student at one batch size, its bench model step beside a full training
/// step of <c>memlab train</c> (data from the teacher, loss, Adam, logging every step, checkpoints), and the run-steps per second
/// of a sweep of such runs on each worker count.</summary>
/// <param name="Model">Bench model name (<c>lru</c>, <c>complex_diagonal</c>, <c>linear_rnn</c>).</param>
/// <param name="Batch">Sequences per step.</param>
/// <param name="Algorithm">The algorithm <c>auto</c> picked on one thread.</param>
/// <param name="ModelStepMs">Median bench model step (forward, loss, backward, Adam on a fixed batch), mean of the timings just before and after the training run.</param>
/// <param name="ModelCpuMs">Process CPU ms per bench model step (mean over a timed stretch after warm-up), mean of before and after.</param>
/// <param name="TrainStepMs">Wall ms per step of a training run (steady state, from its steps_per_second).</param>
/// <param name="TrainCpuMsPerStep">Process CPU ms per step of the same run (insensitive to other processes on the machine).</param>
/// <param name="Sweeps">Per worker count: run-steps per second (wall) and CPU ms per run-step.</param>
/// <param name="DrawMs">Median wall ms of drawing one batch alone (the teacher's Gaussian inputs and its response), what a training
/// step does beyond the bench model step's work besides logging.</param>
internal sealed record SweepRow(string Model, int Batch, string Algorithm, double ModelStepMs, double ModelCpuMs, double TrainStepMs, double TrainCpuMsPerStep,
    IReadOnlyList<(int Workers, double RunStepsPerSecond, double CpuMsPerRunStep)> Sweeps, double DrawMs)
{
    /// <summary>Train step over model step (wall).</summary>
    public double Ratio => TrainStepMs / ModelStepMs;
    /// <summary>The train step less the batch draw, over the model step: what the rest of the training loop (loss, Adam, logging,
    /// checkpoints) adds to the engine's step.</summary>
    public double RatioWithoutDraw => (TrainStepMs - DrawMs) / ModelStepMs;
    /// <summary>Train step over model step in CPU time (what load from other processes does not change).</summary>
    public double CpuRatio => TrainCpuMsPerStep / ModelCpuMs;
}

/// <summary>
/// <c>memlab bench --sweep</c>: the throughput of the Zucchet &amp; Orvieto (NeurIPS 2024, §5) teacher–student sweep. For each
/// student (LRU, complex diagonal, dense linear RNN) and batch size it times the bench model step, a real training run
/// (<c>kind: train</c> through the results store, as <c>memlab sweep</c> runs it) and sweeps of such runs on 1 … N workers, and
/// projects the paper-scale grids from the measured rates. Load from other processes is recorded beside each figure
/// (<c>/proc/loadavg</c>), and CPU times are given too, since they do not depend on it.
/// </summary>
internal static class SweepThroughput
{
    /// <summary>Paper-scale run counts of the teacher–student grid (7 ν₀ × 10 seeds × 5 / 7 / 5 learning rates) and the ablation at ν₀ = 0.99
    /// (10 seeds × 5 rates × 3 dense students; 10 seeds × 7 rates × 3 diagonal students), 10,000 steps each, batch 128.</summary>
    public static readonly (string Name, (string Model, int Runs)[] Runs)[] PaperGrids =
    [
        ("zucchet24-teacher-student (paper)", [("linear_rnn", 350), ("complex_diagonal", 490), ("lru", 350)]),
        ("zucchet24-ablation (paper)", [("linear_rnn", 150), ("complex_diagonal", 140), ("lru", 70)]),
    ];

    /// <summary>Steps of a paper-scale run.</summary>
    public const int PaperSteps = 10_000;

    /// <summary>Measures every (model, batch) row; <paramref name="steps"/> steps per training run, <paramref name="runsPerWorker"/> runs per worker in each sweep.</summary>
    public static IReadOnlyList<SweepRow> Run(IReadOnlyList<string> models, IReadOnlyList<int> batches, IReadOnlyList<int> workerCounts,
        int steps, int runsPerWorker, string scratch, Action<string> log, CancellationToken ct)
    {
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
                var before = ModelStep(description, shape);
                // An untimed short run first: the training path's code (data, loss, logging, checkpoints) is then compiled
                // optimised, as it is for every run after the first in a sweep's process and as the model step is after its warm-up.
                TrainOnce(registry, model, batch, WarmupSteps, Path.Combine(scratch, $"warmup-{model}-{batch}"), ct);
                var (trainMs, trainCpu) = TrainOnce(registry, model, batch, steps, Path.Combine(scratch, $"train-{model}-{batch}"), ct);
                var after = ModelStep(description, shape);
                double modelMs = 0.5 * (before.WallMs + after.WallMs), modelCpu = 0.5 * (before.CpuMs + after.CpuMs);
                double drawMs = DrawStep(model, batch);
                log($"train model={model} batch={batch} algorithm={algorithm} model_step_ms={modelMs:F3} (before {before.WallMs:F3}, after {after.WallMs:F3}) model_cpu_ms={modelCpu:F3} train_step_ms={trainMs:F3} train_cpu_ms={trainCpu:F3} ratio={trainMs / modelMs:F2} cpu_ratio={trainCpu / modelCpu:F2} draw_ms={drawMs:F3} ratio_without_draw={(trainMs - drawMs) / modelMs:F2} load={Load()}");
                var sweeps = new List<(int, double, double)>();
                foreach (int w in workerCounts)
                {
                    var (rate, cpu) = SweepOnce(registry, model, batch, steps, w, runsPerWorker * w, Path.Combine(scratch, $"sweep-{model}-{batch}-{w}"), ct);
                    log($"sweep model={model} batch={batch} workers={w} run_steps_per_s={rate:F0} cpu_ms_per_run_step={cpu:F3} load={Load()}");
                    sweeps.Add((w, rate, cpu));
                }
                rows.Add(new SweepRow(model, batch, algorithm, modelMs, modelCpu, trainMs, trainCpu, sweeps, drawMs));
            }
        return rows;
    }

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

    /// <summary>The median wall ms of a bench model step, and the process CPU ms per step over a stretch of steps after it.</summary>
    private static (double WallMs, double CpuMs) ModelStep(ModelDescription description, BenchShape shape)
    {
        using var pool = new WorkerPool(1);
        var timer = new TrainingStepTimer(description, shape, pool);
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
    public static string Spec(string model, int batch, int steps, ulong seed = 0)
    {
        string student = model switch
        {
            "lru" => "{kind: lru, hidden: 64, r_min: 0.99, r_max: 1.0, max_phase: 3.14, init: teacher_student}",
            "complex_diagonal" => "{kind: complex_diagonal, hidden: 64, r_min: 0.99, r_max: 1.0, max_phase: 3.14, init: teacher_student}",
            "linear_rnn" => "{kind: linear_rnn, hidden: 64}",
            _ => throw new ArgumentException($"no teacher–student student '{model}' (lru, complex_diagonal, linear_rnn)"),
        };
        return string.Create(CultureInfo.InvariantCulture, $$"""
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
            checkpoint_every: 1000
            """);
    }

    private static (double WallMs, double CpuMs) TrainOnce(ExperimentRegistry registry, string model, int batch, int steps, string dir, CancellationToken ct)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        var plan = SweepPlan.FromSpec(SpecParser.ParseText(Spec(model, batch, steps), "bench-sweep.yaml"), "bench", registry);
        var store = new ResultsStore(dir);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        SweepRunner.Run(plan.Runs, store, registry, new SweepOptions { Workers = 1 }, null, ct);
        double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / steps;
        var summary = store.ReadRun(plan.Runs[0].Id)!.Summary;
        if (summary.Status != RunStatus.Completed) throw new InvalidOperationException($"bench training run {model} batch {batch}: {summary.Status} {summary.Message}");
        return (1000 / summary.Metrics["steps_per_second"], cpuMs);
    }

    private static (double RunStepsPerSecond, double CpuMsPerRunStep) SweepOnce(ExperimentRegistry registry, string model, int batch, int steps,
        int workers, int runs, string dir, CancellationToken ct)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        var planned = new List<PlannedRun>();
        for (int i = 0; i < runs; i++)
        {
            var p = SweepPlan.FromSpec(SpecParser.ParseText(Spec(model, batch, steps, (ulong)i), "bench-sweep.yaml"), "bench", registry);
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
    public static string Markdown(IReadOnlyList<SweepRow> rows, string command, DateTimeOffset when, string loadBefore, string loadAfter, int steps)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"Measured {when:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} logical cores, with `{command}`; load average (1/5/15 min) {loadBefore} before, {loadAfter} after.");
        sb.AppendLine();
        var workers = rows.SelectMany(r => r.Sweeps.Select(s => s.Workers)).Distinct().Order().ToArray();
        AppendHeader(sb, ["model", "batch", "algorithm", "bench model step ms", "train ms/step", "train / model", "batch draw ms", "(train − draw) / model",
                "bench model CPU ms", "train CPU ms/step", "train / model (CPU)", "train steps/s"],
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|", workers, w => [$"{w}-worker run-steps/s", $"{w}-worker CPU ms/run-step"]);
        foreach (var r in rows)
        {
            sb.Append(inv, $"| {r.Model} | {r.Batch} | {r.Algorithm} | {r.ModelStepMs:F3} | {r.TrainStepMs:F3} | {r.Ratio:F2} | {r.DrawMs:F3} | {r.RatioWithoutDraw:F2} | {r.ModelCpuMs:F3} | {r.TrainCpuMsPerStep:F3} | {r.CpuRatio:F2} | {1000 / r.TrainStepMs:F0} |");
            foreach (int w in workers)
            {
                var s = r.Sweeps.FirstOrDefault(x => x.Workers == w);
                sb.Append(inv, $" {s.RunStepsPerSecond:F0} | {s.CpuMsPerRunStep:F3} |");
            }
            sb.AppendLine();
        }
        sb.AppendLine();
        sb.AppendLine(inv, $"Each training run is {steps} steps of `kind: train` at the teacher–student shape (T = 300, hidden 64, teacher n = 10, ν₀ = 0.99), logging every step and checkpointing every 1,000, run through the results store as `memlab sweep` runs it, after an untimed {WarmupSteps}-step run that compiles the training path as a sweep's earlier runs do; train ms/step is its rate (steps_per_second) and train CPU ms/step its process CPU over its steps (set-up, checkpoints and summary included); the bench model step is the median `memlab bench` step of the same model and algorithm, and its CPU time the mean over a stretch of steps (each the mean of the measurements just before and after the run). CPU times count this process's CPU, so they do not grow with other processes' load; run-steps/s is wall-clock. A training step also draws its batch (the teacher's Gaussian inputs and its exact response, computed in chunks with the state carried between them), which the bench model step, on a fixed batch, does not: batch draw ms is the median time of that draw alone, and (train − draw) / model what the rest of the training loop (loss, Adam, logging, checkpoints) adds to the engine's step.");
        var at128 = rows.Where(r => r.Batch == 128).ToDictionary(r => r.Model);
        if (at128.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Paper-scale projections (10,000 steps a run, batch 128), from the measured rates:");
            sb.AppendLine();
            AppendHeader(sb, ["grid", "runs"], "|---|---:|", workers, w => [$"{w} workers (wall rate)", $"{w} workers (CPU rate, dedicated cores)"]);
            foreach (var (name, runs) in PaperGrids)
            {
                if (runs.Any(x => !at128.ContainsKey(x.Model))) continue;
                sb.Append(inv, $"| {name} | {runs.Sum(x => x.Runs):N0} |");
                foreach (int w in workers)
                {
                    double wallS = runs.Sum(x => x.Runs * (double)PaperSteps / at128[x.Model].Sweeps.First(s => s.Workers == w).RunStepsPerSecond);
                    double cpuS = runs.Sum(x => x.Runs * (double)PaperSteps * at128[x.Model].Sweeps.First(s => s.Workers == w).CpuMsPerRunStep / 1000) / w;
                    sb.Append(inv, $" {wallS / 60:F0} min | {cpuS / 60:F0} min |");
                }
                sb.AppendLine();
            }
            sb.AppendLine();
            sb.AppendLine("The wall projection divides the grid's run-steps by the measured sweep rate of each student; the CPU projection assumes the workers have their cores to themselves (CPU ms per run-step × run-steps ÷ workers). Dense students of the ablation with 32 or 64 heads and 128 neurons are counted at the dense linear RNN's rate.");
        }
        return sb.ToString();
    }
}
