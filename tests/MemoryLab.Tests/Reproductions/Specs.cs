using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reproductions;

namespace MemoryLab.Tests.Reproductions;

/// <summary>The embedded reproduction specs, for tests that run or report one experiment directly.</summary>
internal static class Specs
{
    /// <summary>One scale's section of <paramref name="e"/>'s embedded spec.</summary>
    public static SpecNode Section(IPaperExperiment e, ReproductionScale scale = ReproductionScale.Quick) => ReproductionSpec.Load(e).Section(scale);

    /// <summary><paramref name="e"/>'s bound settings at <paramref name="scale"/>.</summary>
    public static TSettings Settings<TSettings>(PaperExperiment<TSettings> e, ReproductionScale scale = ReproductionScale.Quick) => e.BindStrict(Section(e, scale));

    /// <summary>A quick-scale context for <paramref name="e"/> writing into <paramref name="directory"/>.</summary>
    public static ReproductionContext Context(IPaperExperiment e, string directory, WorkerPool pool) =>
        new(ReproductionScale.Quick, Section(e), directory, pool, CancellationToken.None);
}
