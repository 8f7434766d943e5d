using System.Globalization;
using System.Text.RegularExpressions;
using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;

namespace MemoryLab.Diagnostics;

/// <summary>
/// Reads what <c>memlab diagnose</c> is pointed at into a float64 <see cref="DiagnosisSubject"/>: a run folder of
/// <c>memlab train</c> (its <c>spec.yaml</c> and <c>checkpoint.safetensors</c>, with Adam's state), or a safetensors file
/// written elsewhere — built from <c>--spec</c> when given, else recognised by its tensor names: minimal-LRU's
/// (<c>nu_log, theta_log, gamma_log, B_re, B_im, C_re, C_im, D</c>) or <c>torch.nn.RNN/GRU/LSTM</c>'s
/// (<c>weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0</c>, …, with an optional <c>nn.Linear</c> readout). When the file carries
/// tensors <c>input</c> <c>[batch, time, in]</c> and <c>output</c> <c>[batch, time, out]</c>, the mapped model's output is compared
/// with them. Bad input throws <see cref="InvalidDataException"/> (or <see cref="SpecException"/>) with one line naming the file.
/// </summary>
public static class DiagnosisLoader
{
    /// <summary>Name of the tensor holding example inputs <c>[batch, time, in]</c>.</summary>
    public const string InputTensor = "input";
    /// <summary>Name of the tensor holding the outputs the original model gave for them.</summary>
    public const string OutputTensor = "output";
    /// <summary>Largest relative output difference accepted by the mapping check (float32 rounding of the original is ~1e-6).</summary>
    public const double MappingTolerance = 1e-4;

    private static readonly Regex TorchRecurrent = new(@"^(?<p>.*?)weight_hh_l(?<k>\d+)(?<rev>_reverse)?$", RegexOptions.CultureInvariant);

    /// <summary>Reads <paramref name="path"/> (a run folder or a .safetensors file).</summary>
    /// <param name="path">Run folder or checkpoint file.</param>
    /// <param name="specPath">A train spec giving the model (and data) for a bare file; optional.</param>
    /// <param name="dataPath">A spec whose <c>data:</c> section (or the file itself) gives the data; optional.</param>
    /// <param name="maps">Renames FILE_NAME → EXPECTED_NAME applied to the file's tensors before reading.</param>
    /// <param name="time">Sequence length of the white noise used when there is no data.</param>
    public static DiagnosisSubject Load(string path, string? specPath = null, string? dataPath = null, IReadOnlyDictionary<string, string>? maps = null, int time = 300)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        maps ??= new Dictionary<string, string>();
        string? runSpec = null;
        string file;
        if (Directory.Exists(path))
        {
            file = Path.Combine(path, ResultsStore.CheckpointFileName);
            if (!File.Exists(file))
                throw new InvalidDataException($"{path}: no {ResultsStore.CheckpointFileName} in this folder (diagnose reads a run folder of `memlab train` or a .safetensors file)");
            runSpec = Path.Combine(path, ResultsStore.SpecFileName);
            if (!File.Exists(runSpec)) throw new InvalidDataException($"{path}: no {ResultsStore.SpecFileName} beside the checkpoint (pass the .safetensors file with --spec)");
        }
        else if (File.Exists(path)) file = path;
        else throw new FileNotFoundException($"{path}: no such file or folder", path);

