namespace MemoryLab.Reporting.Charts;

/// <summary>One contour line in data coordinates.</summary>
/// <param name="X">x of the vertices.</param>
/// <param name="Y">y of the vertices.</param>
/// <param name="Closed">True when the line is a loop (last vertex joins the first; not repeated).</param>
internal sealed record ContourLine(double[] X, double[] Y, bool Closed);

/// <summary>
/// Contour extraction by marching squares: each grid cell's corners are classed above/below the level,
/// crossings are placed on cell edges by linear interpolation, saddle cells are resolved by the cell-centre
/// average, and the pieces are joined into polylines through the shared edges (so joins are exact).
/// </summary>
internal static class Contours
{
    /// <summary>
    /// Lines where <c>Z[j, i] = f(x[i], y[j])</c> equals <paramref name="level"/>. Cells with a NaN corner are
    /// skipped (the line breaks there).
    /// </summary>
    public static IReadOnlyList<ContourLine> Extract(IReadOnlyList<double> x, IReadOnlyList<double> y, double[,] z, double level)
    {
        ArgumentNullException.ThrowIfNull(x); ArgumentNullException.ThrowIfNull(y); ArgumentNullException.ThrowIfNull(z);
        int nx = x.Count, ny = y.Count;
        if (z.GetLength(0) != ny || z.GetLength(1) != nx)
            throw new ArgumentException($"grid is [{z.GetLength(0)}, {z.GetLength(1)}] but y has {ny} and x has {nx} values (need Z[y index, x index])", nameof(z));
        if (!double.IsFinite(level)) throw new ArgumentException($"contour level must be finite, got {level}", nameof(level));
        if (nx < 2 || ny < 2) return [];

        // An edge id: horizontal edge (i,j)-(i+1,j) or vertical edge (i,j)-(i,j+1).
        long H(int i, int j) => ((long)j * (nx + 1) + i) * 2;
        long V(int i, int j) => ((long)j * (nx + 1) + i) * 2 + 1;

        var points = new Dictionary<long, (double X, double Y)>();
        var links = new Dictionary<long, List<long>>();
        (double, double) Cross(long id)
        {
            if (points.TryGetValue(id, out var p)) return p;
            bool vertical = (id & 1) == 1;
            long cell = id >> 1;
            int i = (int)(cell % (nx + 1)), j = (int)(cell / (nx + 1));
            double za = z[j, i], zb = vertical ? z[j + 1, i] : z[j, i + 1];
            double t = za == zb ? 0.5 : Math.Clamp((level - za) / (zb - za), 0, 1);
            p = vertical ? (x[i], y[j] + t * (y[j + 1] - y[j])) : (x[i] + t * (x[i + 1] - x[i]), y[j]);
            points[id] = p;
            return p;
        }
        void Link(long a, long b)
        {
            Cross(a); Cross(b);
            (links.TryGetValue(a, out var la) ? la : links[a] = new List<long>(2)).Add(b);
            (links.TryGetValue(b, out var lb) ? lb : links[b] = new List<long>(2)).Add(a);
        }

        for (int j = 0; j < ny - 1; j++)
            for (int i = 0; i < nx - 1; i++)
            {
                double z0 = z[j, i], z1 = z[j, i + 1], z2 = z[j + 1, i + 1], z3 = z[j + 1, i];
                if (double.IsNaN(z0) || double.IsNaN(z1) || double.IsNaN(z2) || double.IsNaN(z3)) continue;
                int c = (z0 > level ? 1 : 0) | (z1 > level ? 2 : 0) | (z2 > level ? 4 : 0) | (z3 > level ? 8 : 0);
                if (c == 0 || c == 15) continue;
                long bottom = H(i, j), right = V(i + 1, j), top = H(i, j + 1), left = V(i, j);
                switch (c)
                {
                    case 1: case 14: Link(left, bottom); break;
                    case 2: case 13: Link(bottom, right); break;
                    case 3: case 12: Link(left, right); break;
                    case 4: case 11: Link(right, top); break;
                    case 6: case 9: Link(bottom, top); break;
                    case 7: case 8: Link(left, top); break;
                    case 5: case 10:
                        {
                            // Saddle: corners 0 and 2 agree. If the centre agrees with them, their region joins across the cell.
                            bool centreAbove = 0.25 * (z0 + z1 + z2 + z3) > level;
                            bool corner0Above = (c & 1) != 0;
                            if (centreAbove == corner0Above) { Link(left, top); Link(bottom, right); }
                            else { Link(left, bottom); Link(right, top); }
                            break;
                        }
                }
            }

        // Walk chains: start at open ends (degree 1) first, then the remaining loops.
        var used = new HashSet<(long, long)>();
        bool Take(long a, long b) => used.Add(a < b ? (a, b) : (b, a));
        var lines = new List<ContourLine>();
        var starts = links.Where(kv => kv.Value.Count == 1).Select(kv => kv.Key).OrderBy(k => k).ToList();
        starts.AddRange(links.Keys.OrderBy(k => k));
        foreach (long start in starts)
        {
            foreach (long firstNext in links[start])
            {
                if (!Take(start, firstNext)) continue;
                var chain = new List<long> { start, firstNext };
                long cur = firstNext;
                bool closed = false;
                while (true)
                {
                    long next = -1;
                    foreach (long n in links[cur])
                        if (!used.Contains(cur < n ? (cur, n) : (n, cur))) { next = n; break; }
                    if (next < 0) break;
                    Take(cur, next);
                    if (next == start) { closed = true; break; }
                    chain.Add(next);
                    cur = next;
                }
                var xs = new double[chain.Count];
                var ys = new double[chain.Count];
                for (int k = 0; k < chain.Count; k++) (xs[k], ys[k]) = points[chain[k]];
                lines.Add(new ContourLine(xs, ys, closed));
            }
        }
        return lines;
    }

