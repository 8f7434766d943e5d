using System.Globalization;
using System.Text;
using MemoryLab.Experiments;

namespace MemoryLab.Reproductions;

/// <summary>One row of a <see cref="DataTable"/>, read by column name.</summary>
public readonly struct DataRow
{
    private readonly DataTable _table;
    private readonly double[] _values;

    internal DataRow(DataTable table, double[] values)
    {
        _table = table;
        _values = values;
    }

    /// <summary>The value in column <paramref name="column"/>; throws <see cref="KeyNotFoundException"/> listing the columns.</summary>
    public double this[string column] => _values[_table.IndexOf(column)];
}

/// <summary>A small numeric table written as CSV (invariant culture, round-trip precision), for a run's data files.
/// Rows are written in the column order given at construction and read back by column name.</summary>
public sealed class DataTable
{
    private readonly List<double[]> _rows = new();
    private readonly Dictionary<string, int> _index;

    /// <summary>A table with these columns (names unique).</summary>
    public DataTable(params string[] columns)
    {
        if (columns.Length == 0) throw new ArgumentException("a table needs at least one column");
        Columns = columns;
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < columns.Length; i++)
            if (!_index.TryAdd(columns[i], i)) throw new ArgumentException($"column '{columns[i]}' appears twice");
    }

    /// <summary>Column names.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Rows, each read by column name.</summary>
    public IReadOnlyList<DataRow> Rows => _rows.Select(r => new DataRow(this, r)).ToArray();

    internal int IndexOf(string column) => _index.TryGetValue(column, out int i) ? i
        : throw new KeyNotFoundException($"no column '{column}'; columns: {string.Join(", ", Columns)}");

    /// <summary>Appends a row: one value per column, in the order of <see cref="Columns"/>.</summary>
    public DataTable Add(params double[] row)
    {
        if (row.Length != Columns.Count) throw new ArgumentException($"row has {row.Length} values, the table {Columns.Count} columns");
        _rows.Add(row);
        return this;
    }

    /// <summary>The values of one column.</summary>
    public double[] Column(string name)
    {
        int i = IndexOf(name);
        return _rows.Select(r => r[i]).ToArray();
    }

    /// <summary>Rows where column <paramref name="name"/> equals <paramref name="value"/> (NaN matches NaN).</summary>
    public DataTable Where(string name, double value)
    {
        int i = IndexOf(name);
        var t = new DataTable([.. Columns]);
        foreach (var r in _rows) if (r[i] == value || (double.IsNaN(value) && double.IsNaN(r[i]))) t.Add(r);
        return t;
    }

    /// <summary>Rows for which <paramref name="keep"/> holds.</summary>
    public DataTable Where(Func<DataRow, bool> keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        var t = new DataTable([.. Columns]);
        foreach (var r in _rows) if (keep(new DataRow(this, r))) t.Add(r);
        return t;
    }

    /// <summary>Writes the table atomically as CSV.</summary>
    public void Save(string path)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(",", Columns));
        foreach (var r in _rows) sb.AppendLine(string.Join(",", r.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>Reads a table written by <see cref="Save"/>.</summary>
    public static DataTable Load(string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) throw new InvalidDataException($"{path}: empty table");
        var t = new DataTable(lines[0].Split(','));
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var cells = lines[i].Split(',');
            if (cells.Length != t.Columns.Count) throw new InvalidDataException($"{path}:{i + 1}: expected {t.Columns.Count} values, found {cells.Length}");
            t.Add(cells.Select(c => double.Parse(c, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray());
        }
        return t;
    }
}
