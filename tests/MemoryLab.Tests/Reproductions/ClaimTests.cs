using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Tests.Experiments;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

/// <summary>Claims are data: the spec gives each claim's id, text, kind, source and test; the report step passes the measured value
/// by id, and a declared claim that is never measured still shows, as inconclusive.</summary>
public class ClaimTests
{
    private const string Spec = """
        claims:
          - id: slope-near-three
            text: "the slope for m = {m} is near {target}"
            kind: paper
            source: {paper: "A & B (2024)", where: "§3, Fig. 2", reading: "the slope is 3"}
            test: {near: 3, tolerance: 0.1}
          - id: faster-than-other
            text: the scaled map is fastest
            kind: paper
            source: {paper: "A & B (2024)", where: unknown, reading: unknown}
            test: {less_than: {measured: best_other}}
          - id: ratio-at-least-half
            text: ratio at least one half
            kind: numerical-check
            source: {paper: "A & B (2024)", where: "§4", reading: "not a claim of the paper"}
            test: {at_least: 0.5}
          - id: never-measured
            text: a claim the report forgot
            kind: paper
            source: {paper: "A & B (2024)", where: "§5", reading: unknown}
            test: {between: [1, 2]}
        """;

    private static (ClaimSet Claims, ReportSection Section) Create()
    {
        var node = SpecParser.ParseText(Spec, "c.yaml");
        var section = new ReportSection("demo");
        return (new ClaimSet("demo", ClaimSpec.BindAll(node, "claims"), section), section);
    }

    [Fact]
    public void Each_check_applies_the_specs_test_and_carries_its_id_kind_and_source()
    {
        var (claims, section) = Create();
        var near = claims.Check("slope-near-three", 3.2, "slope 3.2", ("m", 5), ("target", "3"));
        Assert.Equal("the slope for m = 5 is near 3", near.Claim);
        Assert.Equal("slope-near-three[m=5, target=3]", near.Id);
        Assert.Equal(ClaimStatus.Holds, near.Status);
        Assert.Equal("≈ 3 (±10%)", near.Expected);
        Assert.Equal(new ClaimSource("A & B (2024)", "§3, Fig. 2", "the slope is 3"), near.Source);
        Assert.Equal(ClaimStatus.Fails, claims.Check("slope-near-three", 3.4, null, ("m", 10), ("target", "3")).Status);

        // A bound the report measures.
        Assert.Equal(ClaimStatus.Holds, claims.Check("faster-than-other", 900, null, ("best_other", 1000.0)).Status);
        // ≥ holds at the bound itself, up to rounding.
        var half = claims.Check("ratio-at-least-half", 0.5 * (1 - 1e-15));
        Assert.Equal(ClaimStatus.Holds, half.Status);
        Assert.Equal(ClaimKind.NumericalCheck, half.Kind);
        Assert.Equal("≥ 0.5", half.Expected);

        claims.Finish();
        var forgotten = section.Claims[^1];
        Assert.Equal("never-measured", forgotten.Id);
        Assert.Equal(ClaimStatus.Inconclusive, forgotten.Status);
        Assert.Equal(5, section.Claims.Count);
        Assert.True(section.Claims[2].Source!.IsIncomplete);
        Assert.Contains("place not traced", section.Claims[2].Source!.ToString());
    }

    [Fact]
    public void Mistakes_of_the_report_step_are_errors_not_results()
    {
        var (claims, _) = Create();
        Assert.Throws<InvalidDataException>(() => claims.Check("not-declared", 1));   // results older than the report step: bad input
        Assert.Throws<InvalidOperationException>(() => claims.Check("slope-near-three", 3, null, ("m", 5)));       // {target} unfilled
        Assert.Throws<InvalidOperationException>(() => claims.Check("faster-than-other", 3));                     // best_other not passed
        claims.Check("ratio-at-least-half", 1);
        Assert.Throws<InvalidOperationException>(() => claims.Check("ratio-at-least-half", 1));                   // checked twice
    }

    private const string Evidence = "the authors publish no settings; every measured setting gives 0 plateaus";

    private static string WithEvidence(string spec, string id) =>
        spec.Replace($"  - id: {id}\n", $"  - id: {id}\n    not_reproduced: >-\n      {Evidence[..19]}\n      {Evidence[20..]}\n");

