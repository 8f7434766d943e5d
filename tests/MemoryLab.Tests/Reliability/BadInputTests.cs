using MemoryLab.Tests.Experiments;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Reliability;

/// <summary>
/// Bad input, as a user gives it: every case must exit with code 2, print exactly one line on stderr that names the file and
/// line (or <c>&lt;command line&gt;</c>, or the environment variable) and the key, show no stack trace, and leave the working
/// folder exactly as it was (nothing written, no temporary file left).
/// </summary>
public sealed class BadInputTests(ITestOutputHelper log)
{
    /// <summary>One case: its category, the arguments (<c>{d}</c> is the case's folder), the environment, and the text its one line must hold.</summary>
    public sealed record Case(string Category, string[] Args, string Expected, string? Env = null)
    {
        public override string ToString() => $"{Category}: {(Env is null ? "" : Env + " ")}{string.Join(' ', Args)}";
    }

    private static Case C(string category, string expected, params string[] args) => new(category, args, expected);
    private static Case E(string category, string env, string expected, params string[] args) => new(category, args, expected, env);

    public static readonly Case[] Cases =
    [
        // --out that cannot take results: a file, under a file, a device, a folder no one can write in.
        C("output", "<command line>: key '--out': 'afile' is a file, not a folder", "train", "train.yaml", "--out", "afile"),
        C("output", "<command line>: key '--out': 'afile/sub' lies under", "train", "train.yaml", "--out", "afile/sub"),
        C("output", "<command line>: key '--out': '/dev/null' is a file, not a folder", "train", "train.yaml", "--out", "/dev/null"),
        C("output", "<command line>: key '--out': '/proc/memlab-out' is in '/proc'", "train", "train.yaml", "--out", "/proc/memlab-out"),
        C("output", "<command line>: key '--out': 'afile' is a file, not a folder", "run", "demo.yaml", "--out", "afile"),
        C("output", "<command line>: key '--out': 'afile' is a file, not a folder", "sweep", "sweep.yaml", "--out", "afile"),
        C("output", "<command line>: key '--out': 'afile/sub' lies under", "sweep", "sweep.yaml", "--out", "afile/sub"),
        C("output", "<command line>: key '--out': '/dev/null' is a file, not a folder", "sweep", "sweep.yaml", "--out", "/dev/null"),
        C("output", "<command line>: key '--out': '/proc/memlab-out' is in '/proc'", "sweep", "sweep.yaml", "--out", "/proc/memlab-out"),
        C("output", "<command line>: key '--out': 'done' is a folder, not a file", "results", "done", "--out", "done"),
        C("output", "<command line>: key '--out': '/dev/null' is not a regular file", "results", "done", "--out", "/dev/null"),
        C("output", "<command line>: key '--out': 'afile/table.csv' lies under", "results", "done", "--out", "afile/table.csv"),
        C("output", "<command line>: key '--out': '/proc/table.csv' is in '/proc'", "results", "done", "--out", "/proc/table.csv"),
        C("output", "<command line>: key '--out': 'afile' is a file, not a folder", "reproduce", "--only", "li21-plateaus", "--out", "afile"),
        C("output", "<command line>: no finished runs in", "report", "empty"),
        C("output", "<command line>: key '--out': 'afile' is a file, not a folder", "report", "done", "--out", "afile"),
        C("output", "<command line>: key '--out': 'afile/sub' lies under", "report", "done", "--out", "afile/sub"),
        C("output", "<command line>: no results folder", "report", "missing"),
        C("output", "done: not a results folder of memlab reproduce", "publish", "done", "--out", "published"),
        C("output", "empty: not a results folder of memlab reproduce", "publish", "empty", "--out", "published"),
        C("output", "missing: no such results folder", "publish", "missing", "--out", "published"),
        C("output", "<command line>: key '--out': 'afile' is a file, not a folder", "publish", "done", "--out", "afile"),
        C("output", "<command line>: key '--max-size-mb': must be > 0", "publish", "done", "--out", "published", "--max-size-mb", "0"),

        // Sizes: every size has a range, and a run that cannot fit says so before it starts.
        C("sizes", "<command line>: key 'data.time': must be <= 16777216 (got 1000000000)", "train", "train.yaml", "data.time=1000000000"),
        C("sizes", "<command line>: key 'model.hidden': ", "train", "train.yaml", "model.hidden=2000000000"),
        C("sizes", "<command line>: key 'model.hidden': ", "train", "train.yaml", "model.hidden=99999999999"),
        C("sizes", "<command line>: key 'data.state_size': must be <= 65536", "train", "train.yaml", "data.state_size=1000000000"),
        C("sizes", "<command line>: key 'batch': must be <= 1048576", "train", "train.yaml", "batch=2000000000"),
        C("sizes", "<command line>: key 'steps': must be <= ", "train", "train.yaml", "steps=1e15"),
        C("sizes", "<command line>: key 'log_every': must fit in a 32-bit integer", "train", "train.yaml", "log_every=99999999999"),
        C("sizes", "train.yaml:|: key 'model': the model cannot fit: batch 4 × time 16000000 × width 4096", "train", "train.yaml", "data.time=16000000", "model.hidden=4096"),
        C("sizes", "<command line>: key 'problem.rows': must be <= 1048576", "run", "demo.yaml", "problem.rows=2000000000"),
        C("sizes", "<command line>: key 'model.hidden': ", "train", "train.yaml", "model.hidden=0"),

        // Non-finite numbers: NaN and ±∞ are rejected alike, wherever a number is read.
        C("non-finite", "<command line>: key 'optimizer.lr': must be a finite number (got .inf)", "train", "train.yaml", "optimizer.lr=.inf"),
        C("non-finite", "<command line>: key 'optimizer.lr': must be a finite number (got -.inf)", "train", "train.yaml", "optimizer.lr=-.inf"),
        C("non-finite", "<command line>: key 'optimizer.lr': must be a number, not NaN", "train", "train.yaml", "optimizer.lr=.nan"),
        C("non-finite", "<command line>: key 'optimizer.eps': must be a finite number (got .inf)", "train", "train.yaml", "+optimizer.eps=.inf"),
        C("non-finite", "<command line>: key 'optimizer.beta1': must be a number, not NaN", "train", "train.yaml", "+optimizer.beta1=.nan"),
        C("non-finite", "<command line>: key 'optimizer.weight_decay': must be a finite number (got .inf)", "train", "train.yaml", "+optimizer.weight_decay=.inf"),
        C("non-finite", "<command line>: key 'schedule.initial': must be a finite number (got .inf)", "train", "train.yaml", "schedule.initial=.inf"),
        C("non-finite", "<command line>: key 'schedule.end': must be a finite number (got .inf)", "train", "train.yaml", "+schedule.end=.inf"),
        C("non-finite", "<command line>: key 'model.r_min': ", "train", "train.yaml", "+model.r_min=.inf"),
        C("non-finite", "<command line>: key 'model.max_phase': ", "train", "train.yaml", "+model.max_phase=.nan"),
        C("non-finite", "<command line>: key 'data.theta0': must be a finite number (got .inf)", "train", "train.yaml", "+data.theta0=.inf"),
        C("non-finite", "<command line>: key 'problem.noise': must be a finite number (got .inf)", "run", "demo.yaml", "problem.noise=.inf"),
        C("non-finite", "<command line>: key 'optimizer.lr': must be a finite number (got .inf)", "run", "demo.yaml", "optimizer.lr=.inf"),
        C("non-finite", "inf.yaml:13: key 'optimizer.lr': must be a finite number (got .inf)", "train", "inf.yaml"),

        // Unknown keys at every level, with a did-you-mean where one is close.
        C("unknown-keys", "momentum.yaml:14: key 'optimizer.momentum': unknown key", "train", "momentum.yaml"),
        C("unknown-keys", "<command line>: key 'optimizer.momentum': unknown key", "train", "train.yaml", "+optimizer.momentum=0.9"),
        C("unknown-keys", "<command line>: key 'data.input_siz': unknown key (did you mean 'input_size'?)", "train", "train.yaml", "+data.input_siz=1"),
        C("unknown-keys", "<command line>: key 'schedule.warmup_fractio': unknown key (did you mean 'warmup_fraction'?)", "train", "train.yaml", "+schedule.warmup_fractio=0.1"),
        C("unknown-keys", "<command line>: key 'model.hiden': ", "train", "train.yaml", "+model.hiden=8"),
        C("unknown-keys", "<command line>: key 'lossy': unknown key", "train", "train.yaml", "+lossy=1"),
        C("unknown-keys", "<command line>: key 'optimizer.groups.recurrent.lr_factr': unknown key (did you mean 'lr_factor'?)", "train", "train.yaml", "+optimizer.groups.recurrent.lr_factr=2"),
        C("unknown-keys", "<command line>: key 'problem.rowz': no such key in the spec (did you mean 'problem.rows'?)", "run", "demo.yaml", "problem.rowz=5"),
        C("unknown-keys", "<command line>: key 'select.ovr': unknown key (did you mean 'over'?)", "sweep", "sweep.yaml", "+select.ovr=[seed]"),
        C("unknown-keys", "<command line>: key 'select.minimise': unknown key (known here: metric, minimize, over, per)", "sweep", "sweep.yaml", "+select.minimise=true"),

        // The sweep bench's counts, checked before any run starts.
        C("bench", "<command line>: key '--pairs': must be at least 1 (got 0)", "bench", "--sweep", "--pairs", "0"),
        C("bench", "<command line>: key '--sweep-steps': must be at least 200 (got 10)", "bench", "--sweep", "--sweep-steps", "10"),
        C("bench", "<command line>: key '--runs-per-worker': must be at least 1 (got 0)", "bench", "--sweep", "--runs-per-worker", "0"),

        // Thread counts, checked before anything (sweep.yaml included) is written.
        C("threads", "<command line>: key '--threads': must be from 1 to 1024 (got 0)", "train", "train.yaml", "--threads", "0"),
        C("threads", "<command line>: key '--threads': must be from 1 to 1024 (got 30000)", "train", "train.yaml", "--threads", "30000"),
        C("threads", "<command line>: key '--threads-per-run': must be from 1 to 1024 (got 100000)", "sweep", "sweep.yaml", "--threads-per-run", "100000"),
        C("threads", "<command line>: key '--workers': must be from 1 to 1024 (got 0)", "sweep", "sweep.yaml", "--workers", "0"),
        C("threads", "<command line>: key '--workers': must be from 1 to 1024 (got 5000)", "sweep", "sweep.yaml", "--workers", "5000"),
        C("threads", "<command line>: key '--threads-per-run': --workers 64 × --threads-per-run 1024", "sweep", "sweep.yaml", "--workers", "64", "--threads-per-run", "1024"),
        C("threads", "<command line>: key '--workers': must be from 1 to 1024 (got 0)", "reproduce", "--only", "li21-plateaus", "--workers", "0", "--out", "repro"),
        E("threads", "MEMLAB_THREADS=abc", "MEMLAB_THREADS: must be a whole number of threads from 1 to 1024 (got 'abc')", "sweep", "sweep.yaml"),
        E("threads", "MEMLAB_THREADS=0", "MEMLAB_THREADS: must be a whole number of threads from 1 to 1024 (got '0')", "train", "train.yaml"),
        E("threads", "MEMLAB_THREADS=-4", "MEMLAB_THREADS: must be a whole number of threads from 1 to 1024 (got '-4')", "train", "train.yaml"),
        E("threads", "MEMLAB_THREADS=100000", "MEMLAB_THREADS: must be a whole number of threads from 1 to 1024 (got '100000')", "reproduce", "--only", "li21-plateaus", "--out", "repro"),

        // Plugins that cannot load.
        E("plugins", "MEMLAB_PLUGINS={d}/missing.dll", "MEMLAB_PLUGINS: cannot load '", "train", "train.yaml"),
        E("plugins", "MEMLAB_PLUGINS={d}/garbage.dll", "MEMLAB_PLUGINS: cannot load '", "train", "train.yaml"),
        E("plugins", "MEMLAB_PLUGINS={d}/lonely/MemoryLab.Tests.dll", "MEMLAB_PLUGINS: ", "train", "train.yaml"),

        // YAML that would not end: aliases are bounded; one document per spec.
        C("yaml", "bomb.yaml:", "train", "bomb.yaml"),
        C("yaml", "two.yaml:", "train", "two.yaml"),
    ];

