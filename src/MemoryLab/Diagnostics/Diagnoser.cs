using System.Diagnostics;
using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using MemoryLab.Analysis;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Theory;
using MemoryLab.Training;

namespace MemoryLab.Diagnostics;

/// <summary>
/// Applies the papers' analyses to one model: per recurrent layer the spectrum and memory time scales, the closed-form
/// sensitivities E|∂h/∂λ|² and E|h|² of Zucchet &amp; Orvieto (NeurIPS 2024) §3–4 with the input's variance and lag-1
/// correlation measured on the data (an AR(1) fit), the memory function of Wang, Li &amp; Li (ICLR 2024) beside the
/// target's |ρ(t)|, the top of the Hessian spectrum and its eigenvectors' concentration 1/IPR (Zucchet24 Fig. 4),
/// and Adam's effective learning rates. Uses the layers' public API only.
/// </summary>
public static class Diagnoser
{
    /// <summary>Above this many parameters the curvature defaults to a smaller batch, fewer Lanczos steps and two-point differences
    /// (each Hessian-vector product is two or four full gradients).</summary>
    public const int LargeModel = 100_000;

    /// <summary>Diagnoses <paramref name="subject"/>.</summary>
    public static Diagnosis Run(DiagnosisSubject subject, DiagnosisOptions? options = null, WorkerPool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(subject);
        var o = options ?? new DiagnosisOptions();
        o.Validate();
        pool ??= WorkerPool.Shared;
        var model = subject.Model;
        var theta0 = (double[])model.Theta.Clone();
        var seconds = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        var data = subject.Data ?? new WhiteNoiseData(model.Root.InputSize, model.Root.OutputSize, subject.Time, o.Seed);
        int time = data.Time;

        // Spectrum and sensitivity: one forward pass on a batch of the data, each recurrent layer's input captured.
        var (x, _) = data.CreateBatch(1_000_000_007, o.Batch); // a batch the training steps do not draw
        model.Prepare(o.Batch, time, pool);
        model.Forward(x, training: false);
        var found = new List<(string Path, ISequenceLayer<double> Layer, SequenceTensor<double> Input)>();
        Walk(model.Root, "", x, model.Theta, found);
        var layers = new List<LayerDiagnosis>();
        foreach (var (path, layer, input) in found)
            layers.Add(AnalyseLayer(path, layer, input, model.Theta, model.Layout, o.FlagRatio));
        if (layers.Count == 0)
            throw new InvalidDataException($"{subject.Source}: the model has no recurrent layer (diagnose reads linear_rnn, complex_diagonal, lru, elman, gru and lstm layers)");
        seconds["spectrum"] = Lap(clock);

        // Memory function of the whole model.
        int memoryTime = o.MemoryTime > 0 ? o.MemoryTime : time;
        var mfOptions = new MemoryFunctionOptions { Seed = o.Seed };
        var mf = MemoryFunction.Estimate(model, memoryTime, mfOptions, pool);
        seconds["memory_function"] = Lap(clock);

        // Curvature on one batch.
        CurvatureDiagnosis? curvature = null;
        if (o.LanczosSteps is not 0)
        {
            curvature = Curvature(model, data, subject.Data is null, theta0, o, pool);
            theta0.CopyTo(model.Theta, 0);
        }
        seconds["curvature"] = Lap(clock);

        var rates = subject.Adam is { } adam ? EffectiveRates(model.Layout, adam) : [];

        CheckDiagnosis? check = null;
        string? checkNote = null;
        if (o.Check)
        {
            int index = found.FindIndex(f => f.Layer is DiagonalRecurrence<double>);
            if (index < 0) checkNote = "the Monte Carlo check runs on a complex diagonal layer (lru, complex_diagonal); this model has none";
            else
            {
                var f = found[index];
                check = MonteCarloCheck(f.Path, (DiagonalRecurrence<double>)f.Layer, f.Input, model.Theta, model.Layout, layers[index], o, pool);
            }
            seconds["check"] = Lap(clock);
        }
        theta0.CopyTo(model.Theta, 0);
        var (target, targetName) = TargetMemory(subject.Data, memoryTime, mfOptions, pool);
        var memory = new MemoryDiagnosis(mf.Values, mf.MeanValues, mf.Probes, target, targetName);
        seconds["memory_function"] += Lap(clock);
        return new Diagnosis
        {
            Source = subject.Source, Reading = subject.Reading, Data = subject.DataDescription, Parameters = model.Layout.Count, Options = o,
            Layers = layers, Memory = memory, Curvature = curvature, EffectiveRates = rates, Check = check, CheckNote = checkNote,
            Mapping = subject.Mapping, Seconds = seconds,
        };
    }

