using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MemoryLab.Experiments;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;

namespace MemoryLab.Diagnostics;

/// <summary>Writes a <see cref="Diagnosis"/>: <c>diagnose.json</c> (every number), <c>diagnose.html</c> (figures in the report's
/// style, SVG files beside it) and a short plain-text table.</summary>
public static class DiagnosisReport
{
    /// <summary>The JSON file's name.</summary>
    public const string JsonFileName = "diagnose.json";
    /// <summary>The HTML file's name.</summary>
    public const string HtmlFileName = "diagnose.html";

    /// <summary>Writes both files into <paramref name="directory"/> (the JSON first, the HTML last, each atomically).</summary>
    public static (string Json, string Html) Write(Diagnosis d, string directory)
    {
        Directory.CreateDirectory(directory);
        string json = Path.Combine(directory, JsonFileName);
        AtomicFile.WriteAllText(json, ToJson(d));
        var files = ReportWriter.Write(Document(d), directory, HtmlFileName, claimFiles: false);
        return (json, files.Html);
    }

    private static JsonNode? Num(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;

    private static JsonArray Nums(IEnumerable<double> xs) => new(xs.Select(Num).ToArray());

    /// <summary>Every number of the diagnosis as JSON (non-finite numbers as null).</summary>
    public static string ToJson(Diagnosis d)
    {
        var root = new JsonObject
        {
            ["source"] = d.Source,
            ["reading"] = d.Reading,
            ["data"] = d.Data,
            ["parameters"] = d.Parameters,
            ["options"] = new JsonObject
            {
                ["batch"] = d.Options.Batch, ["flag_ratio"] = d.Options.FlagRatio, ["memory_time"] = d.Options.MemoryTime,
                ["hessian_eigenvalues"] = d.Options.HessianEigenvalues, ["difference_step"] = d.Options.DifferenceStep, ["check"] = d.Options.Check,
                ["check_sequences"] = d.Options.CheckSequences, ["seed"] = d.Options.Seed,
            },
            ["closed_forms"] = "E|h|², E|∂h/∂λ|² and E|∂h/∂ω|² of the linear recurrence driven by an AR(1) input with the measured variance σ² and lag-1 correlation ρ (Zucchet & Orvieto, NeurIPS 2024, §3–4)",
        };
        var layers = new JsonArray();
        foreach (var l in d.Layers)
        {
            var modes = new JsonArray();
            foreach (var m in l.Modes)
            {
                var ps = new JsonObject();
                foreach (var (name, v) in m.ParameterSensitivity) ps[name] = Num(v);
                modes.Add(new JsonObject
                {
                    ["re"] = Num(m.Lambda.Real), ["im"] = Num(m.Lambda.Imaginary), ["abs"] = Num(m.Lambda.Magnitude), ["time_scale"] = Num(m.TimeScale),
                    ["input_variance"] = Num(m.InputVariance), ["input_correlation"] = Num(m.InputCorrelation),
                    ["state_second_moment"] = Num(m.StateSecondMoment), ["lambda_sensitivity"] = Num(m.LambdaSensitivity),
                    ["parameter_sensitivity"] = ps, ["headline"] = Num(m.Headline), ["flagged"] = m.Flagged,
                });
            }
            layers.Add(new JsonObject
            {
                ["path"] = l.Path, ["kind"] = l.Kind, ["how"] = l.How, ["headline"] = l.HeadlineName, ["median_headline"] = Num(l.MedianHeadline),
                ["flag_threshold"] = Num(d.Options.FlagRatio * l.MedianHeadline), ["flagged"] = l.FlaggedCount, ["modes"] = modes,
            });
        }
        root["layers"] = layers;
        if (d.Memory is { } mem)
            root["memory_function"] = new JsonObject
            {
                ["definition"] = "M(t) = sup_x |Δ_t H(x·1_{t≥0})| / |x|∞ over Heaviside probes (Wang, Li & Li, ICLR 2024)",
                ["probes"] = mem.Probes, ["model"] = Nums(mem.Model), ["mean_over_probes"] = Nums(mem.Mean),
                ["target"] = mem.Target is null ? null : Nums(mem.Target), ["target_name"] = mem.TargetName,
            };
        if (d.Curvature is { } c)
            root["curvature"] = new JsonObject
            {
                ["loss"] = c.Loss, ["loss_value"] = Num(c.LossValue), ["batch"] = c.Batch, ["eigenvalues"] = Nums(c.Eigenvalues),
                ["effective_parameters"] = Nums(c.EffectiveParameters), ["residuals"] = Nums(c.Residuals), ["hessian_vector_products"] = c.Products,
                ["top_parameters"] = new JsonArray(c.TopParameters.Select(v => (JsonNode)new JsonArray(v.Select(p => (JsonNode)new JsonObject
                {
                    ["parameter"] = p.Name, ["fraction"] = Num(p.Fraction),
                }).ToArray())).ToArray()),
            };
        root["adam_effective_rates"] = new JsonArray(d.EffectiveRates.Select(r => (JsonNode)new JsonObject
        {
            ["parameter"] = r.Parameter, ["group"] = r.Group, ["median"] = Num(r.Median), ["min"] = Num(r.Min), ["max"] = Num(r.Max),
        }).ToArray());
        if (d.Check is { } k)
            root["check"] = new JsonObject
            {
                ["layer"] = k.Layer, ["parameter"] = k.Parameter, ["sequences"] = k.Sequences, ["time"] = k.Time,
                ["closed_form"] = Nums(k.ClosedForm), ["monte_carlo"] = Nums(k.MonteCarlo), ["compared"] = new JsonArray(k.Compared.Select(b => (JsonNode)JsonValue.Create(b)).ToArray()),
                ["median_ratio"] = Num(k.MedianRatio), ["median_abs_deviation"] = Num(k.MedianAbsoluteDeviation),
            };
        else if (d.CheckNote is { } note) root["check"] = new JsonObject { ["note"] = note };
        if (d.Mapping is { } map)
            root["mapping_check"] = new JsonObject { ["max_abs_error"] = Num(map.MaxAbsoluteError), ["relative_error"] = Num(map.RelativeError), ["sequences"] = map.Sequences };
        root["seconds"] = new JsonObject(d.Seconds.Select(p => new KeyValuePair<string, JsonNode?>(p.Key, Num(p.Value))));
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    private static string G(double x) => double.IsFinite(x) ? x.ToString("G3", CultureInfo.InvariantCulture) : x > 0 ? "inf" : "nan";

    /// <summary>The short table printed by <c>memlab diagnose</c>: one row per recurrent layer, then memory, curvature and Adam.</summary>
    public static string Table(Diagnosis d)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"model: {d.Reading}; {d.Parameters} parameters");
        sb.AppendLine($"data: {d.Data}");
        if (d.Mapping is { } map) sb.AppendLine($"mapping check: outputs reproduced to {G(map.RelativeError)} (relative) on {map.Sequences} sequences");
        sb.AppendLine($"{"layer",-18} {"kind",-16} {"modes",5} {"max|λ|",8} {"median T",9} {"max T",9} {"sensitivity",-18} {"median",9} {"max",9} {"flagged",7} {"max E|dh/dλ|²",14}  largest E|dh/dω|²");
        foreach (var l in d.Layers)
        {
            var abs = l.Modes.Select(m => m.Lambda.Magnitude).ToArray();
            var ts = l.Modes.Select(m => m.TimeScale).Order().ToArray();
            double maxHead = l.Modes.Max(m => m.Headline);
            sb.AppendLine($"{(l.Path.Length == 0 ? "(model)" : l.Path),-18} {l.Kind,-16} {l.Modes.Count,5} {abs.Max(),8:F4} {G(ts[ts.Length / 2]),9} {G(ts[^1]),9} {l.HeadlineName,-18} {G(l.MedianHeadline),9} {G(maxHead),9} {l.FlaggedCount,7} {G(l.Modes.Max(m => m.LambdaSensitivity)),14}  {Largest(l)}");
        }
        sb.AppendLine($"flagged: sensitivity above {G(d.Options.FlagRatio)} × the layer's median");
        if (d.Memory is { } mem)
        {
            int t1 = Math.Min(10, mem.Model.Length - 1), t2 = mem.Model.Length - 1;
            string target = mem.Target is null ? "" : $"; target |ρ|: {G(mem.Target[0])}, {G(mem.Target[Math.Min(t1, mem.Target.Length - 1)])}, {G(mem.Target[^1])}";
            sb.AppendLine($"memory function M(0), M({t1}), M({t2}): {G(mem.Model[0])}, {G(mem.Model[t1])}, {G(mem.Model[t2])}{target}");
        }
        if (d.Curvature is { } c)
            sb.AppendLine($"Hessian top eigenvalues: {string.Join(", ", c.Eigenvalues.Select(G))}; 1/IPR: {string.Join(", ", c.EffectiveParameters.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))} of {d.Parameters}");
        if (d.EffectiveRates.Count > 0)
            sb.AppendLine("Adam effective rate (median): " + string.Join(", ", d.EffectiveRates.Select(r => $"{r.Parameter} {G(r.Median)}")));
        if (d.Check is { } k)
            sb.AppendLine($"check ({(k.Layer.Length == 0 ? "(model)" : k.Layer)}, {k.Parameter}): Monte Carlo / closed form, median {G(k.MedianRatio)} over {k.Compared.Count(b => b)} modes ({k.Sequences} sequences of {k.Time} steps)");
        else if (d.CheckNote is { } note) sb.AppendLine($"check: {note}");
        sb.Append("seconds: " + string.Join(", ", d.Seconds.Select(p => $"{p.Key} {p.Value.ToString("F2", CultureInfo.InvariantCulture)}")));
        return sb.ToString();
    }

