using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;

namespace MemoryLab.Tests.Reproductions;

/// <summary>The embedded reproduction specs, for tests that run or report one reproduction directly.</summary>
internal static class Specs
{
    /// <summary>The experiment kinds, the reproductions' own included.</summary>
    public static ExperimentRegistry Kinds { get; } = ExperimentRegistry.CreateDefault();

    /// <summary>The library's reproductions (their kinds registered in <see cref="Kinds"/>).</summary>
    public static ReproductionRegistry Reproductions { get; } = ReproductionRegistry.CreateDefault(Kinds);

    /// <summary><paramref name="r"/>'s embedded spec at <paramref name="scale"/>, expanded into its runs.</summary>
    public static SweepPlan Plan(IReproduction r, ReproductionScale scale = ReproductionScale.Quick) =>
        SweepPlan.FromSpec(ReproductionSpecs.Load(r, scale, null, out _), r.Name, Kinds);

    /// <summary><paramref name="e"/>'s bound settings at <paramref name="scale"/> (its spec's one run).</summary>
    public static TSettings Settings<TSettings>(ReproductionKind<TSettings> e, ReproductionScale scale = ReproductionScale.Quick) =>
        e.BindRun(Plan(e, scale).Runs.Single().Spec);

    /// <summary>A context for a run of <paramref name="e"/> writing into <paramref name="directory"/>.</summary>
    public static ReproductionContext Context(string directory, WorkerPool pool) => new(directory, pool);

    /// <summary>The claims of <paramref name="r"/>'s spec, checked into <paramref name="section"/>.</summary>
    public static ClaimSet Claims(IReproduction r, ReportSection section) => new(r.Name, ReproductionSection.Of(Plan(r)).Claims, section);

    /// <summary>Reports the data in <paramref name="directory"/> (written with <paramref name="settings"/>, default: the quick spec's) as the
    /// report does: figures, the claims measured, and any declared claim left unmeasured as inconclusive.</summary>
    public static ReportSection Report<TSettings>(ReproductionKind<TSettings> e, string directory, TSettings? settings = default)
    {
        var section = new ReportSection(e.Name);
        var claims = Claims(e, section);
        e.Report(directory, settings ?? Settings(e), section, claims);
        claims.Finish();
        return section;
    }
}
