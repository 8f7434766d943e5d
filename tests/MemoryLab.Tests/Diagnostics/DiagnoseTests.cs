using System.Diagnostics;
using System.Numerics;
using System.Text.Json;
using MemoryLab.Analysis;
using MemoryLab.Diagnostics;
using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Reproductions;
using MemoryLab.Targets;
using MemoryLab.Tests.Experiments;
using MemoryLab.Tests.Peers;
using MathNet.Numerics.LinearAlgebra;

namespace MemoryLab.Tests.Diagnostics;

/// <summary>Known answers of <c>memlab diagnose</c> (<see cref="Diagnoser"/>, <see cref="DiagnosisLoader"/>).</summary>
public class DiagnoseTests
{
    private static readonly DiagnosisOptions NoCurvature = new() { LanczosSteps = 0 };

    private static DiagnosisSubject Subject(SequenceModel<double> model, ISequenceDataset<double>? data = null, int time = 300) =>
        new() { Model = model, Source = "test", Reading = "test", Data = data, Time = time };

    [Fact]
    public void ADenseRnnBuiltWithGivenEigenvaluesReturnsThem()
    {
        // A = P blockdiag(ν R(φ), …, μ) P⁻¹ with known eigenvalues ν e^{±iφ} and real μ.
        Complex[] wanted = [Complex.FromPolarCoordinates(0.97, 0.3), Complex.FromPolarCoordinates(0.97, -0.3),
            Complex.FromPolarCoordinates(0.8, 2.0), Complex.FromPolarCoordinates(0.8, -2.0), 0.5, -0.3];
        int n = wanted.Length;
        var m = Matrix<double>.Build.Dense(n, n);
        for (int p = 0; p < 2; p++)
        {
            var l = wanted[2 * p];
            m[2 * p, 2 * p] = l.Real; m[2 * p, 2 * p + 1] = -l.Imaginary; m[2 * p + 1, 2 * p] = l.Imaginary; m[2 * p + 1, 2 * p + 1] = l.Real;
        }
        m[4, 4] = 0.5; m[5, 5] = -0.3;
        var rng = new CounterRng(3, RandomPurpose.Teacher);
        var pm = Matrix<double>.Build.Dense(n, n, (_, _) => rng.NextNormal());
        var a = pm * m * pm.Inverse();
        var model = new SequenceModel<double>(new DenseLinearRecurrence<double>(2, 1, new DenseLinearRecurrenceOptions { StateSize = n }));
        model.Initialize(1);
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) model.Layout["A"].Of(model.Theta)[i * n + j] = a[i, j];

