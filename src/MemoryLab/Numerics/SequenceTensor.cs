using System.Numerics;

namespace MemoryLab.Numerics;

/// <summary>A batch of sequences stored row-major as <c>[batch, time, features]</c> in one array:
/// element (b, t, f) is at <c>(b·Time + t)·Features + f</c>.</summary>
public sealed class SequenceTensor<T> where T : unmanaged, INumberBase<T>
{
    /// <summary>A zeroed tensor of the given shape.</summary>
    public SequenceTensor(int batch, int time, int features)
    {
        if (batch <= 0 || time <= 0 || features <= 0)
            throw new ArgumentException($"tensor shape must be positive, got [{batch}, {time}, {features}]");
        Batch = batch;
        Time = time;
        Features = features;
        Data = new T[checked(batch * time * features)];
    }

    /// <summary>Wraps existing storage (length must be batch·time·features).</summary>
    public SequenceTensor(T[] data, int batch, int time, int features)
    {
        if (data.Length != (long)batch * time * features)
            throw new ArgumentException($"data length {data.Length} does not match shape [{batch}, {time}, {features}]");
        Batch = batch;
        Time = time;
        Features = features;
        Data = data;
    }

    /// <summary>Number of sequences.</summary>
    public int Batch { get; }
    /// <summary>Steps per sequence.</summary>
    public int Time { get; }
    /// <summary>Features per step.</summary>
    public int Features { get; }
    /// <summary>The storage.</summary>
    public T[] Data { get; }

    /// <summary>Flat index of (b, t, f).</summary>
    public int Index(int b, int t, int f) => (b * Time + t) * Features + f;

    /// <summary>Element (b, t, f).</summary>
    public ref T this[int b, int t, int f] => ref Data[(b * Time + t) * Features + f];

    /// <summary>All steps of sequence <paramref name="b"/>, <c>[time, features]</c>.</summary>
    public Span<T> Sequence(int b) => Data.AsSpan(b * Time * Features, Time * Features);

    /// <summary>Sequences b0..b0+count−1.</summary>
    public Span<T> Sequences(int b0, int count) => Data.AsSpan(b0 * Time * Features, count * Time * Features);

    /// <summary>True when the shape equals (batch, time, features).</summary>
    public bool HasShape(int batch, int time, int features) => Batch == batch && Time == time && Features == features;

    /// <summary>Shape as text.</summary>
    public override string ToString() => $"SequenceTensor<{typeof(T).Name}>[{Batch}, {Time}, {Features}]";
}
