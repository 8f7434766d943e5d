using System.Text;
using System.Text.RegularExpressions;

namespace MemoryLab.Experiments;

/// <summary>What a cluster job for a sweep needs to know.</summary>
/// <param name="Name">Sweep name (job names derive from it).</param>
/// <param name="Shards">N: array tasks (Slurm) or completions (Kubernetes); task K runs shard K/N.</param>
/// <param name="Workers">Runs at once inside each task.</param>
/// <param name="ThreadsPerRun">Threads per run (CPUs requested = workers × threads per run).</param>
/// <param name="MemlabCommand">How to start memlab on the cluster, e.g. <c>["dotnet", "/opt/memlab/memlab.dll"]</c>.</param>
/// <param name="SpecPath">Absolute path of the sweep spec (Slurm: on the shared file system).</param>
/// <param name="Overrides">The <c>key=value</c> overrides to pass on.</param>
/// <param name="OutDirectory">Absolute results folder (Slurm: shared by all tasks).</param>
/// <param name="WorkingDirectory">Directory the tasks run in and write their logs to.</param>
/// <param name="Partition">Slurm partition, or null for the default.</param>
/// <param name="TimeLimit">Slurm time limit (e.g. <c>02:00:00</c>), or null.</param>
/// <param name="Image">Container image for Kubernetes.</param>
public sealed record ClusterJobOptions(string Name, int Shards, int Workers, int ThreadsPerRun, IReadOnlyList<string> MemlabCommand,
    string SpecPath, IReadOnlyList<string> Overrides, string OutDirectory, string WorkingDirectory,
    string? Partition = null, string? TimeLimit = null, string Image = "memlab:latest");

/// <summary>
/// Job descriptions that run a sweep across a cluster, one shard per task: a Slurm job-array script (task
/// <c>$SLURM_ARRAY_TASK_ID</c> runs <c>memlab sweep … --shard $SLURM_ARRAY_TASK_ID/N</c>) and a Kubernetes
/// indexed Job (index from <c>JOB_COMPLETION_INDEX</c>, count from <c>MEMLAB_SHARD_COUNT</c>). All tasks write
/// into one results folder; <c>memlab results</c> merges it (or several shard folders) afterwards.
/// </summary>
public static class ClusterJobs
{
    /// <summary>An sbatch script for a job array of <see cref="ClusterJobOptions.Shards"/> tasks. Submit with
    /// <c>memlab sweep SPEC --emit slurm --shards N | sbatch</c>.</summary>
    public static string SlurmArrayScript(ClusterJobOptions o)
    {
        Check(o);
        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append($"# memlab sweep '{o.Name}' as a Slurm job array: task K runs shard K/{o.Shards} (every {o.Shards}-th run).\n");
        sb.Append($"# Merge afterwards with: memlab results {Quote(o.OutDirectory)}\n");
        sb.Append($"#SBATCH --job-name={JobName(o.Name)}\n");
        sb.Append($"#SBATCH --array=0-{o.Shards - 1}\n");
        sb.Append("#SBATCH --ntasks=1\n");
        sb.Append($"#SBATCH --cpus-per-task={o.Workers * o.ThreadsPerRun}\n");
        sb.Append($"#SBATCH --chdir={o.WorkingDirectory}\n");
        sb.Append($"#SBATCH --output={JobName(o.Name)}-%A_%a.out\n");
        if (o.Partition is not null) sb.Append($"#SBATCH --partition={o.Partition}\n");
        if (o.TimeLimit is not null) sb.Append($"#SBATCH --time={o.TimeLimit}\n");
        sb.Append("set -euo pipefail\n");
        sb.Append("exec ");
        sb.AppendJoin(' ', o.MemlabCommand.Select(Quote));
        sb.Append(" sweep ").Append(Quote(o.SpecPath));
        foreach (string ov in o.Overrides) sb.Append(' ').Append(Quote(ov));
        sb.Append($" --out {Quote(o.OutDirectory)} --workers {o.Workers} --threads-per-run {o.ThreadsPerRun}");
        sb.Append($" --shard \"${{SLURM_ARRAY_TASK_ID}}/{o.Shards}\"\n");
        return sb.ToString();
    }

