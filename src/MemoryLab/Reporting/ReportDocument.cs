using System.Globalization;
using MemoryLab.Reporting.Charts;

namespace MemoryLab.Reporting;

/// <summary>Outcome of checking one of a paper's claims against a measurement.</summary>
public enum ClaimStatus
{
    /// <summary>The measurement agrees with the claim.</summary>
    Holds,
    /// <summary>The measurement contradicts the claim.</summary>
    Fails,
    /// <summary>The measurement cannot decide (NaN, too few runs, within noise).</summary>
    Inconclusive,
}

/// <summary>Whose claim a check tests.</summary>
public enum ClaimKind
{
    /// <summary>A statement a paper makes (in its text, a figure or an equation).</summary>
    Paper,
    /// <summary>A check of our own numerics (convergence, agreement with a closed form), not a claim of a paper.</summary>
    NumericalCheck,
}

/// <summary>Where a claim comes from: the paper, the place in it, and the sentence or figure reading that is tested.</summary>
/// <param name="Paper">The paper (authors, venue, year), e.g. <c>Zucchet &amp; Orvieto (NeurIPS 2024)</c>.</param>
/// <param name="Where">Section, figure or equation, e.g. <c>§3, Fig. 2</c>.</param>
/// <param name="Reading">The sentence quoted or the figure reading tested; <see cref="Unknown"/> while not yet traced.</param>
public sealed record ClaimSource(string Paper, string Where, string Reading)
{
    /// <summary>The word a spec writes for a part of the source that has not been traced to the paper yet.</summary>
    public const string Unknown = "unknown";

    /// <summary>True when some part is still <see cref="Unknown"/>.</summary>
    public bool IsIncomplete => Paper == Unknown || Where == Unknown || Reading == Unknown;

    /// <summary>One line: <c>Paper, Where: “Reading”</c>, with untraced parts said as such.</summary>
    public override string ToString()
    {
        string paper = Paper == Unknown ? "paper not traced" : Paper;
        string where = Where == Unknown ? "place not traced" : Where;
        string reading = Reading == Unknown ? "reading not quoted yet" : $"“{Reading}”";
        return $"{paper}, {where}: {reading}";
    }
}

/// <summary>
/// One claim check: the paper's statement, what was measured, the relation the claim expects, and whether it
/// holds. Plain data, so any experiment can build one; the factories compare a number with a bound and turn
/// NaN/∞ into <see cref="ClaimStatus.Inconclusive"/>.
/// </summary>
/// <param name="Experiment">Experiment name (matches a <see cref="ReportSection.Name"/>).</param>
/// <param name="Claim">The claim as the paper states it (e.g. "the dense RNN's loss degrades as ν₀ → 1").</param>
/// <param name="Measured">The measured number (NaN when there is none).</param>
/// <param name="MeasuredText">The measurement as shown (with units/uncertainty, e.g. "slope 0.98 ± 0.05").</param>
/// <param name="Expected">The relation the claim needs, as text (e.g. "slope ≈ w₀ = 0.5 (±30%)").</param>
/// <param name="Status">Holds, fails or inconclusive.</param>
public sealed record ClaimCheck(string Experiment, string Claim, double Measured, string MeasuredText, string Expected, ClaimStatus Status)
{
    /// <summary>Optional longer note (how it was measured, why inconclusive).</summary>
    public string? Details { get; init; }

    /// <summary>The claim's id in its reproduction's spec (with the values filled into its text, e.g. <c>log-tau-linear[m=5]</c>); null for an ad-hoc check.</summary>
    public string? Id { get; init; }

    /// <summary>A claim of a paper, or a numerical check of our own.</summary>
    public ClaimKind Kind { get; init; } = ClaimKind.Paper;

    /// <summary>Where the claim comes from; null for an ad-hoc check.</summary>
    public ClaimSource? Source { get; init; }

    /// <summary>
    /// The evidence that the claim does not reproduce once the set-up matches the authors' (what was measured), from the spec's
    /// <c>not_reproduced:</c>; null for a claim not known to fail. It never sets <see cref="Status"/>, which is the measurement's:
    /// a claim with this note that holds in a run is shown as holding, with the note marked as contradicted by the run.
    /// </summary>
    public string? NotReproduced { get; init; }

