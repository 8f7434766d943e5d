using BenchmarkDotNet.Attributes;
using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Benchmarks;

/// <summary>
/// Forward + loss gradient + backward of a nonlinear RNN with a linear readout in float32 at the
/// Zucchet24 teacher–student shape (batch 128, T = 300, hidden 64, d_in = d_out = 1, SCIENCE.md B3 E3).
/// Targets for the full training step (with the optimiser, added by the trainer): tanh ≤ 25 ms,
/// GRU ≤ 60 ms, LSTM ≤ 80 ms, 0 bytes allocated per step. Threads: <c>MEMLAB_THREADS</c> or one per core.
/// </summary>
[MemoryDiagnoser]
public class NonlinearModelBenchmarks
{
    private const int Batch = 128, Time = 300, Hidden = 64;
    private SequenceModel<float> _model = null!;
    private SequenceTensor<float> _x = null!, _y = null!, _dy = null!;

    /// <summary>The recurrent layer.</summary>
    [Params("elman_tanh", "gru", "lstm")]
    public string Model { get; set; } = "gru";

    /// <summary>Builds the model and one batch (input N(0,1), target Σ_s 0.5^s x_{t−s}).</summary>
    [GlobalSetup]
    public void Setup()
    {
        ISequenceLayer<float> rnn = Model switch
        {
            "elman_tanh" => new ElmanRecurrence<float>(1, Hidden),
            "gru" => new GatedRecurrentUnit<float>(1, Hidden),
            "lstm" => new LongShortTermMemory<float>(1, Hidden, forgetBias: 1),
            _ => throw new ArgumentException(Model),
        };
        _model = new SequenceModel<float>(new LayerStack<float>(rnn, new Dense<float>(Hidden, 1)));
        _model.Initialize(1);
        _model.Prepare(Batch, Time, WorkerPool.Shared);
        _x = new SequenceTensor<float>(Batch, Time, 1);
        _y = new SequenceTensor<float>(Batch, Time, 1);
        _dy = new SequenceTensor<float>(Batch, Time, 1);
        new CounterRng(2, RandomPurpose.Data).FillNormal<float>(_x.Data);
        for (int b = 0; b < Batch; b++)
        {
            float acc = 0;
            for (int t = 0; t < Time; t++) _y[b, t, 0] = acc = 0.5f * acc + _x[b, t, 0];
        }
    }

    /// <summary>One training step without the optimiser: forward, ∂(½ mean squared error)/∂ŷ, backward.</summary>
    [Benchmark]
    public float ForwardBackward()
    {
        var yhat = _model.Forward(_x);
        float n = Batch * Time, loss = 0;
        for (int i = 0; i < _dy.Data.Length; i++)
        {
            float e = yhat.Data[i] - _y.Data[i];
            loss += e * e;
            _dy.Data[i] = e / n;
        }
        _model.Backward(_dy);
        return loss;
    }
}

/// <summary>
/// Forward + backward of the deep recurrent network of Zucchet24 §5 (SCIENCE.md B2/B3 E7) in float32:
/// encoder 768 → 256, 4 residual blocks (GRU, layer norm), decoder 256 → 768, batch 16, T = 512.
/// </summary>
[MemoryDiagnoser]
public class NonlinearDeepStackBenchmarks
{
    private const int Batch = 16, Time = 512, Features = 768, ModelSize = 256;
    private SequenceModel<float> _model = null!;
    private SequenceTensor<float> _x = null!, _dy = null!;

    /// <summary>Builds the network and a random input and output gradient.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var stack = new DeepStack<float>(Features, ModelSize, Features, 4, _ => new GatedRecurrentUnit<float>(ModelSize, ModelSize), NormKind.Layer);
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
    public void DeepGruForwardBackward()
    {
        _model.Forward(_x);
        _model.Backward(_dy);
    }
}
