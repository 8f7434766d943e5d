namespace MemoryLab.Cli.Bench;

/// <summary>Times PyTorch variants through <see cref="TorchPeer"/> (benchmarks/peers/memlab_peers.py under /usr/bin/python3),
/// one process per variant.</summary>
internal sealed class TorchPeerTimer : IPeerTimer
{
    private readonly Lazy<TorchPeer?> _peer = new(() => TorchPeer.Unavailable is null ? TorchPeer.CreateDefault() : null);

    /// <inheritdoc/>
    public string? UnavailableReason => TorchPeer.Unavailable;

    /// <inheritdoc/>
    public PeerTiming Time(string model, string variant, BenchShape shape, int threads, int warmup, int steps)
    {
        var peer = _peer.Value ?? throw new TorchPeerException(UnavailableReason ?? "the PyTorch peer is unavailable");
        var request = new PeerTimingRequest(model, variant, shape.Batch, shape.Time, shape.Hidden, shape.InputSize, shape.OutputSize,
            DModel: shape.Hidden, Blocks: Math.Max(shape.Blocks, 1), Threads: threads, Warmup: warmup, Steps: steps);
        return peer.Time(request);
    }
}
