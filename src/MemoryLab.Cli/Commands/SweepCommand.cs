using System.CommandLine;
using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Reproductions;

namespace MemoryLab.Cli.Commands;

/// <summary><c>memlab sweep SPEC.yaml [key=value…] [--workers N] [--shard K/N] [--out DIR] [--emit slurm|k8s]</c>:
/// expands the spec's grid into runs and runs this shard of them into a results folder, or prints a cluster
/// job that runs every shard.</summary>
internal static class SweepCommand
{
    /// <summary>The <c>sweep</c> command over the kinds of <paramref name="registry"/>; a spec with a <c>reproduction:</c> section
    /// (<c>experiments/reproduce/NAME/*.yaml</c>) must name one of <paramref name="reproductions"/>, whose claims are checked too.</summary>
    public static Command Create(ExperimentRegistry registry, ReproductionRegistry reproductions)
    {
        var spec = new Argument<string>("spec") { Description = "The sweep spec (YAML with a grid: and optionally select:)" };
        var overrides = new Argument<string[]>("overrides") { Description = "key=value overrides (dotted keys; +key=value adds a key; an axis key fixes that axis)", Arity = ArgumentArity.ZeroOrMore };
        var workers = new Option<int>("--workers") { Description = "Runs at once on this machine (each on its own thread)", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads-per-run") { Description = "Threads of each run's worker pool (default 1: workers never contend)", DefaultValueFactory = _ => 1 };
        var shard = new Option<string?>("--shard") { Description = "Run shard K/N: the runs i with i % N == K (default: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX/MEMLAB_SHARD_COUNT, else all)" };
        var outDir = new Option<string?>("--out") { Description = "Results folder (default results/<spec name>; for a reproduction's spec, results/<reproduction>)" };
        var retry = new Option<bool>("--retry-failed") { Description = "Run again the runs stored as failed" };
        var emit = new Option<string?>("--emit") { Description = "Print a cluster job instead of running: slurm (sbatch array script) or k8s (indexed Job manifest)" };
        emit.AcceptOnlyFromAmong("slurm", "k8s");
        var shards = new Option<int?>("--shards") { Description = "With --emit: number of array tasks / completions N (default: one per run, at most 1000)" };
        var partition = new Option<string?>("--partition") { Description = "With --emit slurm: the partition" };
        var time = new Option<string?>("--time") { Description = "With --emit slurm: the time limit per task, e.g. 02:00:00" };
        var image = new Option<string>("--image") { Description = "With --emit k8s: the container image", DefaultValueFactory = _ => "memlab:latest" };

        var command = new Command("sweep", "Run a grid of experiments (this shard of it), or print a Slurm/Kubernetes job that runs all shards")
        {
            spec, overrides, workers, threads, shard, outDir, retry, emit, shards, partition, time, image,
        };
        command.SetAction(parse => CommandSupport.Guard(ct =>
        {
            string specPath = parse.GetValue(spec)!;
            string[] ovs = parse.GetValue(overrides) ?? Array.Empty<string>();
            int w = parse.GetValue(workers), t = parse.GetValue(threads);
            CommandSupport.CheckThreads(w, "--workers");
            CommandSupport.CheckThreads(t, "--threads-per-run");
            if ((long)w * t > 4 * WorkerPool.MaxThreads)
                throw new SpecException(SourcePosition.CommandLine, "--threads-per-run", $"--workers {w} × --threads-per-run {t} = {(long)w * t} threads; at most {4 * WorkerPool.MaxThreads}");
            var plan = SweepPlan.Load(specPath, ovs, registry);
            string name = plan.Name;
            if (plan.Reproduction is not null)
            {
                // A reproduction's spec: its section must name a registered reproduction, so `memlab report` can build its figures;
                // its folder and jobs are named after the reproduction, not after quick.yaml/paper.yaml.
                var section = ReproductionSection.Of(plan);
                if (reproductions.Find(section.Name) is null)
                    throw new SpecException(plan.Reproduction.KeyPosition("name"), $"{SweepPlan.ReproductionKey}.name",
                        $"unknown reproduction '{section.Name}'; known: {string.Join(", ", reproductions.All.Select(r => r.Name))}");
                name = section.Name;
            }
            string output = parse.GetValue(emit) is null
                ? CommandSupport.RequireOutputFolder(parse.GetValue(outDir) ?? Path.Combine("results", name), "--out")
                : Path.GetFullPath(parse.GetValue(outDir) ?? Path.Combine("results", name));

            if (parse.GetValue(emit) is { } target)
            {
                int n = parse.GetValue(shards) ?? Math.Clamp(plan.Runs.Count, 1, 1000);
                if (n < 1) throw new SpecException(SourcePosition.CommandLine, null, $"--shards must be at least 1 (got {n})");
                // Slurm tasks share this machine's file system, so they start this very memlab; a pod starts the image's `memlab`.
                var invocation = target == "slurm" ? CommandSupport.MemlabInvocation() : new[] { "memlab" };
                var options = new ClusterJobOptions(name, n, w, t, invocation, Path.GetFullPath(specPath), ovs,
                    output, Directory.GetCurrentDirectory(), parse.GetValue(partition), parse.GetValue(time), parse.GetValue(image)!);
                Console.Out.Write(target == "slurm"
                    ? ClusterJobs.SlurmArrayScript(options)
                    : ClusterJobs.KubernetesIndexedJob(options, SpecYamlWriter.ToYaml(plan.Spec)));
                return CommandSupport.ExitOk;
            }

            var chosen = parse.GetValue(shard) is { } s ? ShardSpec.Parse(s) : ShardSpec.FromEnvironment(Environment.GetEnvironmentVariable) ?? ShardSpec.All;
            var runs = chosen.Select(plan.Runs);
            var store = new ResultsStore(output);
            store.WriteSweepSpec(plan.Spec);
            bool live = CommandSupport.Interactive;
            if (!live)
                Console.Out.WriteLine($"sweep name={CommandSupport.Word(name)} runs={plan.Runs.Count} shard={chosen} shard_runs={runs.Count} workers={w} threads_per_run={t} out={CommandSupport.Word(output)}");
            var view = new SweepProgressView(live, Math.Min(w, Math.Max(1, runs.Count)));
            var result = view.Show(() => SweepRunner.Run(runs, store, registry,
                new SweepOptions { Workers = w, ThreadsPerRun = t, RetryFailed = parse.GetValue(retry) }, view, ct));
            view.Finish(result, output);
            if (result.Cancelled) return CommandSupport.ExitInterrupted;
            return view.Failed > 0 ? CommandSupport.ExitRunsFailed : CommandSupport.ExitOk;
        }));
        return command;
    }
}
