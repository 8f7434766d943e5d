using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Cli.Bench;

/// <summary>
/// The PyTorch peer: runs <c>benchmarks/peers/memlab_peers.py</c> (copied next to memlab as
/// <c>peers/memlab_peers.py</c>) with Debian's <c>/usr/bin/python3</c> and its <c>python3-torch</c>. Two uses:
/// <see cref="Agree{T}"/> hands MemoryLab's parameters, input and target to the script as safetensors and reads back
/// the loss (½·mean squared error over all steps, <c>MeanSquaredError.AllSteps</c>), the output and every
/// parameter's gradient for each PyTorch variant (time loop, FFT convolution, nn.RNN/GRU/LSTM);
/// <see cref="Time"/> measures one PyTorch training step (forward, loss, backward, Adam) at a shape.
/// </summary>
public sealed class TorchPeer
{
    /// <summary>The interpreter that has python3-torch (the <c>python3</c> on PATH may not).</summary>
    public const string DefaultPython = "/usr/bin/python3";
    /// <summary>File name of the peer script.</summary>
    public const string ScriptName = "memlab_peers.py";
    /// <summary>Name of the input tensor in the agreement file ([batch, time, d_in]).</summary>
    public const string InputName = "memlab.input";
    /// <summary>Name of the target tensor in the agreement file ([batch, time, d_out]).</summary>
    public const string TargetName = "memlab.target";

    private static readonly Lazy<string?> DefaultUnavailable = new(() => ProbeUnavailable(DefaultPython));

