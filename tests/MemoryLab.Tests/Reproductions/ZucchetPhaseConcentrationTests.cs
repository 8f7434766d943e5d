using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reproductions;
using MemoryLab.Theory;
using Xunit;

namespace MemoryLab.Tests.Reproductions;

/// <summary>zucchet24-phase-concentration (Zucchet24 Fig. 10): the theory panel's Hessians and the learning panel's claims.</summary>
public class ZucchetPhaseConcentrationTests
{
    private static PhaseConcentrationExperiment.Analysis Analysis(int samples = 8) =>
        new(10, 0.99, 0.995, 0.99, [1, 0.1, 0.01], samples, 53);

    [Fact]
    public void The_spec_binds_the_analysis_and_rejects_a_wrong_key()
    {
        var plan = Specs.Plan(new PhaseConcentrationExperiment());
        var section = ReproductionSection.Of(plan);
        var a = PhaseConcentrationExperiment.Analysis.Bind(section.Analysis!);
        Assert.Equal((10, 0.99, 0.995, 0.99), (a.Size, a.RMin, a.RMax, a.Rho));
        Assert.Equal([1, 0.316, 0.1, 0.0316, 0.01], a.MaxPhasesOverPi);
        // Every run is a teacher–student training run whose student starts with the teacher's phase range.
        Assert.All(plan.Runs, r =>
        {
            Assert.Equal("train", r.Kind);
            var flat = r.Spec.Flatten().ToDictionary(p => p.Key, p => p.Value);
            string theta0 = flat["data.theta0"];
            Assert.Equal(theta0, flat.TryGetValue("model.max_phase", out var mp) ? mp : flat["model.theta0"]);
            Assert.Equal("0.99", flat["data.nu0"]);
        });
        var bad = SpecParser.ParseText("size: 10\nr_min: 0.99\nr_max: 0.995\nrho: 0.99\nmax_phases_over_pi: [1, 0.1]\nsamples: 2\nseed: 1\nsampels: 3\n", "analysis.yaml");
        var e = Assert.Throws<SpecException>(() => PhaseConcentrationExperiment.Analysis.Bind(bad));
        Assert.Contains("sampels", e.Message);
    }

    [Fact]
    public void Spread_phases_give_a_near_diagonal_Hessian_and_crowded_phases_do_not()
    {
        // Known answer: with one neuron per distinct, well-separated eigenvalue pair the share is small; all phases equal
        // (θ₀ → 0) couples every pair through S(λ_i, λ_j) ≈ S(λ_i, λ_i), and the share approaches that of a rank-deficient matrix.
        var a = Analysis();
        double spread = Enumerable.Range(0, 8).Average(s => PhaseConcentrationExperiment.Sample(a, Math.PI, s).OffDiagonal);
        double crowded = Enumerable.Range(0, 8).Average(s => PhaseConcentrationExperiment.Sample(a, 0.01 * Math.PI, s).OffDiagonal);
        Assert.InRange(spread, 0, 0.2);
        Assert.InRange(crowded, 0.5, 1);
        // The closed form is the population loss's Hessian.
        var net = DiagonalNetwork.SampleRing(10, 0.99, 0.995, 0.1 * Math.PI, new CounterRng(7, RandomPurpose.Teacher));
        Assert.InRange(PhaseConcentrationExperiment.FiniteDifferenceError(net, 0.99), 0, 1e-5);
        // Same seed, same bits.
        Assert.Equal(PhaseConcentrationExperiment.Sample(a, 0.1, 3).Hessian, PhaseConcentrationExperiment.Sample(a, 0.1, 3).Hessian);
    }

    [Fact]
    public void The_theory_panel_reports_two_claims_that_hold()
    {
        var section = new ReportSection("pc");
        var claims = Specs.Claims(new PhaseConcentrationExperiment(), section);
        PhaseConcentrationExperiment.ReportTheory(Analysis(), section, claims);
        Assert.Single(section.Figures);
        Assert.Equal(2, section.Claims.Count);
        Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));
    }

    private static PhasePoint Point(string student, double theta0, double mean) => new(student, theta0, 1e-3, new MetricStats(2, mean, mean / 10, mean, mean));

    [Fact]
    public void The_learning_claims_compare_the_smallest_and_largest_phase_range_and_the_gap_to_the_RNN()
    {
        // The authors' saved figure, read by eye: LRU falls, complex diagonal about flat, RNN three decades above.
        var figure = new List<PhasePoint>
        {
            Point("lru", 3.14, 2.5e-5), Point("lru", 0.314, 1.2e-6), Point("lru", 0.0314, 4e-7),
            Point("complex_diagonal", 3.14, 4e-5), Point("complex_diagonal", 0.314, 1.8e-5), Point("complex_diagonal", 0.0314, 2.7e-5),
            Point("rnn", 3.14, 0.5), Point("rnn", 0.314, 1), Point("rnn", 0.0314, 0.06),
        };
        var section = new ReportSection("pc");
        var claims = Specs.Claims(new PhaseConcentrationExperiment(), section);
        PhaseConcentrationExperiment.ReportLearning(figure, section, claims);
        Assert.Equal(3, section.Claims.Count);
        Assert.All(section.Claims, c => Assert.Equal(ClaimStatus.Holds, c.Status));
        Assert.Equal(4e-7 / 2.5e-5, section.Claims[0].Measured, 12);
        Assert.Equal(0.5 / 2.5e-5, section.Claims[2].Measured, 6);   // the smallest gap: θ₀ = π, RNN vs LRU

        // Training that gets harder as the phases crowd, or a diagonal student close to the RNN, fails the claims.
        var harder = figure.Select(p => p.Student == "lru" && p.MaxPhase < 0.1 ? Point("lru", p.MaxPhase, 1e-4) : p)
            .Select(p => p.Student == "rnn" && p.MaxPhase > 3 ? Point("rnn", p.MaxPhase, 1e-3) : p).ToList();
        var s2 = new ReportSection("pc");
        PhaseConcentrationExperiment.ReportLearning(harder, s2, Specs.Claims(new PhaseConcentrationExperiment(), s2));
        Assert.Equal(ClaimStatus.Fails, s2.Claims[0].Status);
        Assert.Equal(ClaimStatus.Holds, s2.Claims[1].Status);
        Assert.Equal(ClaimStatus.Fails, s2.Claims[2].Status);
    }

    [Fact]
    public void A_reproduction_section_reads_an_optional_analysis_mapping()
    {
        var ok = SpecParser.ParseText("name: x\nscale: quick\nclaims: []\nanalysis: {a: 1}\n", "s.yaml");
        Assert.Equal(1, ReproductionSection.Bind(ok).Analysis!.GetInt("a"));
        Assert.Null(ReproductionSection.Bind(SpecParser.ParseText("name: x\nscale: quick\nclaims: []\n", "s.yaml")).Analysis);
        var scalar = SpecParser.ParseText("name: x\nscale: quick\nclaims: []\nanalysis: 3\n", "s.yaml");
        Assert.Contains("analysis", Assert.Throws<SpecException>(() => ReproductionSection.Bind(scalar)).Message);
    }
}
