using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Training;

namespace MemoryLab.Tests.Training;

public class AllocationTests
{
    public static TheoryData<string> Models => new() { "lru", "complex-diagonal", "dense" };

    [Theory]
    [MemberData(nameof(Models))]
    public void A_training_step_allocates_nothing_in_steady_state(string kind)
    {
        ISequenceLayer<float> layer = kind switch
        {
            "lru" => new LinearRecurrentUnit<float>(1, 16, 0.5, 0.99),
            "complex-diagonal" => new DiagonalRecurrence<float>(1, 1, new DiagonalRecurrenceOptions { StateSize = 16, Normalisation = InputNormalisation.L2 }),
            _ => new DenseLinearRecurrence<float>(1, 1, new DenseLinearRecurrenceOptions { StateSize = 16, Heads = 2 }),
        };
        var model = new SequenceModel<float>(layer);
        model.Initialize(1);
        using var pool = new WorkerPool(1);
        var objective = new SupervisedObjective<float>(model, new TeacherLinearSystem<float>(new TeacherOptions { StateSize = 4 }, 1, time: 12),
            MeanSquaredError<float>.AllSteps(), 20, pool);
        objective.NextBatch(0);
        var adam = new Adam<float>(model.Layout, clipNorm: 1.0);
        var g = new float[model.Theta.Length];
        // Warm up past tiered JIT compilation, whose first calls allocate.
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 200; i++) { objective.Evaluate(model.Theta, g); adam.Step(model.Theta, g, 1e-3); }
            Thread.Sleep(150);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) { objective.Evaluate(model.Theta, g); adam.Step(model.Theta, g, 1e-3); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
