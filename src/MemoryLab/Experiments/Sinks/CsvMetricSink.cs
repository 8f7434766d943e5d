using System.Text;

namespace MemoryLab.Experiments;

/// <summary>
/// Metrics as CSV: a <c>step</c> column, then one column per metric in the order they first appear; one row per
/// logged step (several <see cref="Log"/> calls for the same step fill one row). A metric that first appears
/// late adds a column: the file is rewritten once with empty cells above. Non-finite values are written
/// <c>NaN</c>/<c>Infinity</c>/<c>-Infinity</c>; a metric not logged at a step is an empty cell.
/// </summary>
public sealed class CsvMetricSink : IMetricSink
{
    private readonly string _path;
    private StreamWriter _writer;
    private readonly List<string> _columns = new();
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private double[] _row = Array.Empty<double>();
    private bool[] _has = Array.Empty<bool>();
    private long _rowStep = long.MinValue;
    private bool _pending;
    private readonly StringBuilder _line = new();

    /// <summary>Creates (or truncates) the CSV file at <paramref name="path"/>.</summary>
    public CsvMetricSink(string path) : this(path, append: false) { }

    /// <summary>Creates the CSV file at <paramref name="path"/>, or with <paramref name="append"/> continues an existing one
    /// (its header gives the columns): a resumed run adds its rows after those of the checkpoint it resumed from.</summary>
    public CsvMetricSink(string path, bool append)
    {
        _path = path;
        string? header = append && File.Exists(path) ? File.ReadLines(path).FirstOrDefault() : null;
        if (header is null)
        {
            _writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
            _writer.Write("step\n");
            return;
        }
        foreach (string name in header.Split(',').Skip(1))
        {
            _index[name] = _columns.Count;
            _columns.Add(name);
        }
        _row = new double[_columns.Count];
        _has = new bool[_columns.Count];
        _writer = new StreamWriter(path, append: true, new UTF8Encoding(false));
    }

    /// <inheritdoc/>
    public void Log(long step, ReadOnlySpan<MetricValue> values)
    {
        if (_pending && step != _rowStep) WriteRow();
        _rowStep = step;
        _pending = true;
        foreach (var v in values)
        {
            if (!_index.TryGetValue(v.Name, out int c)) c = AddColumn(v.Name);
            _row[c] = v.Value;
            _has[c] = true;
        }
    }

    private int AddColumn(string name)
    {
        if (name.Contains(',') || name.Contains('"') || name.Contains('\n'))
            throw new ArgumentException($"metric name '{name}' cannot be a CSV column (no commas, quotes or newlines)", nameof(name));
        int c = _columns.Count;
        _columns.Add(name);
        _index[name] = c;
        Array.Resize(ref _row, c + 1);
        Array.Resize(ref _has, c + 1);
        // Rows already written lack this column: rewrite the file with a new header and an empty cell each.
        _writer.Dispose();
        var lines = File.ReadAllLines(_path);
        using (var w = new StreamWriter(_path, append: false, new UTF8Encoding(false)))
        {
            w.Write("step," + string.Join(",", _columns) + "\n");
            for (int i = 1; i < lines.Length; i++) w.Write(lines[i] + ",\n");
        }
        _writer = new StreamWriter(_path, append: true, new UTF8Encoding(false));
        return c;
    }

    private void WriteRow()
    {
        _line.Clear();
        _line.Append(_rowStep);
        for (int c = 0; c < _columns.Count; c++)
        {
            _line.Append(',');
            if (_has[c]) _line.Append(MetricFormat.Number(_row[c]));
            _has[c] = false;
        }
        _line.Append('\n');
        _writer.Write(_line);
        _pending = false;
    }

    /// <inheritdoc/>
    public void Flush()
    {
        if (_pending) WriteRow();
        _writer.Flush();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Flush();
        _writer.Dispose();
    }
}