    public static TheoryData<int> CaseIndices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Cases.Length; i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Bad_input_exits_2_with_one_line_and_writes_nothing(int index)
    {
        var c = Cases[index];
        using var dir = new TempDirectory();
        Workspace(dir);
        string before = Reliable.Fingerprint(dir.Path);
        var env = new Dictionary<string, string>();
        if (c.Env is { } e)
        {
            int eq = e.IndexOf('=');
            env[e[..eq]] = e[(eq + 1)..].Replace("{d}", dir.Path);
        }
        var r = Reliable.Run(dir.Path, env, c.Args);
        log.WriteLine($"{c}\n{r}");
        Assert.Equal(2, r.ExitCode);
        Assert.False(r.HasStackTrace, r.ToString());
        var line = Assert.Single(r.ErrorLines);
        foreach (string part in c.Expected.Split('|')) Assert.Contains(part, line);
        Assert.Equal(before, Reliable.Fingerprint(dir.Path));
    }

    [Fact]
    public void Every_category_has_cases_and_the_suite_counts_them()
    {
        var counts = Cases.GroupBy(c => c.Category).ToDictionary(g => g.Key, g => g.Count());
        log.WriteLine(string.Join("\n", counts.Select(p => $"{p.Key}: {p.Value}")));
        foreach (string category in new[] { "output", "sizes", "non-finite", "unknown-keys", "threads", "plugins", "yaml" })
            Assert.True(counts.GetValueOrDefault(category) >= 2, category);
    }