    // The largest sensitivity over every eigenvalue parameter and mode (e.g. an LRU's theta_log), or "-" without parameters.
    private static string Largest(LayerDiagnosis l)
    {
        var all = l.Modes.SelectMany(m => m.ParameterSensitivity).ToList();
        if (all.Count == 0) return "-";
        var top = all.MaxBy(p => double.IsNaN(p.Value) ? double.NegativeInfinity : p.Value);
        return $"{top.Key} {G(top.Value)}";
    }

    // ---- The HTML document ----

    private static ReportDocument Document(Diagnosis d)
    {
        var doc = new ReportDocument("memlab diagnose: " + Path.GetFileName(d.Source.TrimEnd('/', '\\')), DateTimeOffset.UtcNow)
        {
            Introduction = $"Model: {d.Reading}, {d.Parameters} parameters, from {d.Source}. Data: {d.Data}. "
                + "Closed forms: the linear recurrence h = λh + u driven by an AR(1) input with the variance and lag-1 correlation measured on the data "
                + "(Zucchet & Orvieto, NeurIPS 2024, §3–4); memory function: Wang, Li & Li (ICLR 2024); Hessian: Zucchet & Orvieto Fig. 4. "
                + $"Every number is in {JsonFileName}.",
        };
        var spectrum = doc.AddSection("Spectrum and memory", "Eigenvalues in the complex plane with the unit circle, and their memory time scales 1/(1 − |λ|).");
        var plane = Chart.Create("eigenvalues", "Re \\lambda", "Im \\lambda");
        var circle = Enumerable.Range(0, 361).Select(i => i * Math.PI / 180).ToArray();
        plane.AddTheory("|\\lambda| = 1", circle.Select(Math.Cos).ToArray(), circle.Select(Math.Sin).ToArray());
        var scales = Chart.Create("memory time scales", "rank", "1/(1 - |\\lambda|)", AxisScale.Linear, AxisScale.Log);
        for (int i = 0; i < d.Layers.Count; i++)
        {
            var l = d.Layers[i];
            string label = (l.Path.Length == 0 ? l.Kind : l.Path).Replace("_", " ");
            plane.AddPoints(label, l.Modes.Select(m => m.Lambda.Real).ToArray(), l.Modes.Select(m => m.Lambda.Imaginary).ToArray(), color: Palette.Series(i));
            var ts = l.Modes.Select(m => m.TimeScale).Where(double.IsFinite).OrderDescending().ToArray();
            scales.AddLine(label, Enumerable.Range(1, ts.Length).Select(r => (double)r).ToArray(), ts, Palette.Series(i), marker: MarkerShape.Circle);
        }
        plane.X.WithRange(-1.1, 1.1); plane.Y.WithRange(-1.1, 1.1);
        var row = new PanelGrid(1, 2) { Title = "Spectrum" };
        row[0, 0] = plane; row[0, 1] = scales;
        spectrum.Figures.Add(new ReportFigure(row, "Left: every recurrent layer's eigenvalues (GRU/LSTM: the gate at its bias). Right: time scales, longest first.", "diagnose-spectrum.svg"));

        var sens = doc.AddSection("Sensitivity (the curse of memory)",
            $"Closed-form E|∂h/∂ω|² per eigenvalue against its time scale; flagged when above {G(d.Options.FlagRatio)} × the layer's median (dashed).");
        var sc = Chart.Create("sensitivity", "1/(1 - |\\lambda|)", "E|\\partial h/\\partial \\omega|^2", AxisScale.Log, AxisScale.Log);
        var hc = Chart.Create("state", "1/(1 - |\\lambda|)", "E|h|^2", AxisScale.Log, AxisScale.Log);
        for (int i = 0; i < d.Layers.Count; i++)
        {
            var l = d.Layers[i];
            var ok = l.Modes.Where(m => double.IsFinite(m.TimeScale) && m.Headline > 0 && double.IsFinite(m.Headline)).ToList();
            string label = $"{(l.Path.Length == 0 ? l.Kind : l.Path)}: {l.HeadlineName}".Replace("_", " ");
            sc.AddPoints(label, ok.Select(m => m.TimeScale).ToArray(), ok.Select(m => m.Headline).ToArray(), color: Palette.Series(i));
            var okh = l.Modes.Where(m => double.IsFinite(m.TimeScale) && m.StateSecondMoment > 0 && double.IsFinite(m.StateSecondMoment)).ToList();
            hc.AddPoints((l.Path.Length == 0 ? l.Kind : l.Path).Replace("_", " "), okh.Select(m => m.TimeScale).ToArray(), okh.Select(m => m.StateSecondMoment).ToArray(), color: Palette.Series(i));
            if (i == 0 && double.IsFinite(l.MedianHeadline) && l.MedianHeadline > 0) sc.AddHorizontalLine(d.Options.FlagRatio * l.MedianHeadline, "flag");
        }
        var srow = new PanelGrid(1, 2) { Title = "Closed-form sensitivity and state moment per eigenvalue" };
        srow[0, 0] = sc; srow[0, 1] = hc;
        sens.Figures.Add(new ReportFigure(srow, "Each point is one eigenvalue; the flag line is the first layer's threshold.", "diagnose-sensitivity.svg"));
        if (d.Check is { } k)
        {
            var cc = Chart.Create($"Monte Carlo check ({k.Layer}, {k.Parameter})".Replace("_", " "), "closed form", "Monte Carlo", AxisScale.Log, AxisScale.Log);
            var idx = Enumerable.Range(0, k.ClosedForm.Length).Where(j => k.Compared[j] && k.ClosedForm[j] > 0 && k.MonteCarlo[j] > 0).ToArray();
            cc.AddPoints("modes", idx.Select(j => k.ClosedForm[j]).ToArray(), idx.Select(j => k.MonteCarlo[j]).ToArray());
            if (idx.Length > 0)
            {
                double lo = idx.Min(j => k.ClosedForm[j]), hi = idx.Max(j => k.ClosedForm[j]);
                cc.AddTheory("equal", [lo, hi], [lo, hi]);
            }
            sens.Figures.Add(new ReportFigure(cc, $"Monte Carlo through the layer's backward pass ({k.Sequences} AR(1) sequences of {k.Time} steps) against the closed form; median ratio {G(k.MedianRatio)}.", "diagnose-check.svg"));
        }

        if (d.Memory is { } mem)
        {
            var ms = doc.AddSection("Memory function", "M(t) of the whole model from Heaviside inputs (Wang, Li & Li, ICLR 2024)"
                + (mem.TargetName is null ? "." : $", beside the target's {mem.TargetName}."));
            var mc = Chart.Create("memory function", "t", "M(t)", AxisScale.Linear, AxisScale.Log);
            var t = Enumerable.Range(0, mem.Model.Length).Select(i => (double)i).ToArray();
            var pos = t.Where(i => mem.Model[(int)i] > 0).ToArray();
            mc.AddLine("model", pos, pos.Select(i => mem.Model[(int)i]).ToArray(), Palette.Series(0));
            if (mem.Target is { } target)
            {
                var tp = Enumerable.Range(0, target.Length).Where(i => target[i] > 0).Select(i => (double)i).ToArray();
                mc.AddTheory("target |\\rho(t)|", tp, tp.Select(i => target[(int)i]).ToArray());
            }
            ms.Figures.Add(new ReportFigure(mc, "The model's memory function (solid) and the target's (dashed).", "diagnose-memory.svg"));
        }
        if (d.Curvature is { } c)
        {
            var cs = doc.AddSection("Curvature", $"Top Hessian eigenvalues of the loss ({c.Loss}, {c.Batch} sequences, value {G(c.LossValue)}) by {c.Products} Hessian-vector products, "
                + "and how many parameters each eigenvector spreads over, 1/IPR (Zucchet & Orvieto, NeurIPS 2024, Fig. 4). Largest tensors per eigenvector: "
                + string.Join("; ", c.TopParameters.Select((v, i) => $"v{i + 1}: " + string.Join(", ", v.Select(p => $"{p.Name} {p.Fraction:P0}")))) + ".");
            var ev = Chart.Create("top eigenvalues", "rank", "eigenvalue", AxisScale.Linear, AxisScale.Log);
            var ranks = Enumerable.Range(1, c.Eigenvalues.Length).Select(r => (double)r).ToArray();
            var posEv = ranks.Where(r => c.Eigenvalues[(int)r - 1] > 0).ToArray();
            ev.AddPoints("\\lambda_k(H)", posEv, posEv.Select(r => c.Eigenvalues[(int)r - 1]).ToArray());
            var ipr = Chart.Create("concentration", "rank", "1/IPR", AxisScale.Linear, AxisScale.Log);
            ipr.AddPoints("1/IPR", ranks, c.EffectiveParameters);
            var crow = new PanelGrid(1, 2) { Title = "Hessian" };
            crow[0, 0] = ev; crow[0, 1] = ipr;
            cs.Figures.Add(new ReportFigure(crow, "Left: top eigenvalues. Right: effective number of parameters of each eigenvector.", "diagnose-curvature.svg"));
        }
        if (d.EffectiveRates.Count > 0)
        {
            var asec = doc.AddSection("Adam's effective learning rate", "lr/(1 − β₁ᵗ)/(√v̂ + ε) per parameter tensor at the checkpoint (median, with min–max), lr the spec's peak rate (Zucchet & Orvieto, NeurIPS 2024, Fig. 4).");
            var ac = Chart.Create("effective learning rate", "parameter tensor", "lr_{eff}", AxisScale.Linear, AxisScale.Log);
            var xs = Enumerable.Range(0, d.EffectiveRates.Count).Select(i => (double)i).ToArray();
            var err = d.EffectiveRates.Select(r => 0.0).ToArray();
            ac.AddPoints("median", xs, d.EffectiveRates.Select(r => Math.Max(r.Median, 1e-300)).ToArray(), err);
            ac.AddPoints("min", xs, d.EffectiveRates.Select(r => Math.Max(r.Min, 1e-300)).ToArray(), marker: MarkerShape.Square);
            ac.AddPoints("max", xs, d.EffectiveRates.Select(r => Math.Max(r.Max, 1e-300)).ToArray(), marker: MarkerShape.Square);
            asec.Figures.Add(new ReportFigure(ac, "Tensors in layout order: " + string.Join(", ", d.EffectiveRates.Select((r, i) => $"{i} {r.Parameter}")) + ".", "diagnose-adam.svg"));
        }
        return doc;
    }
}
