using System.Text.Json;
using System.Text.RegularExpressions;
using MemoryLab.Experiments;
using MemoryLab.Numerics;
using MemoryLab.Tests.Experiments;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Reliability;

/// <summary>
/// Kill and resume with the real memlab process: a run killed (SIGKILL, as <c>kill -9</c>) at a checkpoint boundary or in the
/// middle of writing a checkpoint, then continued with <c>--resume</c>, ends with every file equal to an uninterrupted run's
/// (timing columns aside); a checkpoint that cannot be used (torn, corrupt, of another model, out of range, other dtype, NaN data)
/// gives one warning line naming the file and a fresh start that again equals the uninterrupted run, never a failed run.
/// </summary>
public sealed class ResumeTests(ITestOutputHelper log)
{
    private const string KillVariable = "MEMLAB_TEST_KILL_AT_CHECKPOINT";

    /// <summary>Kill points: the checkpoint step, and the bytes of it on disk when the process dies (null: after it is complete).</summary>
    public static TheoryData<long, long?> KillPoints() => new()
    {
        { 5, null }, { 10, null }, { 15, null },   // at a checkpoint boundary
        { 5, 0 }, { 10, 0 }, { 10, 7 }, { 10, 8 }, { 10, 200 }, { 10, 2000 }, { 15, 100 },   // mid-write: the previous checkpoint (or none) must still serve
    };

    [Theory]
    [MemberData(nameof(KillPoints))]
    public void A_killed_run_resumes_to_the_files_of_an_uninterrupted_run(long step, long? bytes)
    {
        using var dir = new TempDirectory();
        dir.File("train.yaml", ReliabilitySpecs.Train);
        var env = new Dictionary<string, string> { [KillVariable] = bytes is null ? $"{step}" : $"{step}:{bytes}" };
        var killed = Reliable.Run(dir.Path, env, "train", "train.yaml", "--out", "out");
        log.WriteLine(killed.ToString());
        Assert.Equal(137, killed.ExitCode); // SIGKILL
        Assert.NotEmpty(Directory.EnumerateDirectories(Path.Combine(dir.Path, "out"), ".tmp-*")); // a real kill leaves its temporary folder

        var resumed = Reliable.Run(dir.Path, null, "train", "train.yaml", "--out", "out", "--resume");
        log.WriteLine(resumed.ToString());
        Assert.Equal(0, resumed.ExitCode);
        Assert.Empty(resumed.ErrorLines);
        AssertSameAsUninterrupted(Path.Combine(dir.Path, "out"));
    }

    [Fact]
    public void A_run_with_helper_threads_killed_and_resumed_twice_ends_with_the_files_of_an_uninterrupted_run()
    {
        // With --threads 1 a machine of two or more cores has one free for the run's helpers (SweepOptions.Offload): it draws
        // its batches ahead and writes its metric rows on threads of their own. A checkpoint must still journal exactly the
        // rows before it, however far the writer had got.
        using var dir = new TempDirectory();
        dir.File("train.yaml", ReliabilitySpecs.Train);
        // The algorithm `auto` picks depends on the thread count and is part of the run's id: pin the uninterrupted run's.
        string algorithm = Regex.Match(File.ReadAllText(Path.Combine(Reference.RunFolder, "spec.yaml")), @"algorithm: (\w+)").Groups[1].Value;
        Assert.NotEmpty(algorithm);
        string[] one = [$"+model.algorithm={algorithm}", "--threads", "1"];
        Assert.Equal(137, Reliable.Run(dir.Path, new Dictionary<string, string> { [KillVariable] = "10" }, ["train", "train.yaml", "--out", "out", .. one]).ExitCode);
        Assert.Equal(137, Reliable.Run(dir.Path, new Dictionary<string, string> { [KillVariable] = "15:100" }, ["train", "train.yaml", "--out", "out", "--resume", .. one]).ExitCode);
        var last = Reliable.Run(dir.Path, null, ["train", "train.yaml", "--out", "out", "--resume", .. one]);
        log.WriteLine(last.ToString());
        Assert.Equal(0, last.ExitCode);
        Assert.Empty(last.ErrorLines);
        AssertSameAsUninterrupted(Path.Combine(dir.Path, "out"));
    }

