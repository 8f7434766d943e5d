using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Models;

/// <summary>The fixed partitions of row-wise layers: blocks of rows (batch·time) and blocks of features.
/// They depend on the shape alone, never on the thread count.</summary>
internal static class Partition
{
    /// <summary>Rows per chunk of a row-parallel pass.</summary>
    public const int RowsPerChunk = 256;

    /// <summary>Features per block of a feature-parallel pass (a reduction over rows per feature).</summary>
    public const int FeaturesPerBlock = 16;

    public static int RowChunks(int rows) => WorkerPool.ChunkCount(rows, RowsPerChunk);

    public static (int Start, int Count) RowChunk(int chunk, int rows)
    {
        int start = chunk * RowsPerChunk;
        return (start, Math.Min(RowsPerChunk, rows - start));
    }

    public static int FeatureBlocks(int features) => WorkerPool.ChunkCount(features, FeaturesPerBlock);

    public static (int Start, int Count) FeatureBlock(int block, int features)
    {
        int start = block * FeaturesPerBlock;
        return (start, Math.Min(FeaturesPerBlock, features - start));
    }

    /// <summary>Throws unless <paramref name="tensor"/> has shape [batch, time, features].</summary>
    public static void CheckShape<T>(SequenceTensor<T> tensor, int batch, int time, int features, string name, object layer) where T : unmanaged, INumberBase<T>
    {
        ArgumentNullException.ThrowIfNull(tensor, name);
        if (!tensor.HasShape(batch, time, features))
            throw new ArgumentException($"{layer.GetType().Name}: {name} is {tensor} but the layer was prepared for [{batch}, {time}, {features}]", name);
    }
}
