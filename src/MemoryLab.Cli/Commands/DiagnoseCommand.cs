using System.CommandLine;
using MemoryLab.Diagnostics;
using MemoryLab.Experiments;
using MemoryLab.Numerics;

namespace MemoryLab.Cli.Commands;

/// <summary><c>memlab diagnose RUN_DIR | CHECKPOINT.safetensors [--spec SPEC] [--data SPEC] [--check] [--map NAME=NAME] --out DIR</c>:
/// the papers' analyses applied to one trained model (<see cref="Diagnoser"/>), written as <c>diagnose.json</c> and
/// <c>diagnose.html</c>, with a short table on stdout.</summary>
internal static class DiagnoseCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("source") { Description = "A run folder of `memlab train`, or a .safetensors file (MemoryLab, minimal-LRU or torch.nn.RNN/GRU/LSTM names)" };
        var spec = new Option<string?>("--spec") { Description = "A train spec giving the model (and data) of a .safetensors file" };
        var data = new Option<string?>("--data") { Description = "A spec whose data: section gives the data (default: the spec's data, else unit white noise)" };
        var check = new Option<bool>("--check") { Description = "Check the first diagonal layer's closed-form sensitivities by Monte Carlo through its own backward pass" };
        var map = new Option<string[]>("--map") { Description = "FILE_NAME=NAME: read the file's tensor FILE_NAME as NAME (repeatable)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var outDir = new Option<string>("--out") { Description = "Folder for diagnose.json, diagnose.html and the figures", Required = true };
        var flag = new Option<double>("--flag-ratio") { Description = "Flag eigenvalues whose sensitivity exceeds this multiple of the layer's median", DefaultValueFactory = _ => 10 };
        var batch = new Option<int>("--batch") { Description = "Sequences the input statistics are measured on", DefaultValueFactory = _ => 32 };
        var hessianBatch = new Option<int?>("--hessian-batch") { Description = "Sequences in the batch whose loss's Hessian is taken (default 16; 4 above 100,000 parameters)" };
        var lanczos = new Option<int?>("--lanczos-steps") { Description = "Hessian-vector products for the top eigenvalues, 0 skips the curvature (default 24; 12 above 100,000 parameters)" };
        var time = new Option<int>("--time") { Description = "Sequence length of the white noise used without data", DefaultValueFactory = _ => 300 };
        var seed = new Option<long>("--seed") { Description = "Seed of the diagnosis's own random draws", DefaultValueFactory = _ => 0 };
        var threads = new Option<int?>("--threads") { Description = "Threads (default: MEMLAB_THREADS, else one per core this process may use, at most SLURM_CPUS_PER_TASK)" };
        var command = new Command("diagnose", "A trained model's memory: spectrum, sensitivity, memory function, curvature (Zucchet & Orvieto 2024; Wang, Li & Li 2024)")
        {
            source, spec, data, check, map, outDir, flag, batch, hessianBatch, lanczos, time, seed, threads,
        };
        command.SetAction(parse => CommandSupport.Guard(_ =>
        {
            var maps = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var m in parse.GetValue(map) ?? [])
            {
                int eq = m.IndexOf('=');
                if (eq <= 0 || eq == m.Length - 1) throw new SpecException(SourcePosition.CommandLine, "--map", $"'{m}' is not FILE_NAME=NAME");
                maps[m[..eq]] = m[(eq + 1)..];
            }
            int t = parse.GetValue(threads) ?? WorkerPool.DefaultThreadCount();
            if (t < 1) throw new SpecException(SourcePosition.CommandLine, "--threads", $"--threads must be at least 1 (got {t})");
            if (parse.GetValue(time) < 2) throw new SpecException(SourcePosition.CommandLine, "--time", "--time must be at least 2");
            if (parse.GetValue(seed) < 0) throw new SpecException(SourcePosition.CommandLine, "--seed", "--seed must be ≥ 0");
            var options = new DiagnosisOptions
            {
                Batch = parse.GetValue(batch), FlagRatio = parse.GetValue(flag), HessianBatch = parse.GetValue(hessianBatch),
                LanczosSteps = parse.GetValue(lanczos), Check = parse.GetValue(check), Seed = (ulong)parse.GetValue(seed),
            };
            try { options.Validate(); }
            catch (ArgumentException e) { throw new SpecException(SourcePosition.CommandLine, null, e.Message); }
            var subject = DiagnosisLoader.Load(parse.GetValue(source)!, parse.GetValue(spec), parse.GetValue(data), maps, parse.GetValue(time));
            using var pool = new WorkerPool(t);
            var diagnosis = Diagnoser.Run(subject, options, pool);
            var (json, html) = DiagnosisReport.Write(diagnosis, Path.GetFullPath(parse.GetValue(outDir)!));
            Console.Out.WriteLine(DiagnosisReport.Table(diagnosis));
            Console.Out.WriteLine($"wrote {CommandSupport.Word(json)} {CommandSupport.Word(html)}");
            return CommandSupport.ExitOk;
        }));
        return command;
    }
}