        var d = Diagnoser.Run(Subject(model), NoCurvature);
        var layer = Assert.Single(d.Layers);
        Assert.Equal("linear_rnn", layer.Kind);
        var got = layer.Modes.Select(x => x.Lambda).ToList();
        foreach (var w in wanted)
        {
            double nearest = got.Min(g => (g - w).Magnitude);
            Assert.True(nearest < 1e-10, $"eigenvalue {w} not returned (nearest at {nearest})");
        }
        foreach (var mode in layer.Modes) Assert.Equal(1 / (1 - mode.Lambda.Magnitude), mode.TimeScale, 1e-9);
    }

    [Fact]
    public void AnLruAtNu099GivesTheClosedFormSensitivityAndTheMonteCarloCheckAgrees()
    {
        // ν = 0.99 for every neuron, γ = √(1 − ν²) (LRU23's initial γ), unit white-noise input. For λ = ν e^{iθ} and white noise,
        // S(λ, λ̄) = (1 + ν²)/(1 − ν²)³ (Zucchet24 §3); ν_log: ∂λ/∂ν_log = λ ln ν; θ_log: ∂λ/∂θ_log = iθλ; γ does not depend on λ.
        const int n = 32;
        const double nu = 0.99;
        var layer = new LinearRecurrentUnit<double>(1, n, rMin: nu, rMax: nu);
        var model = new SequenceModel<double>(layer);
        model.Initialize(5);
        var phases = Enumerable.Range(0, n).Select(j => 0.05 + 3.0 * j / n).ToArray();
        for (int j = 0; j < n; j++)
        {
            model.Layout["nu_log"].Of(model.Theta)[j] = Math.Log(-Math.Log(nu));
            model.Layout["theta_log"].Of(model.Theta)[j] = Math.Log(phases[j]);
            model.Layout["gamma_log"].Of(model.Theta)[j] = 0.5 * Math.Log(1 - nu * nu);
        }
        // The input +1, +1, −1, −1, …: sample variance exactly 1 and lag-1 correlation exactly 0 over 1001 steps, so the measured
        // statistics are those of unit white noise and the closed form can be compared to rounding.
        var data = new SquareWave(1001);
        var d = Diagnoser.Run(Subject(model, data), new DiagnosisOptions { LanczosSteps = 0, Batch = 4, Check = true, CheckSequences = 256 });
        var l = Assert.Single(d.Layers);
        Assert.Equal("lru", l.Kind);
        Assert.Equal("nu_log", l.HeadlineName);
        double s = (1 + nu * nu) / Math.Pow(1 - nu * nu, 3), g2 = 1 - nu * nu;
        for (int j = 0; j < n; j++)
        {
            var mode = l.Modes[j];
            double b2 = Math.Pow(model.Layout["B_re"].Of(model.Theta)[j], 2) + Math.Pow(model.Layout["B_im"].Of(model.Theta)[j], 2);
            Assert.Equal(nu, mode.Lambda.Magnitude, 1e-12);
            Assert.Equal(b2, mode.InputVariance, 1e-12);
            Assert.Equal(0, mode.InputCorrelation, 1e-12);
            double sigma2 = mode.InputVariance;
            Assert.Equal(sigma2 * g2 * nu * nu * Math.Log(nu) * Math.Log(nu) * s, mode.ParameterSensitivity["nu_log"], 1e-6 * mode.ParameterSensitivity["nu_log"]);
            Assert.Equal(sigma2 * g2 * phases[j] * phases[j] * nu * nu * s, mode.ParameterSensitivity["theta_log"], 1e-6 * mode.ParameterSensitivity["theta_log"]);
            Assert.Equal(sigma2 * g2 * s, mode.LambdaSensitivity, 1e-9 * mode.LambdaSensitivity);
            Assert.Equal(sigma2 * g2 / (1 - nu * nu), mode.StateSecondMoment, 1e-9 * mode.StateSecondMoment);
        }
        // The normalised ν_log sensitivity per unit input variance, ν²(ln ν)²(1+ν²)/(1−ν²)² ≈ 0.495: of order one, unlike E|∂h/∂λ|².
        Assert.Equal(0.495, nu * nu * Math.Log(nu) * Math.Log(nu) * (1 + nu * nu) / Math.Pow(1 - nu * nu, 2), 3);
        var check = Assert.IsType<CheckDiagnosis>(d.Check);
        Assert.Equal(n, check.Compared.Count(c => c));
        Assert.InRange(check.MedianRatio, 0.93, 1.07); // 256 sequences: ~9% noise per mode, the median of 32 much less
    }

    /// <summary>x_t = +1, +1, −1, −1, … in every sequence; targets zero.</summary>
    private sealed class SquareWave(int time) : ISequenceDataset<double>
    {
        public int Time => time;
        public int InputFeatures => 1;
        public int OutputFeatures => 1;
        public ulong Seed => 0;
        public void FillBatch(long step, SequenceTensor<double> x, SequenceTensor<double> y)
        {
            for (int b = 0; b < x.Batch; b++) for (int t = 0; t < time; t++) x[b, t, 0] = t % 4 < 2 ? 1 : -1;
            Array.Clear(y.Data);
        }
    }

    [Fact]
    public void ALinearModelsMemoryFunctionEqualsItsKernel()
    {
        // For y = Σ K_s x_{t−s} with K_0 = D + CB, K_s = C A^s B: M(t) = |K_t| = |ρ̂(t)| (Wang24).
        var model = new SequenceModel<double>(new DenseLinearRecurrence<double>(1, 1, new DenseLinearRecurrenceOptions { StateSize = 5, Nu0 = 0.9 }));
        model.Initialize(2);
        var a = model.Layout["A"].Of(model.Theta).ToArray();
        var b = model.Layout["B"].Of(model.Theta).ToArray();
        var c = model.Layout["C"].Of(model.Theta).ToArray();
        double dd = model.Layout["D"].Of(model.Theta)[0];
        const int time = 120;
        var d = Diagnoser.Run(Subject(model, time: time), NoCurvature);
        var v = (double[])b.Clone();
        for (int t = 0; t < time; t++)
        {
            double k = 0;
            for (int i = 0; i < 5; i++) k += c[i] * v[i];
            if (t == 0) k += dd;
            Assert.Equal(Math.Abs(k), d.Memory!.Model[t], 1e-9 * Math.Max(1, Math.Abs(k)));
            var next = new double[5];
            for (int i = 0; i < 5; i++) for (int j = 0; j < 5; j++) next[i] += a[i * 5 + j] * v[j];
            v = next;
        }
    }

    [Fact]
    public void TheTargetMemoryOfALinearFunctionalIsItsKernel()
    {
        // A student beside a linear-functional target: the target's |ρ(t)| is reported and, for an exponential kernel, decays.
        var data = new LinearFunctionalDataset<double>(MemoryKernel.Exponential(0.1), time: 60, dt: 1, seed: 1);
        var model = new SequenceModel<double>(new LinearRecurrentUnit<double>(1, 4));
        model.Initialize(1);
        var d = Diagnoser.Run(Subject(model, data), NoCurvature);
        var target = d.Memory!.Target!;
        Assert.Equal(60, target.Length);
        // y = Σ ρ(s dt) x_{t−s} dt up to the dataset's quadrature: the ratio of successive values is e^{−0.1}.
        for (int t = 5; t < 50; t++) Assert.Equal(Math.Exp(-0.1), target[t + 1] / target[t], 1e-6);
    }

    /// <summary>White-noise inputs through a fixed teacher, one batch whatever the step: the batch zucchet24-hessian takes its Hessian on.</summary>
    private sealed class FixedTeacherBatch(SequenceModel<double> teacher, int time, ulong seed) : ISequenceDataset<double>
    {
        public int Time => time;
        public int InputFeatures => 1;
        public int OutputFeatures => 1;
        public ulong Seed => seed;
        public void FillBatch(long step, SequenceTensor<double> x, SequenceTensor<double> y)
        {
            new CounterRng(seed, RandomPurpose.Data, 0).FillNormal<double>(x.Data);
            teacher.Prepare(x.Batch, time, WorkerPool.Shared);
            teacher.Forward(x, training: false).Data.CopyTo(y.Data, 0);
        }
    }

    [Fact]
    public void TheHessianAtTheTeacherStudentOptimumMatchesTheZucchet24HessianReproduction()
    {
        // zucchet24-hessian (quick and paper scales: batch 64, T = 300, data seed 7, teacher seed 42, step 1e-5) reports mean 1/IPR of the
        // top 4 eigenvectors 5.18 (dense) and 2.06 (diagonal) of 25 parameters (docs/claims.md). Lanczos with 25 products spans the whole space.
        var teacher = HessianExperiment.BuildTeacher(seed: 42);
        var dense = new SequenceModel<double>(new DenseLinearRecurrence<double>(1, 1, new DenseLinearRecurrenceOptions { StateSize = 4 }));
        teacher.Theta.CopyTo(dense.Theta, 0);
        var diagonal = new SequenceModel<double>(new DiagonalRecurrence<double>(1, 1, new DiagonalRecurrenceOptions
        {
            StateSize = 4, Parametrisation = EigenvalueParametrisation.Default, Normalisation = InputNormalisation.None, Skip = SkipConnection.Full,
        }));
        DiagonalEquivalent.Convert(dense, diagonal);
        var options = new DiagnosisOptions { HessianBatch = 64, LanczosSteps = 25, HessianEigenvalues = 4, DifferenceStep = 1e-5 };
        foreach (var (model, expected) in new[] { (dense, 5.18), (diagonal, 2.06) })
        {
            var teacherCopy = HessianExperiment.BuildTeacher(seed: 42);
            var data = new FixedTeacherBatch(teacherCopy, 300, 7);
            var d = Diagnoser.Run(Subject(model, data), options);
            var c = d.Curvature!;
            Assert.True(c.LossValue < 1e-20, $"loss at the optimum {c.LossValue}");
            Assert.Equal(expected, c.EffectiveParameters.Average(), 2);
            // The same eigenvalues as the full Hessian (4-point differences, as the reproduction takes it).
            var objective = new MemoryLab.Training.SupervisedObjective<double>(model, data, MemoryLab.Training.MeanSquaredError<double>.AllSteps(), 64, WorkerPool.Shared);
            objective.NextBatch(0);
            var h = Hessian.Compute(objective, (double[])model.Theta.Clone(), step: 1e-5);
            var evd = Hessian.Eigen(h, model.Layout.Count);
            for (int k = 0; k < 4; k++) Assert.Equal(evd.Eigenvalues[k], c.Eigenvalues[k], 1e-6 * evd.Eigenvalues[0]);
        }
    }

    [Fact]
    public void AdamsEffectiveRatesAreReadFromTheCheckpointsState()
    {
        var layout = new ParameterLayout();
        layout.Add("a", "recurrent", 3);
        layout.Add("b", "input", 1);
        var adam = new AdamState([1e-4, 4e-4, 9e-4, 1.0], Steps: 10, LearningRate: 1e-3);
        var rates = Diagnoser.EffectiveRates(layout, adam);
        double c1 = 1 - Math.Pow(0.9, 10), c2 = 1 - Math.Pow(0.999, 10);
        Assert.Equal(1e-3 / c1 / (Math.Sqrt(4e-4 / c2) + 1e-8), rates[0].Median, 1e-12);
        Assert.Equal(1e-3 / c1 / (Math.Sqrt(1.0 / c2) + 1e-8), rates[1].Median, 1e-12);
    }

    [Fact]
    public void BadInputIsRefusedWithOneLine()
    {
        using var dir = new TempDirectory();
        // A folder without a checkpoint.
        var e1 = Assert.Throws<InvalidDataException>(() => DiagnosisLoader.Load(dir.Path));
        Assert.Contains("no checkpoint.safetensors", e1.Message);
        // Tensors that match no layout.
        var layout = new ParameterLayout();
        layout.Add("encoder.kernel", "dense", 2, 3);
        string odd = Path.Combine(dir.Path, "odd.safetensors");
        SafeTensors.Save(odd, layout, (ReadOnlySpan<double>)new double[6]);
        var e2 = Assert.Throws<InvalidDataException>(() => DiagnosisLoader.Load(odd));
        Assert.Contains("match no known layout", e2.Message);
        Assert.StartsWith(odd + ":", e2.Message);
        Assert.DoesNotContain('\n', e2.Message);
        // A model with no recurrent layer.
        var model = new SequenceModel<double>(new Dense<double>(1, 1));
        var e3 = Assert.Throws<InvalidDataException>(() => Diagnoser.Run(Subject(model), NoCurvature));
        Assert.Contains("no recurrent layer", e3.Message);
    }

    [Fact]
    public void TheCliExitsWith2AndOneLineOnBadInputAndWritesNothing()
    {
        using var dir = new TempDirectory();
        string outDir = Path.Combine(dir.Path, "out");
        var layout = new ParameterLayout();
        layout.Add("encoder.kernel", "dense", 2, 3);
        string odd = Path.Combine(dir.Path, "odd.safetensors");
        SafeTensors.Save(odd, layout, (ReadOnlySpan<double>)new double[6]);
        string noRnn = dir.File("dense.yaml", "kind: train\nmodel: {kind: dense, out: 1}\ndata: {kind: teacher, time: 20}\n");
        var denseModel = new SequenceModel<double>(new Dense<double>(1, 1));
        string denseFile = Path.Combine(dir.Path, "dense.safetensors");
        SafeTensors.Save(denseFile, denseModel.Layout, (ReadOnlySpan<double>)denseModel.Theta);
        var cases = new (string[] Args, string Expected)[]
        {
            (["diagnose", dir.Path, "--out", outDir], $"{dir.Path}: no checkpoint.safetensors in this folder"),
            (["diagnose", odd, "--out", outDir], $"{odd}: its tensors match no known layout"),
            (["diagnose", denseFile, "--spec", noRnn, "--out", outDir], $"{denseFile}: the model has no recurrent layer"),
            (["diagnose", odd, "--map", "nothing=nu_log", "--out", outDir], $"{odd}: --map nothing=nu_log: the file has no tensor 'nothing'"),
        };
        foreach (var (args, expected) in cases)
        {
            var (code, stdout, stderr) = Memlab.Run(dir.Path, args);
            Assert.True(code == 2, $"exit {code} for {string.Join(' ', args)}: {stderr}");
            Assert.StartsWith(expected, stderr);
            Assert.DoesNotContain('\n', stderr.TrimEnd('\n'));
            Assert.Equal("", stdout);
            Assert.False(Directory.Exists(outDir), "nothing may be written on bad input");
        }
    }

    [Fact]
    public void ARunFolderIsDiagnosedEndToEnd()
    {
        using var dir = new TempDirectory();
        string spec = dir.File("ts.yaml", "kind: train\nseed: 0\nprecision: float32\ndata: {kind: teacher, time: 60, state_size: 4, nu0: 0.9}\n"
            + "model: {kind: lru, hidden: 8, r_min: 0.9}\noptimizer: {kind: adam, lr: 0.01}\nsteps: 20\nbatch: 8\n");
        string runs = Path.Combine(dir.Path, "runs"), outDir = Path.Combine(dir.Path, "diag");
        var run = Memlab.Run(dir.Path, "run", spec, "--out", runs);
        Assert.Equal(0, run.ExitCode);
        string runDir = Directory.GetDirectories(runs).Single(p => !Path.GetFileName(p).StartsWith('.'));
        var (code, stdout, stderr) = Memlab.Run(dir.Path, "diagnose", runDir, "--out", outDir, "--check", "--lanczos-steps", "6");
        Assert.True(code == 0, stderr);
        Assert.Contains("lru", stdout);
        Assert.Contains("Adam effective rate", stdout);
        Assert.True(File.Exists(Path.Combine(outDir, "diagnose.html")));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "diagnose.json")));
        var layer = json.RootElement.GetProperty("layers")[0];
        Assert.Equal(8, layer.GetProperty("modes").GetArrayLength());
        Assert.Equal(4, json.RootElement.GetProperty("curvature").GetProperty("eigenvalues").GetArrayLength());
        Assert.Equal(8, json.RootElement.GetProperty("adam_effective_rates").GetArrayLength());
        Assert.Equal(60, json.RootElement.GetProperty("memory_function").GetProperty("target").GetArrayLength());
    }

    [Fact]
    public void ElmanLstmAndGruLayersAreReadThroughTheirLinearisationAndGates()
    {
        // Elman with σ = identity and b = 0: the Jacobian is W itself.
        var elman = new SequenceModel<double>(new ElmanRecurrence<double>(2, 6, Activation.Identity, recurrentGain: 0.7));
        elman.Initialize(4);
        var w = Matrix<double>.Build.Dense(6, 6, (i, j) => elman.Layout["weight_hh"].Of(elman.Theta)[i * 6 + j]);
        var wanted = w.Evd().EigenValues;
        var e = Assert.Single(Diagnoser.Run(Subject(elman), NoCurvature).Layers);
        foreach (var l in wanted) Assert.True(e.Modes.Min(m => (m.Lambda - l).Magnitude) < 1e-10, $"eigenvalue {l} of W missing");
        // LSTM: λ = σ(b_if + b_hf); GRU: α = σ(b_iz + b_hz), with the memory time 1 + e^{b} of GatedRecurrentUnit.MemoryTime.
        var stack = new SequenceModel<double>(new LayerStack<double>(["lstm", "gru"],
            [new LongShortTermMemory<double>(1, 3, forgetBias: 2.0), new GatedRecurrentUnit<double>(3, 4)]));
        stack.Initialize(2);
        var d = Diagnoser.Run(Subject(stack), NoCurvature);
        Assert.Equal(["lstm", "gru"], d.Layers.Select(l => l.Path));
        var bih = stack.Layout["lstm.bias_ih"].Of(stack.Theta); var bhh = stack.Layout["lstm.bias_hh"].Of(stack.Theta);
        for (int j = 0; j < 3; j++) Assert.Equal(1 / (1 + Math.Exp(-(bih[3 + j] + bhh[3 + j]))), d.Layers[0].Modes[j].Lambda.Real, 1e-14);
        var gih = stack.Layout["gru.bias_ih"].Of(stack.Theta); var ghh = stack.Layout["gru.bias_hh"].Of(stack.Theta);
        for (int j = 0; j < 4; j++)
            Assert.Equal(GatedRecurrentUnit<double>.MemoryTime(gih[4 + j] + ghh[4 + j]), d.Layers[1].Modes[j].TimeScale, 1e-9);
        Assert.Equal("forget_gate_bias", d.Layers[0].HeadlineName);
        Assert.Equal("update_gate_bias", d.Layers[1].HeadlineName);
    }

    [Fact]
    public void ADeepStackIsDiagnosedPerBlockOnEachBlocksOwnInput()
    {
        var model = new SequenceModel<double>(ModelFactory.CreateDefault().Build<double>(
            ModelDescription.Of("deep_stack", ("d_model", 6), ("blocks", 3), ("out", 1)).With(ModelDescription.Of("lru", ("hidden", 5))), 1));
        model.Initialize(3);
        var d = Diagnoser.Run(Subject(model, time: 50), NoCurvature);
        Assert.Equal(["blocks.0.rnn", "blocks.1.rnn", "blocks.2.rnn"], d.Layers.Select(l => l.Path));
        // Block 0's input is the encoder's output W x + b of unit white noise: E|B̃ u|² = |B̃ W|² + |B̃ b|² per mode, up to sampling.
        var enc = model.Layout["encoder.weight"].Of(model.Theta).ToArray();
        var bias = model.Layout["encoder.bias"].Of(model.Theta).ToArray();
        var bRe = model.Layout["blocks.0.rnn.B_re"].Of(model.Theta).ToArray();
        var bIm = model.Layout["blocks.0.rnn.B_im"].Of(model.Theta).ToArray();
        for (int j = 0; j < 5; j++)
        {
            double cr = 0, ci = 0, mr = 0, mi = 0;
            for (int k = 0; k < 6; k++) { cr += bRe[j * 6 + k] * enc[k]; ci += bIm[j * 6 + k] * enc[k]; mr += bRe[j * 6 + k] * bias[k]; mi += bIm[j * 6 + k] * bias[k]; }
            double expected = cr * cr + ci * ci + mr * mr + mi * mi;
            Assert.InRange(d.Layers[0].Modes[j].InputVariance / expected, 0.9, 1.1); // 32 × 50 samples
        }
    }

    [Fact]
    public void AFileWithMinimalLruNamesIsMappedAndCheckedAgainstItsOutputPair()
    {
        using var dir = new TempDirectory();
        // An LRU written as a JAX user would flatten minimal-LRU's parameters, with an input/output pair from the model itself.
        var lru = new SequenceModel<double>(new LinearRecurrentUnit<double>(2, 7, rMin: 0.9, rMax: 0.99));
        lru.Initialize(8);
        var x = new SequenceTensor<double>(2, 30, 2);
        new CounterRng(1, RandomPurpose.Data).FillNormal<double>(x.Data);
        lru.Prepare(2, 30, WorkerPool.Shared);
        var y = lru.Forward(x, training: false);
        var layout = new ParameterLayout();
        var values = new List<double>();
        foreach (var v in lru.Layout.Views) { layout.Add("params/layers_0/seq/" + v.Name, "p", v.Shape); values.AddRange(v.Of(lru.Theta).ToArray()); }
        layout.Add("input", "data", 2, 30, 2); values.AddRange(x.Data);
        layout.Add("output", "data", 2, 30, 2); values.AddRange(y.Data);
        string file = Path.Combine(dir.Path, "lru.safetensors");
        SafeTensors.Save(file, layout, (ReadOnlySpan<double>)values.ToArray());
        var subject = DiagnosisLoader.Load(file);
        Assert.StartsWith("minimal-LRU names", subject.Reading);
        Assert.True(subject.Mapping!.RelativeError < 1e-12);
        Assert.Equal(30, subject.Time);
        var d = Diagnoser.Run(subject, NoCurvature);
        Assert.Equal("lru", Assert.Single(d.Layers).Kind);
        // Swapping B_re and B_im still loads (same shapes) but no longer reproduces the outputs.
        var e = Assert.Throws<InvalidDataException>(() => DiagnosisLoader.Load(file, maps: new Dictionary<string, string>
        {
            ["params/layers_0/seq/B_re"] = "params/layers_0/seq/B_im", ["params/layers_0/seq/B_im"] = "params/layers_0/seq/B_re",
        }));
        Assert.Contains("does not reproduce 'output'", e.Message);
    }

    [TorchFact]
    public void ATorchGruCheckpointLoadsAndGivesTheSameOutputs()
    {
        using var dir = new TempDirectory();
        string file = Path.Combine(dir.Path, "gru.safetensors");
        // PyTorch writes nn.GRU(2, 5) + nn.Linear(5, 1) in float32 as a safetensors file with an input/output pair, by the
        // Python block of docs/diagnose.md as written (after the model and input it assumes), and prints its update gates at
        // their biases σ(b_iz + b_hz).
        string page = File.ReadAllText(Path.Combine(MemoryLab.Tests.Reproductions.TeacherStudentTests.RepoRoot(), "docs", "diagnose.md")).ReplaceLineEndings("\n");
        var block = System.Text.RegularExpressions.Regex.Match(page, "```python\n(.*?)```", System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.True(block.Success, "docs/diagnose.md has a Python block");
        Assert.Contains("open(\"gru.safetensors\", \"wb\")", block.Groups[1].Value);
        string script = dir.File("write.py", """
            import json, struct, torch
            torch.manual_seed(0)
            gru = torch.nn.GRU(2, 5, batch_first=True)
            head = torch.nn.Linear(5, 1)
            with torch.no_grad():
                gru.bias_hh_l0[5:10] += 2.0  # long memories
            x = torch.randn(3, 40, 2)

            """.Replace("\n            ", "\n") + block.Groups[1].Value + """
            print(json.dumps(torch.sigmoid(gru.bias_ih_l0[5:10] + gru.bias_hh_l0[5:10]).tolist()))
            """.Replace("\n            ", "\n").TrimStart(' '));
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir.Path };
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stderr);
        var gates = JsonSerializer.Deserialize<double[]>(stdout)!;

        var subject = DiagnosisLoader.Load(file);
        Assert.Contains("torch.nn.GRU", subject.Reading);
        var mapping = Assert.IsType<MappingCheck>(subject.Mapping);
        Assert.True(mapping.RelativeError < 1e-5, $"outputs differ by {mapping.RelativeError} (relative)");
        var d = Diagnoser.Run(subject, NoCurvature);
        var layer = Assert.Single(d.Layers);
        Assert.Equal("gru", layer.Kind);
        for (int j = 0; j < 5; j++) Assert.Equal(gates[j], layer.Modes[j].Lambda.Real, 1e-6);

        // A wrong mapping is caught by the output pair: read the GRU's recurrent weights as its input weights' shape-mates.
        var e = Assert.Throws<InvalidDataException>(() => DiagnosisLoader.Load(file, maps: new Dictionary<string, string>
        {
            ["rnn.bias_ih_l0"] = "rnn.bias_hh_l0", ["rnn.bias_hh_l0"] = "rnn.bias_ih_l0",
        }));
        Assert.Contains("does not reproduce", e.Message);
    }
}