    [Fact]
    public void Evidence_that_a_claim_does_not_reproduce_goes_with_each_check_into_claims_json_md_and_html_and_never_changes_the_status()
    {
        string spec = WithEvidence(WithEvidence(Spec, "slope-near-three"), "never-measured");
        Assert.NotEqual(Spec, spec);
        var specs = ClaimSpec.BindAll(SpecParser.ParseText(spec, "c.yaml"), "claims");
        Assert.Equal(Evidence, specs[0].NotReproduced);   // the folded lines read back as one text
        Assert.Null(specs[1].NotReproduced);

        // The same measurements with and without the evidence: the same statuses, whatever the note says.
        var doc = new ReportDocument("evidence", DateTimeOffset.UnixEpoch);
        List<ClaimCheck> Measure(IReadOnlyList<ClaimSpec> claimSpecs, string name)
        {
            var section = doc.AddSection(name);
            var set = new ClaimSet(name, claimSpecs, section);
            set.Check("slope-near-three", 3.4, "slope 3.4", ("m", 10), ("target", "3"));   // fails
            set.Check("slope-near-three", 3.1, "slope 3.1", ("m", 5), ("target", "3"));    // holds
            set.Check("ratio-at-least-half", 1);
            set.Finish();
            return section.Claims;
        }
        var plain = Measure(ClaimSpec.BindAll(SpecParser.ParseText(Spec, "c.yaml"), "claims"), "plain");
        var noted = Measure(specs, "noted");
        Assert.Equal(plain.Select(c => c.Status), noted.Select(c => c.Status));
        Assert.Equal([ClaimStatus.Fails, ClaimStatus.Holds, ClaimStatus.Holds, ClaimStatus.Inconclusive, ClaimStatus.Inconclusive], noted.Select(c => c.Status));
        Assert.Equal([Evidence, Evidence, null, null, Evidence], noted.Select(c => c.NotReproduced));
        Assert.All(plain, c => Assert.Null(c.NotReproduced));

        using var dir = new TempDirectory();
        var files = ReportWriter.Write(doc, dir.Path);
        using (var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(files.ClaimsJson)))
        {
            var claims = json.RootElement.GetProperty("claims").EnumerateArray().ToList();
            Assert.All(claims, c => Assert.True(c.TryGetProperty("notReproduced", out _)));
            Assert.Equal(3, claims.Count(c => c.GetProperty("notReproduced").ValueKind == System.Text.Json.JsonValueKind.String));
            var failing = claims.Single(c => c.GetProperty("id").GetString() == "slope-near-three[m=10, target=3]" && c.GetProperty("experiment").GetString() == "noted");
            Assert.Equal(("fails", Evidence), (failing.GetProperty("status").GetString(), failing.GetProperty("notReproduced").GetString()));
            Assert.Equal(2, json.RootElement.GetProperty("counts").GetProperty("fails").GetInt32());   // counts are the measurements'
        }

        // claims.md: the status cell keeps the measurement and points to numbered evidence under the table; a claim that held says so.
        string md = File.ReadAllText(files.ClaimsMarkdown);
        var rows = md.Split('\n').Where(l => l.StartsWith("| noted ")).ToList();
        Assert.EndsWith("| ✗ fails, not reproduced (evidence 1 below) |", rows[0]);
        Assert.EndsWith("| ✓ holds, though expected not to reproduce (evidence 2 below) |", rows[1]);
        Assert.EndsWith("| ✓ holds |", rows[2]);
        Assert.EndsWith("| ? inconclusive |", rows[3]);
        Assert.EndsWith("| ? inconclusive, not reproduced (evidence 3 below) |", rows[4]);
        Assert.All(md.Split('\n').Where(l => l.StartsWith("| plain ")), r => Assert.DoesNotContain("evidence", r));
        string notes = md[md.IndexOf("\n## Not reproduced\n", StringComparison.Ordinal)..];
        Assert.Contains($"1. **noted**, the slope for m = 10 is near 3 (✗ fails). Not reproduced: {Evidence}\n", notes);
        Assert.Contains($"2. **noted**, the slope for m = 5 is near 3 (✓ holds). Expected not to reproduce, but held in this run: {Evidence}\n", notes);
        Assert.Contains($"3. **noted**, a claim the report forgot (? inconclusive). Not reproduced: {Evidence}\n", notes);

        // report.html: the evidence under the claim, in the summary table and in the section's, headed by what the run found.
        string html = File.ReadAllText(files.Html);
        Assert.Equal(2 * 2, html.Split($"<strong>Not reproduced:</strong> {Evidence}").Length - 1);
        Assert.Equal(2, html.Split($"<strong>Expected not to reproduce, but held in this run:</strong> {Evidence}").Length - 1);
    }

    [Theory]
    [InlineData("not_reproduced: \"\"", "must be a non-empty text")]
    [InlineData("not_reproduced: \"  \"", "must be a non-empty text")]
    [InlineData("not_reproduced:", "(got null)")]
    [InlineData("not_reproduced: 3", "(got 3)")]
    [InlineData("not_reproduced: true", "(got true)")]
    [InlineData("not_reproduced: [a, b]", "(got a sequence)")]
    [InlineData("not_reproduced: {why: a}", "(got a mapping)")]
    public void Evidence_that_is_not_a_text_is_an_error_at_its_key(string line, string expected)
    {
        string spec = Spec.Replace("  - id: faster-than-other\n", $"  - id: faster-than-other\n    {line}\n");
        var e = Assert.Throws<SpecException>(() => ClaimSpec.BindAll(SpecParser.ParseText(spec, "c.yaml"), "claims"));
        Assert.Contains("key 'claims[1].not_reproduced'", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains("c.yaml:8", e.Message);
    }

    [Theory]
    [InlineData("{id: x, text: t, kind: paper, source: {paper: p, where: w, reading: r}, test: {}}", "must hold exactly one of")]
    [InlineData("{id: x, text: t, kind: paper, source: {paper: p, where: w, reading: r}, test: {near: 1}}", "key 'claims[0].test.tolerance'")]
    [InlineData("{id: x, text: t, kind: paper, source: {paper: p, where: w, reading: r}, test: {between: [2, 1]}}", "low <= high")]
    [InlineData("{id: X_1, text: t, kind: paper, source: {paper: p, where: w, reading: r}, test: {less_than: 1}}", "kebab-case")]
    [InlineData("{id: x, text: t, kind: paper, source: {paper: p, where: w}, test: {less_than: 1}}", "key 'claims[0].source.reading'")]
    public void A_malformed_claim_is_an_error_at_its_key(string claim, string expected)
    {
        var node = SpecParser.ParseText($"claims: [{claim}]", "c.yaml");
        var e = Assert.Throws<SpecException>(() => ClaimSpec.BindAll(node, "claims"));
        Assert.Contains(expected, e.Message);
    }
}
