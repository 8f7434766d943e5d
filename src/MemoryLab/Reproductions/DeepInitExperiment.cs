using System.Globalization;
using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Reporting;
using MemoryLab.Reporting.Charts;
using MemoryLab.Targets;

namespace MemoryLab.Reproductions;

/// <summary>
/// <c>zucchet24-deep-init</c> (Zucchet &amp; Orvieto, NeurIPS 2024, §5, Figs. 5, 13): the 4-block network (encoder, 4 residual blocks
/// x + GLU(norm(gelu(RNN(norm(x))))), decoder) at initialisation, fed sequences from the white + AR(1) mixture that mimics BERT
/// input embeddings. For memories T ∈ {1, 10^0.5, 10, 10^1.5, 100} the recurrent layers are initialised with |λ| ∈
/// [1 − 1/T, 1 − 1/(2T)] (GRU: chrono t_min = T, t_max = 2T). Measured: E[x²] of the residual stream after blocks 1 and 4,
/// and the mean squared gradient of a next-step prediction loss per parameter group: the recurrent parameters
/// (cRNN: λ; LRU: ν_log, θ_log, γ_log; GRU: W_hh, the layout group <c>recurrent</c>) and all the rest; for the LRU also ν_log,
/// θ_log and γ_log each on its own (the authors' figures/signal_propagation.ipynb reports ν and θ separately: §5 finds that
/// only the angle's gradients explode).
/// </summary>
public sealed class DeepInitExperiment : ReproductionKind<DeepInitExperiment.Settings>
{
    /// <summary>Settings of one scale (spec <c>experiments/reproduce/zucchet24-deep-init/</c>).</summary>
    /// <param name="Sizes">Network and batch sizes.</param>
    /// <param name="MemoryExponents">The memories swept are T = 10^e for these e.</param>
    public sealed record Settings(Sizes Sizes, double[] MemoryExponents)
    {
        /// <summary>The memories T = 10^e.</summary>
        public double[] Memories => MemoryExponents.Select(e => Math.Pow(10, e)).ToArray();
    }

    /// <inheritdoc />
    public override Settings Bind(SpecNode s) => new(
        new Sizes(s.GetInt("input_size", min: 1, doc: "d_in: the encoder's input (and the decoder's output) width"),
        s.GetInt("model_size", min: 1, doc: "d_model: the width of the residual stream"),
        s.GetInt("batch", min: 1, doc: "sequences per measurement"),
        s.GetInt("time", min: 2, doc: "steps per sequence"),
        s.GetInt("repeats", min: 1, doc: "initialisations averaged per point")),
        s.GetDoubleList("memory_exponents", min: 0, minCount: 2, doc: "memories T = 10^e, one point per exponent e"));

    /// <summary>The configurations (id = <c>config</c> column of <c>deep-init.csv</c>): recurrent layer and block norm.</summary>
    public static readonly (string Label, string Layer, NormKind Norm)[] Configs =
    [
        ("cRNN", "crnn", NormKind.None),
        ("LRU", "lru", NormKind.None),
        ("GRU", "gru", NormKind.None),
        ("cRNN + layer norm", "crnn", NormKind.Layer),
        ("cRNN + batch norm", "crnn", NormKind.Batch),
    ];

    /// <summary>Sizes at a scale: input features, model width, sequences, steps, initialisations averaged.</summary>
    public sealed record Sizes(int InputSize, int ModelSize, int Batch, int Time, int Repeats);


