using System.CommandLine;
using System.Globalization;
using MemoryLab.Cli.Bench;
using MemoryLab.Experiments;
using MemoryLab.Numerics;

namespace MemoryLab.Cli.Commands;

/// <summary><c>memlab bench [--peers] [--threads N…] [--models M…] [--scaling]</c>: MemoryLab's training step beside
/// PyTorch's, with achieved GFLOP/s and GB/s against the machine's measured ceilings, and the scaling sweeps; <c>memlab bench --sweep
/// [--workers N…] [--batches B…]</c>: the teacher–student sweep's throughput (<see cref="SweepThroughput"/>).</summary>
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
        var sweep = new Option<bool>("--sweep") { Description = "Instead: the teacher-student sweep's throughput: bench model step beside a real training step, and run-steps/s of sweeps on each --workers count, with the paper-scale projections (writes sweep.md)" };
        var sweepSteps = new Option<int>("--sweep-steps") { Description = "Steps of each training run of --sweep (the paper's are 10,000)", DefaultValueFactory = _ => 2000 };
        var batches = new Option<int[]>("--batches") { Description = "Batch sizes of --sweep (default 128 and 16)", AllowMultipleArgumentsPerToken = true };
        var workers = new Option<int[]>("--workers") { Description = "Worker counts of --sweep (default 1 and all cores)", AllowMultipleArgumentsPerToken = true };
        var runsPerWorker = new Option<int>("--runs-per-worker") { Description = "Runs each worker trains in a --sweep measurement", DefaultValueFactory = _ => 2 };
        var pairs = new Option<int>("--pairs") { Description = "Training runs of --sweep timed in alternation with the bench model step, per model and batch (the medians are reported)", DefaultValueFactory = _ => 5 };
        var command = new Command("bench", "Time a training step of each model beside PyTorch, with GFLOP/s and GB/s against this machine's measured peaks")
            { peers, threads, models, warmup, steps, scaling, outDir, sweep, sweepSteps, batches, workers, runsPerWorker, pairs };
        command.SetAction(parse => CommandSupport.Guard(ct =>
        {
            int w = parse.GetValue(warmup), s = parse.GetValue(steps);
            if (w < 0) throw new SpecException(SourcePosition.CommandLine, "--warmup", $"must be at least 0 (got {w})");
            if (s < 5) throw new SpecException(SourcePosition.CommandLine, "--steps", $"must be at least 5 (got {s})");
            var threadCounts = parse.GetValue(threads) is { Length: > 0 } given ? given : new[] { 1, WorkerPool.AvailableCores() }.Distinct().ToArray();
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
            if (parse.GetValue(sweep))
            {
                int n = parse.GetValue(sweepSteps), per = parse.GetValue(runsPerWorker), k = parse.GetValue(pairs);
                if (n < 200) throw new SpecException(SourcePosition.CommandLine, "--sweep-steps", $"must be at least 200 (got {n})");
                if (per < 1) throw new SpecException(SourcePosition.CommandLine, "--runs-per-worker", $"must be at least 1 (got {per})");
                if (k < 1) throw new SpecException(SourcePosition.CommandLine, "--pairs", $"must be at least 1 (got {k})");
                int[] b = parse.GetValue(batches) is { Length: > 0 } gb ? gb : [128, 16];
                int[] wk = parse.GetValue(workers) is { Length: > 0 } gw ? gw : new[] { 1, WorkerPool.AvailableCores() }.Distinct().ToArray();
                if (b.Any(x => x < 1)) throw new SpecException(SourcePosition.CommandLine, "--batches", $"must be at least 1 (got {b.Min()})");
                if (wk.Any(x => x < 1)) throw new SpecException(SourcePosition.CommandLine, "--workers", $"must be at least 1 (got {wk.Min()})");
                string[] ts = ["lru", "complex_diagonal", "linear_rnn"];
                if (parse.GetValue(models) is { Length: > 0 } chosen)
                {
                    if (chosen.FirstOrDefault(c => !ts.Contains(c)) is { } bad)
                        throw new SpecException(SourcePosition.CommandLine, "--models", $"--sweep times the teacher-student students ({string.Join(", ", ts)}), not '{bad}'");
                    ts = chosen;
                }
                var started = DateTimeOffset.UtcNow;
                string loadBefore = SweepThroughput.Load();
                string scratch = Path.Combine(output, "sweep-runs");
                var measured = SweepThroughput.Run(ts, b, wk, n, per, k, scratch, Log, ct);
                string line = "memlab bench " + string.Join(" ", Environment.GetCommandLineArgs().Skip(1).SkipWhile(a => a != "bench").Skip(1));
                string md = SweepThroughput.Markdown(measured, line.TrimEnd(), started, loadBefore, SweepThroughput.Load(), n);
                Directory.CreateDirectory(output);
                AtomicFile.WriteAllText(Path.Combine(output, "sweep.md"), md);
                Directory.Delete(scratch, recursive: true);
                Console.Out.Write(md);
                Console.Out.WriteLine($"bench {Path.Combine(output, "sweep.md")}");
                return CommandSupport.ExitOk;
            }
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
