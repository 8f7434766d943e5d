namespace MemoryLab.Reproductions;

/// <summary>
/// What a published copy of a reproduction's results keeps of each run's folder, beyond the run's summary (which goes into the
/// per-run table, <c>runs.csv</c>): <c>memlab publish</c> (<see cref="Publication"/>). By default every data file a run wrote
/// (its CSV and JSON files), whole; never the store's own bulky per-step files (<c>metrics.jsonl</c>, TensorBoard events,
/// checkpoints), and <c>metrics.csv</c> only as the <see cref="Curves"/> the report reads.
/// </summary>
/// <param name="Curves">Columns of <c>metrics.csv</c> the report step reads, kept (with <c>step</c>) for the runs of the selected grid points
/// (all runs when the sweep has no selection rule).</param>
/// <param name="Thinned">Data files the report only draws (no claim reads them), thinned to keep the published folder small.</param>
public sealed record PublishedData(IReadOnlyList<string> Curves, IReadOnlyList<Thinning> Thinned)
{
    /// <summary>Every data file whole; no curves.</summary>
    public static PublishedData Default { get; } = new([], []);
}

/// <summary>
/// How a data file (a <see cref="DataTable"/>) is thinned for publishing: within each group of rows that agree on <see cref="GroupBy"/>,
/// each column of <see cref="Along"/> keeps every k-th of its distinct values (sorted) and the last, k the smallest stride leaving at most
/// <see cref="MaxPoints"/>; a row is kept when every one of its <see cref="Along"/> values is. A grid stays a grid (coarser), a curve
/// keeps its ends.
/// </summary>
/// <param name="File">The file's name in the run folder, e.g. <c>image.csv</c>.</param>
/// <param name="GroupBy">Columns that tell the curves or images apart (e.g. <c>rho</c>).</param>
/// <param name="Along">The columns along which points are dropped (e.g. <c>x</c>, <c>y</c> of an image; <c>step</c> of a curve).</param>
/// <param name="MaxPoints">Most values kept per column of <see cref="Along"/> (≥ 2) in each group.</param>
public sealed record Thinning(string File, IReadOnlyList<string> GroupBy, IReadOnlyList<string> Along, int MaxPoints)
{
    /// <summary>The stride for <paramref name="n"/> values: 1 when they fit; else the smallest stride leaving at most <see cref="MaxPoints"/>
    /// values, or a slightly larger one that divides n − 1 (up to 1.5 times as large), so that an evenly spaced grid stays evenly spaced
    /// with its last value (a heatmap over an even grid is drawn as one image).</summary>
    public int Stride(int n)
    {
        if (n <= MaxPoints) return 1;
        int least = (n + MaxPoints - 2) / (MaxPoints - 1);
        for (int k = least; k <= least + least / 2; k++)
            if ((n - 1) % k == 0) return k;
        return least;
    }

    /// <summary>The rows of <paramref name="table"/> this thinning keeps, in their order.</summary>
    public DataTable Apply(DataTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (MaxPoints < 2) throw new ArgumentException($"{File}: MaxPoints must be ≥ 2 (got {MaxPoints})");
        var rows = table.Rows;
        string Key(DataRow r) => string.Join("\u0001", GroupBy.Select(c => r[c].ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        // Per group and per Along column, the values kept.
        var kept = new Dictionary<string, HashSet<double>[]>(StringComparer.Ordinal);
        foreach (var group in rows.GroupBy(Key, StringComparer.Ordinal))
        {
            var sets = new HashSet<double>[Along.Count];
            for (int a = 0; a < Along.Count; a++)
            {
                var values = group.Select(r => r[Along[a]]).Distinct().Order().ToArray();
                int stride = Stride(values.Length);
                sets[a] = values.Where((_, i) => i % stride == 0 || i == values.Length - 1).ToHashSet();
            }
            kept[group.Key] = sets;
        }
        return table.Where(r =>
        {
            var sets = kept[Key(r)];
            for (int a = 0; a < Along.Count; a++)
                if (!sets[a].Contains(r[Along[a]])) return false;
            return true;
        });
    }
}
