using System.Globalization;
using System.Text;

namespace MemoryLab.Reporting.Charts;

/// <summary>Small helpers for writing SVG and HTML text: escaping and compact invariant number formatting.</summary>
internal static class Svg
{
    /// <summary>Escapes <c>&amp; &lt; &gt; " '</c> for XML/HTML text and attribute values.</summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.AsSpan().IndexOfAny("&<>\"'") < 0) return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            sb.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => c.ToString(),
            });
        }
        return sb.ToString();
    }

    /// <summary>A coordinate with at most two decimals, invariant culture, no "-0".</summary>
    public static string Num(double v)
    {
        if (!double.IsFinite(v)) throw new ArgumentException($"non-finite coordinate {v} cannot be written to SVG", nameof(v));
        double r = Math.Round(v, 2);
        if (r == 0) return "0";
        return r.ToString("0.##", CultureInfo.InvariantCulture);
    }
}
