using System.CommandLine;
using System.Globalization;
using MemoryLab.Experiments;
using MemoryLab.Reproductions;

namespace MemoryLab.Cli.Commands;

/// <summary><c>memlab publish RESULTS --out DIR [--only NAME…] [--commit SHA] [--machine TEXT] [--command TEXT…] [--max-size-mb N]</c>:
/// a results folder of <c>memlab reproduce</c> as a small folder for a repository (<see cref="Publication"/>); <c>memlab report DIR</c>
/// renders it again.</summary>
internal static class PublishCommand
{
    /// <summary>The <c>publish</c> command.</summary>
    public static Command Create(ReproductionRegistry reproductions, ExperimentRegistry kinds)
    {
        var results = new Argument<string>("results") { Description = "A results folder written by memlab reproduce (one sub-folder per reproduction)" };
        var outDir = new Option<string>("--out") { Description = "The published folder (replaced; files no publication wrote, such as a README.md, are kept)", Required = true };
        var only = new Option<string[]>("--only") { Description = "Publish only these reproductions (--only a b or --only a,b); default: every registered one (absent ones are listed as not run)", AllowMultipleArgumentsPerToken = true };
        var commit = new Option<string?>("--commit") { Description = "The commit the runs ran on (recorded in manifest.json; the results do not record it)" };
        var machine = new Option<string?>("--machine") { Description = "The machine the runs ran on, one line (CPU, cores, memory)" };
        var commands = new Option<string[]>("--command") { Description = "An exact command that produced the results (repeat for several); default: derived per reproduction" };
        var maxSize = new Option<double>("--max-size-mb") { Description = "Refuse to publish a folder larger than this (report.html not counted)", DefaultValueFactory = _ => 5 };
        var command = new Command("publish", "Publish a reproduce results folder for a repository: per-run and merged tables (CSV), the data files the reports read "
            + "(thinned where only drawn), claims.md/claims.json, the figures as SVG and a manifest (commands, commit, machine, wall time per reproduction); "
            + "checks that the published files give the same claims")
        {
            results, outDir, only, commit, machine, commands, maxSize,
        };
        command.SetAction(parse => CommandSupport.Guard(_ =>
        {
            IReadOnlyList<IReproduction> selected;
            try { selected = reproductions.Select(parse.GetValue(only) ?? []); }
            catch (ArgumentException e) { throw new SpecException(SourcePosition.CommandLine, "--only", e.Message); }
            // In registry order, so the published report lists them as memlab reproduce does.
            selected = reproductions.All.Where(selected.Contains).ToArray();
            double mb = parse.GetValue(maxSize);
            if (!(mb > 0)) throw new SpecException(SourcePosition.CommandLine, "--max-size-mb", $"must be > 0 (got {mb})");
            string source = parse.GetValue(results)!;
            string output = CommandSupport.RequireOutputFolder(parse.GetValue(outDir)!, "--out");
            var options = new PublishOptions
            {
                Commit = parse.GetValue(commit),
                Machine = parse.GetValue(machine),
                Commands = parse.GetValue(commands) ?? [],
                MaxBytes = (long)(mb * 1e6),
            };
            PublishResult published;
            try { published = Publication.Publish(selected, kinds, source, output, options); }
            catch (PublishException e)
            {
                Console.Error.WriteLine($"memlab publish: {e.Message} (nothing written)");
                return CommandSupport.ExitRunsFailed;
            }
            foreach (var r in published.Reproductions)
                Console.Out.WriteLine($"published name={r.Name} status={r.Status} scale={CommandSupport.Word(r.Scale)} runs={r.Finished}/{r.Runs} failed={r.Failed} "
                    + $"wall_s={r.ElapsedSeconds.ToString("0.###", CultureInfo.InvariantCulture)} compute_s={r.ComputeSeconds.ToString("0.###", CultureInfo.InvariantCulture)}");
            foreach (string f in published.ChangedFigures) Console.Out.WriteLine($"figure {f} drawn from thinned data (its claims unchanged)");
            foreach (string w in published.Warnings) Console.Error.WriteLine($"warning: {w}");
            var claims = published.Report.AllClaims.ToList();
            Console.Out.WriteLine($"publish out={CommandSupport.Word(published.Directory)} size_mb={(published.Bytes / 1e6).ToString("0.###", CultureInfo.InvariantCulture)} "
                + $"claims={claims.Count} holds={claims.Count(c => c.Status == MemoryLab.Reporting.ClaimStatus.Holds)} "
                + $"fails={claims.Count(c => c.Status == MemoryLab.Reporting.ClaimStatus.Fails)} inconclusive={claims.Count(c => c.Status == MemoryLab.Reporting.ClaimStatus.Inconclusive)}");
            return CommandSupport.ExitOk;
        }));
        return command;
    }
}
