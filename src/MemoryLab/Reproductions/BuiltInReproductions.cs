namespace MemoryLab.Reproductions;

/// <summary>The library's reproductions, in report order.</summary>
internal static class BuiltInReproductions
{
    public static IReadOnlyList<IReproduction> All() =>
    [
        new PlateauScalingExperiment(),
        new ApproximationRateExperiment(),
        new StableApproximationExperiment(),
        new PlateausExperiment(),
        new MemoryFunctionExperiment(),
        new SignalPropagationExperiment(),
        new LandscapesExperiment(),
        new LearnThetaExperiment(),
        new TeacherStudentExperiment(),
        new AblationExperiment(),
        new HeadsExperiment(),
        new HessianExperiment(),
        new DeepInitExperiment(),
        new GruTheoryExperiment(),
        new CrossKernelExperiment(),
        new PhaseConcentrationExperiment(),
    ];
}
