using Xunit.Abstractions;

namespace MemoryLab.Tests.Packaging;

/// <summary>A researcher's own experiment kind, reproduction, layer kind, eigenvalue parametrisation and data kind,
/// compiled outside the repository and loaded by the memlab tool through MEMLAB_PLUGINS: runnable by `memlab run`
/// (a train spec uses the layer, the map and the data kind) and included in `memlab report`.</summary>
[Trait("Category", "Packaging")]
public sealed class PluginTests(ITestOutputHelper log)
{
    private const string Source = """
        using System.Numerics;
        using MemoryLab.Experiments;
        using MemoryLab.Models;
        using MemoryLab.Reporting;
        using MemoryLab.Reporting.Charts;
        using MemoryLab.Reproductions;

        namespace MyLab;

        /// <summary>Gradient descent on f(x) = (x − target)², a user's own run kind.</summary>
        public sealed class Parabola : ExperimentKind<(double Target, int Steps)>
        {
            /// <inheritdoc />
            public override string Name => "parabola";
            /// <inheritdoc />
            public override string Description => "gradient descent on a parabola";
            /// <inheritdoc />
            public override IReadOnlyCollection<string> MetricNames => ["final_loss"];
            /// <inheritdoc />
            public override (double Target, int Steps) Bind(SpecNode spec) => (spec.GetDouble("target", 1.0), spec.GetInt("steps", 50, min: 1));
            /// <inheritdoc />
            protected override RunSummary Execute((double Target, int Steps) c, RunContext ctx)
            {
                double x = 0;
                for (int i = 0; i < c.Steps; i++) { x -= 0.1 * 2 * (x - c.Target); ctx.Metrics.Log(i, "loss", (x - c.Target) * (x - c.Target)); }
                if (double.IsNegative(c.Target)) throw new InvalidOperationException("a negative target is not supported");
                return RunSummary.Completed(new Dictionary<string, double> { ["final_loss"] = (x - c.Target) * (x - c.Target) }, c.Steps);
            }
        }

        /// <summary>λ = σ(p)·e^{iq}, a user's own eigenvalue parametrisation.</summary>
        public sealed class SigmoidPolar<T> : PolarEigenvalueMap<T> where T : IFloatingPointIeee754<T>
        {
            /// <inheritdoc />
            public override string Name => "sigmoid_polar";
            /// <inheritdoc />
            public override (string P, string Q) ParameterNames => ("nu_logit", "theta");
            /// <inheritdoc />
            public override (T Nu, T Theta) ToPolar(T p, T q) => (T.One / (T.One + T.Exp(-p)), q);
            /// <inheritdoc />
            protected override (T DP, T DQ) PolarBackward(T p, T q, T nu, T theta, T dNu, T dTheta) => (dNu * nu * (T.One - nu), dTheta);
            /// <inheritdoc />
            public override (double P, double Q) FromPolar(double nu, double theta) { double n = Math.Clamp(nu, 1e-7, 1 - 1e-7); return (Math.Log(n / (1 - n)), theta); }
        }

        /// <summary>A user's own layer kind: a bias-free square dense layer.</summary>
        public sealed class Mixing : ILayerKind
        {
            /// <inheritdoc />
            public string Name => "mixing";
            /// <inheritdoc />
            public string Summary => "y = W x";
            /// <inheritdoc />
            public ISequenceLayer<T> Build<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> => new Dense<T>(c.InputSize, c.InputSize, bias: false);
        }

        /// <summary>A user's own data kind: a two-neuron linear teacher.</summary>
        public sealed class SmallTeacher : IDataKind
        {
            /// <inheritdoc />
            public string Name => "small-teacher";
            /// <inheritdoc />
            public DataSpec Bind(SpecNode d) => new TeacherDataSpec(d.GetInt("time", 5, min: 1), new MemoryLab.Targets.TeacherOptions { StateSize = 2 });
        }

        /// <summary>A user's own reproduction with one figure and one claim: an experiment kind whose run writes its data, and the report
        /// step that reads it. Its settings (the number of halvings) and its claim are in its specs my-halving/{quick,paper}.yaml,
        /// embedded in the plugin.</summary>
        public sealed class Halving : ReproductionKind<int>
        {
            /// <inheritdoc />
            public override string Name => "my-halving";
            /// <inheritdoc />
            public override string Title => "A user's experiment";
            /// <inheritdoc />
            public override string Method => "Repeated halving.";
            /// <inheritdoc />
            public override int Bind(SpecNode settings) => settings.GetInt("halvings", min: 1);
            /// <inheritdoc />
            public override void Run(ReproductionContext ctx, int halvings)
            {
                var t = new DataTable("k", "value");
                for (int k = 0; k < halvings; k++) t.Add(k, Math.Pow(0.5, k));
                t.Save(ctx.File("halving.csv"));
            }
            /// <inheritdoc />
            public override void Report(string directory, int halvings, ReportSection section, ClaimSet claims)
            {
                var t = DataTable.Load(Path.Combine(directory, "halving.csv"));
                var chart = Chart.Create("halving", "k", "value", AxisScale.Linear, AxisScale.Log);
                chart.AddPoints("value", t.Column("k"), t.Column("value"));
                section.Figures.Add(new ReportFigure(chart, "Halving.", "my-halving.svg"));
                claims.Check("last-value-small", t.Column("value")[^1]);
            }
        }
        """;

