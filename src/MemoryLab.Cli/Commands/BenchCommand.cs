using System.CommandLine;
using System.Globalization;
using MemoryLab.Cli.Bench;
using MemoryLab.Experiments;

namespace MemoryLab.Cli.Commands;

/// <summary><c>memlab bench [--peers] [--threads N…] [--models M…] [--scaling]</c>: MemoryLab's training step beside
/// PyTorch's, with achieved GFLOP/s and GB/s against the machine's measured ceilings, and the scaling sweeps.</summary>
internal static class BenchCommand
{
    /// <summary>The <c>bench</c> command.</summary>
    public static Command Create()
    {
        var peers = new Option<bool>("--peers") { Description = "Also time the PyTorch variants (needs /usr/bin/python3 with torch; see benchmarks/peers)" };
        var threads = new Option<int[]>("--threads") { Description = "Thread counts, each used by MemoryLab and PyTorch alike (default: 1 and all cores)", AllowMultipleArgumentsPerToken = true };
        var models = new Option<string[]>("--models")
        {
            Description = $"Models to time (default all: {string.Join(", ", BenchModel.All.Select(m => m.Name))})",
            AllowMultipleArgumentsPerToken = true,
        };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps before timing", DefaultValueFactory = _ => 3 };
        var steps = new Option<int>("--steps") { Description = "Timed steps (the median is reported; at least 5)", DefaultValueFactory = _ => 7 };
        var scaling = new Option<bool>("--scaling") { Description = "Also sweep T, batch and hidden size for the LRU and the dense RNN (writes scaling.csv and report.html)" };
        var outDir = new Option<string>("--out") { Description = "Folder for bench.md, bench.json and the scaling report", DefaultValueFactory = _ => "bench" };
        var command = new Command("bench", "Time a training step of each model beside PyTorch, with GFLOP/s and GB/s against this machine's measured peaks")
            { peers, threads, models, warmup, steps, scaling, outDir };
        command.SetAction(parse => CommandSupport.Guard(ct =>
        {
            int w = parse.GetValue(warmup), s = parse.GetValue(steps);
            if (w < 0) throw new SpecException(SourcePosition.CommandLine, "--warmup", $"must be at least 0 (got {w})");
            if (s < 5) throw new SpecException(SourcePosition.CommandLine, "--steps", $"must be at least 5 (got {s})");
            var threadCounts = parse.GetValue(threads) is { Length: > 0 } given ? given : new[] { 1, Environment.ProcessorCount }.Distinct().ToArray();
            if (threadCounts.Any(t => t < 1))
                throw new SpecException(SourcePosition.CommandLine, "--threads", $"must be at least 1 (got {threadCounts.Min()})");
            var selected = BenchModel.All;
            if (parse.GetValue(models) is { Length: > 0 } names)
            {
                if (names.FirstOrDefault(n => BenchModel.All.All(m => m.Name != n)) is { } unknown)
                    throw new SpecException(SourcePosition.CommandLine, "--models",
                        $"unknown model '{unknown}'; known: {string.Join(", ", BenchModel.All.Select(m => m.Name))}");
                selected = BenchModel.All.Where(m => names.Contains(m.Name)).ToArray();
            }
            string output = Path.GetFullPath(parse.GetValue(outDir)!);
            void Log(string line) => Console.Error.WriteLine(line);
            IPeerTimer? peerTimer = null;
            if (parse.GetValue(peers))
            {
                peerTimer = new TorchPeerTimer();
                if (peerTimer.UnavailableReason is { } why) Log($"pytorch unavailable: {why}");
            }
            var when = DateTimeOffset.UtcNow;
            var runner = new BenchRunner(peerTimer, w, s, Log);
            var results = runner.Run(selected, threadCounts, ct);
            string commandLine = "memlab bench " + string.Join(" ", Environment.GetCommandLineArgs().Skip(1).SkipWhile(a => a != "bench").Skip(1));
            string markdown = BenchTable.Markdown(results, commandLine.TrimEnd(), when, runner.PeerLibrary);
            Directory.CreateDirectory(output);
            AtomicFile.WriteAllText(Path.Combine(output, "bench.md"), markdown);
            AtomicFile.WriteAllText(Path.Combine(output, "bench.json"), BenchTable.Json(results, when));
            Console.Out.Write(markdown);
            if (parse.GetValue(scaling))
            {
                var doc = ScalingRun.Run(output, threadCounts.Max(), w, s, Log, ct);
                foreach (var c in doc.AllClaims)
                    Console.Out.WriteLine($"claim {c.Status.ToString().ToLowerInvariant()} measured={CommandSupport.Word(c.MeasuredText)} claim={CommandSupport.Word(c.Claim)}");
                Console.Out.WriteLine($"report {Path.Combine(output, "report.html")}");
            }
            Console.Out.WriteLine($"bench {Path.Combine(output, "bench.md")}");
            return CommandSupport.ExitOk;
        }));
        return command;
    }
}
