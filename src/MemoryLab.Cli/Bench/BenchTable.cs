using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MemoryLab.Cli.Bench;

/// <summary>Writes benchmark results as a markdown table (for the README and closing notes) and as JSON.</summary>
internal static class BenchTable
{
    private static string F(double x, string format) => x.ToString(format, CultureInfo.InvariantCulture);

    private static string Ms(double ms) => ms >= 100 ? F(ms, "F0") : ms >= 10 ? F(ms, "F1") : F(ms, "F2");

    /// <summary>The markdown report: machine, date, command, the table and how to read it.</summary>
    public static string Markdown(IReadOnlyList<BenchResult> results, string command, DateTimeOffset when, string? peerLibrary = null)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Measured {when.UtcDateTime:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} logical cores "
            + $"({System.Runtime.InteropServices.RuntimeInformation.OSDescription.Trim()}, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}), "
            + $"with `{command}`.");
        sb.AppendLine();
        foreach (var c in results.Select(r => r.Ceilings).DistinctBy(c => c.Threads))
            sb.AppendLine($"- Ceilings measured in this run, {c.Threads} thread{(c.Threads == 1 ? "" : "s")}: FMA peak {F(c.FmaGflops, "F0")} GFLOP/s (float32), "
                + $"streaming bandwidth {F(c.StreamGBs, "F1")} GB/s (STREAM triad).");
        if (peerLibrary is not null) sb.AppendLine($"- PyTorch peers: {peerLibrary}.");
        sb.AppendLine();
        sb.AppendLine("| model | shape | threads | MemoryLab ms/step (algorithm) | MemoryLab scan | MemoryLab conv | PyTorch loop | PyTorch conv | PyTorch native | vs fastest PyTorch | scan vs PyTorch loop | GFLOP/s (% peak) | GB/s (% bandwidth) | scan GFLOP/s (% peak) | scan GB/s (% bandwidth) |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            string Cell(IReadOnlyDictionary<string, double> d, string key) => d.TryGetValue(key, out double v) ? Ms(v) : "–";
            string PeerCell(string key) => r.Peers.TryGetValue(key, out double v) ? Ms(v) : r.PeerErrors.ContainsKey(key) ? "failed" : "–";
            var fastest = r.FastestPeer;
            string ratio = fastest is { } f ? $"{F(f.Ms / r.MemlabMs, "F1")}× ({f.Variant})" : "–";
            string scanVsLoop = r.Memlab.TryGetValue("scan", out double scan) && r.Peers.TryGetValue("loop", out double loop) ? $"{F(loop / scan, "F0")}×" : "–";
            string Rate(double value, double ceiling) => $"{F(value, "F1")} ({F(100 * value / ceiling, "F0")}%)";
            var s = r.Scan;
            sb.AppendLine($"| {r.Model.Name} | {r.Shape.Name} | {r.Threads} | {Ms(r.MemlabMs)} ({r.Algorithm}) | {Cell(r.Memlab, "scan")} | {Cell(r.Memlab, "convolution")} "
                + $"| {PeerCell("loop")} | {PeerCell("conv")} | {PeerCell("native")} | {ratio} | {scanVsLoop} "
                + $"| {Rate(r.Gflops, r.Ceilings.FmaGflops)} | {Rate(r.GBs, r.Ceilings.StreamGBs)} | {Rate(s.Gflops, r.Ceilings.FmaGflops)} | {Rate(s.GBs, r.Ceilings.StreamGBs)} |");
        }
        sb.AppendLine();
        sb.AppendLine("Each time is the median of the timed steps after warm-up; one step is forward, the all-steps mean-squared error, backward "
            + "and Adam, in float32. \"vs fastest PyTorch\" divides the fastest PyTorch variant's time by MemoryLab's (the algorithm its `auto` "
            + "picks). GFLOP/s and GB/s are MemoryLab's, with flops counted from the shapes and that algorithm (forward + backward = 3× the "
            + "forward's multiply-adds) and bytes as the compulsory traffic (what the forward stores for the backward, written and read once, "
            + "plus inputs, targets and output gradients). The scan columns give the same rates for the scan path, whichever algorithm "
            + "`auto` picks; the one-feature diagonal scan recomputes its states from checkpoints in the backward pass, and those extra "
            + "flops are not counted (flops are the algorithm's useful work).");
        foreach (var r in results.Where(r => r.PeerErrors.Count > 0).DistinctBy(r => string.Join(";", r.PeerErrors.Values)))
            sb.AppendLine($"\nPyTorch variants that did not run ({r.Model.Name}): {string.Join("; ", r.PeerErrors.Select(e => $"{e.Key}: {e.Value}"))}");
        return sb.ToString();
    }

    /// <summary>The results as JSON (one object per model × threads).</summary>
    public static string Json(IReadOnlyList<BenchResult> results, DateTimeOffset when) => JsonSerializer.Serialize(new
    {
        measured_utc = when,
        logical_cores = Environment.ProcessorCount,
        results = results.Select(r => new
        {
            model = r.Model.Name,
            shape = new { r.Shape.Name, r.Shape.Batch, r.Shape.Time, r.Shape.Hidden, r.Shape.InputSize, r.Shape.OutputSize, r.Shape.Blocks },
            threads = r.Threads,
            algorithm = r.Algorithm,
            memlab_ms = r.Memlab,
            pytorch_ms = r.Peers,
            pytorch_errors = r.PeerErrors,
            flops = r.Cost.Flops,
            bytes = r.Cost.Bytes,
            gflops = r.Gflops,
            gbs = r.GBs,
            fma_peak_gflops = r.Ceilings.FmaGflops,
            stream_gbs = r.Ceilings.StreamGBs,
            speedup_vs_fastest_pytorch = r.FastestPeer is { } f ? f.Ms / r.MemlabMs : (double?)null,
            scan = new { flops = r.Scan.Cost.Flops, bytes = r.Scan.Cost.Bytes, gflops = r.Scan.Gflops, gbs = r.Scan.GBs },
        }),
    }, new JsonSerializerOptions { WriteIndented = true });
}
