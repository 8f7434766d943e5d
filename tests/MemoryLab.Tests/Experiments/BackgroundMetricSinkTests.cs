using MemoryLab.Experiments;

namespace MemoryLab.Tests.Experiments;

/// <summary>Metric rows written on a thread of their own (<see cref="BackgroundMetricSink"/>) reach the files in order and whole,
/// are all there after <c>Flush</c> and <c>Dispose</c>, give the same files as rows written at once, and a write that fails is
/// reported to the caller.</summary>
public class BackgroundMetricSinkTests
{
    private sealed class Recorder(long throwAt = -1, int delayMs = 0, ManualResetEventSlim? gate = null) : IWallTimedMetricSink
    {
        public readonly List<(long Step, MetricValue[] Values, double WallTime)> Rows = [];
        public int Flushes;
        public void Log(long step, ReadOnlySpan<MetricValue> values) => throw new InvalidOperationException("the writer passes the time logged");
        public void Log(long step, ReadOnlySpan<MetricValue> values, double wallTime)
        {
            gate?.Wait();
            if (step == throwAt) throw new IOException($"disk full at step {step}");
            if (delayMs > 0) Thread.Sleep(delayMs);
            Rows.Add((step, values.ToArray(), wallTime));
            Interlocked.Increment(ref Count);
        }
        public int Count;
        public void Flush() => Flushes++;
        public void Dispose() { }
    }

    private static MetricValue[] Row(long step) =>
        [.. Enumerable.Range(0, 1 + (int)(step % 12)).Select(i => new MetricValue($"m{i}", step + i / 10.0))];

