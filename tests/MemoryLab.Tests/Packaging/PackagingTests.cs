using System.Globalization;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Packaging;

/// <summary>
/// MemoryLab as researchers get it: the documentation rule, the NuGet packages, the .NET tool and the examples.
/// These tests compile projects in child processes (about a minute and a half together on two cores); run
/// them alone with <c>--filter "FullyQualifiedName~Packaging"</c>. They need no network: packages come from a
/// temporary folder and from the packages restored before.
/// </summary>
[Trait("Category", "Packaging")]
public sealed class PackagingTests(PackedPackages packages, ITestOutputHelper log) : IClassFixture<PackedPackages>
{
    private static readonly string[] Quiet = ["-nologo", "-v", "q", "--disable-build-servers", "-p:NuGetAudit=false"];

    [Fact]
    public void The_build_fails_on_a_public_member_without_documentation()
    {
        // A tiny library under the repository's Directory.Build.props: documented, it builds; with one public
        // member undocumented, the build fails with CS1591 naming that member.
        using var dir = new ScratchFolder("docs");
        dir.Write("Directory.Build.props", $"""<Project><Import Project="{Path.Combine(Repo.Root, "Directory.Build.props")}" /></Project>""");
        dir.Write("Probe.csproj", """<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><OutputType>Library</OutputType></PropertyGroup></Project>""");
        const string documented = """
            namespace Probe;
            /// <summary>A documented class.</summary>
            public static class Api
            {
                /// <summary>A documented method.</summary>
                public static int Documented() => 1;
                /// <summary>Another documented method.</summary>
                public static int Undocumented() => 2;
                internal static int Internal() => 3;
            }
            """;
        dir.Write("Api.cs", documented);
        var (ok, okOutput) = Repo.Run(Repo.Dotnet, dir.Path, ["build", .. Quiet]);
        Assert.True(ok == 0, "the documented probe must build:\n" + okOutput);

        dir.Write("Api.cs", documented.Replace("    /// <summary>Another documented method.</summary>\n", ""));
        var (failed, output) = Repo.Run(Repo.Dotnet, dir.Path, ["build", .. Quiet]);
        log.WriteLine(output);
        Assert.NotEqual(0, failed);
        Assert.Contains("error CS1591", output);
        Assert.Contains("Api.Undocumented()", output);
        Assert.DoesNotContain("Api.Internal", output);
    }

    [Fact]
    public void The_packed_tool_installs_into_a_tool_path_and_trains_a_tiny_spec()
    {
        string feed = packages.Folder;
        Assert.True(File.Exists(Path.Combine(feed, $"MemoryLab.{Repo.Version}.nupkg")), "library package");
        Assert.True(File.Exists(Path.Combine(feed, $"MemoryLab.Cli.{Repo.Version}.nupkg")), "tool package");

        using var dir = new ScratchFolder("tool");
        string tools = Path.Combine(dir.Path, "tools");
        Repo.DotnetOrThrow(dir.Path, packages.RestoreEnvironment(), "tool", "install", "--tool-path", tools,
            "--configfile", packages.ConfigFile, "MemoryLab.Cli", "--version", Repo.Version);
        string memlab = Path.Combine(tools, OperatingSystem.IsWindows() ? "memlab.exe" : "memlab");
        Assert.True(File.Exists(memlab), "the tool's command is memlab");

        var (versionCode, version) = Repo.Run(memlab, dir.Path, ["--version"]);
        Assert.Equal(0, versionCode);
        Assert.StartsWith(Repo.Version, version.Trim());

        string spec = dir.Write("tiny.yaml", """
            kind: train
            seed: 0
            data: {kind: teacher, time: 30, state_size: 4, nu0: 0.9}
            model: {kind: lru, hidden: 8, r_min: 0.5, init: teacher_student}
            optimizer: {kind: adam, lr: 0.01}
            steps: 20
            batch: 8
            log_every: 5
            """);
        string results = Path.Combine(dir.Path, "runs");
        var (code, output) = Repo.Run(memlab, dir.Path, ["train", spec, "--out", results, "--threads", "1"]);
        log.WriteLine(output);
        Assert.True(code == 0, output);
        Assert.Contains("status=completed", output);
        string run = Directory.GetDirectories(results).Single();
        var csv = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.StartsWith("step,loss,lr,grad_norm,elapsed_s", csv[0]);
        Assert.Equal(new[] { "0", "5", "10", "15", "19" }, csv.Skip(1).Select(l => l.Split(',')[0]));
        foreach (var line in csv.Skip(1))
            Assert.True(double.IsFinite(double.Parse(line.Split(',')[1], CultureInfo.InvariantCulture)), line);
        Assert.True(File.Exists(Path.Combine(run, "checkpoint.safetensors")));
    }

