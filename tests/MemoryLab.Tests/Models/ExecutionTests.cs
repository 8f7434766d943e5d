using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Models;

/// <summary>Determinism across thread counts and allocation-free steady state of the fused layers.</summary>
public class ExecutionTests
{
    public static TheoryData<string> Layers() => new() { "elman", "continuous_time", "gru", "lstm", "lstm_wide", "deep_gru_layer_norm", "deep_elman_batch_norm", "glu_gelu_dense" };

    private static ISequenceLayer<float> Make(string name) => name switch
    {
        "elman" => new ElmanRecurrence<float>(3, 20),
        "continuous_time" => new ContinuousTimeRecurrence<float>(3, 20, Activation.Tanh, StableParametrisation.Exp, dt: 0.5),
        "gru" => new GatedRecurrentUnit<float>(3, 20),
        "lstm" => new LongShortTermMemory<float>(3, 20, forgetBias: 1),
        "lstm_wide" => new LongShortTermMemory<float>(12, 20),
        "deep_gru_layer_norm" => new DeepStack<float>(3, 24, 2, 2, _ => new GatedRecurrentUnit<float>(24, 24), NormKind.Layer),
        "deep_elman_batch_norm" => new DeepStack<float>(3, 24, 2, 2, _ => new ElmanRecurrence<float>(24, 24), NormKind.Batch),
        "glu_gelu_dense" => new LayerStack<float>(new Dense<float>(3, 40), new Gelu<float>(40), new Glu<float>(40, 20)),
        _ => throw new ArgumentException(name),
    };

    /// <summary>One forward + backward; returns (output, ∂θ, ∂x).</summary>
    private sealed class Harness
    {
        public readonly ISequenceLayer<float> Layer;
        public readonly float[] Theta, Gradient;
        public readonly SequenceTensor<float> X, Y, Dy, Dx;

        public Harness(string name, int batch, int time, WorkerPool pool)
        {
            Layer = Make(name);
            var layout = new ParameterLayout();
            Layer.Declare(layout, "");
            Theta = new float[layout.Count];
            Gradient = new float[layout.Count];
            Layer.Initialize(Theta, new CounterRng(1, RandomPurpose.Init));
            Layer.Prepare(batch, time, pool);
            X = new SequenceTensor<float>(batch, time, Layer.InputSize);
            Y = new SequenceTensor<float>(batch, time, Layer.OutputSize);
            Dy = new SequenceTensor<float>(batch, time, Layer.OutputSize);
            Dx = new SequenceTensor<float>(batch, time, Layer.InputSize);
            var data = new CounterRng(2, RandomPurpose.Data);
            data.FillNormal<float>(X.Data);
            data.FillNormal<float>(Dy.Data);
        }

        public void Step()
        {
            Layer.Forward(Theta, X, Y, training: true);
            Array.Clear(Gradient);
            Layer.Backward(Theta, Dy, Dx, Gradient);
        }
    }

    [Theory]
    [MemberData(nameof(Layers))]
    public void Results_are_bitwise_identical_for_one_two_and_three_threads(string name)
    {
        // Batch 37: three chunks of 16 sequences (the last partial); 37·9 = 333 rows: two row blocks.
        using var one = new WorkerPool(1);
        using var two = new WorkerPool(2);
        using var three = new WorkerPool(3);
        var a = new Harness(name, 37, 9, one);
        var b = new Harness(name, 37, 9, two);
        var c = new Harness(name, 37, 9, three);
        for (int rep = 0; rep < 3; rep++)
        {
            a.Step(); b.Step(); c.Step();
            foreach (var other in new[] { b, c })
            {
                Assert.Equal(a.Y.Data, other.Y.Data);
                Assert.Equal(a.Gradient, other.Gradient);
                Assert.Equal(a.Dx.Data, other.Dx.Data);
            }
        }
        Assert.Contains(a.Gradient, g => g != 0);
        Assert.All(a.Gradient, g => Assert.True(float.IsFinite(g)));
    }

    [Theory]
    [MemberData(nameof(Layers))]
    public void Steady_state_forward_and_backward_allocate_nothing(string name)
    {
        using var pool = new WorkerPool(1);
        var h = new Harness(name, 20, 7, pool);
        for (int warm = 0; warm < 3; warm++) h.Step();
        // The fewest bytes of three steps: an allocation the layer makes every step still fails, while a one-off of the
        // runtime's (a method tiering up under load once allocated 6,240 bytes in a step) does not.
        var allocated = new long[3];
        for (int i = 0; i < allocated.Length; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            h.Step();
            allocated[i] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.True(allocated.Min() == 0, $"bytes allocated in each of three steady-state steps: {string.Join(", ", allocated)}");
    }

    [Fact]
    public void Recurrent_output_is_causal()
    {
        // Changing x at step 5 leaves outputs before step 5 unchanged and changes those from step 5 on.
        using var pool = new WorkerPool(1);
        foreach (var name in new[] { "elman", "continuous_time", "gru", "lstm", "deep_gru_layer_norm" })
        {
            var h = new Harness(name, 2, 9, pool);
            h.Layer.Forward(h.Theta, h.X, h.Y, training: false);
            var before = (float[])h.Y.Data.Clone();
            h.X[1, 5, 0] += 1;
            h.Layer.Forward(h.Theta, h.X, h.Y, training: false);
            for (int t = 0; t < 9; t++)
            {
                bool same = Enumerable.Range(0, h.Y.Features).All(f => h.Y[1, t, f] == before[h.Y.Index(1, t, f)]);
                Assert.True(t < 5 == same, $"{name}: step {t} {(same ? "unchanged" : "changed")}");
            }
        }
    }

    [Fact]
    public void Shape_mismatches_are_rejected_with_the_shapes()
    {
        var gru = new GatedRecurrentUnit<float>(3, 4);
        var layout = new ParameterLayout();
        gru.Declare(layout, "");
        var theta = new float[layout.Count];
        Assert.Throws<InvalidOperationException>(() => gru.Forward(theta, new SequenceTensor<float>(2, 5, 3), new SequenceTensor<float>(2, 5, 4), true));
        gru.Prepare(2, 5, new WorkerPool(1));
        var e = Assert.Throws<ArgumentException>(() => gru.Forward(theta, new SequenceTensor<float>(2, 6, 3), new SequenceTensor<float>(2, 5, 4), true));
        Assert.Contains("[2, 5, 3]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ElmanRecurrence<float>(0, 3));
        Assert.Throws<ArgumentException>(() => new ContinuousTimeRecurrence<float>(1, 3, parametrisation: StableParametrisation.Best, bestOffset: 0.5, rateMax: 3));
    }
}