    /// <summary>
    /// A Kubernetes manifest: a ConfigMap holding <paramref name="sweepSpecYaml"/> (the sweep spec with includes
    /// and overrides already resolved, so it is self-contained) and an indexed Job of N completions whose pods run
    /// <c>memlab sweep /etc/memlab/spec.yaml --out /results/NAME</c>; the results volume is the PersistentVolumeClaim
    /// <c>memlab-results</c>, which must exist (ReadWriteMany) and is read later with <c>memlab results</c>.
    /// </summary>
    public static string KubernetesIndexedJob(ClusterJobOptions o, string sweepSpecYaml)
    {
        Check(o);
        string name = JobName(o.Name);
        var sb = new StringBuilder();
        sb.Append($"# memlab sweep '{o.Name}' as a Kubernetes indexed Job: pod K runs shard K/{o.Shards}.\n");
        sb.Append("# Apply with: kubectl apply -f THIS_FILE; results land in the PVC memlab-results under /results/" + name + "\n");
        sb.Append("apiVersion: v1\nkind: ConfigMap\nmetadata:\n");
        sb.Append($"  name: {name}-spec\n");
        sb.Append("data:\n  spec.yaml: |\n");
        foreach (string line in sweepSpecYaml.TrimEnd('\n').Split('\n')) sb.Append("    ").Append(line).Append('\n');
        sb.Append("---\napiVersion: batch/v1\nkind: Job\nmetadata:\n");
        sb.Append($"  name: {name}\n");
        sb.Append("spec:\n  completionMode: Indexed\n");
        sb.Append($"  completions: {o.Shards}\n  parallelism: {o.Shards}\n  backoffLimit: {Math.Max(6, 2 * o.Shards)}\n");
        sb.Append("  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: memlab\n");
        sb.Append($"          image: {Json(o.Image)}\n");
        var command = new List<string>(o.MemlabCommand)
        {
            "sweep", "/etc/memlab/spec.yaml", "--out", $"/results/{name}",
            "--workers", o.Workers.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--threads-per-run", o.ThreadsPerRun.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        sb.Append("          command: [").AppendJoin(", ", command.Select(Json)).Append("]\n");
        sb.Append("          env:\n");
        sb.Append($"            - name: {ShardSpec.ShardCountVariable}\n              value: \"{o.Shards}\"\n");
        sb.Append($"          resources:\n            requests:\n              cpu: \"{o.Workers * o.ThreadsPerRun}\"\n");
        sb.Append("          volumeMounts:\n            - name: spec\n              mountPath: /etc/memlab\n            - name: results\n              mountPath: /results\n");
        sb.Append("      volumes:\n        - name: spec\n          configMap:\n");
        sb.Append($"            name: {name}-spec\n");
        sb.Append("        - name: results\n          persistentVolumeClaim:\n            claimName: memlab-results\n");
        return sb.ToString();
    }

    /// <summary>A Slurm/Kubernetes-safe job name: <c>memlab-</c> + the sweep name in lowercase letters, digits and dashes.</summary>
    public static string JobName(string sweepName)
    {
        string s = Regex.Replace(sweepName.ToLowerInvariant(), "[^a-z0-9]+", "-").Trim('-');
        if (s.Length > 40) s = s[..40].TrimEnd('-');
        return s.Length == 0 ? "memlab" : "memlab-" + s;
    }

    /// <summary>Quotes a word for bash (single quotes; only when needed).</summary>
    public static string Quote(string word) =>
        word.Length > 0 && Regex.IsMatch(word, @"^[A-Za-z0-9_./=:+,@%-]+$") ? word : "'" + word.Replace("'", "'\\''") + "'";

    private static string Json(string s)
    {
        var sb = new StringBuilder();
        SpecNode.AppendJsonString(sb, s);
        return sb.ToString();
    }

    private static void Check(ClusterJobOptions o)
    {
        if (o.Shards < 1) throw new ArgumentOutOfRangeException(nameof(o), o.Shards, "a cluster job needs at least one shard");
        if (o.Workers < 1 || o.ThreadsPerRun < 1) throw new ArgumentOutOfRangeException(nameof(o), "workers and threads per run must be at least 1");
        if (o.MemlabCommand.Count == 0) throw new ArgumentException("the memlab command is empty", nameof(o));
    }
}
