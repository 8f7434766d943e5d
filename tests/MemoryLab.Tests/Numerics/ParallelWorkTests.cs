using System.Collections.Concurrent;
using MemoryLab.Analysis;
using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Tests.Experiments;

namespace MemoryLab.Tests.Numerics;

public class ParallelWorkTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void Every_iteration_runs_once_also_in_nested_loops(int threads)
    {
        var work = new ParallelWork(threads, null);
        var counts = new int[7 * 5];
        work.For(7, outer => work.For(5, inner => Interlocked.Increment(ref counts[outer * 5 + inner])));
        Assert.All(counts, c => Assert.Equal(1, c));
        work.For(0, _ => throw new InvalidOperationException("no iteration to run"));
    }

    [Fact]
    public void The_default_thread_count_keeps_to_the_cpus_a_slurm_job_was_given()
    {
        static Func<string, string?> Env(params (string Name, string Value)[] set) =>
            name => set.FirstOrDefault(v => v.Name == name).Value;
        // Without binding (TaskPlugin=task/none) a job sees all of its node's cores; SLURM_CPUS_PER_TASK caps them.
        Assert.Equal(16, WorkerPool.AvailableCores(Env(), 16));
        Assert.Equal(4, WorkerPool.AvailableCores(Env(("SLURM_CPUS_PER_TASK", "4")), 16));
        Assert.Equal(4, WorkerPool.DefaultThreadCount(Env(("SLURM_CPUS_PER_TASK", " 4 ")), 16));
        // Where Slurm binds the job, the visible cores are already fewer: never more than those.
        Assert.Equal(2, WorkerPool.AvailableCores(Env(("SLURM_CPUS_PER_TASK", "8")), 2));
        foreach (string junk in new[] { "", "0", "-3", "x", "4(x2)" })
            Assert.Equal(16, WorkerPool.AvailableCores(Env(("SLURM_CPUS_PER_TASK", junk)), 16));
        // MEMLAB_THREADS, the user's own choice, wins over both.
        Assert.Equal(12, WorkerPool.DefaultThreadCount(Env(("SLURM_CPUS_PER_TASK", "4"), ("MEMLAB_THREADS", "12")), 16));
        Assert.Throws<ArgumentException>(() => WorkerPool.DefaultThreadCount(Env(("MEMLAB_THREADS", "0")), 16));
        Assert.Equal(WorkerPool.MaxThreads, WorkerPool.DefaultThreadCount(Env(), 5000));
    }

    [Fact]
    public void A_loop_of_its_own_threads_runs_iterations_at_once_each_with_its_own_pool()
    {
        var work = new ParallelWork(3, null);
        using var barrier = new Barrier(3);
        using var mine = new WorkerPool(1);
        var pools = new ConcurrentBag<WorkerPool>();
        work.For(3, (i, pool) =>
        {
            pools.Add(pool);
            // Fails (times out) unless three iterations run at the same time.
            Assert.True(barrier.SignalAndWait(TimeSpan.FromSeconds(20)), "the iterations did not run concurrently");
        }, mine);
        Assert.Equal(3, pools.Distinct().Count());
        Assert.Contains(mine, pools);

        // A multi-thread pool is not handed to the caller's iterations while the loop's own threads hold the other cores.
        using var wide = new WorkerPool(3);
        var threads = new ConcurrentBag<int>();
        work.For(6, (i, pool) => threads.Add(pool.Threads), wide);
        Assert.All(threads, t => Assert.Equal(1, t));
        work.For(1, (i, pool) => Assert.Same(wide, pool), wide);
    }

    [Fact]
    public void The_first_failure_is_rethrown_after_the_iterations_in_hand_finish()
    {
        var work = new ParallelWork(2, null);
        int ran = 0;
        var e = Assert.Throws<InvalidOperationException>(() => work.For(1000, i =>
        {
            Interlocked.Increment(ref ran);
            if (i == 3) throw new InvalidOperationException("iteration 3 failed");
        }));
        Assert.Equal("iteration 3 failed", e.Message);
        Assert.True(ran < 1000, $"{ran} iterations ran after the failure");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => work.For(10, _ => { }, cancelled.Token));
    }

    [Fact]
    public void Width_fits_are_the_same_bits_with_their_starts_spread_over_threads()
    {
        var kernel = KernelQuadrature.FromFunction(t => Math.Pow(1 + t, -1.5), 60);
        var options = new WidthFitOptions { RandomStarts = 2, MinRate = 0.02, MaxRate = 20 };
        var serial = WidthFit.FitSequence(kernel, 4, options);
        var spread = WidthFit.FitSequence(kernel, 4, options with { Work = new ParallelWork(4, null) });
        var greedySerial = WidthFit.Fit(kernel, 3, options);
        var greedySpread = WidthFit.Fit(kernel, 3, options with { Work = new ParallelWork(4, null) });
        foreach (var (a, b) in serial.Zip(spread).Append((greedySerial, greedySpread)))
        {
            Assert.Equal(a.Loss, b.Loss);
            Assert.Equal(a.Rates, b.Rates);
            Assert.Equal(a.Coefficients, b.Coefficients);
            Assert.Equal(a.Iterations, b.Iterations);
            Assert.Equal(a.Starts, b.Starts);
        }
    }

    /// <summary>A run whose iterations wait for each other: they can only all finish if the sweep's idle workers run them.</summary>
    private sealed class RendezvousKind : ExperimentKind<int>
    {
        public static readonly ConcurrentDictionary<int, int> Threads = new();
        public override string Name => "rendezvous";
        public override string Description => "iterations that wait for each other";
        public override IReadOnlyCollection<string> MetricNames => ["iterations"];
        public override int Bind(SpecNode spec) => spec.GetInt("iterations", 3, min: 1);
        protected override RunSummary Execute(int iterations, RunContext ctx)
        {
            using var barrier = new Barrier(iterations);
            ctx.Work.For(iterations, i =>
            {
                Threads[Environment.CurrentManagedThreadId] = i;
                if (!barrier.SignalAndWait(TimeSpan.FromSeconds(20))) throw new TimeoutException("the spare workers did not help");
            }, ctx.Cancellation);
            return RunSummary.Completed(new Dictionary<string, double> { ["iterations"] = iterations }, 0);
        }
    }

    [Fact]
    public void A_sweeps_idle_workers_run_the_iterations_of_its_last_run()
    {
        using var dir = new TempDirectory();
        var registry = ExperimentRegistry.CreateDefault().Register(new RendezvousKind());
        var plan = SweepPlan.FromSpec(SpecParser.ParseText("kind: rendezvous\niterations: 3\n", "r.yaml"), "r", registry);
        // One run, three workers of one thread each: only the two idle workers can run the other iterations at the same time.
        var result = SweepRunner.Run(plan.Runs, new ResultsStore(dir.Path), registry, new SweepOptions { Workers = 3 });
        Assert.Equal(1, result.Completed);
        Assert.Equal(3, RendezvousKind.Threads.Count);
    }
}