    /// <inheritdoc />
    public override string Name => "zucchet24-deep-init";
    /// <inheritdoc />
    public override string Title => "Deep recurrent network at initialisation: forward and backward signal against memory (Zucchet24 Figs. 5, 13)";
    /// <inheritdoc />
    public override string Method =>
        "Encoder Dense(d_in → d_model), 4 residual blocks x + GLU(norm(gelu(RNN(norm(x))))), decoder Dense(d_model → d_in); inputs with "
        + "E[x_t x_{t+Δ}] = 0.332·δ_Δ + 0.0431·0.997^{|Δ|} per feature (the fit Zucchet24 made to BERT input embeddings). "
        + "cRNN = complex diagonal with λ learned directly and no normalisation, LRU = exp parametrisation + learned γ; both ring-initialised on "
        + "[1 − 1/T, 1 − 1/(2T)] with phases in [0, 2π] and a diagonal skip; GRU with chrono initialisation on [T, 2T]. "
        + "Loss: next-step prediction ½·mean (ŷ_t − x_{t+1})². Sizes and memories: see the spec (paper scale: d_in 768, d_model 256, "
        + "128 sequences of 512 steps, as the authors' figures/signal_propagation.ipynb). LRU gradients: ν_log, θ_log and γ_log reported separately.";

    /// <inheritdoc />
    public override void Run(ReproductionContext ctx, Settings settings)
    {
        var sizes = settings.Sizes;
        var Memories = settings.Memories;
        var table = new DataTable("config", "memory", "repeat", "x2_block1", "x2_block4", "g2_recurrent", "g2_rest", "g2_nu_log", "g2_theta_log", "g2_gamma_log");
        CheckFits(sizes, ctx.Pool);
        int done = 0, total = Configs.Length * Memories.Length;
        // One measurement after another on purpose (not ctx.For): each builds a network of several GiB at paper scale, and side by
        // side they would multiply the memory; its kernels use the run's pool instead.
        for (int c = 0; c < Configs.Length; c++)
            foreach (double memory in Memories)
            {
                ctx.Cancellation.ThrowIfCancellationRequested();
                for (int r = 0; r < sizes.Repeats; r++)
                {
                    var m = Measure(Configs[c].Layer, Configs[c].Norm, memory, sizes, (ulong)r, ctx.Pool);
                    table.Add(c, memory, r, m.X2Block1, m.X2Block4, m.G2Recurrent, m.G2Rest, m.G2NuLog, m.G2ThetaLog, m.G2GammaLog);
                    // Each measurement builds its own network (several GiB at paper scale, all in large-object-heap arrays); the
                    // previous one is garbage now, and without a full collection here several of them pile up before the GC
                    // returns any: the paper-scale run reached 24 GB and was killed.
                    GC.Collect();
                }
                ctx.Report(++done / (double)total, $"{Configs[c].Label}, T = {memory:G3}");
            }
        table.Save(ctx.File("deep-init.csv"));
    }

    /// <summary>What one initialisation gives: E[x²] after blocks 1 and 4, and mean squared gradients of the recurrent group and the
    /// rest; for the LRU also of ν_log, θ_log and γ_log each (NaN for the other layers).</summary>
    public readonly record struct Measurement(double X2Block1, double X2Block4, double G2Recurrent, double G2Rest,
        double G2NuLog = double.NaN, double G2ThetaLog = double.NaN, double G2GammaLog = double.NaN);

    /// <summary>The LRU's eigenvalue and normalisation parameters, by the last segment of their layout name.</summary>
    public static readonly string[] LruParameters = ["nu_log", "theta_log", "gamma_log"];

    /// <summary>The recurrent layer of a block for memory <paramref name="memory"/>: |λ| ∈ [1 − 1/T, 1 − 1/(2T)], GRU chrono on [T, 2T] (the authors' figures/signal_propagation.ipynb).</summary>
    public static ISequenceLayer<float> RecurrentLayer(string layer, int width, double memory) => layer switch
    {
        "crnn" => new DiagonalRecurrence<float>(width, width, new DiagonalRecurrenceOptions
        {
            StateSize = width, Parametrisation = EigenvalueParametrisation.Default, Normalisation = InputNormalisation.None,
            Skip = SkipConnection.Diagonal, RMin = 1 - 1 / memory, RMax = 1 - 1 / (2 * memory),
        }),
        "lru" => new LinearRecurrentUnit<float>(width, width, 1 - 1 / memory, 1 - 1 / (2 * memory)),
        "gru" => new GatedRecurrentUnit<float>(width, width, GruInitialization.Chrono, memory, 2 * memory),
        _ => throw new ArgumentException($"unknown recurrent layer '{layer}' (crnn, lru, gru)", nameof(layer)),
    };