    /// <summary>The files every case may use: specs, a plain file, a finished sweep folder, an empty folder, a lone plugin.</summary>
    private static void Workspace(TempDirectory dir)
    {
        dir.File("train.yaml", ReliabilitySpecs.Train);
        dir.File("sweep.yaml", ReliabilitySpecs.Sweep);
        dir.File("demo.yaml", ReliabilitySpecs.Demo);
        dir.File("afile", "a plain file\n");
        dir.File("inf.yaml", ReliabilitySpecs.Train.Replace("lr: 0.01", "lr: .inf"));
        dir.File("momentum.yaml", ReliabilitySpecs.Train.Replace("  lr: 0.01\n", "  lr: 0.01\n  momentum: 0.9\n"));
        dir.File("two.yaml", ReliabilitySpecs.Train + "---\nkind: train\n");
        var bomb = new System.Text.StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 9; i++) bomb.Append($"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        dir.File("bomb.yaml", "kind: train\n" + bomb);
        dir.File("garbage.dll", "not an assembly\n");
        Directory.CreateDirectory(Path.Combine(dir.Path, "empty"));
        Directory.CreateDirectory(Path.Combine(dir.Path, "lonely"));
        File.Copy(typeof(BadInputTests).Assembly.Location, Path.Combine(dir.Path, "lonely", "MemoryLab.Tests.dll"));
        CopyFolder(FinishedSweep.Folder, Path.Combine(dir.Path, "done"));
    }

    internal static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
    }
}

/// <summary>A finished three-run sweep of the demo, made once per test process and copied by the cases that need one.</summary>
internal static class FinishedSweep
{
    private static readonly Lazy<string> Made = new(() =>
    {
        string root = Path.Combine(Path.GetTempPath(), "memlab-reliability-sweep-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "sweep.yaml"), ReliabilitySpecs.Sweep);
        var r = Reliable.Run(root, null, "sweep", "sweep.yaml", "--out", "done");
        if (r.ExitCode != 0) throw new InvalidOperationException($"the reference sweep failed: {r}");
        return Path.Combine(root, "done");
    });

    public static string Folder => Made.Value;
}
