namespace MemoryLab.Reproductions;

/// <summary>The library's registered reproductions, in report order.</summary>
internal static class BuiltInReproductions
{
    public static void RegisterAll(PaperExperimentRegistry r)
    {
        r.Register(new PlateauScalingExperiment());
        r.Register(new ApproximationRateExperiment());
        r.Register(new StableApproximationExperiment());
        r.Register(new PlateausExperiment());
        r.Register(new MemoryFunctionExperiment());
        r.Register(new SignalPropagationExperiment());
        r.Register(new LandscapesExperiment());
        r.Register(new LearnThetaExperiment());
        r.Register(new TeacherStudentExperiment());
        r.Register(new AblationExperiment());
        r.Register(new HessianExperiment());
        r.Register(new DeepInitExperiment());
        r.Register(new GruTheoryExperiment());
    }
}
