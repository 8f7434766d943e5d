using MemoryLab.Experiments;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MemoryLab.Reporting.Charts;

namespace MemoryLab.Reporting;

/// <summary>Paths of the files a <see cref="ReportWriter.Write(ReportDocument, string)"/> call produced.</summary>
/// <param name="Html">report.html.</param>
/// <param name="ClaimsMarkdown">claims.md.</param>
/// <param name="ClaimsJson">claims.json.</param>
/// <param name="Figures">One .svg per figure, in report order.</param>
public sealed record ReportFiles(string Html, string ClaimsMarkdown, string ClaimsJson, IReadOnlyList<string> Figures);

/// <summary>
/// Writes a <see cref="ReportDocument"/>: <c>report.html</c> (self-contained: inline SVG and CSS, no script,
/// no network), each figure as its own <c>.svg</c>, and the claim table as <c>claims.md</c> and <c>claims.json</c>.
/// Every file is written atomically (<see cref="AtomicFile"/>); figures first and report.html last, so a
/// report.html on disk always refers to complete figure files.
/// </summary>
public static class ReportWriter
{
    /// <summary>Writes the report into <paramref name="directory"/> (created if missing) and returns the file paths.</summary>
    public static ReportFiles Write(ReportDocument document, string directory) => Write(document, directory, "report.html", claimFiles: true);