    [Fact]
    public void Rows_reach_the_target_in_order_through_a_full_queue_and_all_are_there_after_flush()
    {
        var target = new Recorder();
        using (var sink = new BackgroundMetricSink(target))
        {
            long n = 3 * BackgroundMetricSink.Capacity + 17;
            for (long step = 0; step < n; step++) sink.Log(step, Row(step));
            sink.Flush();
            Assert.Equal(n, target.Rows.Count);
            Assert.Equal(1, target.Flushes);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(i, target.Rows[i].Step);
                Assert.Equal(Row(i), target.Rows[i].Values);
            }
            sink.Log(n, Row(n));
        }
        // Dispose writes what was still queued.
        Assert.Equal(3 * BackgroundMetricSink.Capacity + 18, target.Rows.Count);
    }

    [Fact]
    public void Logging_after_dispose_throws()
    {
        var sink = new BackgroundMetricSink(new Recorder());
        sink.Dispose();
        Assert.Throws<ObjectDisposedException>(() => sink.Log(0, Row(0)));
        Assert.Throws<ObjectDisposedException>(sink.Flush);
        sink.Dispose();   // twice is harmless
    }

    [Fact]
    public void A_slow_target_makes_log_wait_for_room_not_drop_rows_and_each_row_keeps_the_time_it_was_logged_at()
    {
        var target = new Recorder(delayMs: 1);
        using var sink = new BackgroundMetricSink(target);
        var logged = new List<(double Before, double After)>();
        for (long step = 0; step < BackgroundMetricSink.Capacity + 50; step++)
        {
            double before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
            sink.Log(step, Row(step));
            logged.Add((before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0));
        }
        sink.Flush();
        Assert.Equal(Enumerable.Range(0, BackgroundMetricSink.Capacity + 50).Select(i => (long)i), target.Rows.Select(r => r.Step));
        // The last rows are written about a second after they were logged (1 ms a row): their time is the logging time.
        for (int i = 0; i < logged.Count; i++) Assert.InRange(target.Rows[i].WallTime, logged[i].Before, logged[i].After);
    }

    [Fact]
    public void A_slow_run_s_rows_reach_the_target_without_a_flush()
    {
        var target = new Recorder();
        using var sink = new BackgroundMetricSink(target);
        // Far fewer rows than WakeEvery, and no flush: the writer still writes them when it wakes by itself.
        for (long step = 0; step < 3; step++)
        {
            sink.Log(step, Row(step));
            for (int i = 0; i < 1000 && Volatile.Read(ref target.Count) <= step; i++) Thread.Sleep(10);
            Assert.Equal(step + 1, Volatile.Read(ref target.Count));
            Assert.True(SpinWait.SpinUntil(() => sink.WriterIdle, 10_000));
        }
    }

    [Fact]
    public void A_write_that_throws_is_rethrown_to_the_caller()
    {
        using var sink = new BackgroundMetricSink(new Recorder(throwAt: 5));
        for (long step = 0; step < 10; step++) sink.Log(step, Row(step));
        var e = Assert.Throws<IOException>(sink.Flush);
        Assert.Equal("disk full at step 5", e.Message);
        Assert.Throws<IOException>(() => sink.Log(10, Row(10)));
    }

    [Fact]
    public void Run_metric_files_written_in_the_background_are_those_written_at_once()
    {
        using var dir = new TempDirectory();
        string now = Path.Combine(dir.Path, "now"), later = Path.Combine(dir.Path, "later");
        Directory.CreateDirectory(now);
        Directory.CreateDirectory(later);
        using (var a = new RunMetricFiles(now))
        using (var b = new RunMetricFiles(later, background: true))
        {
            for (long step = 0; step < 2000; step++)
            {
                a.Log(step, Row(step));
                b.Log(step, Row(step));
            }
            // A checkpoint's snapshot waits for the rows logged before it.
            var snapshot = b.Snapshot(Path.Combine(later, "checkpoint.safetensors"));
            a.Flush();
            Assert.Equal(new FileInfo(Path.Combine(now, ResultsStore.MetricsCsvFileName)).Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
                snapshot["memlab.metrics.csv_bytes"]);
            for (long step = 2000; step < 2100; step++)
            {
                a.Log(step, Row(step));
                b.Log(step, Row(step));
            }
        }
        Assert.Equal(File.ReadAllBytes(Path.Combine(now, ResultsStore.MetricsCsvFileName)), File.ReadAllBytes(Path.Combine(later, ResultsStore.MetricsCsvFileName)));
        // The JSON lines are the same but for wall_time, which each file took when its row was logged.
        static IEnumerable<string> WithoutTime(string file) =>
            File.ReadLines(file).Select(l => System.Text.RegularExpressions.Regex.Replace(l, "\"wall_time\":[0-9.]+,", ""));
        Assert.Equal(WithoutTime(Path.Combine(now, ResultsStore.MetricsJsonLinesFileName)), WithoutTime(Path.Combine(later, ResultsStore.MetricsJsonLinesFileName)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_captured_journal_holds_the_rows_before_the_capture_however_many_follow_before_it_is_written(bool background)
    {
        using var dir = new TempDirectory();
        string checkpoint = Path.Combine(dir.Path, "checkpoint.safetensors");
        string csv = Path.Combine(dir.Path, ResultsStore.MetricsCsvFileName);
        using var files = new RunMetricFiles(dir.Path, background);
        for (long step = 0; step < 500; step++) files.Log(step, Row(step));
        var first = files.Capture(checkpoint);
        files.Flush();
        byte[] atCapture = File.ReadAllBytes(csv);
        // The checkpoint's write runs later, on another thread, while the run logs on.
        for (long step = 500; step < 1300; step++) files.Log(step, Row(step));
        var firstMetadata = first.Write();
        string journal = Path.Combine(dir.Path, firstMetadata["memlab.metrics.journal"]);
        Assert.Equal(atCapture.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), firstMetadata["memlab.metrics.csv_bytes"]);
        Assert.Equal(atCapture, File.ReadAllBytes(Path.Combine(journal, ResultsStore.MetricsCsvFileName)));
        // The next capture continues the same journal from there.
        var secondMetadata = files.Capture(checkpoint).Write();
        Assert.Equal(firstMetadata["memlab.metrics.journal"], secondMetadata["memlab.metrics.journal"]);
        files.Flush();
        Assert.Equal(File.ReadAllBytes(csv), File.ReadAllBytes(Path.Combine(journal, ResultsStore.MetricsCsvFileName)));
    }

    [Fact]
    public void A_mark_runs_after_the_rows_before_it_and_before_those_after_it_without_waiting_for_them()
    {
        using var gate = new ManualResetEventSlim(false);
        var target = new Recorder(throwAt: 30, gate: gate);
        using var sink = new BackgroundMetricSink(target);
        var seen = new List<(int Rows, Exception? Error)>();
        for (long step = 0; step < 20; step++) sink.Log(step, Row(step));
        // The writer is held at its first row: a Mark that waited for the rows before it would never return.
        var marking = new Thread(() => sink.Mark(error => seen.Add((target.Count, error))));
        marking.Start();
        bool returned = marking.Join(TimeSpan.FromSeconds(10));
        int writtenThen = target.Count;
        gate.Set(); // before any assertion, so a failing test does not leave the writer held
        Assert.True(returned, "Mark waited for the rows before it");
        Assert.Equal(0, writtenThen);
        for (long step = 20; step < 25; step++) sink.Log(step, Row(step));
        sink.Flush();
        Assert.Equal([(20, (Exception?)null)], seen);
        // After a failed write the rows are dropped, but a mark is still called, with the failure.
        for (long step = 25; step < 35; step++) sink.Log(step, Row(step));
        var released = new ManualResetEventSlim();
        Exception? reported = null;
        try { sink.Mark(error => { reported = error; released.Set(); }); }
        catch (IOException) { released.Set(); reported = new IOException("disk full at step 30"); } // the failure came first
        Assert.True(released.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal("disk full at step 30", reported?.Message);
    }

    [Fact]
    public void Checkpoint_writes_run_one_at_a_time_in_order_and_a_failed_one_is_rethrown_by_the_next_wait()
    {
        var order = new System.Collections.Concurrent.ConcurrentQueue<int>();
        int running = 0, overlapped = 0;
        using (var writes = new CheckpointWrites())
        {
            for (int i = 0; i < 5; i++)
            {
                int k = i;
                writes.Start(() =>
                {
                    if (Interlocked.Increment(ref running) > 1) Interlocked.Exchange(ref overlapped, 1);
                    Thread.Sleep(10);
                    order.Enqueue(k);
                    Interlocked.Decrement(ref running);
                });
            }
            writes.Wait();
            Assert.Equal([0, 1, 2, 3, 4], order);
            Assert.Equal(0, overlapped);

            writes.Start(() => throw new IOException("disk full"));
            Assert.Equal("disk full", Assert.Throws<IOException>(writes.Wait).Message);
            writes.Wait(); // reported once

            writes.Start(() => throw new IOException("disk full again"));
            Assert.Equal("disk full again", Assert.Throws<IOException>(() => writes.Start(() => { })).Message);
        }
        // A run that ends by another exception disposes its writes: they are waited for, and their failure is not thrown over it.
        var pending = new CheckpointWrites();
        bool done = false;
        pending.Start(() => { Thread.Sleep(50); done = true; throw new IOException("late"); });
        pending.Dispose();
        Assert.True(done);
    }
}
