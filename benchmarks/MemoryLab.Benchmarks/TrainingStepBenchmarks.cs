using BenchmarkDotNet.Attributes;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Training;

namespace MemoryLab.Benchmarks;

/// <summary>One full training step (forward, backward, Adam) at the teacher–student shape of Zucchet24
/// (batch 128, T = 300, hidden 64, d_in = d_out = 1, float32), for the linear students of the engine and the
/// nonlinear ones (tanh RNN, GRU, LSTM with a Dense readout). The batch is drawn once in setup, so the
/// step measures the model and optimiser alone. The <c>-conv</c> variants run the linear students with
/// <see cref="LtiAlgorithm.Convolution"/> (kernel generation + Toeplitz GEMM) instead of the scan.</summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    private SupervisedObjective<float> _objective = null!;
    private Adam<float> _adam = null!;
    private float[] _theta = null!, _gradient = null!;
    private WorkerPool _pool = null!;

    /// <summary>Student model.</summary>
    [Params("lru", "complex-diagonal", "dense", "lru-conv", "complex-diagonal-conv", "dense-conv", "elman-tanh", "gru", "lstm")]
    public string Model { get; set; } = "lru";

    /// <summary>Threads in the pool.</summary>
    [Params(2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        ISequenceLayer<float> layer = Model switch
        {
            "lru" => new LinearRecurrentUnit<float>(1, 64, 0.9, 1.0, Math.PI, RingInitialisation.TeacherStudent),
            "complex-diagonal" => new DiagonalRecurrence<float>(1, 1, new DiagonalRecurrenceOptions { StateSize = 64, RMin = 0.9, MaxPhase = Math.PI }),
            "dense" => new DenseLinearRecurrence<float>(1, 1, new DenseLinearRecurrenceOptions { StateSize = 64 }),
            "lru-conv" => new LinearRecurrentUnit<float>(1, 64, 0.9, 1.0, Math.PI, RingInitialisation.TeacherStudent, LtiAlgorithm.Convolution),
            "complex-diagonal-conv" => new DiagonalRecurrence<float>(1, 1, new DiagonalRecurrenceOptions
            { StateSize = 64, RMin = 0.9, MaxPhase = Math.PI, Algorithm = LtiAlgorithm.Convolution }),
            "dense-conv" => new DenseLinearRecurrence<float>(1, 1, new DenseLinearRecurrenceOptions { StateSize = 64, Algorithm = LtiAlgorithm.Convolution }),
            // Nonlinear students: the recurrence (hidden 64) and a Dense readout to the one output.
            "elman-tanh" => new LayerStack<float>(new ElmanRecurrence<float>(1, 64), new Dense<float>(64, 1)),
            "gru" => new LayerStack<float>(new GatedRecurrentUnit<float>(1, 64), new Dense<float>(64, 1)),
            "lstm" => new LayerStack<float>(new LongShortTermMemory<float>(1, 64, forgetBias: 1), new Dense<float>(64, 1)),
            _ => throw new ArgumentException(Model),
        };
        var model = new SequenceModel<float>(layer);
        model.Initialize(0);
        _pool = new WorkerPool(Threads);
        var teacher = new TeacherLinearSystem<float>(new TeacherOptions { Nu0 = 0.9 }, 0);
        _objective = new SupervisedObjective<float>(model, teacher, MeanSquaredError<float>.AllSteps(), 128, _pool);
        _objective.NextBatch(0);
        _adam = new Adam<float>(model.Layout);
        _theta = model.Theta;
        _gradient = new float[_theta.Length];
    }

    [GlobalCleanup]
    public void Cleanup() => _pool.Dispose();

    [Benchmark]
    public float TrainingStep()
    {
        float loss = _objective.Evaluate(_theta, _gradient);
        _adam.Step(_theta, _gradient, 1e-3);
        return loss;
    }
}
