using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using MemoryLab.Reporting.Charts;

namespace MemoryLab.Tests.Reporting;

/// <summary>Parses rendered SVG back into geometry so tests check what a browser would draw.</summary>
internal static partial class SvgTestHelpers
{
    public static readonly XNamespace Ns = "http://www.w3.org/2000/svg";

    public static XDocument Parse(string svg) => XDocument.Parse(svg);

    public static IEnumerable<XElement> WithClass(this XDocument doc, string cls)
        => doc.Descendants().Where(e => ((string?)e.Attribute("class"))?.Split(' ').Contains(cls) == true);

    public static double D(this XElement e, string attr) => double.Parse((string)e.Attribute(attr)!, CultureInfo.InvariantCulture);

    public static PixelRect Rect(XElement e) => new(e.D("x"), e.D("y"), e.D("width"), e.D("height"));

    /// <summary>Subpaths of an absolute M/L/Z path.</summary>
    public static List<List<(double X, double Y)>> Subpaths(string d)
    {
        var result = new List<List<(double, double)>>();
        foreach (Match m in PathToken().Matches(d))
        {
            if (m.Groups[1].Value == "Z") continue;
            var p = (double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
            if (m.Groups[1].Value == "M") result.Add(new List<(double, double)>());
            result[^1].Add(p);
        }
        return result;
    }

    [GeneratedRegex(@"([MLZ])(?:(-?[0-9.]+),(-?[0-9.]+))?")]
    private static partial Regex PathToken();

    /// <summary>Does the segment come within the rectangle? Checked by dense sampling, independently of the renderer.</summary>
    public static bool SegmentTouches((double X, double Y) a, (double X, double Y) b, PixelRect r)
    {
        int n = (int)Math.Ceiling(Math.Sqrt((b.X - a.X) * (b.X - a.X) + (b.Y - a.Y) * (b.Y - a.Y)) * 4) + 1;
        for (int i = 0; i <= n; i++)
        {
            double t = i / (double)n;
            if (r.Contains(a.X + t * (b.X - a.X), a.Y + t * (b.Y - a.Y))) return true;
        }
        return false;
    }
}