    /// <summary>About <paramref name="count"/> levels at nice (1-2-5) values strictly inside the finite range of <paramref name="z"/>.</summary>
    public static double[] NiceLevels(double[,] z, int count)
    {
        ArgumentNullException.ThrowIfNull(z);
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "need at least one level");
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (double v in z) if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (!(hi > lo)) return [];
        return TickGenerator.Linear(lo, hi, count + 2).Major.Select(t => t.Value).Where(v => v > lo && v < hi).ToArray();
    }

    /// <summary>
    /// Levels for values spanning decades (losses): the values m×10^k in [min, max] for the richest mantissa set
    /// among {1, 2, 5}, {1, 3}, {1} giving at most <paramref name="maxCount"/> levels, else every n-th decade.
    /// Round numbers read better on contour labels than evenly spaced logs.
    /// </summary>
    public static double[] LogLevels(double min, double max, int maxCount)
    {
        if (!(min > 0) || !(max > min) || !double.IsFinite(max)) throw new ArgumentException($"log levels need 0 < min < max, got [{min}, {max}]");
        if (maxCount < 2) throw new ArgumentOutOfRangeException(nameof(maxCount), maxCount, "need at least two levels");
        int kLo = (int)Math.Floor(Math.Log10(min)), kHi = (int)Math.Ceiling(Math.Log10(max));
        foreach (double[] mantissas in new[] { new double[] { 1, 2, 5 }, [1, 3], [1] })
        {
            var levels = new List<double>();
            for (int k = kLo; k <= kHi; k++)
                foreach (double m in mantissas)
                {
                    double v = m * TickGenerator.Pow10(k);
                    if (v >= min * (1 - 1e-12) && v <= max * (1 + 1e-12)) levels.Add(v);
                }
            if (levels.Count <= maxCount && levels.Count >= 2) return levels.ToArray();
            if (levels.Count < 2 && mantissas.Length == 3) return levels.Count == 1 ? [.. levels] : [min, max];
        }
        int stride = (int)Math.Ceiling((kHi - kLo + 1) / (double)maxCount);
        var decades = new List<double>();
        for (int k = kLo; k <= kHi; k++)
        {
            double v = TickGenerator.Pow10(k);
            if (((k % stride) + stride) % stride == 0 && v >= min && v <= max) decades.Add(v);
        }
        return decades.ToArray();
    }
}
