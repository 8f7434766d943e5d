namespace MemoryLab.Reporting.Charts;

/// <summary>An axis-aligned rectangle in SVG px (y grows downwards).</summary>
/// <param name="X">Left edge.</param>
/// <param name="Y">Top edge.</param>
/// <param name="Width">Width (≥ 0).</param>
/// <param name="Height">Height (≥ 0).</param>
internal readonly record struct PixelRect(double X, double Y, double Width, double Height)
{
    /// <summary>Right edge.</summary>
    public double Right => X + Width;
    /// <summary>Bottom edge.</summary>
    public double Bottom => Y + Height;

    /// <summary>True when the interiors overlap (touching edges do not count).</summary>
    public bool Intersects(PixelRect o) => X < o.Right && o.X < Right && Y < o.Bottom && o.Y < Bottom;

    /// <summary>True when the point lies inside or on the border.</summary>
    public bool Contains(double px, double py) => px >= X && px <= Right && py >= Y && py <= Bottom;

    /// <summary>The rectangle grown by <paramref name="d"/> on every side.</summary>
    public PixelRect Inflate(double d) => new(X - d, Y - d, Width + 2 * d, Height + 2 * d);
}

/// <summary>What a plot has drawn, in px, so a legend can be placed where it covers nothing.</summary>
internal sealed class DataGeometry
{
    private readonly List<(double X1, double Y1, double X2, double Y2)> _segments = new();
    private readonly List<(double X, double Y, double R)> _dots = new();
    private readonly List<double[]> _polygons = new(); // x0,y0,x1,y1,...
    private readonly List<PixelRect> _rects = new();

    public void Segment(double x1, double y1, double x2, double y2) => _segments.Add((x1, y1, x2, y2));
    public void Dot(double x, double y, double r) => _dots.Add((x, y, r));
    public void Polygon(double[] xy) { if (xy.Length >= 6) _polygons.Add(xy); }
    public void Rect(PixelRect r) => _rects.Add(r);

    public bool Intersects(PixelRect r)
    {
        foreach (var q in _rects) if (q.Intersects(r)) return true;
        foreach (var (x, y, rad) in _dots)
        {
            double cx = Math.Clamp(x, r.X, r.Right), cy = Math.Clamp(y, r.Y, r.Bottom);
            if ((cx - x) * (cx - x) + (cy - y) * (cy - y) <= rad * rad) return true;
        }
        foreach (var (x1, y1, x2, y2) in _segments) if (SegmentHitsRect(x1, y1, x2, y2, r)) return true;
        foreach (var p in _polygons)
        {
            int n = p.Length / 2;
            for (int i = 0; i < n; i++)
            {
                int j = (i + 1) % n;
                if (SegmentHitsRect(p[2 * i], p[2 * i + 1], p[2 * j], p[2 * j + 1], r)) return true;
            }
            if (PointInPolygon(p, r.X, r.Y) || PointInPolygon(p, r.Right, r.Y) || PointInPolygon(p, r.X, r.Bottom) || PointInPolygon(p, r.Right, r.Bottom))
                return true;
        }
        return false;
    }

    /// <summary>Liang–Barsky: does any part of the segment lie in the rectangle?</summary>
    internal static bool SegmentHitsRect(double x1, double y1, double x2, double y2, PixelRect r)
    {
        double dx = x2 - x1, dy = y2 - y1, t0 = 0, t1 = 1;
        bool Clip(double p, double q)
        {
            if (p == 0) return q >= 0;
            double t = q / p;
            if (p < 0) { if (t > t1) return false; if (t > t0) t0 = t; }
            else { if (t < t0) return false; if (t < t1) t1 = t; }
            return true;
        }
        return Clip(-dx, x1 - r.X) && Clip(dx, r.Right - x1) && Clip(-dy, y1 - r.Y) && Clip(dy, r.Bottom - y1) && t0 <= t1;
    }

    private static bool PointInPolygon(double[] p, double x, double y)
    {
        bool inside = false;
        int n = p.Length / 2;
        for (int i = 0, j = n - 1; i < n; j = i++)
        {
            double xi = p[2 * i], yi = p[2 * i + 1], xj = p[2 * j], yj = p[2 * j + 1];
            if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
        }
        return inside;
    }
}

/// <summary>Data → px mapping of one axis.</summary>
internal sealed class AxisMap
{
    public AxisMap(double min, double max, bool log, bool reversed, double p0, double p1)
    {
        Min = min; Max = max; Log = log; Reversed = reversed; P0 = p0; P1 = p1;
        _a = log ? Math.Log10(min) : min;
        _b = log ? Math.Log10(max) : max;
    }

    private readonly double _a, _b;
    public double Min { get; }
    public double Max { get; }
    public bool Log { get; }
    public bool Reversed { get; }
    /// <summary>Pixel of the low end (before reversal).</summary>
    public double P0 { get; }
    /// <summary>Pixel of the high end (before reversal).</summary>
    public double P1 { get; }

    public bool Valid(double v) => double.IsFinite(v) && (!Log || v > 0);

    public double ToPixel(double v)
    {
        double u = Log ? Math.Log10(v) : v;
        double t = (u - _a) / (_b - _a);
        if (Reversed) t = 1 - t;
        double p = P0 + t * (P1 - P0);
        return double.IsNaN(p) ? P0 : Math.Clamp(p, -1e5, 1e5); // far-off points stay writable; the clip hides them
    }
}