    private static double Lap(Stopwatch clock)
    {
        double s = clock.Elapsed.TotalSeconds;
        clock.Restart();
        return s;
    }

    /// <summary>Every recurrent layer under <paramref name="layer"/> with its parameter prefix and the input it saw in the
    /// latest forward pass (containers: <see cref="LayerStack{T}"/>, <see cref="DeepStack{T}"/>, <see cref="ResidualBlock{T}"/>).</summary>
    internal static void Walk(ISequenceLayer<double> layer, string path, SequenceTensor<double> input, double[] theta,
        List<(string, ISequenceLayer<double>, SequenceTensor<double>)> found)
    {
        switch (layer)
        {
            case LayerStack<double> s:
                for (int i = 0; i < s.Layers.Count; i++)
                    Walk(s.Layers[i], ParameterLayout.Join(path, s.Names[i]), i == 0 ? input : s.IntermediateOutput(i - 1), theta, found);
                break;
            case DeepStack<double> d:
                {
                    // The encoder's output is not kept by the stack: recompute it (a Dense forward has no other effect).
                    var encoded = new SequenceTensor<double>(input.Batch, input.Time, d.ModelSize);
                    d.Encoder.Forward(theta, input, encoded, training: false);
                    for (int k = 0; k < d.Blocks.Count; k++)
                        Walk(d.Blocks[k], ParameterLayout.Join(path, "blocks." + k), k == 0 ? encoded : d.BlockOutput(k - 1), theta, found);
                    break;
                }
            case ResidualBlock<double> r:
                Walk(r.Inner, path, input, theta, found);
                break;
            case DiagonalRecurrence<double> or DenseLinearRecurrence<double> or GatedRecurrentUnit<double> or LongShortTermMemory<double> or ElmanRecurrence<double>:
                found.Add((path, layer, Copy(input)));
                break;
        }
    }

    private static SequenceTensor<double> Copy(SequenceTensor<double> t) => new((double[])t.Data.Clone(), t.Batch, t.Time, t.Features);

    // ---- Spectrum and closed-form sensitivity per layer kind ----

