using System.Text;

namespace MemoryLab.Reporting.Charts;

/// <summary>Vertical placement of a run of math text.</summary>
internal enum ScriptShift
{
    /// <summary>On the baseline.</summary>
    Normal,
    /// <summary>Subscript (smaller, lowered).</summary>
    Subscript,
    /// <summary>Superscript (smaller, raised).</summary>
    Superscript,
}

/// <summary>One run of math text: characters sharing a vertical placement.</summary>
/// <param name="Text">The characters (markup already resolved).</param>
/// <param name="Shift">Baseline, subscript or superscript.</param>
internal readonly record struct MathRun(string Text, ScriptShift Shift);

/// <summary>
/// A small TeX-like markup for figure text: <c>_x</c> / <c>_{…}</c> subscripts, <c>^x</c> / <c>^{…}</c>
/// superscripts, and TeX names for Greek letters and a few symbols (<c>\lambda</c> → λ, <c>\nu</c> → ν,
/// <c>\rho</c>, <c>\theta</c>, <c>\omega</c>, <c>\tau</c>, <c>\infty</c>, <c>\pm</c>, <c>\times</c>, <c>\prime</c> …).
/// Unicode Greek can be written directly. Inside scripts a hyphen becomes a true minus sign (10^{-3}).
/// <c>\_</c>, <c>\^</c>, <c>\{</c>, <c>\}</c> and <c>\\</c> give the literal characters. Examples:
/// <c>ν_0</c> (ν₀), <c>\tau_0'</c> (τ₀′), <c>E[(dh/d\lambda)^2]</c>, <c>10^{-3}</c>.
/// </summary>
internal sealed class MathText
{
    /// <summary>Script font size relative to the surrounding text.</summary>
    public const double ScriptScale = 0.72;

    /// <summary>Superscript raise, in units of the base font size.</summary>
    public const double SuperscriptRaise = 0.38;

    /// <summary>Subscript drop, in units of the base font size.</summary>
    public const double SubscriptDrop = 0.24;

    private static readonly Dictionary<string, string> Names = new(StringComparer.Ordinal)
    {
        ["alpha"] = "α", ["beta"] = "β", ["gamma"] = "γ", ["delta"] = "δ", ["epsilon"] = "ε", ["varepsilon"] = "ε",
        ["zeta"] = "ζ", ["eta"] = "η", ["theta"] = "θ", ["iota"] = "ι", ["kappa"] = "κ", ["lambda"] = "λ",
        ["mu"] = "μ", ["nu"] = "ν", ["xi"] = "ξ", ["pi"] = "π", ["rho"] = "ρ", ["sigma"] = "σ", ["tau"] = "τ",
        ["phi"] = "φ", ["varphi"] = "φ", ["chi"] = "χ", ["psi"] = "ψ", ["omega"] = "ω",
        ["Gamma"] = "Γ", ["Delta"] = "Δ", ["Theta"] = "Θ", ["Lambda"] = "Λ", ["Xi"] = "Ξ", ["Pi"] = "Π",
        ["Sigma"] = "Σ", ["Phi"] = "Φ", ["Psi"] = "Ψ", ["Omega"] = "Ω",
        ["infty"] = "∞", ["pm"] = "±", ["times"] = "×", ["cdot"] = "·", ["leq"] = "≤", ["le"] = "≤", ["geq"] = "≥",
        ["ge"] = "≥", ["approx"] = "≈", ["neq"] = "≠", ["prime"] = "′", ["to"] = "→", ["sqrt"] = "√",
        ["partial"] = "∂", ["nabla"] = "∇", ["minus"] = "−", ["ell"] = "ℓ", ["sim"] = "∼",
    };

    private MathText(IReadOnlyList<MathRun> runs) => Runs = runs;

    /// <summary>The runs, in reading order; adjacent runs have different shifts.</summary>
    public IReadOnlyList<MathRun> Runs { get; }

    /// <summary>The text without markup (scripts inline), e.g. for SVG &lt;title&gt; and accessibility.</summary>
    public string PlainText => string.Concat(Runs.Select(r => r.Text));

    /// <summary>True when some run is a sub- or superscript.</summary>
    public bool HasScripts => Runs.Any(r => r.Shift != ScriptShift.Normal);

    /// <summary>Parses markup (see the type's summary). Unbalanced braces throw <see cref="ArgumentException"/>.</summary>
    public static MathText Parse(string markup)
    {
        ArgumentNullException.ThrowIfNull(markup);
        var runs = new List<MathRun>();
        var current = new StringBuilder();
        var shift = ScriptShift.Normal;

        void Emit(string text, ScriptShift s)
        {
            if (text.Length == 0) return;
            if (s != shift) { Flush(); shift = s; }
            current.Append(text);
        }
        void Flush()
        {
            if (current.Length > 0) runs.Add(new MathRun(current.ToString(), shift));
            current.Clear();
        }

        int i = 0;
        while (i < markup.Length)
        {
            char c = markup[i];
            if (c == '\\')
            {
                Emit(ReadEscape(markup, ref i), ScriptShift.Normal);
            }
            else if (c == '_' || c == '^')
            {
                var s = c == '_' ? ScriptShift.Subscript : ScriptShift.Superscript;
                i++;
                if (i >= markup.Length) throw new ArgumentException($"'{c}' at the end of \"{markup}\" has nothing to apply to", nameof(markup));
                string body;
                if (markup[i] == '{')
                {
                    int close = FindClose(markup, i);
                    body = ResolveScript(markup.Substring(i + 1, close - i - 1), markup);
                    i = close + 1;
                }
                else if (markup[i] == '\\')
                {
                    body = ReadEscape(markup, ref i);
                }
                else
                {
                    body = markup[i] == '-' ? "\u2212" : markup[i].ToString();
                    i++;
                }
                Emit(body, s);
            }
            else if (c == '{' || c == '}')
            {
                // Bare braces group nothing on the baseline; drop them as TeX does, but check balance.
                if (c == '{') FindClose(markup, i);
                else if (!HasOpen(markup, i)) throw new ArgumentException($"unbalanced '}}' at position {i} in \"{markup}\"", nameof(markup));
                i++;
            }
            else
            {
                Emit(c.ToString(), ScriptShift.Normal);
                i++;
            }
        }
        Flush();
        return new MathText(runs);
    }

