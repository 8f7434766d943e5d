using System.Globalization;
using MemoryLab.Experiments;
using MemoryLab.Reproductions;
using Spectre.Console;

namespace MemoryLab.Cli.Commands;

/// <summary>
/// Shows the progress of <c>memlab reproduce</c>: in a terminal, one live bar per reproduction (its finished runs plus the
/// running ones' progress); when stdout is redirected, plain lines a script can parse:
/// <code>
/// progress name=zucchet24-hessian done=40% "dense Hessian"
/// run name=zucchet24-teacher-student id=3f2a9c1b0d4e status=completed wall_s=3.2 done=5/36
/// </code>
/// </summary>
internal sealed class ReproduceProgressView : ISweepObserver
{
    private readonly object _gate = new();
    private readonly Dictionary<PlannedRun, int> _owner = new(ReferenceEqualityComparer.Instance);
    private readonly string[] _names;
    private readonly int[] _total, _done;
    private readonly Dictionary<PlannedRun, double> _running = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<PlannedRun, int> _lastTenth = new(ReferenceEqualityComparer.Instance);

    public ReproduceProgressView(bool live, IReadOnlyList<ReproductionPlan> plans)
    {
        Live = live;
        _names = plans.Select(p => p.Reproduction.Name).ToArray();
        _total = plans.Select(p => p.Sweep.Runs.Count).ToArray();
        _done = new int[plans.Count];
        for (int i = 0; i < plans.Count; i++)
            foreach (var run in plans[i].Sweep.Runs) _owner[run] = i;
    }

    /// <summary>Whether the view draws live bars (a terminal).</summary>
    public bool Live { get; }

    /// <summary>Runs <paramref name="work"/> while showing progress.</summary>
    public void Show(Action work)
    {
        if (!Live) { work(); return; }
        Exception? error = null;
        AnsiConsole.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var tasks = _names.Select(n => ctx.AddTask(Markup.Escape(n), maxValue: 1)).ToArray();
                var thread = new Thread(() =>
                {
                    try { work(); }
                    catch (Exception e) { error = e; }
                }) { IsBackground = true, Name = "memlab-reproduce" };
                thread.Start();
                while (true)
                {
                    bool finished = thread.Join(150);
                    lock (_gate)
                    {
                        for (int i = 0; i < tasks.Length; i++)
                        {
                            double running = _running.Where(r => _owner[r.Key] == i).Sum(r => r.Value);
                            tasks[i].Value = _total[i] == 0 ? 1 : Math.Min(1, (_done[i] + running) / _total[i]);
                            tasks[i].Description = Markup.Escape($"{_names[i]}: {_done[i]}/{_total[i]} runs");
                        }
                    }
                    ctx.Refresh();
                    if (finished) break;
                }
            });
        if (error != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
    }

    public void SweepStarted(int total, int alreadyDone) { }

    public void RunStarted(PlannedRun run, int worker)
    {
        lock (_gate) _running[run] = 0;
    }

    public void RunProgress(PlannedRun run, int worker, RunProgress progress)
    {
        double fraction = progress.Total > 0 ? Math.Clamp(progress.Step / (double)progress.Total, 0, 1) : 0;
        string? line = null;
        lock (_gate)
        {
            _running[run] = fraction;
            // Plain output: a line per tenth of a run that says what it is doing (analysis runs), not one per training step.
            if (!Live && progress.Note is { } note)
            {
                int tenth = (int)(fraction * 10);
                if (!_lastTenth.TryGetValue(run, out int last) || last != tenth)
                {
                    _lastTenth[run] = tenth;
                    line = $"progress name={_names[_owner[run]]} done={(fraction * 100).ToString("F0", CultureInfo.InvariantCulture)}% {CommandSupport.Word(note)}";
                }
            }
            if (line != null) Console.Out.WriteLine(line);
        }
    }

    public void Warning(string line)
    {
        lock (_gate) Console.Error.WriteLine(line);
    }

    public void RunFinished(PlannedRun run, int worker, RunSummary summary, bool skipped)
    {
        lock (_gate)
        {
            int i = _owner[run];
            _done[i]++;
            _running.Remove(run);
            _lastTenth.Remove(run);
            if (Live)
            {
                if (!skipped && summary.Status != RunStatus.Completed)
                    AnsiConsole.MarkupLine(Markup.Escape($"{summary.Status.ToString().ToLowerInvariant()}: {_names[i]} {run.Id} {run.Describe()}: {summary.Message}"));
                return;
            }
            string status = summary.Status.ToString().ToLowerInvariant();
            string message = summary.Message is null ? "" : $" message={CommandSupport.Word(summary.Message)}";
            Console.Out.WriteLine($"run name={_names[i]} id={run.Id} status={status}{(skipped ? " skipped=true" : "")} wall_s={CommandSupport.Seconds(summary.WallTime)} done={_done[i]}/{_total[i]}{message}");
        }
    }
}
