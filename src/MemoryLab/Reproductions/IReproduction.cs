using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reporting;

namespace MemoryLab.Reproductions;

/// <summary>How much compute a reproduction spends: which of its two spec files runs.</summary>
public enum ReproductionScale
{
    /// <summary>Minutes on a laptop (<c>quick.yaml</c>); every qualitative effect still shows.</summary>
    Quick,
    /// <summary>The papers' own settings (<c>paper.yaml</c>; hours, or a cluster).</summary>
    Paper,
}

/// <summary>
/// A reproduction of a paper's figure: the report step over ordinary runs. Its runs are the runs of its spec
/// (<c>experiments/reproduce/NAME/quick.yaml</c> or <c>paper.yaml</c>, a sweep spec of registered experiment kinds with a
/// <c>reproduction:</c> section holding its name, scale and claims), executed, stored, resumed and sharded by
/// <see cref="SweepRunner"/> into one <see cref="ResultsStore"/>; <see cref="Report"/> reads the finished run folders
/// and adds figures and claim checks. Running and reporting are separate, so a report is rebuilt from merged shards
/// without running anything.
/// </summary>
public interface IReproduction
{
    /// <summary>Registry name, e.g. <c>zucchet24-signal-propagation</c>; also the name of its spec folder and results folder.</summary>
    string Name { get; }

    /// <summary>One line: what is reproduced and from where (e.g. "… (Zucchet24 Figs. 1 left, 2)").</summary>
    string Title { get; }

    /// <summary>A paragraph for the report: how it is measured, which constants were chosen and why (the numbers are in the spec).</summary>
    string Method { get; }

    /// <summary>Adds figures and claim checks computed from <paramref name="results"/> (the spec's finished runs).</summary>
    void Report(ReproductionResults results);

    /// <summary>What a published copy of the results (<c>memlab publish</c>) keeps of each run's folder for <see cref="Report"/> to read:
    /// by default every data file whole and no per-step curves.</summary>
    PublishedData Published => PublishedData.Default;
}

/// <summary>
/// What a report step gets: the reproduction's sweep spec as it ran (<c>sweep.yaml</c>: includes and overrides resolved),
/// its finished runs in plan order, the section to fill and the spec's claims to check.
/// </summary>
public sealed class ReproductionResults
{
    /// <summary>Results of <paramref name="plan"/>'s runs <paramref name="runs"/> (finished, in plan order), reported into <paramref name="section"/>.</summary>
    public ReproductionResults(SweepPlan plan, IReadOnlyList<RunRecord> runs, ReproductionSection spec, ReportSection section)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(section);
        Plan = plan;
        Runs = runs;
        Spec = spec;
        Section = section;
        Claims = new ClaimSet(spec.Name, spec.Claims, section);
    }

    /// <summary>The sweep as it ran (its <see cref="SweepPlan.Spec"/> is <c>sweep.yaml</c>).</summary>
    public SweepPlan Plan { get; }

    /// <summary>The plan's runs, finished, in plan order.</summary>
    public IReadOnlyList<RunRecord> Runs { get; }

    /// <summary>The spec's <c>reproduction:</c> section: name, scale and claims.</summary>
    public ReproductionSection Spec { get; }

    /// <summary>The report section to add figures to.</summary>
    public ReportSection Section { get; }

    /// <summary>The spec's claims; the step checks each by id.</summary>
    public ClaimSet Claims { get; }

    /// <summary>The only run, for a reproduction whose spec is one run.</summary>
    public RunRecord SingleRun() => Runs.Count == 1 ? Runs[0]
        : throw new InvalidOperationException($"{Spec.Name}: expected one run, found {Runs.Count}");

    /// <summary>The runs as a results table (mean, SEM over seeds per grid point) with the sweep's selection rule applied.</summary>
    public ResultsTable Table() => ResultsTable.Build(Runs, Plan.Selection, Plan.Axes);
}

