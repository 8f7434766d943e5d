using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
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
        Assert.Throws<InvalidOperationException>(() => claims.Check("not-declared", 1));
        Assert.Throws<InvalidOperationException>(() => claims.Check("slope-near-three", 3, null, ("m", 5)));       // {target} unfilled
        Assert.Throws<InvalidOperationException>(() => claims.Check("faster-than-other", 3));                     // best_other not passed
        claims.Check("ratio-at-least-half", 1);
        Assert.Throws<InvalidOperationException>(() => claims.Check("ratio-at-least-half", 1));                   // checked twice
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