    internal static LayerDiagnosis AnalyseLayer(string path, ISequenceLayer<double> layer, SequenceTensor<double> input, double[] theta,
        ParameterLayout layout, double flagRatio)
    {
        var (kind, how, headline, modes) = layer switch
        {
            DiagonalRecurrence<double> d => Diagonal(path, d, input, theta, layout),
            DenseLinearRecurrence<double> a => DenseLinear(path, a, input, theta, layout),
            ElmanRecurrence<double> e => Elman(e, input, theta),
            GatedRecurrentUnit<double> g => Gru(g, input, theta),
            LongShortTermMemory<double> l => Lstm(l, input, theta),
            _ => throw new ArgumentException($"layer {path} of kind {layer.GetType().Name} has no spectrum here"),
        };
        var sorted = modes.Select(m => m.Headline).Where(double.IsFinite).Order().ToArray();
        double median = sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]);
        var flagged = modes.Select(m => m with { Flagged = m.Headline > flagRatio * median || double.IsPositiveInfinity(m.Headline) }).ToList();
        return new LayerDiagnosis(path, kind, how, headline, flagged, median);
    }

    /// <summary>σ² = E|u|² and ρ = Re E[u_t ū_{t−1}]/σ² for each row of u_t = M x_t, M = <paramref name="re"/> + i<paramref name="im"/>
    /// (<c>[modes × features]</c>, row-major), over every sequence and step of <paramref name="x"/>.</summary>
    internal static (double[] Variance, double[] Correlation) InputStatistics(SequenceTensor<double> x, double[] re, double[]? im, int modes)
    {
        int f = x.Features, time = x.Time;
        var v = new double[modes];
        var c = new double[modes];
        var ur = new double[time * modes];
        var ui = new double[time * modes];
        for (int b = 0; b < x.Batch; b++)
        {
            // U = X_b Mᵀ, [T × modes], one GEMM per part per sequence.
            var xb = x.Sequence(b);
            Gemm.Multiply(Transpose.No, Transpose.Yes, time, modes, f, 1.0, xb, f, re, f, 0.0, ur, modes);
            if (im != null) Gemm.Multiply(Transpose.No, Transpose.Yes, time, modes, f, 1.0, xb, f, im, f, 0.0, ui, modes);
            for (int t = 0; t < time; t++)
            {
                var r = ur.AsSpan(t * modes, modes);
                var i = ui.AsSpan(t * modes, modes);
                for (int j = 0; j < modes; j++) v[j] += r[j] * r[j] + i[j] * i[j];
                if (t == 0) continue;
                var pr = ur.AsSpan((t - 1) * modes, modes);
                var pi = ui.AsSpan((t - 1) * modes, modes);
                for (int j = 0; j < modes; j++) c[j] += r[j] * pr[j] + i[j] * pi[j];
            }
        }
        long count = (long)x.Batch * time, pairs = (long)x.Batch * (time - 1);
        for (int j = 0; j < modes; j++)
        {
            double var = v[j] / count;
            double cov = pairs > 0 ? c[j] / pairs : 0;
            v[j] = var;
            c[j] = var > 0 ? Math.Clamp(cov / var, -1, 1) : 0;
        }
        return (v, c);
    }

    private static double TimeScale(double abs) => abs < 1 ? 1 / (1 - abs) : double.PositiveInfinity;

    // Closed forms need |λ| < 1; an unstable or marginal mode has infinite E|h|² in the stationary limit.
    private static bool Stable(Complex l) => l.Magnitude < 1;

    private static (string, string, string, List<ModeDiagnosis>) Diagonal(string path, DiagonalRecurrence<double> layer, SequenceTensor<double> input,
        double[] theta, ParameterLayout layout)
    {
        int n = layer.Options.StateSize, f = layer.InputSize;
        var re = new double[n]; var im = new double[n]; var gamma = new double[n];
        layer.Eigenvalues(theta, re, im, gamma);
        var bRe = layout[ParameterLayout.Join(path, "B_re")].Of(theta).ToArray();
        var bIm = layout[ParameterLayout.Join(path, "B_im")].Of(theta).ToArray();
        var (variance, rho) = InputStatistics(input, bRe, bIm, n);
        // The eigenvalue parameters: the layer's per-neuron "recurrent" tensors other than γ (minimal-LRU: nu_log, theta_log).
        var views = DirectViews(layout, path).Where(v => v.Group == "recurrent" && v.Length == n && !v.Name.EndsWith("gamma_log", StringComparison.Ordinal)).ToList();
        var derivatives = views.Select(v => EigenvalueDerivatives(layer, theta, v, n)).ToList();
        var modes = new List<ModeDiagnosis>(n);
        string headline = views.Count > 0 ? Suffix(views[0].Name, path) : "lambda";
        for (int j = 0; j < n; j++)
        {
            var l = new Complex(re[j], im[j]);
            var ps = new Dictionary<string, double>();
            double s2 = variance[j], r = rho[j];
            double state = Stable(l) ? gamma[j] * gamma[j] * s2 * SignalPropagation.StateSecondMoment(l, r) : double.PositiveInfinity;
            double lambdaSens = Stable(l) ? gamma[j] * gamma[j] * s2 * SignalPropagation.SensitivitySecondMoment(l, r) : double.PositiveInfinity;
            for (int k = 0; k < views.Count; k++)
            {
                var (dl, dg) = derivatives[k][j];
                ps[Suffix(views[k].Name, path)] = Stable(l) ? s2 * SignalPropagation.ParameterSensitivity(l, dl, gamma[j], dg, r) : double.PositiveInfinity;
            }
            double head = views.Count > 0 ? ps[headline] : lambdaSens;
            modes.Add(new ModeDiagnosis(l, TimeScale(l.Magnitude), s2, r, state, lambdaSens, ps, head, false));
        }
        string kind = layer is LinearRecurrentUnit<double> ? "lru" : "complex_diagonal";
        return (kind, "diagonal λ read from the layer; sensitivities with the layer's γ and parametrisation (chain rule by central differences of its λ map)", headline, modes);
    }

    /// <summary>∂λ_j/∂p_j and ∂γ_j/∂p_j for each entry of view p, by central differences of the layer's own eigenvalue map.</summary>
    private static (Complex DLambda, double DGamma)[] EigenvalueDerivatives(DiagonalRecurrence<double> layer, double[] theta, ParameterView view, int n)
    {
        var work = (double[])theta.Clone();
        var rp = new double[n]; var ip = new double[n]; var gp = new double[n];
        var rm = new double[n]; var im = new double[n]; var gm = new double[n];
        var result = new (Complex, double)[n];
        for (int j = 0; j < n; j++)
        {
            int at = view.Offset + j;
            double x = theta[at], h = 1e-6 * Math.Max(1, Math.Abs(x));
            work[at] = x + h; layer.Eigenvalues(work, rp, ip, gp);
            work[at] = x - h; layer.Eigenvalues(work, rm, im, gm);
            work[at] = x;
            result[j] = (new Complex((rp[j] - rm[j]) / (2 * h), (ip[j] - im[j]) / (2 * h)), (gp[j] - gm[j]) / (2 * h));
        }
        return result;
    }

    private static IEnumerable<ParameterView> DirectViews(ParameterLayout layout, string path)
    {
        string head = string.IsNullOrEmpty(path) ? "" : path + ".";
        return layout.Views.Where(v => v.Name.StartsWith(head, StringComparison.Ordinal) && !v.Name.AsSpan(head.Length).Contains('.'));
    }

    private static string Suffix(string name, string path) => string.IsNullOrEmpty(path) ? name : name[(path.Length + 1)..];

    private static (string, string, string, List<ModeDiagnosis>) DenseLinear(string path, DenseLinearRecurrence<double> layer, SequenceTensor<double> input,
        double[] theta, ParameterLayout layout)
    {
        int n = layer.Options.StateSize;
        var a = new double[n * n];
        layer.FullRecurrentMatrix(theta, a);
        var b = layout[ParameterLayout.Join(path, "B")].Of(theta).ToArray();
        var modes = ModalSensitivities(a, n, b, layer.InputSize, input);
        return ("linear_rnn", "eigendecomposition A = V Λ V⁻¹ (unit-norm columns of V); modal inputs u = V⁻¹ B x", "lambda", modes);
    }

    private static (string, string, string, List<ModeDiagnosis>) Elman(ElmanRecurrence<double> layer, SequenceTensor<double> input, double[] theta)
    {
        int n = layer.HiddenSize, f = layer.InputSize;
        var w = layer.RecurrentWeights.Of(theta).ToArray();
        var u = layer.InputWeights.Of(theta).ToArray();
        var bias = layer.Bias.Of(theta);
        var jac = new double[n * n];
        var drive = new double[n * f];
        for (int i = 0; i < n; i++)
        {
            double slope = Slope(layer.Activation, bias[i]);
            for (int j = 0; j < n; j++) jac[i * n + j] = slope * w[i * n + j];
            for (int k = 0; k < f; k++) drive[i * f + k] = slope * u[i * f + k];
        }
        var modes = ModalSensitivities(jac, n, drive, f, input);
        return ("elman", "eigendecomposition of the Jacobian σ'(b) W at h = 0, x = 0 (the linearised recurrence)", "lambda", modes);
    }

    private static double Slope(Activation a, double b) => a switch
    {
        Activation.Tanh => 1 - Math.Tanh(b) * Math.Tanh(b),
        Activation.HardTanh => Math.Abs(b) < 1 ? 1 : 0,
        _ => 1,
    };

    /// <summary>Modes of h' = J h + B x: eigenvalues of J, modal inputs u = V⁻¹ B x, and the linear-RNN closed forms per mode.</summary>
    private static List<ModeDiagnosis> ModalSensitivities(double[] j, int n, double[] b, int f, SequenceTensor<double> input)
    {
        var m = Matrix<Complex>.Build.Dense(n, n, (r, c) => j[r * n + c]);
        var evd = m.Evd();
        var v = evd.EigenVectors.Clone();
        for (int c = 0; c < n; c++)
        {
            double norm = Math.Sqrt(v.Column(c).Sum(z => z.Real * z.Real + z.Imaginary * z.Imaginary));
            if (norm > 0) v.SetColumn(c, v.Column(c).Divide(norm));
        }
        var vinv = v.Inverse();
        var bm = Matrix<Complex>.Build.Dense(n, f, (r, c) => b[r * f + c]);
        var mb = vinv * bm;
        var re = new double[n * f]; var im = new double[n * f];
        for (int r = 0; r < n; r++) for (int c = 0; c < f; c++) { re[r * f + c] = mb[r, c].Real; im[r * f + c] = mb[r, c].Imaginary; }
        var (variance, rho) = InputStatistics(input, re, im, n);
        var modes = new List<ModeDiagnosis>(n);
        for (int k = 0; k < n; k++)
        {
            var l = evd.EigenValues[k];
            double state = Stable(l) ? variance[k] * SignalPropagation.StateSecondMoment(l, rho[k]) : double.PositiveInfinity;
            double sens = Stable(l) ? variance[k] * SignalPropagation.SensitivitySecondMoment(l, rho[k]) : double.PositiveInfinity;
            modes.Add(new ModeDiagnosis(l, TimeScale(l.Magnitude), variance[k], rho[k], state, sens, new Dictionary<string, double>(), sens, false));
        }
        return modes;
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    private static (string, string, string, List<ModeDiagnosis>) Gru(GatedRecurrentUnit<double> layer, SequenceTensor<double> input, double[] theta)
    {
        int h = layer.HiddenSize, f = layer.InputSize;
        var bih = layer.InputBias.Of(theta); var bhh = layer.RecurrentBias.Of(theta);
        var wih = layer.InputWeights.Of(theta);
        var wn = wih.Slice(2 * h * f, h * f).ToArray(); // W_in: the candidate's input weights drive the leaky integrator
        var (variance, rho) = InputStatistics(input, wn, null, h);
        var modes = new List<ModeDiagnosis>(h);
        for (int j = 0; j < h; j++)
        {
            double alpha = Sigmoid(bih[h + j] + bhh[h + j]);
            var (state, decay) = alpha < 1
                ? (LeakyIntegratorSignal.Correlation(alpha, alpha, variance[j], rho[j]), LeakyIntegratorSignal.CrossSensitivity(alpha, alpha, variance[j], rho[j]))
                : (double.PositiveInfinity, double.PositiveInfinity);
            double bias = alpha * (1 - alpha) * alpha * (1 - alpha) * decay;
            modes.Add(new ModeDiagnosis(alpha, TimeScale(alpha), variance[j], rho[j], state, decay,
                new Dictionary<string, double> { ["update_gate_bias"] = bias }, bias, false));
        }
        return ("gru", "update gate at its bias, α = σ(b_iz + b_hz), as the leaky integrator h = αh + (1−α)n with n ≈ W_in x (Zucchet24 Fig. 12)", "update_gate_bias", modes);
    }

    private static (string, string, string, List<ModeDiagnosis>) Lstm(LongShortTermMemory<double> layer, SequenceTensor<double> input, double[] theta)
    {
        int h = layer.HiddenSize, f = layer.InputSize;
        var bih = layer.InputBias.Of(theta); var bhh = layer.RecurrentBias.Of(theta);
        var wih = layer.InputWeights.Of(theta);
        // c' = f c + i g linearised at the biases: the drive is σ(b_i)·(1 − tanh² b_g)·W_ig x.
        var drive = new double[h * f];
        for (int j = 0; j < h; j++)
        {
            double gain = Sigmoid(bih[j] + bhh[j]) * (1 - Math.Pow(Math.Tanh(bih[2 * h + j] + bhh[2 * h + j]), 2));
            for (int k = 0; k < f; k++) drive[j * f + k] = gain * wih[(2 * h + j) * f + k];
        }
        var (variance, rho) = InputStatistics(input, drive, null, h);
        var modes = new List<ModeDiagnosis>(h);
        for (int j = 0; j < h; j++)
        {
            double lambda = Sigmoid(bih[h + j] + bhh[h + j]);
            double state = lambda < 1 ? variance[j] * SignalPropagation.StateVariance(lambda, rho[j]) : double.PositiveInfinity;
            double sens = lambda < 1 ? variance[j] * SignalPropagation.SensitivityVariance(lambda, rho[j]) : double.PositiveInfinity;
            double bias = lambda * (1 - lambda) * lambda * (1 - lambda) * sens;
            modes.Add(new ModeDiagnosis(lambda, TimeScale(lambda), variance[j], rho[j], state, sens,
                new Dictionary<string, double> { ["forget_gate_bias"] = bias }, bias, false));
        }
        return ("lstm", "forget gate at its bias, λ = σ(b_if + b_hf), as the cell's linear recurrence c = λc + u with u = σ(b_i)(1 − tanh² b_g) W_ig x", "forget_gate_bias", modes);
    }

    // ---- Memory function target ----

    private static (double[]?, string?) TargetMemory(ISequenceDataset<double>? data, int time, MemoryFunctionOptions options, WorkerPool pool)
    {
        switch (data)
        {
            case TeacherLinearSystem<double> teacher when teacher.Model.Root is DenseLinearRecurrence<double> a:
                {
                    // A copy of the teacher, so the dataset's own prepared model is left as it is.
                    var copy = new SequenceModel<double>(new DenseLinearRecurrence<double>(a.InputSize, a.OutputSize, a.Options));
                    teacher.Model.Theta.CopyTo(copy.Theta, 0);
                    return (MemoryFunction.Estimate(copy, time, options, pool).Values, "linear teacher (|ρ(t)| = ‖C A^t B‖, D at t = 0)");
                }
            case LinearFunctionalDataset<double> lf:
                {
                    // Linear target: Heaviside on each input feature; M(t) = Σ_f |Δ_t^f| is the supremum over the max-norm ball.
                    int d = lf.InputFeatures;
                    var x = new SequenceTensor<double>(d, lf.Time, d);
                    var y = new SequenceTensor<double>(d, lf.Time, lf.OutputFeatures);
                    for (int k = 0; k < d; k++) for (int t = 0; t < lf.Time; t++) x[k, t, k] = 1;
                    lf.ComputeTargets(x, y);
                    var m = new double[Math.Min(time, lf.Time)];
                    for (int k = 0; k < d; k++)
                        for (int t = 0; t < m.Length; t++) m[t] += Math.Abs(y[k, t, 0] - (t == 0 ? 0 : y[k, t - 1, 0]));
                    return (m, "linear functional target |ρ(t)| (" + string.Join(", ", lf.Kernels.Select(k => k.Name)) + ")");
                }
            default:
                return (null, null);
        }
    }

    // ---- Curvature ----

    private static CurvatureDiagnosis Curvature(SequenceModel<double> model, ISequenceDataset<double> data, bool selfTarget, double[] theta0,
        DiagnosisOptions o, WorkerPool pool)
    {
        theta0.CopyTo(model.Theta, 0);
        int n = model.Layout.Count;
        bool large = n > LargeModel;
        int batch = o.HessianBatch ?? (large ? 4 : 16), steps = o.LanczosSteps ?? (large ? 12 : 24);
        var objective = new SupervisedObjective<double>(model, data, MeanSquaredError<double>.AllSteps(), batch, pool);
        objective.NextBatch(1_000_000_009);
        if (selfTarget) model.Forward(objective.Inputs, training: false).Data.CopyTo(objective.Targets.Data, 0);
        double loss = objective.Evaluate(theta0, new double[n]);
        // Four-point differences for small models (rounding ~1e-11); two-point for large ones (half the gradients).
        var op = new HessianVectorOperator(objective, o.DifferenceStep, large ? HessianStencil.TwoPoint : HessianStencil.FourPoint);
        var lz = Lanczos.TopEigenpairs(n, (v, w) => op.Apply(theta0, v, w), o.HessianEigenvalues, steps, o.Seed);
        var eff = lz.Vectors.Select(v => 1 / Hessian.InverseParticipationRatio(v)).ToArray();
        var top = lz.Vectors.Select(v => (IReadOnlyList<(string, double)>)Hessian.MassByView(v, model.Layout)
            .OrderByDescending(p => p.Fraction).Take(3).ToList()).ToList();
        return new CurvatureDiagnosis(selfTarget ? "½·mean over steps of (ŷ − ŷ(θ₀))² on white noise (the Hessian at an optimum: Gauss–Newton)"
            : "½·mean over steps of (ŷ − y)² on the data", loss, batch, lz.Eigenvalues, eff, lz.Residuals, top, lz.Products);
    }

    // ---- Adam ----

    internal static List<EffectiveRate> EffectiveRates(ParameterLayout layout, AdamState adam)
    {
        long t = Math.Max(1, adam.Steps);
        double c1 = 1 - Math.Pow(adam.Beta1, t), c2 = 1 - Math.Pow(adam.Beta2, t);
        var list = new List<EffectiveRate>();
        foreach (var v in layout.Views)
        {
            var r = new double[v.Length];
            for (int i = 0; i < r.Length; i++) r[i] = adam.LearningRate / c1 / (Math.Sqrt(adam.SecondMoment[v.Offset + i] / c2) + adam.Epsilon);
            Array.Sort(r);
            list.Add(new EffectiveRate(v.Name, v.Group, r[r.Length / 2], r[0], r[^1]));
        }
        return list;
    }

    // ---- Monte Carlo check ----

    private static CheckDiagnosis MonteCarloCheck(string path, DiagonalRecurrence<double> layer, SequenceTensor<double> input, double[] theta,
        ParameterLayout layout, LayerDiagnosis analysed, DiagnosisOptions o, WorkerPool pool)
    {
        int n = layer.Options.StateSize, f = layer.InputSize, fo = layer.OutputSize;
        string parameter = analysed.HeadlineName;
        var pView = layout[ParameterLayout.Join(path, parameter)];
        // AR(1) inputs with the data's per-feature variance and lag-1 correlation, long enough that every mode compared is stationary.
        var vf = new double[f]; var rf = new double[f];
        {
            var ones = new double[f * f];
            for (int k = 0; k < f; k++) ones[k * f + k] = 1;
            var (v, r) = InputStatistics(input, ones, null, f);
            for (int k = 0; k < f; k++) { vf[k] = v[k]; rf[k] = Math.Clamp(r[k], -0.999, 0.999); }
        }
        double slowest = analysed.Modes.Where(m => double.IsFinite(m.TimeScale)).Select(m => m.TimeScale).DefaultIfEmpty(1).Max();
        int time = (int)Math.Ceiling(Math.Clamp(20 * slowest + 1, input.Time, 5000));
        var re = new double[n]; var im = new double[n]; var gamma = new double[n];
        layer.Eigenvalues(theta, re, im, gamma);
        var derivative = EigenvalueDerivatives(layer, theta, pView, n);
        var bRe = layout[ParameterLayout.Join(path, "B_re")].Of(theta);
        var bIm = layout[ParameterLayout.Join(path, "B_im")].Of(theta);
        var closed = new double[n];
        var compared = new bool[n];
        for (int j = 0; j < n; j++)
        {
            double s2 = 0, c = 0;
            for (int k = 0; k < f; k++)
            {
                double w = bRe[j * f + k] * bRe[j * f + k] + bIm[j * f + k] * bIm[j * f + k];
                s2 += w * vf[k]; c += w * vf[k] * rf[k];
            }
            var l = new Complex(re[j], im[j]);
            closed[j] = Stable(l) ? s2 * SignalPropagation.ParameterSensitivity(l, derivative[j].DLambda, gamma[j], derivative[j].DGamma, s2 > 0 ? c / s2 : 0) : double.PositiveInfinity;
            compared[j] = Stable(l) && TimeScale(l.Magnitude) <= time / 20.0;
        }
        // The same layer on its scan path (per-sequence passes of thousands of steps are where the convolution is slowest), with
        // its own copy of the parameters, so the model's layer keeps its prepared shape.
        var scan = new DiagonalRecurrence<double>(f, fo, layer.Options with { Algorithm = LtiAlgorithm.Scan });
        var own = new ParameterLayout();
        scan.Declare(own, "");
        var mine = new double[own.Count];
        foreach (var v in own.Views) layout[ParameterLayout.Join(path, v.Name)].Of(theta).CopyTo(v.Of(mine));
        pView = own[parameter];
        // Readouts that expose the state: y₀ = Σ_j Re h_j (C = 1) and y₀ = Σ_j Im h_j (C = −i); the gradient at the last step then
        // holds Re ∂h_j/∂ω_j and Im ∂h_j/∂ω_j (only h_j depends on ω_j).
        var thetaRe = (double[])mine.Clone(); var thetaIm = (double[])mine.Clone();
        var cRe = own["C_re"]; var cIm = own["C_im"];
        cRe.Of(thetaRe).Clear(); cIm.Of(thetaRe).Clear(); cRe.Of(thetaIm).Clear(); cIm.Of(thetaIm).Clear();
        for (int j = 0; j < n; j++) { cRe.Of(thetaRe)[j] = 1; cIm.Of(thetaIm)[j] = -1; }
        scan.Prepare(1, time, pool);
        var x = new SequenceTensor<double>(1, time, f);
        var y = new SequenceTensor<double>(1, time, fo);
        var dy = new SequenceTensor<double>(1, time, fo);
        dy[0, time - 1, 0] = 1;
        var grad = new double[mine.Length];
        var mc = new double[n];
        var rng = new CounterRng(o.Seed, RandomPurpose.MonteCarlo);
        var noise = new double[time * f];
        for (int s = 0; s < o.CheckSequences; s++)
        {
            rng.Fork((ulong)s).FillNormal<double>(noise);
            for (int k = 0; k < f; k++)
            {
                double sd = Math.Sqrt(vf[k]), innovation = Math.Sqrt(1 - rf[k] * rf[k]);
                double prev = sd * noise[k];
                x[0, 0, k] = prev;
                for (int t = 1; t < time; t++) { prev = rf[k] * prev + innovation * sd * noise[t * f + k]; x[0, t, k] = prev; }
            }
            foreach (var th in new[] { thetaRe, thetaIm })
            {
                Array.Clear(grad);
                scan.Forward(th, x, y, training: false);
                scan.Backward(th, dy, null, grad);
                var g = pView.Of(grad);
                for (int j = 0; j < n; j++) mc[j] += g[j] * g[j] / o.CheckSequences;
            }
        }
        var ratios = Enumerable.Range(0, n).Where(j => compared[j] && closed[j] > 0).Select(j => mc[j] / closed[j]).Order().ToArray();
        double median = ratios.Length == 0 ? double.NaN : ratios[ratios.Length / 2];
        var dev = ratios.Select(r => Math.Abs(r - 1)).Order().ToArray();
        double mad = dev.Length == 0 ? double.NaN : dev[dev.Length / 2];
        return new CheckDiagnosis(path, parameter, o.CheckSequences, time, closed, mc, compared, median, mad);
    }
}