    /// <summary>Writes the report into <paramref name="directory"/> as <paramref name="htmlName"/> (e.g. <c>diagnose.html</c>), with
    /// <c>claims.md</c> and <c>claims.json</c> only when <paramref name="claimFiles"/> is set.</summary>
    public static ReportFiles Write(ReportDocument document, string directory, string htmlName, bool claimFiles)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(htmlName);
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { htmlName, "claims.md", "claims.json" };
        foreach (var f in document.Sections.SelectMany(s => s.Figures))
            if (!names.Add(f.FileName)) throw new ArgumentException($"figure file name '{f.FileName}' is used twice (or clashes with a report file)", nameof(document));
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in document.Sections)
            if (!anchors.Add(s.Anchor)) throw new ArgumentException($"two sections have names that give the same anchor '{s.Anchor}' (e.g. '{s.Name}')", nameof(document));

        Directory.CreateDirectory(directory);
        var svgs = new List<(ReportFigure Figure, string Svg, IReadOnlyList<string> Warnings)>();
        var figurePaths = new List<string>();
        int n = 0;
        foreach (var f in document.Sections.SelectMany(s => s.Figures))
        {
            string svg = f.Figure.ToSvg("f" + (++n).ToString(CultureInfo.InvariantCulture));
            svgs.Add((f, svg, f.Figure.Warnings));
            string path = Path.Combine(directory, f.FileName);
            AtomicFile.WriteAllText(path, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg);
            figurePaths.Add(path);
        }
        string md = Path.Combine(directory, "claims.md"), json = Path.Combine(directory, "claims.json"), html = Path.Combine(directory, htmlName);
        if (claimFiles && document.HasClaims)
        {
            AtomicFile.WriteAllText(md, ClaimsMarkdown(document));
            AtomicFile.WriteAllText(json, ClaimsJson(document));
        }
        AtomicFile.WriteAllText(html, Html(document, svgs));
        return new ReportFiles(html, claimFiles && document.HasClaims ? md : "", claimFiles && document.HasClaims ? json : "", figurePaths);
    }

    /// <summary>Status as shown: a symbol as well as a colour, so it reads without colour vision.</summary>
    public static string StatusText(ClaimStatus s) => s switch
    {
        ClaimStatus.Holds => "✓ holds",
        ClaimStatus.Fails => "✗ fails",
        _ => "? inconclusive",
    };

    /// <summary>
    /// How a claim's <see cref="ClaimCheck.NotReproduced"/> note is headed: <c>Not reproduced</c>, or, for a claim that holds in
    /// this run, <c>Expected not to reproduce, but held in this run</c> (the note is never hidden, and never changes the status).
    /// </summary>
    public static string NotReproducedHeading(ClaimCheck c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return c.Status == ClaimStatus.Holds ? "Expected not to reproduce, but held in this run" : "Not reproduced";
    }

    /// <summary>How a claim's kind is shown: <c>paper</c> or <c>numerical check</c>.</summary>
    public static string KindText(ClaimKind k) => k == ClaimKind.Paper ? "paper" : "numerical check";

    /// <summary>The claim table as GitHub-flavoured Markdown.</summary>
    public static string ClaimsMarkdown(ReportDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var sb = new StringBuilder();
        sb.Append("# Claims — ").Append(Md(document.Title)).Append("\n\n");
        sb.Append("Generated ").Append(document.GeneratedAt.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture)).Append(". ");
        var all = document.AllClaims.ToList();
        sb.Append(Summary(all)).Append("\n\n");
        sb.Append("| Experiment | Claim | Kind | Source | Measured | Expected | Status |\n|---|---|---|---|---|---|---|\n");
        // A claim known not to reproduce keeps its measured status; the cell points to its numbered evidence below the table.
        var notReproduced = all.Where(c => !string.IsNullOrWhiteSpace(c.NotReproduced)).ToList();
        foreach (var c in all)
        {
            sb.Append("| ").Append(Md(c.Experiment)).Append(" | ").Append(Md(c.Claim)).Append(" | ").Append(KindText(c.Kind)).Append(" | ")
              .Append(Md(c.Source?.ToString() ?? "")).Append(" | ").Append(Md(c.MeasuredText)).Append(" | ")
              .Append(Md(c.Expected)).Append(" | ").Append(StatusText(c.Status));
            int note = notReproduced.FindIndex(n => ReferenceEquals(n, c));
            if (note >= 0)
                sb.Append(c.Status == ClaimStatus.Holds ? ", though expected not to reproduce" : ", not reproduced")
                  .Append(" (evidence ").Append(note + 1).Append(" below)");
            sb.Append(" |\n");
        }
        var detailed = all.Where(c => !string.IsNullOrWhiteSpace(c.Details)).ToList();
        if (detailed.Count > 0)
        {
            sb.Append("\n## Notes\n\n");
            foreach (var c in detailed) sb.Append("- **").Append(Md(c.Experiment)).Append("**, ").Append(Md(c.Claim)).Append(": ").Append(Md(c.Details!)).Append('\n');
        }
        if (notReproduced.Count > 0)
        {
            sb.Append("\n## Not reproduced\n\n")
              .Append("Claims that do not reproduce after the set-up was matched to the authors', with the evidence; the status in the table is still the measurement's.\n\n");
            for (int i = 0; i < notReproduced.Count; i++)
            {
                var c = notReproduced[i];
                sb.Append(i + 1).Append(". **").Append(Md(c.Experiment)).Append("**, ").Append(Md(c.Claim)).Append(" (").Append(StatusText(c.Status)).Append("). ")
                  .Append(NotReproducedHeading(c)).Append(": ").Append(Md(c.NotReproduced!)).Append('\n');
            }
        }
        return sb.ToString();
    }

    /// <summary>The claims as JSON: <c>{ title, generatedAt, counts, claims: [{ experiment, id, claim, kind, source: { paper, where, reading },
    /// measured, measuredText, expected, status, details, notReproduced }] }</c>; <c>kind</c> is <c>paper</c> or <c>numerical-check</c>;
    /// <c>notReproduced</c> is the spec's evidence that the claim does not reproduce (it never changes <c>status</c>); NaN/∞ measured
    /// values, the id and source of an ad-hoc check, and absent details or evidence, are null.</summary>
    public static string ClaimsJson(ReportDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            var all = document.AllClaims.ToList();
            w.WriteStartObject();
            w.WriteString("title", document.Title);
            w.WriteString("generatedAt", document.GeneratedAt);
            w.WriteStartObject("counts");
            w.WriteNumber("holds", all.Count(c => c.Status == ClaimStatus.Holds));
            w.WriteNumber("fails", all.Count(c => c.Status == ClaimStatus.Fails));
            w.WriteNumber("inconclusive", all.Count(c => c.Status == ClaimStatus.Inconclusive));
            w.WriteEndObject();
            w.WriteStartArray("claims");
            foreach (var c in all)
            {
                w.WriteStartObject();
                w.WriteString("experiment", c.Experiment);
                if (c.Id is null) w.WriteNull("id"); else w.WriteString("id", c.Id);
                w.WriteString("claim", c.Claim);
                w.WriteString("kind", c.Kind == ClaimKind.Paper ? "paper" : "numerical-check");
                if (c.Source is null) w.WriteNull("source");
                else
                {
                    w.WriteStartObject("source");
                    w.WriteString("paper", c.Source.Paper);
                    w.WriteString("where", c.Source.Where);
                    w.WriteString("reading", c.Source.Reading);
                    w.WriteEndObject();
                }
                if (double.IsFinite(c.Measured)) w.WriteNumber("measured", c.Measured); else w.WriteNull("measured");
                w.WriteString("measuredText", c.MeasuredText);
                w.WriteString("expected", c.Expected);
                w.WriteString("status", c.Status.ToString().ToLowerInvariant());
                if (c.Details is null) w.WriteNull("details"); else w.WriteString("details", c.Details);
                if (c.NotReproduced is null) w.WriteNull("notReproduced"); else w.WriteString("notReproduced", c.NotReproduced);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    private static string Summary(List<ClaimCheck> all)
        => $"{all.Count(c => c.Status == ClaimStatus.Holds)} of {all.Count} claims hold, {all.Count(c => c.Status == ClaimStatus.Fails)} fail, {all.Count(c => c.Status == ClaimStatus.Inconclusive)} inconclusive.";

    private static string Md(string s) => s.Replace("\\", "\\\\").Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ");

    private static string H(string s) => Svg.Escape(s);

    private const string Css = """
        :root { color-scheme: light; }
        body { font-family: sans-serif; font-size: 15px; line-height: 1.5; color: #1a1a1a; background: #ffffff; margin: 0; }
        main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 64px; }
        h1 { font-size: 26px; margin: 8px 0 4px; }
        h2 { font-size: 21px; margin: 40px 0 8px; padding-top: 8px; border-top: 1px solid #dddddd; }
        h3 { font-size: 16px; margin: 20px 0 6px; }
        .meta { color: #555555; margin: 0 0 16px; }
        a { color: #0b5cad; }
        table.claims { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 14px; }
        table.claims th, table.claims td { border: 1px solid #d0d0d0; padding: 5px 8px; text-align: left; vertical-align: top; }
        table.claims th { background: #f3f3f3; }
        td.status { white-space: nowrap; font-weight: bold; }
        tr.holds td.status { background: #d9f2e6; color: #05603a; }
        tr.fails td.status { background: #fbdada; color: #8a1c1c; }
        tr.inconclusive td.status { background: #fff1c9; color: #6b4f00; }
        td.num { font-variant-numeric: tabular-nums; }
        small.not-reproduced { display: block; margin-top: 4px; padding: 2px 6px; border-left: 3px solid #8a1c1c; background: #fdf3f3; }
        table.results caption { caption-side: top; text-align: left; font-size: 14px; color: #333333; padding-bottom: 4px; }
        table.results tr.selected td { background: #e3f1e3; font-weight: 600; }
        nav ol { margin: 4px 0; padding-left: 22px; }
        figure { margin: 20px 0 28px; }
        figure svg { width: 100%; height: auto; display: block; }
        figcaption { font-size: 14px; color: #333333; margin-top: 6px; max-width: 900px; }
        .warnings { font-size: 13px; color: #8a4b00; background: #fff7e6; border-left: 3px solid #e69f00; padding: 4px 10px; margin-top: 6px; }
        .warnings ul { margin: 2px 0; padding-left: 18px; }
        .description p { margin: 6px 0; max-width: 900px; }
        @media print { h2 { break-before: page; } figure { break-inside: avoid; } }
        """;

    private static string Html(ReportDocument doc, List<(ReportFigure Figure, string Svg, IReadOnlyList<string> Warnings)> svgs)
    {
        var all = doc.AllClaims.ToList();
        var sectionOf = new Dictionary<ClaimCheck, ReportSection>(ReferenceEqualityComparer.Instance);
        foreach (var s in doc.Sections) foreach (var c in s.Claims) sectionOf[c] = s;
        var svgOf = new Dictionary<ReportFigure, (ReportFigure Figure, string Svg, IReadOnlyList<string> Warnings)>(ReferenceEqualityComparer.Instance);
        foreach (var x in svgs) svgOf[x.Figure] = x;
        var figureNumber = new Dictionary<ReportFigure, int>(ReferenceEqualityComparer.Instance);
        int k = 0;
        foreach (var f in doc.Sections.SelectMany(s => s.Figures)) figureNumber[f] = ++k;

        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        sb.Append("<title>").Append(H(doc.Title)).Append("</title>\n<style>\n").Append(Css).Append("\n</style>\n</head>\n<body>\n<main>\n");
        sb.Append("<h1>").Append(H(doc.Title)).Append("</h1>\n");
        sb.Append("<p class=\"meta\">Generated ").Append(H(doc.GeneratedAt.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture)))
          .Append(" · ").Append(doc.Sections.Count).Append(doc.HasClaims ? " experiment(s) · " + H(Summary(all)) : " section(s)").Append("</p>\n");
        if (!string.IsNullOrWhiteSpace(doc.Introduction)) AppendParagraphs(sb, doc.Introduction!, "description");

        sb.Append("<section id=\"summary\">\n");
        if (doc.HasClaims)
        {
            sb.Append("<h2>Claims</h2>\n");
            AppendClaimTable(sb, all, c => sectionOf.TryGetValue(c, out var s) ? s : null, "summary-claims");
        }
        sb.Append("<h3>Contents</h3>\n<nav><ol>\n");
        foreach (var s in doc.Sections)
        {
            sb.Append("<li><a href=\"#").Append(s.Anchor).Append("\">").Append(H(s.Name)).Append("</a>");
            if (s.Figures.Count > 0)
            {
                sb.Append(" — ");
                sb.Append(string.Join(", ", s.Figures.Select(f => "<a href=\"#" + f.Anchor + "\">Figure " + figureNumber[f] + "</a>")));
            }
            sb.Append("</li>\n");
        }
        sb.Append("</ol></nav>\n</section>\n");

        foreach (var s in doc.Sections)
        {
            sb.Append("<section class=\"experiment\" id=\"").Append(s.Anchor).Append("\">\n<h2>").Append(H(s.Name)).Append("</h2>\n");
            if (!string.IsNullOrWhiteSpace(s.Description)) AppendParagraphs(sb, s.Description, "description");
            if (s.Claims.Count > 0) AppendClaimTable(sb, s.Claims, _ => null, "section-claims");
            foreach (var t in s.Tables) AppendTable(sb, t);
            foreach (var f in s.Figures)
            {
                var (_, svg, warnings) = svgOf[f];
                // Shown at 1.3× the drawn size (11 px tick labels read at ~14 px), never wider than the page.
                double shownWidth = 1.3 * double.Parse(System.Text.RegularExpressions.Regex.Match(svg, "width=\"([0-9.]+)\"").Groups[1].Value, CultureInfo.InvariantCulture);
                sb.Append("<figure id=\"").Append(f.Anchor).Append("\" style=\"width: min(100%, ").Append(Svg.Num(shownWidth)).Append("px)\">\n").Append(svg);
                sb.Append("<figcaption><b>Figure ").Append(figureNumber[f]).Append(".</b> ").Append(H(f.Caption))
                  .Append(" <a href=\"").Append(H(f.FileName)).Append("\">[SVG]</a></figcaption>\n");
                if (warnings.Count > 0)
                {
                    sb.Append("<div class=\"warnings\">Drawing notes:<ul>");
                    foreach (var w in warnings) sb.Append("<li>").Append(H(w)).Append("</li>");
                    sb.Append("</ul></div>\n");
                }
                sb.Append("</figure>\n");
            }
            sb.Append("</section>\n");
        }
        sb.Append("</main>\n</body>\n</html>\n");
        return sb.ToString();
    }

    private static void AppendTable(StringBuilder sb, ReportTable t)
    {
        sb.Append("<table class=\"results\">\n<caption>").Append(H(t.Caption)).Append("</caption>\n<thead><tr>");
        foreach (var h in t.Header) sb.Append("<th>").Append(H(h)).Append("</th>");
        sb.Append("</tr></thead>\n<tbody>\n");
        for (int i = 0; i < t.Rows.Count; i++)
        {
            sb.Append(t.Highlighted.Contains(i) ? "<tr class=\"selected\">" : "<tr>");
            foreach (var c in t.Rows[i]) sb.Append("<td class=\"num\">").Append(H(c)).Append("</td>");
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody>\n</table>\n");
    }

    private static void AppendParagraphs(StringBuilder sb, string text, string cls)
    {
        sb.Append("<div class=\"").Append(cls).Append("\">");
        foreach (var para in text.Replace("\r\n", "\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            sb.Append("<p>").Append(H(para)).Append("</p>");
        sb.Append("</div>\n");
    }

    private static void AppendClaimTable(StringBuilder sb, IReadOnlyList<ClaimCheck> claims, Func<ClaimCheck, ReportSection?> link, string cls)
    {
        if (claims.Count == 0) { sb.Append("<p class=\"meta\">No claims checked.</p>\n"); return; }
        sb.Append("<table class=\"claims ").Append(cls).Append("\">\n<thead><tr><th>Experiment</th><th>Claim</th><th>Kind</th><th>Measured</th><th>Expected</th><th>Status</th></tr></thead>\n<tbody>\n");
        foreach (var c in claims)
        {
            string status = c.Status.ToString().ToLowerInvariant();
            sb.Append("<tr class=\"").Append(status).Append("\"><td class=\"experiment\">");
            var s = link(c);
            if (s is not null) sb.Append("<a href=\"#").Append(s.Anchor).Append("\">").Append(H(c.Experiment)).Append("</a>");
            else sb.Append(H(c.Experiment));
            sb.Append("</td><td>").Append(H(c.Claim));
            if (c.Source is not null) sb.Append("<br><small class=\"source\">Source: ").Append(H(c.Source.ToString())).Append("</small>");
            if (!string.IsNullOrWhiteSpace(c.Details)) sb.Append("<br><small>").Append(H(c.Details!)).Append("</small>");
            if (!string.IsNullOrWhiteSpace(c.NotReproduced))
                sb.Append("<small class=\"not-reproduced\"><strong>").Append(H(NotReproducedHeading(c))).Append(":</strong> ").Append(H(c.NotReproduced!)).Append("</small>");
            sb.Append("</td><td class=\"kind\">").Append(H(KindText(c.Kind))).Append("</td><td class=\"num\">").Append(H(c.MeasuredText)).Append("</td><td>").Append(H(c.Expected))
              .Append("</td><td class=\"status\">").Append(H(StatusText(c.Status))).Append("</td></tr>\n");
        }
        sb.Append("</tbody>\n</table>\n");
    }
}