    /// <summary>Estimated width in px at base font size <paramref name="fontSize"/> (scripts at <see cref="ScriptScale"/>).</summary>
    public double Width(double fontSize, FontFamily family = FontFamily.SansSerif, bool bold = false)
    {
        double w = 0;
        foreach (var r in Runs)
            w += TextMetrics.Width(r.Text, r.Shift == ScriptShift.Normal ? fontSize : fontSize * ScriptScale, family, bold);
        return w;
    }

    /// <summary>Estimated width in px of markup <paramref name="markup"/>.</summary>
    public static double MeasureWidth(string markup, double fontSize, FontFamily family = FontFamily.SansSerif, bool bold = false)
        => Parse(markup).Width(fontSize, family, bold);

    /// <summary>
    /// The SVG content of a &lt;text&gt; element: escaped text with &lt;tspan&gt;s for scripts. Shifts use
    /// <c>dy</c> (each script tspan moves the baseline and the next run moves it back), which every browser
    /// renders alike; <c>baseline-shift</c> is ignored by some (Firefox).
    /// </summary>
    public string ToSvgContent(double fontSize)
    {
        var sb = new StringBuilder();
        double offset = 0; // current baseline displacement (SVG y grows downwards)
        foreach (var r in Runs)
        {
            double target = r.Shift switch
            {
                ScriptShift.Superscript => -SuperscriptRaise * fontSize,
                ScriptShift.Subscript => SubscriptDrop * fontSize,
                _ => 0,
            };
            double dy = target - offset;
            offset = target;
            if (r.Shift == ScriptShift.Normal && dy == 0)
            {
                sb.Append(Svg.Escape(r.Text));
                continue;
            }
            sb.Append("<tspan");
            if (dy != 0) sb.Append(" dy=\"").Append(Svg.Num(dy)).Append('"');
            if (r.Shift != ScriptShift.Normal) sb.Append(" font-size=\"").Append(Svg.Num(fontSize * ScriptScale)).Append('"');
            sb.Append('>').Append(Svg.Escape(r.Text)).Append("</tspan>");
        }
        return sb.ToString();
    }

    /// <summary>HTML for the text (<c>&lt;sub&gt;</c>/<c>&lt;sup&gt;</c>), for captions and tables.</summary>
    public string ToHtml()
    {
        var sb = new StringBuilder();
        foreach (var r in Runs)
        {
            string t = Svg.Escape(r.Text);
            sb.Append(r.Shift switch
            {
                ScriptShift.Subscript => "<sub>" + t + "</sub>",
                ScriptShift.Superscript => "<sup>" + t + "</sup>",
                _ => t,
            });
        }
        return sb.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => PlainText;

    private static string ReadEscape(string s, ref int i)
    {
        // s[i] == '\\'
        i++;
        if (i >= s.Length) throw new ArgumentException($"'\\' at the end of \"{s}\" escapes nothing", nameof(s));
        char c = s[i];
        if (!char.IsLetter(c)) { i++; return c.ToString(); }
        int start = i;
        while (i < s.Length && char.IsLetter(s[i])) i++;
        string name = s[start..i];
        if (!Names.TryGetValue(name, out var symbol))
            throw new ArgumentException($"unknown name '\\{name}' in \"{s}\"; known: {string.Join(", ", Names.Keys)}", nameof(s));
        // Unlike TeX, a following space is kept: figure labels read "\lambda = 0.99" as "λ = 0.99".
        return symbol;
    }

    private static string ResolveScript(string body, string whole)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < body.Length)
        {
            char c = body[i];
            if (c == '\\') sb.Append(ReadEscape(body, ref i));
            else if (c == '-') { sb.Append('\u2212'); i++; }
            else if (c is '_' or '^' or '{' or '}')
                throw new ArgumentException($"nested scripts or braces are not supported in \"{whole}\"", nameof(whole));
            else { sb.Append(c); i++; }
        }
        return sb.ToString();
    }

    private static int FindClose(string s, int open)
    {
        int depth = 0;
        for (int j = open; j < s.Length; j++)
        {
            if (s[j] == '\\') { j++; continue; }
            if (s[j] == '{') depth++;
            else if (s[j] == '}' && --depth == 0) return j;
        }
        throw new ArgumentException($"unbalanced '{{' at position {open} in \"{s}\"", nameof(s));
    }

    private static bool HasOpen(string s, int close)
    {
        int depth = 0;
        for (int j = 0; j < close; j++)
        {
            if (s[j] == '\\') { j++; continue; }
            if (s[j] == '{') depth++;
            else if (s[j] == '}') depth--;
        }
        return depth > 0;
    }
}
