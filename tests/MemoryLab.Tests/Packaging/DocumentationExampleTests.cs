using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Packaging;

/// <summary>docs/extending.md's three short files (a parametrisation, a layer, a reproduction) and its specs, taken from
/// the page itself, build into one plugin: the layer's backward matches finite differences, the memlab tool runs the
/// layer and the map from the page's spec, and reproduces the page's reproduction.</summary>
[Trait("Category", "Packaging")]
public sealed partial class DocumentationExampleTests(ITestOutputHelper log)
{
    [GeneratedRegex(@"^```\w+ file=(?<file>\S+)\n(?<body>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FileBlock();

    [Fact]
    public void The_extending_guide_files_build_into_a_plugin_that_memlab_runs()
    {
        string page = File.ReadAllText(Path.Combine(Repo.Root, "docs", "extending.md")).ReplaceLineEndings("\n");
        var files = FileBlock().Matches(page).ToDictionary(m => m.Groups["file"].Value, m => m.Groups["body"].Value);
        Assert.Equal(["LogitPolar.cs", "LeakyIntegrator.cs", "leaky.yaml", "KernelFit.cs", "fit.yaml", "fit-sweep.yaml", "WidthCurve.cs",
            "my-width-curve/common.yaml", "my-width-curve/quick.yaml"], files.Keys);
        // The parametrisation on the page is the example's file.
        Assert.Equal(File.ReadAllText(Path.Combine(Repo.Root, "examples", "custom-parametrisation", "LogitPolar.cs")).ReplaceLineEndings("\n"), files["LogitPolar.cs"]);

        using var dir = new ScratchFolder("extending");
        Directory.CreateDirectory(Path.Combine(dir.Path, "my-width-curve"));
        foreach (var (name, body) in files) dir.Write(name, body);
        dir.Write(Path.Combine("my-width-curve", "paper.yaml"), files["my-width-curve/quick.yaml"].Replace("scale: quick", "scale: paper"));
        dir.Write("MyLab.csproj", $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework><Nullable>enable</Nullable><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>
              <ItemGroup><ProjectReference Include="{Path.Combine(Repo.Root, "src", "MemoryLab", "MemoryLab.csproj")}" Private="false" /></ItemGroup>
            </Project>
            """);
        var (built, buildOutput) = Repo.Run(Repo.Dotnet, dir.Path, ["build", "-c", Repo.Configuration, "-o", Path.Combine(dir.Path, "out"), "-nologo", "-v", "q",
            "--disable-build-servers", "-p:NuGetAudit=false", "-p:BuildProjectReferences=false"]);
        Assert.True(built == 0, buildOutput);
        string plugin = Path.Combine(dir.Path, "out", "MyLab.dll");

        // The layer's hand-written backward, in float64.
        var leaky = System.Reflection.Assembly.LoadFrom(plugin).GetType("MyLab.LeakyIntegrator`1")!.MakeGenericType(typeof(double));
        var layer = (MemoryLab.Models.ISequenceLayer<double>)Activator.CreateInstance(leaky, 3, 2.0)!;
        var (parameters, input) = MemoryLab.Models.LayerGradientCheck.Check(layer, batch: 2, time: 7);
        Assert.True(parameters.MaxRelativeError < 1e-6 && input.MaxRelativeError < 1e-6, $"{parameters} / {input}");

        var env = new Dictionary<string, string> { ["MEMLAB_PLUGINS"] = plugin };
        string memlab = Path.Combine(AppContext.BaseDirectory, "memlab.dll");
        var (ran, runOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "run", "leaky.yaml", "--out", "runs"], env);
        log.WriteLine(runOutput);
        Assert.True(ran == 0, runOutput);
        Assert.Contains("status=completed", runOutput);

        // The experiment kind's commands, as the page writes them (fewer steps): one run, the sweep and its report.
        var fitCommands = Regex.Matches(page, @"^memlab (?:run|sweep|report) (?:fit\.yaml|fit-sweep\.yaml|results/fit-sweep)\b[^#\n]*", RegexOptions.Multiline)
            .Select(m => m.Value.Trim()).ToList();
        Assert.Equal(3, fitCommands.Count);
        foreach (string command in fitCommands)
        {
            string[] args = command.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
            if (args[0] is "run" or "sweep") args = [.. args, "steps=30"];
            var (fit, fitOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, .. args], env);
            log.WriteLine($"$ memlab {string.Join(' ', args)}\n{fitOutput}");
            Assert.True(fit == 0, $"`{command}`: {fitOutput}");
        }
        Assert.Contains(Directory.GetFiles(Path.Combine(dir.Path, "runs"), "summary.json", SearchOption.AllDirectories).Select(File.ReadAllText),
            j => j.Contains("\"kind\": \"kernel-fit\"", StringComparison.Ordinal) && j.Contains("\"status\": \"completed\"", StringComparison.Ordinal));
        Assert.Equal(8, Directory.GetFiles(Path.Combine(dir.Path, "results", "fit-sweep"), "summary.json", SearchOption.AllDirectories).Length);
        Assert.True(File.Exists(Path.Combine(dir.Path, "results", "fit-sweep", "report.html")));

        var (reproduced, reproduceOutput) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "reproduce", "--only", "my-width-curve", "--specs", dir.Path,
            "--out", "results", "--set", "my-width-curve.steps=50"], env);
        log.WriteLine(reproduceOutput);
        Assert.True(reproduced == 0, reproduceOutput);
        Assert.Matches("claim (holds|fails) experiment=my-width-curve", reproduceOutput);
        Assert.True(File.Exists(Path.Combine(dir.Path, "results", "my-width-curve.svg")));
    }
}
