using System.Numerics;
using MemoryLab.Cli.Bench;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Tests.Experiments;
using MemoryLab.Training;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Peers;

/// <summary>A theory that is skipped, with the reason and the fix, when <c>/usr/bin/python3</c> cannot import torch.</summary>
public sealed class TorchTheoryAttribute : TheoryAttribute
{
    /// <summary>Skips when <see cref="TorchPeer.Unavailable"/> gives a reason.</summary>
    public TorchTheoryAttribute()
    {
        if (TorchPeer.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>A fact that is skipped, with the reason and the fix, when <c>/usr/bin/python3</c> cannot import torch.</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    /// <summary>Skips when <see cref="TorchPeer.Unavailable"/> gives a reason.</summary>
    public TorchFactAttribute()
    {
        if (TorchPeer.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>
/// MemoryLab against PyTorch (memlab bench --peers): each model's loss (½·mean over all steps) and the gradient of every parameter
/// agree with every PyTorch variant of benchmarks/peers/memlab_peers.py — the Python time loop, the kernel + FFT
/// convolution of the linear time-invariant layers, and nn.RNN/GRU/LSTM (which pins our gate order and bias
/// conventions to PyTorch's). Tolerance: 1e-4 relative in float32, 1e-10 in float64, norm-wise per tensor.
/// </summary>
public class TorchPeerAgreementTests(ITestOutputHelper output)
{
    private const int Batch = 3, Time = 12, Features = 2;

    /// <summary>The cases: name → (description, the variants PyTorch must offer for it).</summary>
    private static readonly Dictionary<string, (ModelDescription Model, string[] Variants)> Cases = new()
    {
        ["lru"] = (ModelDescription.Of("lru", ("hidden", 4)), ["loop", "conv"]),
        ["complex_diagonal"] = (ModelDescription.Of("complex_diagonal", ("hidden", 4), ("out", 3)), ["loop", "conv"]),
        ["complex_diagonal_opt_l2"] = (ModelDescription.Of("complex_diagonal", ("hidden", 4), ("parametrisation", "opt"),
            ("normalisation", "l2"), ("skip", "diagonal")), ["loop", "conv"]),
        ["linear_rnn"] = (ModelDescription.Of("linear_rnn", ("hidden", 4), ("out", 3)), ["loop", "conv"]),
        ["linear_rnn_heads"] = (ModelDescription.Of("linear_rnn", ("hidden", 6), ("heads", 2)), ["loop", "conv"]),
        ["elman"] = (ModelDescription.Of("elman", ("hidden", 5)), ["loop", "native"]),
        ["gru"] = (ModelDescription.Of("gru", ("hidden", 5)), ["loop", "native"]),
        ["lstm"] = (ModelDescription.Of("lstm", ("hidden", 5), ("forget_bias", 1)), ["loop", "native"]),
        ["gru_readout"] = (ModelDescription.Of("stack").With(ModelDescription.Of("gru", ("name", "rnn"), ("hidden", 4)),
            ModelDescription.Of("dense", ("name", "readout"), ("out", 1))), ["loop", "native"]),
        // The deep stack: 4 residual LRU blocks; d_model·d_model > 2N so the peer's conv variant convolves per state.
        ["deep_stack"] = (ModelDescription.Of("deep_stack", ("d_model", 4), ("blocks", 4)).With(ModelDescription.Of("lru", ("hidden", 3))), ["loop", "conv"]),
        ["deep_stack_layer_norm"] = (ModelDescription.Of("deep_stack", ("d_model", 4), ("blocks", 2), ("norm", "layer"), ("gelu", "tanh"))
            .With(ModelDescription.Of("lru", ("hidden", 3))), ["loop", "conv"]),
    };

    /// <summary>Every case name, for the theories.</summary>
    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys) data.Add(name);
        return data;
    }

    [TorchTheory]
    [MemberData(nameof(CaseNames))]
    public void Float64LossAndGradientsAgreeWithEveryPyTorchVariant(string name) => Check<double>(name, 1e-10);

    [TorchTheory]
    [MemberData(nameof(CaseNames))]
    public void Float32LossAndGradientsAgreeWithEveryPyTorchVariant(string name) => Check<float>(name, 1e-4);

    [TorchFact]
    public void APerturbedGradientIsCaught()
    {
        // The comparison itself must be able to fail: the GRU's PyTorch gradients against a MemoryLab gradient
        // with one recurrent-weight entry changed by 1 % of that tensor's norm.
        var (model, peers, ours, _) = Run<double>("gru", seed: 7);
        var view = model.Layout["weight_hh"];
        var perturbed = view.Of(ours).ToArray();
        perturbed[3] += 0.01 * Norm(perturbed);
        Assert.True(RelativeError(perturbed, peers[0].Gradients["weight_hh"]) > 1e-3);
    }

    private void Check<T>(string name, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (model, peers, ours, loss) = Run<T>(name, seed: 11);
        Assert.Equal(Cases[name].Variants, peers.Select(p => p.Variant).ToArray());
        foreach (var peer in peers)
        {
            double lossError = Math.Abs(double.CreateTruncating(loss) - double.CreateTruncating(peer.Loss)) / Math.Abs(double.CreateTruncating(peer.Loss));
            output.WriteLine($"{name} {typeof(T).Name} {peer.Variant}: loss {double.CreateTruncating(loss):R} vs {double.CreateTruncating(peer.Loss):R} (rel {lossError:E2})");
            Assert.True(lossError <= tolerance, $"{name}/{peer.Variant} ({typeof(T).Name}): loss {loss} vs PyTorch {peer.Loss}, relative error {lossError:E2} > {tolerance:E0}");
            foreach (var view in model.Layout.Views)
            {
                double error = RelativeError(view.Of(ours).ToArray(), peer.Gradients[view.Name]);
                Assert.True(error <= tolerance,
                    $"{name}/{peer.Variant} ({typeof(T).Name}): ∂loss/∂{view.Name} differs from PyTorch's by {error:E2} relative (> {tolerance:E0})");
            }
        }
    }

    /// <summary>Builds the case's model, runs MemoryLab's forward/backward and the peer's agree.</summary>
    private static (SequenceModel<T> Model, IReadOnlyList<PeerVariantResult<T>> Peers, T[] Gradient, T Loss) Run<T>(string name, ulong seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var description = Cases[name].Model;
        var model = new SequenceModel<T>(ModelFactory.CreateDefault().Build<T>(description, Features));
        model.Initialize(seed);
        var pool = new WorkerPool(1);
        model.Prepare(Batch, Time, pool);
        var rng = new CounterRng(seed, RandomPurpose.Data);
        var x = new SequenceTensor<T>(Batch, Time, Features);
        var y = new SequenceTensor<T>(Batch, Time, model.Root.OutputSize);
        rng.FillNormal<T>(x.Data);
        rng.FillNormal<T>(y.Data);
        var prediction = model.Forward(x);
        var dy = new SequenceTensor<T>(Batch, Time, model.Root.OutputSize);
        T loss = MeanSquaredError<T>.AllSteps().Evaluate(prediction, y, dy);
        model.Backward(dy);
        using var dir = new TempDirectory();
        var peers = TorchPeer.CreateDefault().Agree(description, model, x, y, dir.Path);
        return (model, peers, model.Gradient, loss);
    }

    private static double Norm<T>(ReadOnlySpan<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double s = 0;
        foreach (var e in v) { double d = double.CreateTruncating(e); s += d * d; }
        return Math.Sqrt(s);
    }

    /// <summary>‖a − b‖ / ‖b‖ (‖a‖ when b = 0).</summary>
    private static double RelativeError<T>(T[] ours, T[] theirs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(theirs.Length, ours.Length);
        double diff = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double d = double.CreateTruncating(ours[i]) - double.CreateTruncating(theirs[i]);
            diff += d * d;
        }
        double scale = Norm<T>(theirs);
        return scale > 0 ? Math.Sqrt(diff) / scale : Math.Sqrt(diff);
    }
}
