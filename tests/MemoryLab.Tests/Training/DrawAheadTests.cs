using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Tests.Experiments;
using MemoryLab.Training;

namespace MemoryLab.Tests.Training;

/// <summary>Drawing the next batches on a thread of their own (<see cref="BatchRing{T}"/>) changes where the draw runs, never
/// the batches: the same bits for consecutive steps, jumps, slow and fast draws, a draw that throws, and whole training runs.</summary>
public class DrawAheadTests
{
    /// <summary>A teacher whose draws can be slowed, made to throw at one step, and counted.</summary>
    private sealed class Probe(ISequenceDataset<double> inner, int delayMs = 0, long throwAt = -1) : ISequenceDataset<double>
    {
        private int _calls;
        public int Calls => Volatile.Read(ref _calls);
        public int Time => inner.Time;
        public int InputFeatures => inner.InputFeatures;
        public int OutputFeatures => inner.OutputFeatures;
        public ulong Seed => inner.Seed;

        public void FillBatch(long step, SequenceTensor<double> inputs, SequenceTensor<double> targets)
        {
            Interlocked.Increment(ref _calls);
            if (delayMs > 0) Thread.Sleep(delayMs);
            if (step == throwAt) throw new InvalidOperationException($"no batch at step {step}");
            inner.FillBatch(step, inputs, targets);
        }
    }

    private static TeacherLinearSystem<double> Teacher() => new(new TeacherOptions { StateSize = 3, Nu0 = 0.9 }, 5, time: 24);

    private static SupervisedObjective<double> Objective(ISequenceDataset<double> data, bool drawAhead)
    {
        var model = new SequenceModel<double>(ModelFactory.CreateDefault().Build<double>(ModelDescription.Of("lru", ("hidden", 4)), 1));
        model.Initialize(3);
        return new SupervisedObjective<double>(model, data, MeanSquaredError<double>.AllSteps(), 5, WorkerPool.Shared, drawAhead);
    }

    private static void AssertBatch(ISequenceDataset<double> reference, long step, SupervisedObjective<double> objective)
    {
        var (x, y) = reference.CreateBatch(step, 5);
        Assert.Equal(x.Data, objective.Inputs.Data);
        Assert.Equal(y.Data, objective.Targets.Data);
    }

    [Theory]
    [InlineData(0)]   // the drawer runs ahead and sleeps with the ring full
    [InlineData(2)]   // the owner waits for each batch
    public void Batches_drawn_ahead_are_those_of_a_plain_draw_through_runs_and_jumps(int delayMs)
    {
        var reference = Teacher();
        using var objective = Objective(new Probe(Teacher(), delayMs), drawAhead: true);
        Assert.True(objective.DrawsAhead);
        long[] steps = [.. Enumerable.Range(0, 30).Select(i => (long)i), 100, 101, 102, 5, 6, 7, 8, 9, 10, 11, 12, 13, 3];
        foreach (long step in steps)
        {
            objective.NextBatch(step);
            AssertBatch(reference, step, objective);
        }
    }

    [Fact]
    public void A_draw_that_throws_reaches_the_caller_at_its_step_and_later_steps_still_come()
    {
        var reference = Teacher();
        using var objective = Objective(new Probe(Teacher(), throwAt: 7), drawAhead: true);
        for (long step = 0; step < 7; step++)
        {
            objective.NextBatch(step);
            AssertBatch(reference, step, objective);
        }
        Assert.Equal("no batch at step 7", Assert.Throws<InvalidOperationException>(() => objective.NextBatch(7)).Message);
        objective.NextBatch(8);
        AssertBatch(reference, 8, objective);
    }

    [Fact]
    public void Dispose_stops_the_drawer_and_the_dataset_is_not_called_after_it()
    {
        var probe = new Probe(Teacher(), delayMs: 5);
        var objective = Objective(probe, drawAhead: true);
        objective.NextBatch(0);
        objective.Dispose();
        int calls = probe.Calls;
        Thread.Sleep(50);
        Assert.Equal(calls, probe.Calls);
        Assert.InRange(calls, 1, BatchRing<double>.MaxSlots);
    }

    [Fact]
    public void The_ring_has_as_many_slots_as_its_memory_budget_allows()
    {
        var big = new TeacherLinearSystem<double>(new TeacherOptions { StateSize = 2 }, 1, time: 2_000);
        // 64 sequences × 2,000 steps × 2 features × 8 bytes = 2 MB a slot: two fit in 4 MiB.
        using var ring = new BatchRing<double>(big, 64, 0);
        Assert.Equal(2, ring.Slots);
        // 10 times as large: still two (the least a ring has).
        using var huge = new BatchRing<double>(new TeacherLinearSystem<double>(new TeacherOptions { StateSize = 2 }, 1, time: 20_000), 64, 0);
        Assert.Equal(2, huge.Slots);
        // 5 × 24 × 2 × 8 bytes: as many as allowed.
        using var small = new BatchRing<double>(Teacher(), 5, 0);
        Assert.Equal(BatchRing<double>.MaxSlots, small.Slots);
        // The teacher–student shape in float32 (128 × 300 × 2 × 4 bytes = 300 KiB a slot): 13.
        using var shape = new BatchRing<float>(new TeacherLinearSystem<float>(new TeacherOptions(), 1, time: 300), 128, 0);
        Assert.Equal(13, shape.Slots);
    }

    [Fact]
    public void A_training_run_has_the_same_bits_with_and_without_drawing_ahead()
    {
        var spec = SpecParser.ParseText("""
            kind: train
            seed: 4
            data: {kind: teacher, time: 40, state_size: 4, nu0: 0.9}
            model: {kind: lru, hidden: 8}
            optimizer: {kind: adam, lr: 0.01}
            steps: 70
            batch: 6
            checkpoint_every: 25
            """, "t.yaml");
        var kinds = ExperimentRegistry.CreateDefault();
        var plan = SweepPlan.FromSpec(spec, "d", kinds);
        using var ahead = new TempDirectory();
        using var plain = new TempDirectory();
        SweepRunner.Run(plan.Runs, new ResultsStore(ahead.Path), kinds, new SweepOptions { Offload = true });
        SweepRunner.Run(plan.Runs, new ResultsStore(plain.Path), kinds, new SweepOptions { Offload = false });
        string id = plan.Runs[0].Id;
        Assert.Equal(File.ReadAllBytes(Path.Combine(plain.Path, id, ResultsStore.CheckpointFileName)),
            File.ReadAllBytes(Path.Combine(ahead.Path, id, ResultsStore.CheckpointFileName)));
        static IEnumerable<string> Losses(string dir) =>
            File.ReadLines(Path.Combine(dir, ResultsStore.MetricsCsvFileName)).Select(l => string.Join(',', l.Split(',').Take(4)));
        Assert.Equal(Losses(Path.Combine(plain.Path, id)), Losses(Path.Combine(ahead.Path, id)));
    }

    [Fact]
    public void Runs_offload_only_where_each_worker_has_a_core_for_it()
    {
        Assert.True(new SweepOptions { Workers = 1 }.OffloadsOn(2));
        Assert.False(new SweepOptions { Workers = 2 }.OffloadsOn(2));
        Assert.False(new SweepOptions { Workers = 1, ThreadsPerRun = 2 }.OffloadsOn(2));
        Assert.True(new SweepOptions { Workers = 8 }.OffloadsOn(16));
        Assert.False(new SweepOptions { Workers = 1, Offload = false }.OffloadsOn(16));
        Assert.True(new SweepOptions { Workers = 16, Offload = true }.OffloadsOn(16));
    }
}
