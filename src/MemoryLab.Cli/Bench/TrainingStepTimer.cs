using System.Diagnostics;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Training;

namespace MemoryLab.Cli.Bench;

/// <summary>
/// One full MemoryLab training step in float32 — forward, the all-steps mean-squared error (½·mean, as
/// <see cref="MeanSquaredError{T}.AllSteps"/>), backward, Adam — on a fixed random batch, so the time is the model's
/// and the optimiser's alone. Everything is allocated in the constructor; <see cref="Step"/> allocates nothing.
/// </summary>
internal sealed class TrainingStepTimer
{
    private readonly SequenceModel<float> _model;
    private readonly SequenceTensor<float> _x, _y, _dy;
    private readonly MeanSquaredError<float> _loss = MeanSquaredError<float>.AllSteps();
    private readonly Adam<float> _adam;

    /// <summary>Builds <paramref name="description"/> for <paramref name="shape"/> on <paramref name="pool"/>, with parameters and data from <paramref name="seed"/>.</summary>
    public TrainingStepTimer(ModelDescription description, BenchShape shape, WorkerPool pool, ulong seed = 0)
    {
        var layer = ModelFactory.CreateDefault().Build<float>(description, shape.InputSize);
        _model = new SequenceModel<float>(layer);
        _model.Initialize(seed);
        _model.Prepare(shape.Batch, shape.Time, pool);
        _x = new SequenceTensor<float>(shape.Batch, shape.Time, shape.InputSize);
        _y = new SequenceTensor<float>(shape.Batch, shape.Time, layer.OutputSize);
        _dy = new SequenceTensor<float>(shape.Batch, shape.Time, layer.OutputSize);
        var rng = new CounterRng(seed, RandomPurpose.Data);
        rng.FillNormal<float>(_x.Data);
        rng.FillNormal<float>(_y.Data);
        _adam = new Adam<float>(_model.Layout);
    }

    /// <summary>The model's parameter count.</summary>
    public int ParameterCount => _model.Theta.Length;

    /// <summary>One training step; returns the loss before the update.</summary>
    public float Step()
    {
        float loss = _loss.Evaluate(_model.Forward(_x), _y, _dy);
        _model.Backward(_dy);
        _adam.Step(_model.Theta, _model.Gradient, 1e-4);
        return loss;
    }

    /// <summary>Shortest warm-up: .NET compiles hot methods first quickly (tier 0) and re-compiles them optimised after about
    /// 30 calls and a short delay, so the first steps of a run are slower than the rest; timing starts after this long.</summary>
    public static readonly TimeSpan MinimumWarmup = TimeSpan.FromSeconds(1);

    /// <summary>Milliseconds of each of <paramref name="steps"/> timed steps after at least <paramref name="warmup"/> untimed ones
    /// and at least <see cref="MinimumWarmup"/> of warm-up (at most 200 steps of it).</summary>
    public double[] Time(int warmup, int steps)
    {
        long begin = Stopwatch.GetTimestamp();
        for (int i = 0; i < warmup || (Stopwatch.GetElapsedTime(begin) < MinimumWarmup && i < 200); i++) Step();
        var times = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Step();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return times;
    }

    /// <summary>The median of <paramref name="values"/>.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("no values");
        return MemoryLab.Analysis.Statistics.Median(values);
    }
}