/// <summary>What a reproduction's own run may use: its folder, threads, cancellation, seed and progress.</summary>
public sealed class ReproductionContext
{
    private readonly RunContext? _run;

    /// <summary>The context of the run <paramref name="run"/> (its folder is where the data files go).</summary>
    public ReproductionContext(RunContext run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _run = run;
        Directory = run.RunDirectory;
        Pool = run.Pool;
        Work = run.Work;
        Cancellation = run.Cancellation;
    }

    /// <summary>A context writing into <paramref name="directory"/> outside a results store (tests, notebooks).</summary>
    public ReproductionContext(string directory, WorkerPool pool, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(pool);
        Directory = directory;
        Pool = pool;
        Work = new ParallelWork(pool.Threads, null);
        Cancellation = cancellation;
    }

    /// <summary>The folder the run writes its data files into.</summary>
    public string Directory { get; }

    /// <summary>Threads for the run.</summary>
    public WorkerPool Pool { get; }

    /// <summary>The run's independent pieces of work, spread over <see cref="Pool"/>'s threads and, in a sweep, its idle workers.</summary>
    public ParallelWork Work { get; }

    /// <summary>Runs <paramref name="body"/>(i, pool) for i = 0 … <paramref name="count"/> − 1 concurrently (see <see cref="ParallelWork"/>):
    /// each iteration computes on the pool it is given and writes only its own results, so they are the same bits on any number of threads.</summary>
    public void For(int count, Action<int, WorkerPool> body) => Work.For(count, body, Pool, Cancellation);

    /// <summary>Stops the run.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>The path of a data file of this run.</summary>
    public string File(string name) => Path.Combine(Directory, name);

    /// <summary>Reports the fraction done and what is happening.</summary>
    public void Report(double fraction, string what) => _run?.ReportProgress(fraction, what);
}

/// <summary>
/// The usual way to write a reproduction that computes its own data (theory, Monte Carlo, exact gradient flow): it is an
/// experiment kind (<c>kind: NAME</c>; <see cref="ExperimentKind{TConfig}.Bind"/> reads the spec's settings strictly) whose
/// run writes CSV files into its run folder, and the reproduction that reports them. Its spec usually has no grid: one run.
/// </summary>
/// <typeparam name="TSettings">The typed settings.</typeparam>
public abstract class ReproductionKind<TSettings> : ExperimentKind<TSettings>, IReproduction
{
    /// <inheritdoc />
    public abstract string Title { get; }

    /// <inheritdoc />
    public abstract string Method { get; }

    /// <summary>The kind's one-line description: the reproduction's title.</summary>
    public sealed override string Description => Title;

    /// <inheritdoc />
    public virtual PublishedData Published => PublishedData.Default;

    /// <summary>No final metrics: the data are the run's files.</summary>
    public override IReadOnlyCollection<string> MetricNames => [];

    /// <summary>Computes the data with <paramref name="settings"/> and writes them into <see cref="ReproductionContext.Directory"/>.</summary>
    public abstract void Run(ReproductionContext context, TSettings settings);

    /// <summary>Adds figures (to <paramref name="section"/>) and claim checks (to <paramref name="claims"/>) from the data files in
    /// <paramref name="directory"/>, written by a run with <paramref name="settings"/>.</summary>
    public abstract void Report(string directory, TSettings settings, ReportSection section, ClaimSet claims);

    /// <inheritdoc />
    protected sealed override RunSummary Execute(TSettings config, RunContext context)
    {
        Run(new ReproductionContext(context), config);
        return RunSummary.Completed(new Dictionary<string, double>(), 0);
    }

    /// <summary>Reports the spec's one run (a reproduction whose spec has a grid overrides this).</summary>
    public virtual void Report(ReproductionResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var run = results.SingleRun();
        Report(run.Directory, BindRun(run.Spec), results.Section, results.Claims);
    }
}
