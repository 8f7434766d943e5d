namespace MemoryLab.Numerics;

/// <summary>An <see cref="IChunkBody"/> around a delegate, created once and reused so parallel calls allocate nothing.</summary>
public sealed class ChunkAction(Action<int> body) : IChunkBody
{
    /// <inheritdoc />
    public void Execute(int chunk) => body(chunk);
}
