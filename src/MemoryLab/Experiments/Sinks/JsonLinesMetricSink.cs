using System.Text;

namespace MemoryLab.Experiments;

/// <summary>
/// Metrics as JSON lines: one object per <see cref="Log(long, ReadOnlySpan{MetricValue})"/> call,
/// <c>{"step": 10, "wall_time": 1718000000.123, "loss": 0.25}</c>. <c>wall_time</c> is the Unix time (seconds) when the
/// row was logged. A non-finite value (NaN, ±∞: a diverging run's last row) is written as <c>null</c>, so every line is
/// strict JSON and pandas/numpy read the column as floats (null → NaN); metrics.csv keeps which non-finite value it was.
/// </summary>
public sealed class JsonLinesMetricSink : IMetricSink
{
    private readonly StreamWriter _writer;
    private readonly StringBuilder _line = new();

    /// <summary>Creates (or truncates) the file at <paramref name="path"/>.</summary>
    public JsonLinesMetricSink(string path) : this(path, append: false) { }

    /// <summary>Creates the file at <paramref name="path"/>, or with <paramref name="append"/> adds lines to an existing one.</summary>
    public JsonLinesMetricSink(string path, bool append) => _writer = new StreamWriter(path, append, new UTF8Encoding(false));

    /// <inheritdoc/>
    public void Log(long step, ReadOnlySpan<MetricValue> values) => Log(step, values, MetricFormat.WallTime());

    /// <summary>Writes the row of <paramref name="step"/> with <paramref name="wallTime"/> (Unix seconds) as its wall time: the
    /// time it was logged at, when another thread writes it later.</summary>
    public void Log(long step, ReadOnlySpan<MetricValue> values, double wallTime)
    {
        _line.Clear();
        _line.Append("{\"step\":").Append(step).Append(",\"wall_time\":").Append(MetricFormat.Number(wallTime));
        foreach (var v in values)
        {
            _line.Append(',');
            MetricFormat.AppendJsonString(_line, v.Name);
            _line.Append(':');
            if (double.IsFinite(v.Value)) _line.Append(MetricFormat.Number(v.Value));
            else _line.Append("null");
        }
        _line.Append("}\n");
        _writer.Write(_line);
    }

    /// <inheritdoc/>
    public void Flush() => _writer.Flush();

    /// <inheritdoc/>
    public void Dispose() => _writer.Dispose();
}
