using MemoryLab.Experiments;
using Spectre.Console;

namespace MemoryLab.Cli.Commands;

/// <summary>
/// Shows a sweep's progress: in a terminal, a live Spectre.Console view (overall bar with done / running /
/// failed / diverged counts and an ETA, one line per worker with its run's step and loss); when stdout is
/// redirected, plain <c>event key=value …</c> lines a script can parse:
/// <code>
/// start id=3f2a9c1b0d4e index=3 worker=0 model.nu0=0.9 seed=1
/// finish id=3f2a9c1b0d4e status=completed wall_s=1.234 steps=200 done=4/24 final_loss=0.0012
/// </code>
/// </summary>
internal sealed class SweepProgressView : ISweepObserver
{
    private readonly object _gate = new();
    private readonly bool _live;
    private readonly (PlannedRun? Run, RunProgress Progress)[] _workers;
    private readonly long[] _startedAt; // when each worker's current run started (for steps/s)
    private int _total, _done, _skipped, _failed, _diverged;
    private double _runSeconds;
    private int _timedRuns;

    public SweepProgressView(bool live, int workers)
    {
        _live = live;
        _workers = new (PlannedRun?, RunProgress)[Math.Max(1, workers)];
        _startedAt = new long[_workers.Length];
    }

    /// <summary>Failed runs seen (in this invocation or found stored).</summary>
    public int Failed => _failed;

    /// <summary>Runs <paramref name="sweep"/> while showing its progress; returns its result.</summary>
    public SweepResult Show(Func<SweepResult> sweep)
    {
        if (!_live) return sweep();
        SweepResult? result = null;
        Exception? error = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var overall = ctx.AddTask("runs", maxValue: 1);
                var workerTasks = new ProgressTask[_workers.Length];
                for (int w = 0; w < workerTasks.Length; w++) workerTasks[w] = ctx.AddTask($"worker {w}", maxValue: 1);
                var thread = new Thread(() =>
                {
                    try { result = sweep(); }
                    catch (Exception e) { error = e; }
                }) { IsBackground = true, Name = "memlab-sweep" };
                thread.Start();
                while (true)
                {
                    bool finished = thread.Join(150);
                    Update(overall, workerTasks);
                    ctx.Refresh();
                    if (finished) break;
                }
                foreach (var t in workerTasks) t.StopTask();
                overall.StopTask();
            });
        if (error != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        return result!;
    }

    private void Update(ProgressTask overall, ProgressTask[] workerTasks)
    {
        lock (_gate)
        {
            int running = _workers.Count(w => w.Run != null);
            overall.MaxValue = Math.Max(1, _total);
            overall.Value = _done;
            string eta = "";
            int remaining = _total - _done;
            if (_timedRuns > 0 && remaining > 0)
            {
                double perRun = _runSeconds / _timedRuns;
                eta = $" · ETA {Format(TimeSpan.FromSeconds(perRun * remaining / Math.Max(1, _workers.Length)))}";
            }
            overall.Description = Markup.Escape($"runs {_done}/{_total} · running {running} · failed {_failed} · diverged {_diverged} · skipped {_skipped}{eta}");
            for (int w = 0; w < _workers.Length; w++)
            {
                var (run, p) = _workers[w];
                var task = workerTasks[w];
                if (run is null)
                {
                    task.Description = Markup.Escape($"worker {w}: idle");
                    task.Value = 0;
                    continue;
                }
                task.MaxValue = Math.Max(1, p.Total);
                task.Value = Math.Min(p.Step, task.MaxValue);
                string loss = double.IsNaN(p.Loss) ? (p.Note is null ? "" : $" {p.Note}") : $" loss {p.Loss:G4}";
                double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_startedAt[w]).TotalSeconds;
                if (p.Step > 0 && seconds > 0) loss += $" · {p.Step / seconds:F1} steps/s";
                task.Description = Markup.Escape($"worker {w}: {run.Id} {run.Describe()}{loss}");
            }
        }
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds:00}s" : $"{t.Seconds}s";

    public void SweepStarted(int total, int alreadyDone)
    {
        lock (_gate) _total = total;
    }

    public void RunStarted(PlannedRun run, int worker)
    {
        lock (_gate)
        {
            _workers[worker] = (run, new RunProgress(0, 0, double.NaN));
            _startedAt[worker] = System.Diagnostics.Stopwatch.GetTimestamp();
        }
        if (!_live) WriteLine($"start id={run.Id} index={run.Index} worker={worker} {run.Describe()}".TrimEnd());
    }

    public void RunProgress(PlannedRun run, int worker, RunProgress progress)
    {
        if (!_live) return;
        // Cheap: one slot per worker, read by the refresh loop.
        lock (_gate) _workers[worker] = (run, progress);
    }

    public void RunFinished(PlannedRun run, int worker, RunSummary summary, bool skipped)
    {
        int done;
        lock (_gate)
        {
            done = ++_done;
            if (skipped) _skipped++;
            else
            {
                _runSeconds += summary.WallTime.TotalSeconds;
                _timedRuns++;
            }
            if (summary.Status == RunStatus.Failed) _failed++;
            if (summary.Status == RunStatus.Diverged) _diverged++;
            if (worker >= 0) _workers[worker] = (null, default);
        }
        if (_live)
        {
            if (!skipped && summary.Status != RunStatus.Completed)
                AnsiConsole.MarkupLine(Markup.Escape($"{summary.Status.ToString().ToLowerInvariant()}: {run.Id} {run.Describe()}: {summary.Message}"));
            return;
        }
        string status = summary.Status.ToString().ToLowerInvariant();
        string metrics = string.Join(" ", summary.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key}={CommandSupport.Number(m.Value)}"));
        string message = summary.Message is null ? "" : $" message={CommandSupport.Word(summary.Message)}";
        string verb = skipped ? "skip" : "finish";
        WriteLine($"{verb} id={run.Id} status={status} wall_s={CommandSupport.Seconds(summary.WallTime)} steps={summary.Steps} done={done}/{_total} {metrics}{message}".TrimEnd());
    }

    public void Warning(string line)
    {
        lock (_gate) Console.Error.WriteLine(line);
    }

    private void WriteLine(string line)
    {
        lock (_gate) Console.Out.WriteLine(line);
    }

    /// <summary>The closing line (both modes).</summary>
    public void Finish(SweepResult r, string outDirectory)
    {
        string line = $"done completed={r.Completed} diverged={r.Diverged} failed={r.Failed} skipped={r.Skipped} wall_s={CommandSupport.Seconds(r.WallTime)} out={CommandSupport.Word(outDirectory)}" + (r.Cancelled ? " interrupted=true" : "");
        if (_live) AnsiConsole.WriteLine(line);
        else WriteLine(line);
    }
}