    /// <summary>Bytes that one measurement of <paramref name="layer"/> with <paramref name="norm"/> at <paramref name="sizes"/> allocates
    /// (network, its buffers, inputs and output gradient), extrapolated from networks of one and two sequences: every buffer that
    /// grows with the batch grows linearly in it.</summary>
    public static double BytesPerMeasurement(string layer, NormKind norm, Sizes sizes, WorkerPool pool)
    {
        long Allocated(int batch)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var (_, model) = Build(layer, norm, 10, sizes with { Batch = batch }, 0, pool);
            var x = new SequenceTensor<float>(batch, sizes.Time, sizes.InputSize);
            var dy = new SequenceTensor<float>(batch, sizes.Time, sizes.InputSize);
            long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            GC.KeepAlive(model); GC.KeepAlive(x); GC.KeepAlive(dy);
            return bytes;
        }
        long one = Allocated(1), two = Allocated(2);
        return one + (double)(two - one) * (sizes.Batch - 1);
    }

    /// <summary>Fails before anything runs when the largest network of the sweep cannot fit in this machine's memory.</summary>
    public static void CheckFits(Sizes sizes, WorkerPool pool)
    {
        double values = (double)sizes.Batch * sizes.Time * Math.Max(sizes.InputSize, 2 * sizes.ModelSize);
        if (values > Array.MaxLength)
            throw new InvalidOperationException($"zucchet24-deep-init cannot fit: batch {sizes.Batch} × time {sizes.Time} × {Math.Max(sizes.InputSize, 2 * sizes.ModelSize)} features = {values:G4} values, more than one array holds ({Array.MaxLength})");
        double bytes = Configs.Max(c => BytesPerMeasurement(c.Layer, c.Norm, sizes, pool));
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (available > 0 && bytes > available)
            throw new InvalidOperationException($"zucchet24-deep-init cannot fit: one network of batch {sizes.Batch} × time {sizes.Time} × width {sizes.ModelSize} "
                + $"(input {sizes.InputSize}) needs {bytes / (1L << 30):F1} GiB, this machine has {available / (double)(1L << 30):F1} GiB; lower batch or time");
    }

    /// <summary>The network of <see cref="Measure"/>, initialised with seed <paramref name="seed"/> and prepared for <paramref name="sizes"/>.</summary>
    private static (DeepStack<float> Stack, SequenceModel<float> Model) Build(string layer, NormKind norm, double memory, Sizes sizes, ulong seed, WorkerPool pool)
    {
        var stack = new DeepStack<float>(sizes.InputSize, sizes.ModelSize, sizes.InputSize, 4, _ => RecurrentLayer(layer, sizes.ModelSize, memory), norm);
        var model = new SequenceModel<float>(stack);
        model.Initialize(seed);
        model.Prepare(sizes.Batch, sizes.Time, pool);
        return (stack, model);
    }

    /// <summary>Builds the network with seed <paramref name="seed"/>, draws one batch from the BERT-like mixture (same seed) and measures.</summary>
    public static Measurement Measure(string layer, NormKind norm, double memory, Sizes sizes, ulong seed, WorkerPool pool)
    {
        if (!(memory >= 1)) throw new ArgumentOutOfRangeException(nameof(memory), memory, "memory T must be ≥ 1");
        if (sizes.Time < 2) throw new ArgumentException("next-step prediction needs at least 2 steps", nameof(sizes));
        var (stack, model) = Build(layer, norm, memory, sizes, seed, pool);
        var x = new SequenceTensor<float>(sizes.Batch, sizes.Time, sizes.InputSize);
        InputProcess.Fill(InputProcess.BertLike(), seed, 0, x, RandomPurpose.Data);
        var y = model.Forward(x, training: true);
        double x1 = MeanSquare(stack.BlockOutput(0).Data), x4 = MeanSquare(stack.BlockOutput(3).Data);

        // Next-step loss ½·mean over (b, t < T−1, f) of (ŷ_t − x_{t+1})²: dL/dŷ_t = (ŷ_t − x_{t+1}) / count, zero at the last step.
        var dy = new SequenceTensor<float>(sizes.Batch, sizes.Time, sizes.InputSize);
        int f = sizes.InputSize;
        float scale = 1f / (sizes.Batch * (sizes.Time - 1) * f);
        for (int b = 0; b < sizes.Batch; b++)
        {
            var ys = y.Sequence(b); var xs = x.Sequence(b); var ds = dy.Sequence(b);
            for (int i = 0; i < (sizes.Time - 1) * f; i++) ds[i] = (ys[i] - xs[i + f]) * scale;
        }
        model.Backward(dy);
        double rec = 0, rest = 0;
        long nRec = 0, nRest = 0;
        var byName = new double[LruParameters.Length];
        var countByName = new long[LruParameters.Length];
        foreach (var v in model.Layout.Views)
        {
            double s = 0;
            foreach (float g in v.Of(model.Gradient)) s += (double)g * g;
            if (v.Group == "recurrent" && v.Name.Contains(".rnn.", StringComparison.Ordinal))
            {
                rec += s; nRec += v.Length;
                int k = Array.FindIndex(LruParameters, n => v.Name.EndsWith("." + n, StringComparison.Ordinal));
                if (k >= 0) { byName[k] += s; countByName[k] += v.Length; }
            }
            else { rest += s; nRest += v.Length; }
        }
        double Mean(int k) => countByName[k] > 0 ? byName[k] / countByName[k] : double.NaN;
        return new Measurement(x1, x4, rec / nRec, rest / nRest, Mean(0), Mean(1), Mean(2));
    }

    private static double MeanSquare(ReadOnlySpan<float> data)
    {
        double s = 0;
        foreach (float v in data) s += (double)v * v;
        return s / data.Length;
    }

    /// <summary>Per (config, memory): mean over initialisations of each measured column.</summary>
    private static double[] Means(DataTable t, int config, string column) =>
        t.Column("memory").Distinct().Order().Select(m => t.Where("config", config).Where("memory", m).Column(column).DefaultIfEmpty(double.NaN).Average()).ToArray();

    /// <inheritdoc />
    public override void Report(string directory, Settings settings, ReportSection section, ClaimSet claims)
    {
        var t = DataTable.Load(Path.Combine(directory, "deep-init.csv"));
        var Memories = t.Column("memory").Distinct().Order().ToArray();
        var grid = new PanelGrid(2, 2) { Title = "solid: block 4 / recurrent parameters; dashed: block 1 / the rest; LRU: ν_log, θ_log, γ_log apart" };
        int[][] groups = [[0, 1, 2], [0, 3, 4]];
        (string Column, string Label, LineDash Dash)[] lruParts =
            [("g2_nu_log", "ν_log", LineDash.Solid), ("g2_theta_log", "θ_log", LineDash.DashDot), ("g2_gamma_log", "γ_log", LineDash.Dotted)];
        for (int row = 0; row < 2; row++)
        {
            var fwd = Chart.Create(row == 0 ? "residual stream, by recurrent layer" : "residual stream, cRNN by norm", "memory T", "E[x^2]", AxisScale.Log, AxisScale.Log);
            var bwd = Chart.Create(row == 0 ? "gradients, by recurrent layer" : "gradients, cRNN by norm", "memory T", "mean squared gradient", AxisScale.Log, AxisScale.Log);
            for (int i = 0; i < groups[row].Length; i++)
            {
                int c = groups[row][i];
                string color = Palette.Series(c);
                fwd.AddLine(Configs[c].Label + ", block 4", Memories, Means(t, c, "x2_block4"), color, marker: MarkerShape.Circle);
                fwd.AddLine(null, Memories, Means(t, c, "x2_block1"), color, LineDash.Dashed, MarkerShape.Square);
                if (Configs[c].Layer == "lru")
                    foreach (var (column, label, dash) in lruParts)
                        bwd.AddLine($"LRU, {label}", Memories, Means(t, c, column), color, dash, MarkerShape.Circle);
                else
                    bwd.AddLine(Configs[c].Label + ", recurrent", Memories, Means(t, c, "g2_recurrent"), color, marker: MarkerShape.Circle);
                bwd.AddLine(null, Memories, Means(t, c, "g2_rest"), color, LineDash.Dashed, MarkerShape.Square);
            }
            bwd.Legend = LegendPosition.TopLeft; // the curves rise to the right; outside would squeeze the panel
            grid[row, 0] = fwd; grid[row, 1] = bwd;
        }
        section.Figures.Add(new ReportFigure(grid, "Top (Fig. 5): with the cRNN the residual stream and the eigenvalue gradients explode as memory grows; "
            + "with the LRU the residual stream stays flat and so does the gradient of ν_log, while the gradient of the angle θ_log grows "
            + "(γ_log shown apart; the authors count it with the rest); the GRU's gating keeps both O(1). Bottom (Fig. 13): layer or batch norm "
            + "controls the forward pass of the cRNN, not the gradients of its eigenvalues (the layer- and batch-norm curves nearly coincide).", "deep-init.svg"));

        // Claims (Zucchet24 §5, Figs. 5 and 13). Growth = mean value at the longest memory over the shortest;
        // spread = largest over smallest mean across memories.
        double Growth(int c, string col) { var m = Means(t, c, col); return m[^1] / m[0]; }
        double Spread(int c, string col) { var m = Means(t, c, col); return m.Max() / m.Min(); }
        string G(double v) => v.ToString("G3", CultureInfo.InvariantCulture);
        string Curve(int c, string col) => string.Join(", ", Means(t, c, col).Select(G));
        double cx = Growth(0, "x2_block4"), cg = Growth(0, "g2_recurrent");
        claims.Check("crnn-variance-explodes", cx, $"×{G(cx)} (block 1: ×{G(Growth(0, "x2_block1"))})");
        claims.Check("crnn-gradients-explode", cg, $"×{G(cg)}");
        double lx = Spread(1, "x2_block4");
        claims.Check("lru-variance-flat", lx, $"spread ×{G(lx)} (block 4 over T: {Curve(1, "x2_block4")})");
        double nuSpread = Spread(1, "g2_nu_log");
        claims.Check("lru-nu-gradient-roughly-flat", nuSpread, $"spread ×{G(nuSpread)} (ν_log over T: {Curve(1, "g2_nu_log")}; γ_log: {Curve(1, "g2_gamma_log")})");
        double thetaGrowth = Growth(1, "g2_theta_log");
        claims.Check("lru-theta-gradient-explodes", thetaGrowth, $"×{G(thetaGrowth)} (θ_log over T: {Curve(1, "g2_theta_log")})");
        double gx = Spread(2, "x2_block4"), gg = Spread(2, "g2_recurrent");
        claims.Check("gru-signal-stays-bounded", Math.Max(gx, gg), $"variance spread ×{G(gx)}, gradient spread ×{G(gg)}");
        double nx = Spread(3, "x2_block4"), ng = Growth(3, "g2_recurrent");
        claims.Check("layer-norm-tames-forward-pass", nx, $"spread ×{G(nx)}");
        claims.Check("layer-norm-gradients-still-explode", ng, $"×{G(ng)}");
    }
}
