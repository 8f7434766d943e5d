using MemoryLab.Numerics;

namespace MemoryLab.Cli.Bench;

/// <summary>Times one PyTorch variant of a model (the peer harness in benchmarks/peers).</summary>
internal interface IPeerTimer
{
    /// <summary>Why the peer cannot run here, or null when it can.</summary>
    string? UnavailableReason { get; }

    /// <summary>The timed training steps of <paramref name="variant"/> of <paramref name="model"/>.</summary>
    PeerTiming Time(string model, string variant, BenchShape shape, int threads, int warmup, int steps);
}

/// <summary>The machine's ceilings measured in this run with <paramref name="Threads"/> threads.</summary>
internal sealed record MachineCeilings(int Threads, double FmaGflops, double StreamGBs);

/// <summary>One model × thread count of the side-by-side benchmark.</summary>
/// <param name="Model">The model.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Threads">Threads for MemoryLab and PyTorch alike.</param>
/// <param name="Algorithm">The algorithm MemoryLab's <c>auto</c> picks (<c>scan</c> or <c>convolution</c>; <c>scan</c> for non-LTI models).</param>
/// <param name="Memlab">Median ms per step of each MemoryLab algorithm timed.</param>
/// <param name="Peers">Median ms per step of each PyTorch variant that ran.</param>
/// <param name="PeerErrors">Why a PyTorch variant did not run.</param>
/// <param name="Cost">Flops and bytes of one step with <paramref name="Algorithm"/>.</param>
/// <param name="Ceilings">The machine's ceilings at this thread count.</param>
internal sealed record BenchResult(BenchModel Model, BenchShape Shape, int Threads, string Algorithm,
    IReadOnlyDictionary<string, double> Memlab, IReadOnlyDictionary<string, double> Peers, IReadOnlyDictionary<string, string> PeerErrors,
    StepCost Cost, MachineCeilings Ceilings)
{
    /// <summary>MemoryLab's time with the algorithm auto picks.</summary>
    public double MemlabMs => Memlab[Algorithm];

    /// <summary>The fastest PyTorch variant, or null when none ran.</summary>
    public (string Variant, double Ms)? FastestPeer => Peers.Count == 0 ? null : Peers.MinBy(p => p.Value) is var p ? (p.Key, p.Value) : null;

    /// <summary>Achieved GFLOP/s of MemoryLab's step.</summary>
    public double Gflops => Cost.Flops / (MemlabMs * 1e-3) / 1e9;

    /// <summary>Achieved GB/s of compulsory traffic.</summary>
    public double GBs => Cost.Bytes / (MemlabMs * 1e-3) / 1e9;

    /// <summary>The scan path's cost and achieved rates (GFLOP/s, GB/s), also when <c>auto</c> picks the convolution.</summary>
    public (StepCost Cost, double Gflops, double GBs) Scan
    {
        get
        {
            var cost = LtiAlgorithms.Cost(Model, Shape, LtiAlgorithms.Scan);
            double seconds = Memlab[LtiAlgorithms.Scan] * 1e-3;
            return (cost, cost.Flops / seconds / 1e9, cost.Bytes / seconds / 1e9);
        }
    }
}

/// <summary>
/// Runs the side-by-side benchmark: for each model and thread count, MemoryLab's step (each algorithm) and then each
/// PyTorch variant, model by model, in one run, at the same thread count; and the machine's FMA and streaming ceilings
/// measured at the start of each thread count.
/// </summary>
internal sealed class BenchRunner(IPeerTimer? peers, int warmup, int steps, Action<string>? log = null)
{
    /// <summary>The PyTorch version and BLAS the peers ran with (null until a peer ran).</summary>
    public string? PeerLibrary { get; private set; }

    /// <summary>Measures the machine's ceilings at <paramref name="threads"/> threads.</summary>
    public static MachineCeilings MeasureCeilings(int threads) =>
        new(threads, MachinePeaks.MeasureFmaPeak(threads, MachinePeaks.NativeVectorBits), MachinePeaks.MeasureStreamBandwidth(threads));

    /// <summary>Benchmarks <paramref name="models"/> at each of <paramref name="threadCounts"/>.</summary>
    public IReadOnlyList<BenchResult> Run(IReadOnlyList<BenchModel> models, IReadOnlyList<int> threadCounts, CancellationToken cancel)
    {
        var results = new List<BenchResult>();
        foreach (int threads in threadCounts)
        {
            log?.Invoke($"measuring the machine's ceilings threads={threads}");
            var ceilings = MeasureCeilings(threads);
            log?.Invoke($"ceilings threads={threads} fma_gflops={ceilings.FmaGflops:F0} stream_gbs={ceilings.StreamGBs:F1}");
            using var pool = new WorkerPool(threads);
            foreach (var model in models)
            {
                cancel.ThrowIfCancellationRequested();
                results.Add(RunOne(model, model.Shape, threads, pool, ceilings, cancel));
            }
        }
        return results;
    }

    private BenchResult RunOne(BenchModel model, BenchShape shape, int threads, WorkerPool pool, MachineCeilings ceilings, CancellationToken cancel)
    {
        var memlab = new Dictionary<string, double>();
        foreach (string algorithm in LtiAlgorithms.For(model))
        {
            var timer = new TrainingStepTimer(model.Describe(shape, LtiAlgorithms.Option(model, algorithm)), shape, pool);
            memlab[algorithm] = TrainingStepTimer.Median(timer.Time(warmup, steps));
            log?.Invoke($"memlab model={model.Name} algorithm={algorithm} threads={threads} ms={memlab[algorithm]:F3}");
        }
        string chosen = LtiAlgorithms.Auto(model, shape);
        var peerMs = new Dictionary<string, double>();
        var peerErrors = new Dictionary<string, string>();
        if (peers is not null)
        {
            foreach (string variant in model.PeerVariants)
            {
                cancel.ThrowIfCancellationRequested();
                if (peers.UnavailableReason is { } why) { peerErrors[variant] = why; continue; }
                try
                {
                    // A slow variant (the Python time loop of an LTI layer takes seconds per step) gets one warm-up step.
                    var timing = peers.Time(model.Name, variant, shape, threads, Math.Min(warmup, variant == "loop" ? 1 : warmup), steps);
                    peerMs[variant] = TrainingStepTimer.Median(timing.TimesMs);
                    PeerLibrary ??= timing.Library;
                    log?.Invoke($"pytorch model={model.Name} variant={variant} threads={threads} ms={peerMs[variant]:F3}");
                }
                catch (TorchPeerException e)
                {
                    peerErrors[variant] = e.Message;
                    log?.Invoke($"pytorch model={model.Name} variant={variant} threads={threads} failed: {e.Message}");
                }
            }
        }
        return new BenchResult(model, shape, threads, chosen, memlab, peerMs, peerErrors, LtiAlgorithms.Cost(model, shape, chosen), ceilings);
    }
}