        var st = SafeTensors.Load(file);
        var tensors = Rename(st, maps, file);
        string? spec = specPath ?? runSpec;
        if (spec is null && st.Metadata.ContainsKey(SafeTensors.GroupsMetadataKey))
        {
            string beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, ResultsStore.SpecFileName);
            if (File.Exists(beside)) spec = beside; // a MemoryLab checkpoint in its run folder; elsewhere it is read by its names
        }
        DiagnosisSubject subject = spec is not null
            ? FromSpec(file, st, tensors, spec, dataPath, runSpec is not null || spec == Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, ResultsStore.SpecFileName))
            : FromNames(file, st, tensors, dataPath, time);
        return subject;
    }

    private static Dictionary<string, string> Rename(SafeTensorsFile st, IReadOnlyDictionary<string, string> maps, string file)
    {
        // Expected name → name in the file; every rename applies at once (so two tensors can swap names).
        foreach (var (from, to) in maps)
            if (!st.Tensors.Any(t => t.Name == from)) throw new InvalidDataException($"{file}: --map {from}={to}: the file has no tensor '{from}'");
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in st.Tensors)
        {
            string expected = maps.TryGetValue(t.Name, out var to) ? to : t.Name;
            if (!names.TryAdd(expected, t.Name)) throw new InvalidDataException($"{file}: --map gives two tensors the name '{expected}'");
        }
        return names;
    }

    private static double[] Read(SafeTensorsFile st, Dictionary<string, string> names, string name) => st.Read<double>(names[name]);

    private static int[] Shape(SafeTensorsFile st, Dictionary<string, string> names, string name) => st[names[name]].Shape;

    // ---- A model described by a spec ----

    private static DiagnosisSubject FromSpec(string file, SafeTensorsFile st, Dictionary<string, string> names, string specPath, string? dataPath, bool isRun)
    {
        var node = SpecParser.ParseFile(specPath);
        var train = new TrainExperiment();
        var config = train.Bind(node);
        ulong seed = node.Has("seed") ? (ulong)node.GetLong("seed", 0, min: 0) : 0;
        var layer = ModelFactory.CreateDefault().Build<double>(config.Model, config.Data.InputFeatures);
        var model = new SequenceModel<double>(layer);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in model.Layout.Views)
        {
            string name = Resolve(names, v.Name) ?? throw new InvalidDataException(
                $"{file}: no tensor for parameter '{v.Name}' of the model in {specPath} (tensors: {Preview(names.Keys)}); rename with --map FILE_NAME={v.Name}");
            var info = st[names[name]];
            if (info.ElementCount != v.Length)
                throw new InvalidDataException($"{file}: tensor '{names[name]}' has shape [{string.Join(", ", info.Shape)}] but parameter '{v.Name}' is {v.ShapeText}");
            st.Read<double>(names[name]).CopyTo(v.Of(model.Theta));
            used.Add(name);
        }
        AdamState? adam = null;
        if (config.Optimizer is AdamSpec a && model.Layout.Views.All(v => names.ContainsKey($"optimizer.exp_avg_sq.{v.Name}")))
        {
            var second = new double[model.Layout.Count];
            foreach (var v in model.Layout.Views) st.Read<double>(names[$"optimizer.exp_avg_sq.{v.Name}"]).CopyTo(v.Of(second));
            long steps = st.Metadata.TryGetValue("memlab.optimizer_steps", out var s) ? long.Parse(s, CultureInfo.InvariantCulture) : config.Steps;
            adam = new AdamState(second, steps, a.LearningRate, a.Beta1, a.Beta2, a.Epsilon);
        }
        var (data, description) = dataPath is not null ? BindData(dataPath, seed)
            : (config.Data.Create<double>(seed), Describe(node.OptionalChild("data"), config.Data, specPath));
        Check(file, model, data);
        var mapping = PairCheck(file, st, names, model);
        return new DiagnosisSubject
        {
            Model = model, Source = file, Reading = isRun ? $"MemoryLab run ({Path.GetFileName(specPath)}: {config.Model.Kind})" : $"parameters by name onto the model of {specPath}",
            Data = data, DataDescription = description, Adam = adam, Mapping = mapping, Time = data.Time,
        };
    }

    /// <summary>The expected name itself, or a PyTorch-style alias (<c>weight_ih</c> ↔ <c>weight_ih_l0</c>).</summary>
    private static string? Resolve(Dictionary<string, string> names, string wanted)
    {
        if (names.ContainsKey(wanted)) return wanted;
        foreach (var suffix in new[] { "weight_ih", "weight_hh", "bias_ih", "bias_hh" })
            if (wanted.EndsWith(suffix, StringComparison.Ordinal) && names.ContainsKey(wanted + "_l0")) return wanted + "_l0";
        return null;
    }

    private static (ISequenceDataset<double>, string) BindData(string dataPath, ulong seed)
    {
        var node = SpecParser.ParseFile(dataPath);
        var section = node.OptionalChild("data") ?? node;
        var spec = DataSpec.Kinds.Bind(section);
        if (node.Has("seed")) seed = (ulong)node.GetLong("seed", 0, min: 0);
        return (spec.Create<double>(seed), Describe(section, spec, dataPath));
    }

    private static string Describe(SpecNode? section, DataSpec spec, string where) =>
        $"{(section is not null && section.Has("kind") ? section.GetString("kind") : "teacher")} data, {spec.Time} steps, {spec.InputFeatures} → {spec.OutputFeatures} features (from {where})";

    private static void Check(string file, SequenceModel<double> model, ISequenceDataset<double> data)
    {
        if (model.Root.InputSize != data.InputFeatures || model.Root.OutputSize != data.OutputFeatures)
            throw new InvalidDataException($"{file}: the model maps {model.Root.InputSize} → {model.Root.OutputSize} features but the data has {data.InputFeatures} → {data.OutputFeatures}");
    }

    // ---- A model recognised by its tensor names ----

    private static DiagnosisSubject FromNames(string file, SafeTensorsFile st, Dictionary<string, string> names, string? dataPath, int time)
    {
        var used = new HashSet<string>(StringComparer.Ordinal) { InputTensor, OutputTensor };
        foreach (var n in names.Keys) if (n.StartsWith("optimizer.", StringComparison.Ordinal)) used.Add(n);
        var layers = new List<(string Name, ISequenceLayer<double> Layer, Action<SequenceModel<double>, string> Fill)>();
        string reading;
        var lru = names.Keys.Where(n => n.EndsWith("nu_log", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var torch = names.Keys.Select(n => TorchRecurrent.Match(n)).Where(m => m.Success).ToList();
        if (lru.Count > 0 && torch.Count > 0) throw new InvalidDataException($"{file}: the tensors mix LRU names and torch.nn.RNN names; pass --spec");
        if (lru.Count > 0)
        {
            foreach (var nuName in lru) layers.Add(LruLayer(file, st, names, nuName[..^"nu_log".Length], used));
            reading = "minimal-LRU names (nu_log, theta_log, gamma_log, B_re, B_im, C_re, C_im, D)";
        }
        else if (torch.Count > 0)
        {
            if (torch.Any(m => m.Groups["rev"].Success)) throw new InvalidDataException($"{file}: bidirectional torch.nn.RNN layers (…_reverse) are not supported");
            var prefixes = torch.Select(m => m.Groups["p"].Value).Distinct().ToList();
            if (prefixes.Count > 1) throw new InvalidDataException($"{file}: tensors of {prefixes.Count} recurrent modules ({string.Join(", ", prefixes.Select(p => p + "weight_hh_l0"))}); pass --spec");
            string p = prefixes[0];
            int count = torch.Count;
            string kind = "";
            for (int k = 0; k < count; k++)
            {
                if (!names.ContainsKey($"{p}weight_hh_l{k}")) throw new InvalidDataException($"{file}: '{p}weight_hh_l{k}' is missing (layers must be numbered from 0)");
                var (layer, fill, kindName) = TorchLayer(file, st, names, p, k, used);
                layers.Add(($"l{k}", layer, fill));
                kind = kindName;
            }
            reading = $"torch.nn.{kind} names ({p}weight_ih_l0, {p}weight_hh_l0, …)";
            // An nn.Linear readout: one remaining 2-D '…weight' of the right width, with its optional '…bias'.
            var rest = names.Keys.Where(n => !used.Contains(n)).ToList();
            var readout = rest.Where(n => n.EndsWith("weight", StringComparison.Ordinal) && Shape(st, names, n).Length == 2).ToList();
            if (readout.Count == 1)
            {
                string w = readout[0], b = w[..^"weight".Length] + "bias";
                var shape = Shape(st, names, w);
                int width = layers[^1].Layer.OutputSize;
                if (shape[1] != width) throw new InvalidDataException($"{file}: readout '{w}' takes {shape[1]} features but the last recurrent layer gives {width}");
                bool hasBias = names.ContainsKey(b);
                var dense = new Dense<double>(width, shape[0], hasBias);
                used.Add(w); if (hasBias) used.Add(b);
                layers.Add(("readout", dense, (m, prefix) =>
                {
                    Read(st, names, w).CopyTo(m.Layout[ParameterLayout.Join(prefix, "weight")].Of(m.Theta));
                    if (hasBias) Read(st, names, b).CopyTo(m.Layout[ParameterLayout.Join(prefix, "bias")].Of(m.Theta));
                }));
                reading += $" with an nn.Linear readout ({w})";
            }
        }
        else
            throw new InvalidDataException($"{file}: its tensors match no known layout (minimal-LRU's nu_log/theta_log/…, or torch.nn.RNN/GRU/LSTM's weight_hh_l0/…): {Preview(names.Keys)}; pass --spec, or rename with --map FILE_NAME=NAME");

        var unused = names.Keys.Where(n => !used.Contains(n)).Order(StringComparer.Ordinal).ToList();
        if (unused.Count > 0)
            throw new InvalidDataException($"{file}: tensors not part of the recognised layout: {Preview(unused)}; pass --spec for the whole model, or rename with --map");
        for (int i = 1; i < layers.Count; i++)
            if (layers[i - 1].Layer.OutputSize != layers[i].Layer.InputSize)
                throw new InvalidDataException($"{file}: layer '{layers[i - 1].Name}' gives {layers[i - 1].Layer.OutputSize} features but '{layers[i].Name}' takes {layers[i].Layer.InputSize}; pass --spec");
        ISequenceLayer<double> root = layers.Count == 1 ? layers[0].Layer : new LayerStack<double>(layers.Select(l => l.Name).ToArray(), layers.Select(l => l.Layer).ToArray());
        var model = new SequenceModel<double>(root);
        foreach (var (name, _, fill) in layers) fill(model, layers.Count == 1 ? "" : name);

        ISequenceDataset<double>? data = null;
        string description;
        ulong seed = 0;
        if (dataPath is not null)
        {
            (data, description) = BindData(dataPath, seed);
            Check(file, model, data);
        }
        else
        {
            if (names.ContainsKey(InputTensor) && Shape(st, names, InputTensor) is { Length: 3 } s) time = s[1];
            description = $"unit white noise, {time} steps (no data given: pass --data); curvature on the model's own outputs";
        }
        var mapping = PairCheck(file, st, names, model);
        return new DiagnosisSubject { Model = model, Source = file, Reading = reading, Data = data, DataDescription = description, Mapping = mapping, Time = data?.Time ?? time };
    }

    private static (string, ISequenceLayer<double>, Action<SequenceModel<double>, string>) LruLayer(string file, SafeTensorsFile st, Dictionary<string, string> names,
        string p, HashSet<string> used)
    {
        string Need(string n) => names.ContainsKey(p + n) ? p + n : throw new InvalidDataException($"{file}: '{p}nu_log' has no '{p}{n}' beside it (an LRU needs nu_log, theta_log, B_re, B_im, C_re, C_im)");
        string nu = Need("nu_log"), th = Need("theta_log"), bRe = Need("B_re"), bIm = Need("B_im"), cRe = Need("C_re"), cIm = Need("C_im");
        string? gamma = names.ContainsKey(p + "gamma_log") ? p + "gamma_log" : null;
        string? d = names.ContainsKey(p + "D") ? p + "D" : null;
        var bShape = Shape(st, names, bRe);
        var cShape = Shape(st, names, cRe);
        if (bShape.Length != 2 || cShape.Length != 2) throw new InvalidDataException($"{file}: '{bRe}' and '{cRe}' must be matrices (N × H and H' × N)");
        int n = bShape[0], din = bShape[1], dout = cShape[0];
        if (cShape[1] != n || Shape(st, names, nu).Aggregate(1, (a, b) => a * b) != n)
            throw new InvalidDataException($"{file}: '{p}' LRU tensors disagree on the state size ({bRe} [{string.Join(", ", bShape)}], {cRe} [{string.Join(", ", cShape)}])");
        var skip = d is null ? SkipConnection.None : Shape(st, names, d).Length == 1 ? SkipConnection.Diagonal : SkipConnection.Full;
        ISequenceLayer<double> layer = gamma is not null && skip == SkipConnection.Diagonal && din == dout
            ? new LinearRecurrentUnit<double>(din, n)
            : new DiagonalRecurrence<double>(din, dout, new DiagonalRecurrenceOptions
            {
                StateSize = n, Parametrisation = EigenvalueParametrisation.Exp,
                Normalisation = gamma is null ? InputNormalisation.None : InputNormalisation.Learned, Skip = skip,
            });
        var files = new List<(string Ours, string Theirs)> { ("nu_log", nu), ("theta_log", th), ("B_re", bRe), ("B_im", bIm), ("C_re", cRe), ("C_im", cIm) };
        if (gamma is not null) files.Add(("gamma_log", gamma));
        if (d is not null) files.Add(("D", d));
        foreach (var (_, theirs) in files) used.Add(theirs);
        string name = p.TrimEnd('.', '/', '_');
        return (name.Length == 0 ? "lru" : name, layer, (m, prefix) =>
        {
            foreach (var (ours, theirs) in files)
            {
                var view = m.Layout[ParameterLayout.Join(prefix, ours)];
                var values = Read(st, names, theirs);
                if (values.Length != view.Length) throw new InvalidDataException($"{file}: '{theirs}' has {values.Length} values, the LRU's {ours} needs {view.ShapeText}");
                values.CopyTo(view.Of(m.Theta));
            }
        });
    }

    private static (ISequenceLayer<double>, Action<SequenceModel<double>, string>, string) TorchLayer(string file, SafeTensorsFile st, Dictionary<string, string> names,
        string p, int k, HashSet<string> used)
    {
        string whh = $"{p}weight_hh_l{k}", wih = $"{p}weight_ih_l{k}", bih = $"{p}bias_ih_l{k}", bhh = $"{p}bias_hh_l{k}";
        if (!names.ContainsKey(wih)) throw new InvalidDataException($"{file}: '{whh}' has no '{wih}' beside it");
        var hh = Shape(st, names, whh);
        var ih = Shape(st, names, wih);
        if (hh.Length != 2 || ih.Length != 2 || hh[0] % hh[1] != 0 || ih[0] != hh[0])
            throw new InvalidDataException($"{file}: '{whh}' [{string.Join(", ", hh)}] and '{wih}' [{string.Join(", ", ih)}] are not a torch.nn.RNN/GRU/LSTM layer's ([G·H, H] and [G·H, in])");
        int h = hh[1], gates = hh[0] / h, din = ih[1];
        bool hasIh = names.ContainsKey(bih), hasHh = names.ContainsKey(bhh);
        used.Add(whh); used.Add(wih); if (hasIh) used.Add(bih); if (hasHh) used.Add(bhh);
        double[] Bias(string n, bool has) => has ? Read(st, names, n) : new double[gates * h];
        switch (gates)
        {
            case 3:
            case 4:
                {
                    ChunkedRecurrence<double> layer = gates == 3 ? new GatedRecurrentUnit<double>(din, h) : new LongShortTermMemory<double>(din, h);
                    return (layer, (m, prefix) =>
                    {
                        Read(st, names, wih).CopyTo(m.Layout[ParameterLayout.Join(prefix, "weight_ih")].Of(m.Theta));
                        Read(st, names, whh).CopyTo(m.Layout[ParameterLayout.Join(prefix, "weight_hh")].Of(m.Theta));
                        Bias(bih, hasIh).CopyTo(m.Layout[ParameterLayout.Join(prefix, "bias_ih")].Of(m.Theta));
                        Bias(bhh, hasHh).CopyTo(m.Layout[ParameterLayout.Join(prefix, "bias_hh")].Of(m.Theta));
                    }, gates == 3 ? "GRU" : "LSTM");
                }
            case 1:
                {
                    // nn.RNN with its default tanh (the output-pair check catches a ReLU RNN).
                    var layer = new ElmanRecurrence<double>(din, h);
                    return (layer, (m, prefix) =>
                    {
                        Read(st, names, wih).CopyTo(m.Layout[ParameterLayout.Join(prefix, "weight_ih")].Of(m.Theta));
                        Read(st, names, whh).CopyTo(m.Layout[ParameterLayout.Join(prefix, "weight_hh")].Of(m.Theta));
                        var b = m.Layout[ParameterLayout.Join(prefix, "bias")].Of(m.Theta);
                        var b1 = Bias(bih, hasIh); var b2 = Bias(bhh, hasHh);
                        for (int i = 0; i < h; i++) b[i] = b1[i] + b2[i];
                    }, "RNN");
                }
            default:
                throw new InvalidDataException($"{file}: '{whh}' has {hh[0]} rows = {gates} × {h}: not 1 (RNN), 3 (GRU) or 4 (LSTM) gates");
        }
    }

    // ---- The output-pair check ----

    private static MappingCheck? PairCheck(string file, SafeTensorsFile st, Dictionary<string, string> names, SequenceModel<double> model)
    {
        if (!names.ContainsKey(InputTensor) || !names.ContainsKey(OutputTensor)) return null;
        var si = Shape(st, names, InputTensor); var so = Shape(st, names, OutputTensor);
        if (si.Length != 3 || so.Length != 3 || si[0] != so[0] || si[1] != so[1])
            throw new InvalidDataException($"{file}: '{InputTensor}' and '{OutputTensor}' must be [batch, time, features] with the same batch and time");
        if (si[2] != model.Root.InputSize || so[2] != model.Root.OutputSize)
            throw new InvalidDataException($"{file}: '{InputTensor}'/'{OutputTensor}' have {si[2]}/{so[2]} features but the mapped model maps {model.Root.InputSize} → {model.Root.OutputSize}");
        var x = new SequenceTensor<double>(Read(st, names, InputTensor), si[0], si[1], si[2]);
        var want = Read(st, names, OutputTensor);
        model.Prepare(si[0], si[1], WorkerPool.Shared);
        var y = model.Forward(x, training: false);
        double err = 0, scale = 0;
        for (int i = 0; i < want.Length; i++) { err = Math.Max(err, Math.Abs(y.Data[i] - want[i])); scale = Math.Max(scale, Math.Abs(want[i])); }
        double rel = err / Math.Max(scale, 1e-300);
        if (!(rel <= MappingTolerance))
            throw new InvalidDataException($"{file}: the mapped model does not reproduce '{OutputTensor}' (max |Δ| = {err:G3}, relative {rel:G3} > {MappingTolerance:G1}); check the layout or --map");
        return new MappingCheck(err, rel, si[0]);
    }

    private static string Preview(IEnumerable<string> names)
    {
        var list = names.Order(StringComparer.Ordinal).ToList();
        return string.Join(", ", list.Take(8)) + (list.Count > 8 ? $", … ({list.Count} in all)" : "");
    }
}