    [Fact]
    public void A_plugin_kind_runs_with_memlab_run_and_a_plugin_reproduction_appears_in_the_report()
    {
        using var dir = new ScratchFolder("plugin");
        dir.Write("MyLab.csproj", $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework><Nullable>enable</Nullable><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>
              <ItemGroup><ProjectReference Include="{Path.Combine(Repo.Root, "src", "MemoryLab", "MemoryLab.csproj")}" Private="false" /></ItemGroup>
              <ItemGroup><EmbeddedResource Include="my-halving/*.yaml" /></ItemGroup>
            </Project>
            """);
        dir.Write("Plugin.cs", Source);
        const string common = """
            kind: my-halving
            reproduction:
              name: my-halving
              claims:
                - id: last-value-small
                  text: the last value is below 0.01
                  kind: numerical-check
                  source: {paper: none, where: none, reading: a test of the plugin}
                  test: {less_than: 0.01}
            """;
        Directory.CreateDirectory(Path.Combine(dir.Path, "my-halving"));
        dir.Write(Path.Combine("my-halving", "common.yaml"), common);
        dir.Write(Path.Combine("my-halving", "quick.yaml"), "include: common.yaml\nreproduction: {scale: quick}\nhalvings: 10\n");
        dir.Write(Path.Combine("my-halving", "paper.yaml"), "include: common.yaml\nreproduction: {scale: paper}\nhalvings: 20\n");
        var (built, buildOutput) = Repo.Run(Repo.Dotnet, dir.Path, ["build", "-c", Repo.Configuration, "-o", Path.Combine(dir.Path, "out"), "-nologo", "-v", "q", "--disable-build-servers", "-p:NuGetAudit=false", "-p:BuildProjectReferences=false"]);
        Assert.True(built == 0, buildOutput);
        string plugin = Path.Combine(dir.Path, "out", "MyLab.dll");
        var env = new Dictionary<string, string> { ["MEMLAB_PLUGINS"] = plugin };
        string memlab = Path.Combine(AppContext.BaseDirectory, "memlab.dll");

        dir.Write("p.yaml", "kind: parabola\ntarget: 3\nsteps: 40\n");
        var (ran, runOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "run", "p.yaml", "--out", "runs"], env);
        log.WriteLine(runOutput);
        Assert.True(ran == 0, runOutput);
        Assert.Contains("status=completed", runOutput);

        // A run that throws: exit code 1, and its folder is still written with status failed and the error (memlab --help, docs/tour.md).
        var (failed, failedOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "run", "p.yaml", "target=-1", "--out", "failed"], env);
        log.WriteLine(failedOutput);
        Assert.True(failed == 1, failedOutput);
        Assert.Contains("status=failed", failedOutput);
        string failedRun = Directory.GetDirectories(Path.Combine(dir.Path, "failed")).Single();
        var failedSummary = MemoryLab.Experiments.ResultsStore.ReadSummary(failedRun);
        Assert.Equal(MemoryLab.Experiments.RunStatus.Failed, failedSummary.Status);
        Assert.Contains("a negative target is not supported", failedSummary.Message);
        Assert.True(File.Exists(Path.Combine(failedRun, "metrics.csv")), "the metrics logged before the error are kept");

        // The plugin's layer kind, eigenvalue parametrisation and data kind, in an ordinary train spec.
        dir.Write("m.yaml", "kind: train\ndata: {kind: small-teacher, time: 10}\n"
            + "model: {kind: stack, layers: [{kind: mixing}, {kind: complex_diagonal, parametrisation: sigmoid_polar, hidden: 4}]}\nsteps: 5\nbatch: 4\n");
        var (trained, trainOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "run", "m.yaml", "--out", "models"], env);
        log.WriteLine(trainOutput);
        Assert.True(trained == 0, trainOutput);
        Assert.Contains("status=completed", trainOutput);
        var (unplugged, unpluggedOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "run", "m.yaml", "--out", "models"]);
        Assert.Equal(2, unplugged);
        Assert.Contains("small-teacher", unpluggedOutput);

        var (reproduced, reproduceOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "reproduce", "--only", "my-halving", "--out", "results"], env);
        log.WriteLine(reproduceOutput);
        Assert.True(reproduced == 0, reproduceOutput);
        Assert.Contains("claim holds experiment=my-halving", reproduceOutput);
        Assert.Contains("my-halving", File.ReadAllText(Path.Combine(dir.Path, "results", "report.html")));
        Assert.True(File.Exists(Path.Combine(dir.Path, "results", "my-halving.svg")));
        Assert.Contains("halvings: 10", File.ReadAllText(Path.Combine(dir.Path, "results", "my-halving", "sweep.yaml")));

        // The plugin's spec runs as an ordinary sweep too (a cluster shard), and `memlab report` builds its section from that folder.
        var (swept, sweepOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "sweep", Path.Combine("my-halving", "paper.yaml"), "--out", Path.Combine("cluster", "my-halving"), "--shard", "0/1"], env);
        Assert.True(swept == 0, sweepOutput);
        var (reported, reportOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "report", "cluster"], env);
        Assert.True(reported == 0, reportOutput);
        Assert.Contains("claim holds experiment=my-halving", reportOutput);

        // Too few halvings to pass the claim, from an override; a spec folder (--specs) replaces the embedded spec.
        var (few, fewOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "reproduce", "--only", "my-halving", "--out", "results", "--set", "my-halving.halvings=3"], env);
        Assert.True(few == 0, fewOutput);
        Assert.Contains("claim fails experiment=my-halving", fewOutput);
        Directory.CreateDirectory(Path.Combine(dir.Path, "specs", "my-halving"));
        dir.Write(Path.Combine("specs", "my-halving", "common.yaml"), common);
        dir.Write(Path.Combine("specs", "my-halving", "quick.yaml"), "include: common.yaml\nreproduction: {scale: quick}\nhalvings: 0\n");
        dir.Write(Path.Combine("specs", "my-halving", "paper.yaml"), "include: common.yaml\nreproduction: {scale: paper}\nhalvings: 20\n");
        var (badSpec, badSpecOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "reproduce", "--only", "my-halving", "--out", "results", "--specs", "specs"], env);
        Assert.Equal(2, badSpec);
        Assert.Contains("quick.yaml:3: key 'halvings': must be >= 1", badSpecOutput);

        var (bad, badOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "run", "p.yaml"], new Dictionary<string, string> { ["MEMLAB_PLUGINS"] = Path.Combine(dir.Path, "missing.dll") });
        Assert.Equal(2, bad);
        Assert.Contains("MEMLAB_PLUGINS: cannot load", badOutput);
    }
}
