namespace MemoryLab.Experiments;

/// <summary>One named scalar metric (e.g. <c>loss</c>, <c>lr</c>, <c>grad_norm</c>).</summary>
/// <param name="Name">Metric name; <c>/</c> groups them in TensorBoard (<c>train/loss</c>).</param>
/// <param name="Value">The value.</param>
public readonly record struct MetricValue(string Name, double Value);

/// <summary>
/// Where a run streams its scalar metrics: CSV, JSON lines, TensorBoard event files, or several at once
/// (<see cref="CompositeMetricSink"/>). Files are plain formats a Python user can read (DESIGN.md).
/// A sink is used from one thread at a time (one per run).
/// </summary>
public interface IMetricSink : IDisposable
{
    /// <summary>Records <paramref name="values"/> at training step <paramref name="step"/>.</summary>
    void Log(long step, ReadOnlySpan<MetricValue> values);

    /// <summary>Pushes buffered records to the underlying file.</summary>
    void Flush();
}

/// <summary>Helpers for <see cref="IMetricSink"/>.</summary>
public static class MetricSinkExtensions
{
    /// <summary>Records one scalar at <paramref name="step"/> (no allocation).</summary>
    public static void Log(this IMetricSink sink, long step, string name, double value)
    {
        var v = new MetricValue(name, value);
        sink.Log(step, new ReadOnlySpan<MetricValue>(in v));
    }
}

/// <summary>A sink whose records carry the wall time they were logged at (JSON lines, TensorBoard), which a writer on another
/// thread passes on as it was at <see cref="IMetricSink.Log"/>.</summary>
internal interface IWallTimedMetricSink : IMetricSink
{
    /// <summary>Records <paramref name="values"/> at training step <paramref name="step"/>, logged at <paramref name="wallTime"/>
    /// (Unix seconds, <see cref="MetricFormat.WallTime"/>).</summary>
    void Log(long step, ReadOnlySpan<MetricValue> values, double wallTime);
}

/// <summary>Sends every record to several sinks, in order.</summary>
public sealed class CompositeMetricSink : IMetricSink
{
    private readonly IMetricSink[] _sinks;

    /// <summary>A sink that fans out to <paramref name="sinks"/> (it owns and disposes them).</summary>
    public CompositeMetricSink(params IMetricSink[] sinks) => _sinks = sinks;

    /// <inheritdoc/>
    public void Log(long step, ReadOnlySpan<MetricValue> values)
    {
        foreach (var s in _sinks) s.Log(step, values);
    }

    /// <inheritdoc/>
    public void Flush()
    {
        foreach (var s in _sinks) s.Flush();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var s in _sinks) s.Dispose();
    }
}

/// <summary>A sink that keeps nothing (for runs whose metrics nobody wants, e.g. validation dry runs).</summary>
public sealed class NullMetricSink : IMetricSink
{
    /// <summary>The shared instance.</summary>
    public static NullMetricSink Instance { get; } = new();

    /// <inheritdoc/>
    public void Log(long step, ReadOnlySpan<MetricValue> values) { }

    /// <inheritdoc/>
    public void Flush() { }

    /// <inheritdoc/>
    public void Dispose() { }
}

/// <summary>Number formatting shared by the text sinks: shortest round-trip, invariant culture, and non-finite
/// values as <c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c> (what Python's <c>float()</c> and pandas read).</summary>
internal static class MetricFormat
{
    /// <summary>Now, in Unix seconds to the millisecond: the wall time of a record.</summary>
    public static double WallTime() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    public static string Number(double x) =>
        double.IsNaN(x) ? "NaN" : double.IsPositiveInfinity(x) ? "Infinity" : double.IsNegativeInfinity(x) ? "-Infinity"
        : x.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    public static void AppendJsonString(System.Text.StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            if (c == '"' || c == '\\') sb.Append('\\').Append(c);
            else if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        sb.Append('"');
    }
}