    [Fact]
    public void A_run_killed_again_after_resuming_continues_from_its_own_metric_journal()
    {
        // The resumed process journals from the rows it restored; a second kill (mid-write of its next checkpoint, so the
        // one before must serve) and a third process still give the files of an uninterrupted run.
        using var dir = new TempDirectory();
        dir.File("train.yaml", ReliabilitySpecs.Train);
        Assert.Equal(137, Reliable.Run(dir.Path, new Dictionary<string, string> { [KillVariable] = "5" }, "train", "train.yaml", "--out", "out").ExitCode);
        Assert.Equal(137, Reliable.Run(dir.Path, new Dictionary<string, string> { [KillVariable] = "15:100" }, "train", "train.yaml", "--out", "out", "--resume").ExitCode);
        string resume = Path.Combine(dir.Path, "out", ".resume");
        Assert.Equal(2, Directory.EnumerateDirectories(resume, "*.metrics-*").Count());   // one journal per process
        var last = Reliable.Run(dir.Path, null, "train", "train.yaml", "--out", "out", "--resume");
        log.WriteLine(last.ToString());
        Assert.Equal(0, last.ExitCode);
        Assert.Empty(last.ErrorLines);
        AssertSameAsUninterrupted(Path.Combine(dir.Path, "out"));
    }

