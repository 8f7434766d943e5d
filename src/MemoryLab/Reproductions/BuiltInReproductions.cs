namespace MemoryLab.Reproductions;

/// <summary>The library's registered reproductions, in report order.</summary>
internal static class BuiltInReproductions
{
    public static void RegisterAll(PaperExperimentRegistry r)
    {
        r.Register(new SignalPropagationExperiment());
        r.Register(new PlateauScalingExperiment());
        r.Register(new ApproximationRateExperiment());
        r.Register(new StableApproximationExperiment());
    }
}