    /// <summary>Holds when measured &lt; bound.</summary>
    public static ClaimCheck LessThan(string experiment, string claim, double measured, double bound, string? measuredText = null)
        => Compare(experiment, claim, measured, measuredText, $"< {Format(bound)}", measured < bound);

    /// <summary>Holds when measured &gt; bound.</summary>
    public static ClaimCheck GreaterThan(string experiment, string claim, double measured, double bound, string? measuredText = null)
        => Compare(experiment, claim, measured, measuredText, $"> {Format(bound)}", measured > bound);

    /// <summary>Holds when measured ≥ bound, up to rounding (10⁻¹² relative).</summary>
    public static ClaimCheck AtLeast(string experiment, string claim, double measured, double bound, string? measuredText = null)
        => Compare(experiment, claim, measured, measuredText, $"≥ {Format(bound)}", measured >= bound - Slack(bound));

    /// <summary>Holds when measured ≤ bound, up to rounding (10⁻¹² relative).</summary>
    public static ClaimCheck AtMost(string experiment, string claim, double measured, double bound, string? measuredText = null)
        => Compare(experiment, claim, measured, measuredText, $"≤ {Format(bound)}", measured <= bound + Slack(bound));

    private static double Slack(double bound) => 1e-12 * Math.Max(1, Math.Abs(bound));

    /// <summary>Holds when low ≤ measured ≤ high.</summary>
    public static ClaimCheck Between(string experiment, string claim, double measured, double low, double high, string? measuredText = null)
    {
        if (!(high >= low)) throw new ArgumentException($"claim '{claim}': interval [{low}, {high}] is empty");
        return Compare(experiment, claim, measured, measuredText, $"in [{Format(low)}, {Format(high)}]", measured >= low && measured <= high);
    }

    /// <summary>Holds when |measured − target| ≤ relativeTolerance·|target|.</summary>
    public static ClaimCheck Near(string experiment, string claim, double measured, double target, double relativeTolerance, string? measuredText = null)
    {
        if (!(relativeTolerance > 0)) throw new ArgumentException($"claim '{claim}': relative tolerance must be positive, got {relativeTolerance}", nameof(relativeTolerance));
        return Compare(experiment, claim, measured, measuredText,
            $"≈ {Format(target)} (±{Format(100 * relativeTolerance)}%)", Math.Abs(measured - target) <= relativeTolerance * Math.Abs(target));
    }

    private static ClaimCheck Compare(string experiment, string claim, double measured, string? measuredText, string expected, bool holds)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(experiment);
        ArgumentException.ThrowIfNullOrWhiteSpace(claim);
        var status = !double.IsFinite(measured) ? ClaimStatus.Inconclusive : holds ? ClaimStatus.Holds : ClaimStatus.Fails;
        return new ClaimCheck(experiment, claim, measured, measuredText ?? Format(measured), expected, status)
        {
            Details = double.IsFinite(measured) ? null : "the measurement is not a finite number",
        };
    }

    /// <summary>A number with 4 significant digits, invariant culture, true minus sign.</summary>
    public static string Format(double v)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsInfinity(v)) return v > 0 ? "∞" : "−∞";
        string s = v.ToString("G4", CultureInfo.InvariantCulture);
        return s.Replace("E+", "e").Replace("E-", "e-").Replace('-', '\u2212');
    }
}

/// <summary>A figure in a report: the chart or panel grid, its caption and the .svg file it is also saved as.</summary>
public sealed class ReportFigure
{
    /// <summary>Creates a figure; <paramref name="fileName"/> is a bare name ending in <c>.svg</c> (letters, digits, '-', '_', '.').</summary>
    public ReportFigure(PanelGrid figure, string caption, string fileName)
    {
        ArgumentNullException.ThrowIfNull(figure);
        ArgumentNullException.ThrowIfNull(caption);
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        if (!fileName.EndsWith(".svg", StringComparison.Ordinal) || fileName.Length <= 4
            || !fileName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || fileName.StartsWith('.'))
            throw new ArgumentException($"figure file name '{fileName}' must be a bare name of letters, digits, '-', '_' and '.' ending in .svg", nameof(fileName));
        Figure = figure; Caption = caption; FileName = fileName;
    }