    /// <summary>A peer running <paramref name="script"/> with <paramref name="python"/>.</summary>
    /// <exception cref="FileNotFoundException">The script does not exist.</exception>
    public TorchPeer(string script, string python = DefaultPython)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(script);
        ArgumentException.ThrowIfNullOrWhiteSpace(python);
        if (!File.Exists(script)) throw new FileNotFoundException($"the PyTorch peer script {script} does not exist", script);
        Script = Path.GetFullPath(script);
        Python = python;
    }

    /// <summary>Full path of the peer script.</summary>
    public string Script { get; }
    /// <summary>The Python interpreter.</summary>
    public string Python { get; }
    /// <summary>Longest time one script run may take before it is killed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Why the default peer cannot run (no <c>/usr/bin/python3</c>, no torch in it, or no script), or null
    /// when it can. Probed once per process.</summary>
    public static string? Unavailable => DefaultUnavailable.Value ?? (FindScript() is null
        ? $"the PyTorch peer script {ScriptName} is neither in {Path.Combine(AppContext.BaseDirectory, "peers")} nor in a benchmarks/peers folder above it"
        : null);

    /// <summary>The default peer (script found by <see cref="FindScript"/>, <see cref="DefaultPython"/>).</summary>
    /// <exception cref="InvalidOperationException">The peer is unavailable; the message says why.</exception>
    public static TorchPeer CreateDefault() =>
        Unavailable is { } reason ? throw new InvalidOperationException(reason) : new TorchPeer(FindScript()!);

    /// <summary>The peer script: <c>peers/memlab_peers.py</c> beside the running assembly (the CLI project copies it
    /// there), else <c>benchmarks/peers/memlab_peers.py</c> in the nearest folder above that has one (a source checkout);
    /// null when neither exists.</summary>
    public static string? FindScript()
    {
        string beside = Path.Combine(AppContext.BaseDirectory, "peers", ScriptName);
        if (File.Exists(beside)) return beside;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "benchmarks", "peers", ScriptName);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Runs <c>python -c "import torch"</c>: null when it works, else a one-line reason with the fix.</summary>
    public static string? ProbeUnavailable(string python)
    {
        const string hint = "; install Debian's python3-torch (scripts/install-deps.sh does)";
        try
        {
            var (code, _, stderr) = RunProcess(python, ["-c", "import torch"], TimeSpan.FromSeconds(120));
            if (code == 0) return null;
            string last = stderr.Trim().Split('\n').LastOrDefault()?.Trim() ?? "";
            return $"{python} cannot import torch ({last})" + hint;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return $"{python} does not exist" + hint;
        }
        catch (TimeoutException)
        {
            return $"{python} -c \"import torch\" did not finish in 120 s" + hint;
        }
    }

    /// <summary>The description as the script reads it: <c>{"kind", "options": {key: text}, "children": [...]}</c>.</summary>
    public static string DescriptionJson(ModelDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream)) WriteDescription(w, description);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteDescription(Utf8JsonWriter w, ModelDescription d)
    {
        w.WriteStartObject();
        w.WriteString("kind", d.Kind);
        w.WriteStartObject("options");
        foreach (var (k, v) in d.Options.OrderBy(o => o.Key, StringComparer.Ordinal)) w.WriteString(k, v);
        w.WriteEndObject();
        w.WriteStartArray("children");
        foreach (var c in d.Children) WriteDescription(w, c);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// Loss, output and gradients of every PyTorch variant of <paramref name="description"/> at <paramref name="model"/>'s
    /// θ, for <paramref name="input"/> and <paramref name="target"/>. Writes <c>peer-in.safetensors</c> (θ under the
    /// layout names, the input and target, the description and dtype as metadata) into <paramref name="workDirectory"/>,
    /// runs <c>agree</c> and reads <c>peer-out.safetensors</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes do not match the model.</exception>
    /// <exception cref="TorchPeerException">The script failed; the message holds its error output.</exception>
    public IReadOnlyList<PeerVariantResult<T>> Agree<T>(ModelDescription description, SequenceModel<T> model, SequenceTensor<T> input,
        SequenceTensor<T> target, string workDirectory) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(description);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (input.Features != model.Root.InputSize)
            throw new ArgumentException($"input {input} has {input.Features} features but the model takes {model.Root.InputSize}", nameof(input));
        if (!target.HasShape(input.Batch, input.Time, model.Root.OutputSize))
            throw new ArgumentException($"target {target} should have shape [{input.Batch}, {input.Time}, {model.Root.OutputSize}]", nameof(target));
        Directory.CreateDirectory(workDirectory);
        string inPath = Path.Combine(workDirectory, "peer-in.safetensors");
        string outPath = Path.Combine(workDirectory, "peer-out.safetensors");

        // θ, x and y back to back under one layout: the file's data section is exactly this vector.
        var layout = new ParameterLayout();
        foreach (var v in model.Layout.Views) layout.Add(v.Name, v.Group, v.Shape);
        layout.Add(InputName, "data", input.Batch, input.Time, input.Features);
        layout.Add(TargetName, "data", target.Batch, target.Time, target.Features);
        var flat = new T[layout.Count];
        model.Theta.CopyTo(flat, 0);
        input.Data.CopyTo(flat, model.Theta.Length);
        target.Data.CopyTo(flat, model.Theta.Length + input.Data.Length);
        string dtype = typeof(T) == typeof(float) ? "float32" : "float64";
        SafeTensors.Save<T>(inPath, layout, flat, new Dictionary<string, string>
        {
            ["memlab.model"] = DescriptionJson(description),
            ["memlab.dtype"] = dtype,
        });

        Run(["agree", "--in", inPath, "--out", outPath]);

        var file = SafeTensors.Load(outPath);
        var variants = JsonSerializer.Deserialize<string[]>(file.Metadata.TryGetValue("memlab.variants", out var json) ? json : "[]") ?? [];
        var results = new List<PeerVariantResult<T>>();
        foreach (string variant in variants)
        {
            var gradients = new Dictionary<string, T[]>(StringComparer.Ordinal);
            foreach (var v in model.Layout.Views) gradients[v.Name] = file.Read<T>($"{variant}/grad/{v.Name}");
            results.Add(new PeerVariantResult<T>(variant, file.Read<T>($"{variant}/loss")[0], file.Read<T>($"{variant}/output"), gradients));
        }
        return results;
    }

    /// <summary>Median time of one PyTorch training step (forward, ½·MSE, backward, Adam) for <paramref name="request"/>.</summary>
    /// <exception cref="TorchPeerException">The script failed or printed no result.</exception>
    public PeerTiming Time(PeerTimingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var args = new List<string>
        {
            "time", "--model", request.Model, "--variant", request.Variant,
            "--batch", Text(request.Batch), "--time", Text(request.Time), "--hidden", Text(request.Hidden),
            "--d-in", Text(request.DIn), "--d-out", Text(request.DOut), "--d-model", Text(request.DModel),
            "--blocks", Text(request.Blocks), "--threads", Text(request.Threads), "--warmup", Text(request.Warmup),
            "--steps", Text(request.Steps), "--dtype", request.DType,
        };
        if (request.Description is { } d) { args.Add("--description"); args.Add(DescriptionJson(d)); }
        string stdout = Run(args);
        string line = stdout.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'))
            ?? throw new TorchPeerException($"the peer printed no timing line: {stdout.Trim()}");
        using var doc = JsonDocument.Parse(line);
        var r = doc.RootElement;
        return new PeerTiming(r.GetProperty("model").GetString()!, r.GetProperty("variant").GetString()!,
            r.GetProperty("threads").GetInt32(), r.GetProperty("median_ms").GetDouble(),
            r.GetProperty("times_ms").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            $"torch {r.GetProperty("torch").GetString()}, BLAS {(r.TryGetProperty("blas", out var blas) ? blas.GetString() : "unknown")}");
    }

    private static string Text(int v) => v.ToString(CultureInfo.InvariantCulture);

    private string Run(IReadOnlyList<string> args)
    {
        var (code, stdout, stderr) = RunProcess(Python, [Script, .. args], Timeout);
        if (code != 0)
            throw new TorchPeerException($"{Python} {ScriptName} {args[0]} exited with {code}: {stderr.Trim()}");
        return stdout;
    }

    private static (int Code, string Stdout, string Stderr) RunProcess(string file, IReadOnlyList<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeout.TotalSeconds:0} s");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>One PyTorch variant's answer in <see cref="TorchPeer.Agree{T}"/>.</summary>