    [Fact]
    public void Example_kernel_width_fits_a_custom_kernel_with_errors_falling_as_the_width_grows()
    {
        string output = BuildAndRunExample("kernel-width", "KernelWidth", "--steps", "60", "--max-width", "3", "--tolerance", "1e-12");
        foreach (string kernel in new[] { "stretched-exp", "alpha(τ=2)" })
        {
            // The rows after "kernel NAME:" are "| m | error |" for m = 1..3; a tolerance of 1e-12 is not reached.
            var lines = output.Split('\n').SkipWhile(l => !l.StartsWith($"kernel {kernel}:", StringComparison.Ordinal)).ToArray();
            var errors = lines.Where(l => l.StartsWith("| ", StringComparison.Ordinal) && !l.StartsWith("| width", StringComparison.Ordinal))
                .Take(3).Select(l => double.Parse(l.Split('|')[2].Trim(), CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(3, errors.Length);
            Assert.True(errors[0] < 1 && errors[0] > 0, $"{kernel}: width 1 error {errors[0]}");
            // Each width starts from the previous fit plus one rate, so the error cannot grow; three exponentials
            // fit both kernels far better than one.
            Assert.True(errors[1] <= errors[0] && errors[2] <= errors[1], $"{kernel}: errors {string.Join(", ", errors)}");
            Assert.True(errors[2] < 0.1 * errors[0], $"{kernel}: errors {string.Join(", ", errors)}");
            Assert.Contains($"width needed for {kernel} at tolerance 1E-12: more than 3", output);
        }

        // examples/README.md: a bad option prints one line naming the known ones, exit code 2; --help prints the options.
        string dll = Path.Combine(Repo.Root, "examples", "kernel-width", "bin", Repo.Configuration, "net10.0", "KernelWidth.dll");
        var (bad, badOutput) = Repo.Run(Repo.Dotnet, Repo.Root, [dll, "--foo", "1"]);
        Assert.Equal(2, bad);
        Assert.Matches(@"\A[^\n]*--foo[^\n]*known: --steps, --tolerance, --max-width, --help[^\n]*\n?\z", badOutput.TrimEnd() + "\n");
        var (help, helpOutput) = Repo.Run(Repo.Dotnet, Repo.Root, [dll, "--help"]);
        Assert.Equal(0, help);
        Assert.Contains("--tolerance", helpOutput);
    }

    [Fact]
    public void Example_custom_parametrisation_is_a_plugin_map_with_exact_gradients_that_a_spec_runs_beside_the_lru()
    {
        // The example is the map alone (LogitPolar.cs); built as a plugin, its map has exact gradients in the library's layer, and
        // its compare.yaml runs through MEMLAB_PLUGINS beside the LRU.
        string project = Path.Combine(Repo.Root, "examples", "custom-parametrisation");
        Repo.DotnetOrThrow(project, null, ["build", "-c", Repo.Configuration, "-p:BuildProjectReferences=false", .. Quiet]);
        string plugin = Path.Combine(project, "bin", Repo.Configuration, "net10.0", "LogitPolar.dll");
        var map = System.Reflection.Assembly.LoadFrom(plugin).GetType("LogitPolarExample.LogitPolar`1")!;
        var factory = MemoryLab.Models.ModelFactory.CreateDefault();
        factory.RegisterParametrisation(map);
        var layer = factory.Build<double>(MemoryLab.Models.ModelDescription.Of("complex_diagonal", ("parametrisation", "logit_polar"),
            ("normalisation", "learned"), ("skip", "diagonal"), ("hidden", 4), ("r_min", 0.5), ("r_max", 0.99)), 1);
        var (parameters, input) = MemoryLab.Models.LayerGradientCheck.Check(layer);
        Assert.True(parameters.MaxRelativeError < 1e-6 && input.MaxRelativeError < 1e-6, $"{parameters} / {input}");

        using var dir = new ScratchFolder("compare");
        string memlab = Path.Combine(AppContext.BaseDirectory, "memlab.dll");
        var (code, output) = Repo.Run(Repo.Dotnet, dir.Path, [memlab, "sweep", Path.Combine(project, "compare.yaml"),
            "steps=20", "batch=4", "data.time=20", "--out", "runs"], new Dictionary<string, string> { ["MEMLAB_PLUGINS"] = plugin });
        log.WriteLine(output);
        Assert.True(code == 0, output);
        Assert.Contains("done completed=6 diverged=0 failed=0", output);
        Assert.Equal(3, output.Split('\n').Count(l => l.StartsWith("start", StringComparison.Ordinal) && l.Contains("\"parametrisation\":\"logit_polar\"")));
    }

    [Fact]
    public void Example_package_consumer_builds_against_the_packed_library_and_trains()
    {
        // The example as a user has it: its project file and program, outside the repository, restoring MemoryLab
        // from the package folder (not from the source tree).
        using var dir = new ScratchFolder("consumer");
        foreach (string f in new[] { "PackageConsumer.csproj", "Program.cs" })
            File.Copy(Path.Combine(Repo.Root, "examples", "package-consumer", f), Path.Combine(dir.Path, f));
        Assert.DoesNotContain("ProjectReference", File.ReadAllText(Path.Combine(dir.Path, "PackageConsumer.csproj")));
        _ = packages.Folder;
        var environment = packages.RestoreEnvironment();
        Repo.DotnetOrThrow(dir.Path, environment, ["build", "-c", "Release", "--configfile", packages.ConfigFile,
            $"-p:MemoryLabVersion={Repo.Version}", .. Quiet]);
        Assert.True(Directory.Exists(Path.Combine(environment["NUGET_PACKAGES"], "memorylab", Repo.Version)),
            "MemoryLab must be restored from the package");

        var (code, output) = Repo.Run(Repo.Dotnet, dir.Path, [Path.Combine(dir.Path, "bin", "Release", "net10.0", "PackageConsumer.dll"), "60"]);
        log.WriteLine(output);
        Assert.True(code == 0, output);
        Assert.Contains($"MemoryLab {Repo.Version}", output);
        Assert.Matches(@"trained 60 steps in [0-9.]+ s: loss [0-9.]+ -> [0-9.]+ \(Completed\)", output);

        // examples/README.md: a bad option prints one line naming what is accepted, exit code 2; --help prints it.
        string consumer = Path.Combine(dir.Path, "bin", "Release", "net10.0", "PackageConsumer.dll");
        var (bad, badOutput) = Repo.Run(Repo.Dotnet, dir.Path, [consumer, "--foo"]);
        Assert.Equal(2, bad);
        Assert.Single(badOutput.TrimEnd().Split('\n'));
        Assert.Contains("usage: package-consumer [STEPS]", badOutput);
        var (help, helpOutput) = Repo.Run(Repo.Dotnet, dir.Path, [consumer, "--help"]);
        Assert.Equal(0, help);
        Assert.Contains("usage: package-consumer [STEPS]", helpOutput);
    }

    [Fact]
    public void Docs_install_page_library_project_commands_run_as_written()
    {
        // docs/README-install.md's "use the library from your own project" block, run as one bash script from a repository
        // root whose artifacts/packages holds the packed packages: it makes a console project beside the repository and adds
        // the package, which must come from that folder. Restores go to a private folder that links the packages restored on
        // this machine before (but not MemoryLab's), so no network is needed.
        string page = File.ReadAllText(Path.Combine(Repo.Root, "docs", "README-install.md")).ReplaceLineEndings("\n");
        string script = System.Text.RegularExpressions.Regex.Match(page, "```sh\n(MEMLAB=.*?)```", System.Text.RegularExpressions.RegexOptions.Singleline).Groups[1].Value;
        Assert.Contains("dotnet add package MemoryLab", script);
        Assert.Contains($"--version {Repo.Version}\n", script); // the page names the version Directory.Build.props sets

        using var dir = new ScratchFolder("install");
        string root = Path.Combine(dir.Path, "repo"), feed = Path.Combine(root, "artifacts", "packages");
        Directory.CreateDirectory(feed);
        foreach (string nupkg in Directory.GetFiles(packages.Folder, "*.nupkg")) File.Copy(nupkg, Path.Combine(feed, Path.GetFileName(nupkg)));
        var environment = packages.RestoreEnvironment();
        var (code, output) = Repo.Run("/bin/bash", root, ["-euo", "pipefail", "-c", script], environment);
        log.WriteLine(output);
        Assert.True(code == 0, output);

        string project = File.ReadAllText(Path.Combine(dir.Path, "MyStudy", "MyStudy.csproj"));
        Assert.Contains($"<PackageReference Include=\"MemoryLab\" Version=\"{Repo.Version}\" />", project);
        string metadata = File.ReadAllText(Path.Combine(environment["NUGET_PACKAGES"], "memorylab", Repo.Version, ".nupkg.metadata"));
        Assert.Contains(feed.Replace("\\", "\\\\"), metadata); // restored from the page's package folder, not from a feed
    }

    /// <summary>Builds examples/NAME in the test's configuration against the library outputs this test run already
    /// built (no rebuild of the library), then runs it with <paramref name="args"/>; returns its output.</summary>
    private string BuildAndRunExample(string name, string assembly, params string[] args)
    {
        string project = Path.Combine(Repo.Root, "examples", name);
        Repo.DotnetOrThrow(project, null, ["build", "-c", Repo.Configuration, "-p:BuildProjectReferences=false", .. Quiet]);
        string dll = Path.Combine(project, "bin", Repo.Configuration, "net10.0", assembly + ".dll");
        var (code, output) = Repo.Run(Repo.Dotnet, project, [dll, .. args]);
        log.WriteLine(output);
        Assert.True(code == 0, output);
        return output;
    }
}
