namespace MemoryLab.Reporting.Charts;

/// <summary>Generic font families a figure may use: the browser picks the face, so text renders everywhere.</summary>
internal enum FontFamily
{
    /// <summary>CSS <c>sans-serif</c>.</summary>
    SansSerif,
    /// <summary>CSS <c>serif</c>.</summary>
    Serif,
}

/// <summary>
/// Estimated text widths for layout, from a per-character advance table. SVG has no text measurement
/// before rendering, so layout uses these estimates. The table holds DejaVu Sans advances (the widest of
/// the common faces a browser maps <c>sans-serif</c> to: Arial, Helvetica and Liberation Sans are narrower),
/// so an estimate errs towards too much room rather than clipped labels.
/// </summary>
internal static class TextMetrics
{
    // Advance widths in 1/2048 em for ASCII 0x20..0x7E (DejaVu Sans).
    private static readonly short[] Ascii =
    [
        651, 823, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690,   // space ! " # $ % & ' ( ) * + , - . /
        1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303,                              // 0-9
        690, 690, 1716, 1716, 1716, 1087, 2048,                                                  // : ; < = > ? @
        1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612,  // A-O
        1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403,                        // P-Z
        799, 690, 799, 1716, 1024, 1024,                                                         // [ \ ] ^ _ `
        1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995, 1298, 1253,    // a-o
        1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075,                          // p-z
        1303, 690, 1303, 1716,                                                                   // { | } ~
    ];

    /// <summary>Advance width of one character in em (font size 1).</summary>
    public static double CharWidth(char c)
    {
        if (c >= 0x20 && c <= 0x7E) return Ascii[c - 0x20] / 2048.0;
        return c switch
        {
            '\u2212' or '\u00D7' or '\u00B1' or '\u2264' or '\u2265' or '\u2248' or '\u2192' or '\u221A' or '\u2260' => 0.838,
            '\u221E' => 0.833,
            '\u2032' => 0.30,
            '\u2033' => 0.50,
            '\u00B7' or '\u22C5' => 0.32,
            '\u2013' => 0.50,
            '\u2014' => 1.0,
            '\u2026' => 1.0,
            '\u00B0' => 0.50,
            '\u2202' => 0.61,
            '\u2207' => 0.84,
            '\u03C9' => 0.83,              // ω
            '\u03BC' or '\u03C1' or '\u03C3' or '\u03C0' or '\u03B1' or '\u03B2' or '\u03C6' or '\u03C8' or '\u03C7' => 0.66,
            >= '\u03B1' and <= '\u03C9' => 0.62, // other lower-case Greek
            >= '\u0391' and <= '\u03A9' => 0.76, // upper-case Greek
            >= '\u2080' and <= '\u209C' => 0.45, // Unicode subscripts
            '\u00B9' or '\u00B2' or '\u00B3' or (>= '\u2070' and <= '\u207F') => 0.45,
            >= '\u00C0' and <= '\u017F' => 0.70, // accented Latin
            >= '\u2E80' => 1.0,                  // CJK and wider
            _ => 0.70,
        };
    }

    /// <summary>Estimated width in px of <paramref name="text"/> at <paramref name="fontSize"/> px.</summary>
    public static double Width(string text, double fontSize, FontFamily family = FontFamily.SansSerif, bool bold = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        double em = 0;
        foreach (char c in text) em += CharWidth(c);
        // DejaVu Serif runs ~3% wider than the sans face; bold ~8% wider.
        double factor = (family == FontFamily.Serif ? 1.03 : 1.0) * (bold ? 1.08 : 1.0);
        return em * fontSize * factor;
    }
}