/// <param name="Variant"><c>loop</c> (Python time loop), <c>conv</c> (kernel + FFT convolution) or <c>native</c> (nn.RNN/GRU/LSTM).</param>
/// <param name="Loss">½·mean over batch, steps and features of (ŷ − y)².</param>
/// <param name="Output">ŷ, [batch, time, d_out] row-major.</param>
/// <param name="Gradients">∂loss/∂θ by MemoryLab parameter name, each in the view's row-major layout.</param>
public sealed record PeerVariantResult<T>(string Variant, T Loss, T[] Output, IReadOnlyDictionary<string, T[]> Gradients)
    where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>What <see cref="TorchPeer.Time"/> measures: one training step of a PyTorch variant at a shape.</summary>
/// <param name="Model"><c>lru</c>, <c>complex_diagonal</c>, <c>linear_rnn</c> (state <c>hidden</c>, d_in → d_out);
/// <c>elman</c>, <c>gru</c>, <c>lstm</c> (hidden units, then a Dense readout to d_out); <c>deep_stack</c> (Dense(d_in → d_model),
/// <c>blocks</c> residual LRU blocks, Dense(d_model → d_out)).</param>
/// <param name="Variant"><c>loop</c>, <c>conv</c> (linear time-invariant layers) or <c>native</c> (elman, gru, lstm).</param>
/// <param name="Batch">Sequences per step.</param>
/// <param name="Time">Steps per sequence.</param>
/// <param name="Hidden">State size of the recurrent layer (not used by <c>deep_stack</c>).</param>
/// <param name="DIn">Input features.</param>
/// <param name="DOut">Output features.</param>
/// <param name="DModel">Width inside the deep stack.</param>
/// <param name="Blocks">Residual blocks of the deep stack.</param>
/// <param name="Threads">torch.set_num_threads (inter-op threads are 1).</param>
/// <param name="Warmup">Untimed steps first.</param>
/// <param name="Steps">Timed steps (the median is reported).</param>
/// <param name="DType"><c>float32</c> or <c>float64</c>.</param>
/// <param name="Description">A model description to time instead of <paramref name="Model"/>'s built-in shape.</param>
public sealed record PeerTimingRequest(string Model, string Variant, int Batch = 128, int Time = 300, int Hidden = 64, int DIn = 1,
    int DOut = 1, int DModel = 256, int Blocks = 4, int Threads = 1, int Warmup = 2, int Steps = 5, string DType = "float32",
    ModelDescription? Description = null);

/// <summary>One timing from <see cref="TorchPeer.Time"/>.</summary>
/// <param name="Model">The model name.</param>
/// <param name="Variant">The PyTorch variant.</param>
/// <param name="Threads">Intra-op threads.</param>
/// <param name="MedianMs">Median milliseconds per training step.</param>
/// <param name="TimesMs">Every timed step, in order.</param>
/// <param name="Library">The PyTorch version and the BLAS library the process loaded.</param>
public sealed record PeerTiming(string Model, string Variant, int Threads, double MedianMs, double[] TimesMs, string Library);

/// <summary>The PyTorch peer script failed; the message carries its error output.</summary>
public sealed class TorchPeerException : Exception
{
    /// <summary>A failure described by <paramref name="message"/>.</summary>
    public TorchPeerException(string message) : base(message) { }
}