    [Fact]
    public void A_periodic_checkpoint_that_cannot_be_written_fails_the_run_with_the_file_named()
    {
        // The checkpoint is written on another thread while the run trains on; its failure must still reach the run's record.
        using var dir = new TempDirectory();
        dir.File("train.yaml", ReliabilitySpecs.Train);
        string target = Path.Combine(dir.Path, "out", ".resume", Reference.RunId + ".safetensors");
        Directory.CreateDirectory(target); // a folder where the checkpoint file goes: renaming the written file over it fails
        var r = Reliable.Run(dir.Path, null, "train", "train.yaml", "--out", "out");
        log.WriteLine(r.ToString());
        Assert.Equal(1, r.ExitCode);
        Assert.False(r.HasStackTrace);
        Assert.Contains($"status=failed", r.Stdout);
        using var summary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, "out", Reference.RunId, "summary.json")));
        Assert.Equal("failed", summary.RootElement.GetProperty("status").GetString());
        Assert.Contains(target, summary.RootElement.GetProperty("message").GetString());
    }

    /// <summary>Checkpoints that cannot be used: each is put where the run keeps its periodic checkpoint before <c>--resume</c>.</summary>
    public static TheoryData<string> BadCheckpoints() => new()
    {
        "empty", "garbage", "truncated", "header-only", "other-model", "step-out-of-range", "step-negative", "step-not-a-number",
        "step-off-the-grid", "float64-in-a-float32-run", "nan-data", "extra-tensor", "no-metric-rows", "metric-journal-missing",
        "metric-journal-short",
    };

    [Theory]
    [MemberData(nameof(BadCheckpoints))]
    public void A_checkpoint_that_cannot_be_used_gives_one_warning_and_a_fresh_start(string kind)
    {
        using var dir = new TempDirectory();
        dir.File("train.yaml", ReliabilitySpecs.Train);
        string good = GoodCheckpoint.Path;
        string output = Path.Combine(dir.Path, "out");
        string target = Path.Combine(output, ".resume", Reference.RunId + ".safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        byte[] bytes = File.ReadAllBytes(good);
        switch (kind)
        {
            case "empty": File.WriteAllBytes(target, []); break;
            case "garbage": File.WriteAllText(target, "this is no checkpoint"); break;
            case "truncated": File.WriteAllBytes(target, bytes[..(bytes.Length - 5)]); break;
            case "header-only": File.WriteAllBytes(target, bytes[..8]); break;
            case "other-model": File.Copy(GoodCheckpoint.OtherModelPath, target); break;
            case "step-out-of-range": Rewrite(good, target, meta => meta["memlab.step"] = "100000"); break;
            case "step-negative": Rewrite(good, target, meta => meta["memlab.step"] = "-5"); break;
            case "step-not-a-number": Rewrite(good, target, meta => meta["memlab.step"] = "ten"); break;
            case "step-off-the-grid": Rewrite(good, target, meta => meta["memlab.step"] = "7"); break;
            case "float64-in-a-float32-run": Rewrite(good, target, _ => { }, asDouble: true); break;
            case "nan-data": Rewrite(good, target, _ => { }, poison: true); break;
            case "extra-tensor": Rewrite(good, target, _ => { }, extraTensor: true); break;
            case "no-metric-rows": Rewrite(good, target, meta => meta.Remove("memlab.metrics.journal")); break;
            case "metric-journal-missing": File.Copy(good, target); break;   // its journal stayed beside the original
            case "metric-journal-short":
                File.Copy(good, target);
                string journal = Directory.EnumerateDirectories(Path.GetDirectoryName(good)!, Path.GetFileName(good) + ".metrics-*").Single();
                string copy = Path.Combine(Path.GetDirectoryName(target)!, Path.GetFileName(journal));
                TempDirectory.CopyTree(journal, copy);
                string csv = Path.Combine(copy, "metrics.csv");
                File.WriteAllBytes(csv, File.ReadAllBytes(csv)[..^5]);
                break;
        }

        var r = Reliable.Run(dir.Path, null, "train", "train.yaml", "--out", "out", "--resume");
        log.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.False(r.HasStackTrace);
        var warning = Assert.Single(r.ErrorLines);
        Assert.StartsWith($"warning: {target}: ", warning);
        Assert.EndsWith("the run starts over from step 0", warning);
        AssertSameAsUninterrupted(output);
    }

    [Fact]
    public void A_temporary_run_folder_without_its_owner_file_is_removed_by_the_next_sweep()
    {
        using var dir = new TempDirectory();
        dir.File("sweep.yaml", ReliabilitySpecs.Sweep);
        string output = Path.Combine(dir.Path, "out");
        // A writer killed between making its folder and writing .owner: a pid that is not running here, and one that is (this
        // process) but whose folder is over a minute old.
        string dead = Path.Combine(output, ".tmp-0123456789ab-999999");
        string old = Path.Combine(output, $".tmp-ba9876543210-{Environment.ProcessId}");
        Directory.CreateDirectory(dead);
        Directory.CreateDirectory(old);
        Directory.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddMinutes(-5));
        var r = Reliable.Run(dir.Path, null, "sweep", "sweep.yaml", "--out", "out");
        Assert.Equal(0, r.ExitCode);
        Assert.False(Directory.Exists(dead));
        Assert.False(Directory.Exists(old));
        Assert.False(Directory.Exists(Path.Combine(output, ".resume")));
    }

    /// <summary>Every file of the run folder equals the uninterrupted run's, timing aside; nothing else is left in the results folder.</summary>
    private void AssertSameAsUninterrupted(string output)
    {
        var entries = Directory.EnumerateFileSystemEntries(output).Select(e => Path.GetFileName(e)!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { Reference.RunId }, entries); // no .resume/, no .tmp-*
        string mine = Path.Combine(output, Reference.RunId), theirs = Reference.RunFolder;
        var myFiles = Directory.EnumerateFiles(mine).Select(f => Canonical(Path.GetFileName(f)!)).Order(StringComparer.Ordinal).ToArray();
        var theirFiles = Directory.EnumerateFiles(theirs).Select(f => Canonical(Path.GetFileName(f)!)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(theirFiles, myFiles);
        foreach (string f in Directory.EnumerateFiles(theirs))
        {
            string name = Path.GetFileName(f)!;
            string other = Directory.EnumerateFiles(mine).Single(x => Canonical(Path.GetFileName(x)!) == Canonical(name));
            switch (Canonical(name))
            {
                case "metrics.csv": Assert.Equal(CsvWithoutTiming(f), CsvWithoutTiming(other)); break;
                case "metrics.jsonl": Assert.Equal(JsonLinesWithoutTiming(f), JsonLinesWithoutTiming(other)); break;
                case "summary.json": Assert.Equal(SummaryWithoutTiming(f), SummaryWithoutTiming(other)); break;
                case "events": Assert.Equal(EventsWithoutTiming(f), EventsWithoutTiming(other)); break;
                default: Assert.Equal(File.ReadAllBytes(f), File.ReadAllBytes(other)); break; // spec.yaml, checkpoint.safetensors: bit for bit
            }
        }
        Assert.Equal(File.ReadAllLines(Path.Combine(theirs, "metrics.csv")).Length, File.ReadAllLines(Path.Combine(mine, "metrics.csv")).Length);
    }

    private static string Canonical(string name) => name.StartsWith("events.out.tfevents.", StringComparison.Ordinal) ? "events" : name;

    private static readonly string[] TimingColumns = ["elapsed_s", "steps_per_second", "wall_time"];

    private static string CsvWithoutTiming(string path)
    {
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        var keep = Enumerable.Range(0, header.Length).Where(i => !TimingColumns.Contains(header[i])).ToArray();
        Assert.Contains("elapsed_s", header);
        return string.Join("\n", lines.Select(l => string.Join(",", keep.Select(i => l.Split(',')[i]))));
    }

    private static string JsonLinesWithoutTiming(string path) => string.Join("\n", File.ReadAllLines(path).Select(l =>
    {
        using var doc = JsonDocument.Parse(l);
        return string.Join(",", doc.RootElement.EnumerateObject().Where(p => !TimingColumns.Contains(p.Name)).Select(p => $"{p.Name}={p.Value.GetRawText()}"));
    }));

    private static string SummaryWithoutTiming(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var keep = doc.RootElement.EnumerateObject()
            .Where(p => p.Name is not ("wall_time_s" or "started_utc" or "finished_utc"))
            .Select(p => p.Name == "metrics"
                ? "metrics=" + string.Join(",", p.Value.EnumerateObject().Where(m => m.Name != "steps_per_second").Select(m => $"{m.Name}={m.Value.GetRawText()}"))
                : $"{p.Name}={p.Value.GetRawText()}");
        return string.Join("\n", keep);
    }

    private static string EventsWithoutTiming(string path) => string.Join("\n", TensorBoardMetricSink.ReadEvents(path).Select(e =>
        $"{e.Step} {e.FileVersion} " + string.Join(",", e.Scalars.Where(s => !TimingColumns.Contains(s.Tag)).Select(s => $"{s.Tag}={s.Value:R}"))));

    /// <summary>Writes <paramref name="from"/>'s tensors and metadata to <paramref name="to"/>, changed as asked.</summary>
    private static void Rewrite(string from, string to, Action<Dictionary<string, string>> editMetadata, bool asDouble = false, bool poison = false, bool extraTensor = false)
    {
        var file = SafeTensors.Load(from);
        var meta = new Dictionary<string, string>(file.Metadata);
        editMetadata(meta);
        var layout = file.ToLayout();
        if (extraTensor) layout.Add("stowaway", "default", [3]);
        var theta = new double[layout.Count];
        foreach (var t in file.Tensors) file.Read<double>(t.Name).CopyTo(theta.AsSpan(layout[t.Name].Offset));
        if (poison) theta[1] = double.NaN;
        if (asDouble) SafeTensors.Save(to, layout, (ReadOnlySpan<double>)theta, meta);
        else SafeTensors.Save(to, layout, (ReadOnlySpan<float>)theta.Select(x => (float)x).ToArray(), meta);
    }

    /// <summary>The uninterrupted run of <see cref="ReliabilitySpecs.Train"/>, made once per test process.</summary>
    private static class Reference
    {
        private static readonly Lazy<(string Id, string Folder)> Made = new(() =>
        {
            string root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "memlab-reliability-train-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(root);
            File.WriteAllText(System.IO.Path.Combine(root, "train.yaml"), ReliabilitySpecs.Train);
            var r = Reliable.Run(root, null, "train", "train.yaml", "--out", "out");
            if (r.ExitCode != 0) throw new InvalidOperationException($"the uninterrupted run failed: {r}");
            string id = Regex.Match(r.Stdout, @"run id=([0-9a-f]{12})").Groups[1].Value;
            return (id, System.IO.Path.Combine(root, "out", id));
        });

        public static string RunId => Made.Value.Id;
        public static string RunFolder => Made.Value.Folder;
    }

    /// <summary>A good periodic checkpoint of the run at step 10 (from a run killed right after writing it), and one of a wider model.</summary>
    private static class GoodCheckpoint
    {
        private static readonly Lazy<string> Made = new(() => Kill(ReliabilitySpecs.Train));
        private static readonly Lazy<string> Other = new(() => Kill(ReliabilitySpecs.Train.Replace("hidden: 4", "hidden: 8")));

        public static string Path => Made.Value;
        public static string OtherModelPath => Other.Value;

        private static string Kill(string spec)
        {
            string root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "memlab-reliability-ckpt-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(root);
            File.WriteAllText(System.IO.Path.Combine(root, "train.yaml"), spec);
            var r = Reliable.Run(root, new Dictionary<string, string> { [KillVariable] = "10" }, "train", "train.yaml", "--out", "out");
            if (r.ExitCode != 137) throw new InvalidOperationException($"the run was not killed at its checkpoint: {r}");
            return Directory.EnumerateFiles(System.IO.Path.Combine(root, "out", ".resume"), "*.safetensors").Single();
        }
    }
}