    /// <summary>Creates a figure from a single chart.</summary>
    public ReportFigure(Chart chart, string caption, string fileName) : this(PanelGrid.Single(chart ?? throw new ArgumentNullException(nameof(chart))), caption, fileName) { }

    /// <summary>The figure.</summary>
    public PanelGrid Figure { get; }

    /// <summary>Caption (plain text; Unicode Greek and sub/superscript digits are fine).</summary>
    public string Caption { get; }

    /// <summary>File name of the standalone SVG, e.g. <c>e1-sensitivity.svg</c>.</summary>
    public string FileName { get; }

    /// <summary>Anchor id in report.html (<c>fig-</c> + file name without extension).</summary>
    public string Anchor => "fig-" + FileName[..^4].Replace('.', '-');
}

/// <summary>A table in a report section: a caption, column headers and rows of text; rows marked in
/// <see cref="Highlighted"/> are shown emphasised (e.g. the grid points a selection rule picked).</summary>
/// <param name="Caption">What the table shows.</param>
/// <param name="Header">Column headers.</param>
/// <param name="Rows">Cells, one list per row, as many as <paramref name="Header"/>.</param>
/// <param name="Highlighted">Indices of the rows to emphasise.</param>
public sealed record ReportTable(string Caption, IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows, IReadOnlySet<int> Highlighted);

/// <summary>A report section: one experiment with its description, figures and claim checks.</summary>
public sealed class ReportSection
{
    /// <summary>Creates a section for experiment <paramref name="name"/>.</summary>
    public ReportSection(string name, string description = "")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(description);
        Name = name; Description = description;
    }

    /// <summary>Experiment name (e.g. <c>E3 teacher–student</c>).</summary>
    public string Name { get; }

    /// <summary>What the experiment does (plain text; blank lines separate paragraphs).</summary>
    public string Description { get; set; }

    /// <summary>Figures, in order.</summary>
    public List<ReportFigure> Figures { get; } = new();

    /// <summary>Claim checks of this experiment.</summary>
    public List<ClaimCheck> Claims { get; } = new();

    /// <summary>Tables of numbers (e.g. a sweep's statistics per grid point), shown before the figures.</summary>
    public List<ReportTable> Tables { get; } = new();

    /// <summary>Anchor id in report.html (<c>exp-</c> + a slug of the name).</summary>
    public string Anchor => "exp-" + Slug(Name);

    internal static string Slug(string s)
    {
        var chars = s.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        string slug = string.Join('-', new string(chars).Split('-', StringSplitOptions.RemoveEmptyEntries));
        return slug.Length == 0 ? "section" : slug;
    }
}

/// <summary>
/// A whole report: title, generation time and one section per experiment. Build it from plain data and
/// write it with <see cref="ReportWriter.Write(ReportDocument, string)"/>.
/// </summary>
public sealed class ReportDocument
{
    /// <summary>Creates an empty report.</summary>
    public ReportDocument(string title, DateTimeOffset generatedAt)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(title);
        Title = title; GeneratedAt = generatedAt;
    }

    /// <summary>Report title.</summary>
    public string Title { get; }

    /// <summary>When the results were turned into this report.</summary>
    public DateTimeOffset GeneratedAt { get; }

    /// <summary>Optional introduction (plain text).</summary>
    public string? Introduction { get; set; }

    /// <summary>Sections, in order.</summary>
    public List<ReportSection> Sections { get; } = new();

    /// <summary>Adds and returns a new section.</summary>
    public ReportSection AddSection(string name, string description = "")
    {
        var s = new ReportSection(name, description);
        Sections.Add(s);
        return s;
    }

    /// <summary>All claim checks, section by section.</summary>
    public IEnumerable<ClaimCheck> AllClaims => Sections.SelectMany(s => s.Claims);

    /// <summary>Whether the report is about claims (a reproduction: report.html opens with the claim table and claims.md/claims.json are
    /// written) or only shows results (a user's run or sweep: no claim table, no claim files).</summary>
    public bool HasClaims { get; init; } = true;
}
