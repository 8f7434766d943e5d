using BenchmarkDotNet.Attributes;
using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Benchmarks;

/// <summary>
/// Forward + backward of the deep recurrent network of Zucchet & Orvieto (NeurIPS 2024) §5 (the deep networks at initialisation, Fig. 5) in float32:
/// encoder 768 → 256, 4 residual blocks (GRU, layer norm), decoder 256 → 768, batch 16, T = 512.
/// </summary>
[MemoryDiagnoser]
public class NonlinearDeepStackBenchmarks
{
    private const int Batch = 16, Time = 512, Features = 768, ModelSize = 256;
    private SequenceModel<float> _model = null!;
    private SequenceTensor<float> _x = null!, _dy = null!;

    /// <summary>Builds the network and a random input and output gradient.</summary>
    /// <summary>Recurrent layer of every block.</summary>
    [Params("lru", "gru")]
    public string Layer { get; set; } = "lru";

    [GlobalSetup]
    public void Setup()
    {
        var stack = new DeepStack<float>(Features, ModelSize, Features, 4,
            _ => Layer == "lru" ? new LinearRecurrentUnit<float>(ModelSize, ModelSize, 0.9, 0.999) : new GatedRecurrentUnit<float>(ModelSize, ModelSize), NormKind.Layer);
        _model = new SequenceModel<float>(stack);
        _model.Initialize(1);
        _model.Prepare(Batch, Time, WorkerPool.Shared);
        _x = new SequenceTensor<float>(Batch, Time, Features);
        _dy = new SequenceTensor<float>(Batch, Time, Features);
        var data = new CounterRng(2, RandomPurpose.Data);
        data.FillNormal<float>(_x.Data);
        data.FillNormal<float>(_dy.Data, 0, 1e-3);
    }

    /// <summary>One forward and backward pass of the 4-block GRU network.</summary>
    [Benchmark]
    public void DeepStackForwardBackward()
    {
        _model.Forward(_x);
        _model.Backward(_dy);
    }
}
