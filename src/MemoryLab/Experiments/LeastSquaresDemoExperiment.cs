using System.Numerics.Tensors;
using MathNet.Numerics.LinearAlgebra;
using MemoryLab.Numerics;

namespace MemoryLab.Experiments;

/// <summary>
/// The least-squares loss f(x) = 1/(2m) ‖A x − b‖² of an m×n matrix A (row-major) and targets b, with gradient
/// ∇f = Aᵀ(A x − b)/m. Rows are processed in fixed chunks of <see cref="ChunkRows"/> on a <see cref="WorkerPool"/>;
/// each chunk writes its own partial loss and gradient, summed afterwards in chunk order, so the result has
/// the same bits on any thread count (DESIGN.md, "Deterministic"). Evaluation allocates nothing.
/// </summary>
public sealed class LeastSquaresObjective : IObjective<double>, IChunkBody
{
    /// <summary>Rows per parallel chunk: a partition that depends on the shape alone.</summary>
    public const int ChunkRows = 64;

    private readonly double[] _a, _b, _x, _partialLoss, _partialGrad;
    private readonly WorkerPool _pool;
    private readonly int _chunks;

    /// <summary>The objective of <paramref name="a"/> (m×n row-major, copied) and <paramref name="b"/> (length m, copied).</summary>
    public LeastSquaresObjective(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int rows, int cols, WorkerPool pool)
    {
        if (rows < 1 || cols < 1) throw new ArgumentException($"a least-squares problem needs rows, cols ≥ 1 (got {rows}×{cols})");
        if (a.Length != rows * cols) throw new ArgumentException($"A has {a.Length} entries, expected {rows}×{cols}", nameof(a));
        if (b.Length != rows) throw new ArgumentException($"b has {b.Length} entries, expected {rows}", nameof(b));
        Rows = rows;
        Dimension = cols;
        _a = a.ToArray();
        _b = b.ToArray();
        _x = new double[cols];
        _pool = pool ?? throw new ArgumentNullException(nameof(pool));
        _chunks = WorkerPool.ChunkCount(rows, ChunkRows);
        _partialLoss = new double[_chunks];
        _partialGrad = new double[_chunks * cols];
    }

    /// <summary>m, the number of equations.</summary>
    public int Rows { get; }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <inheritdoc/>
    public double Evaluate(ReadOnlySpan<double> theta, Span<double> gradient)
    {
        if (theta.Length != Dimension || gradient.Length != Dimension)
            throw new ArgumentException($"θ and the gradient need {Dimension} entries (got {theta.Length}, {gradient.Length})");
        theta.CopyTo(_x);
        _pool.Run(this, _chunks);
        double loss = 0;
        gradient.Clear();
        for (int c = 0; c < _chunks; c++)
        {
            loss += _partialLoss[c];
            TensorPrimitives.Add(gradient, _partialGrad.AsSpan(c * Dimension, Dimension), gradient);
        }
        double scale = 1.0 / Rows;
        TensorPrimitives.Multiply(gradient, scale, gradient);
        return 0.5 * scale * loss;
    }

    /// <summary>Chunk <paramref name="chunk"/>: residuals r_i = A_i·x − b_i of its rows, Σ r_i², Σ r_i A_i.</summary>
    public void Execute(int chunk)
    {
        int n = Dimension;
        int begin = chunk * ChunkRows, end = Math.Min(Rows, begin + ChunkRows);
        var g = _partialGrad.AsSpan(chunk * n, n);
        g.Clear();
        double sum = 0;
        for (int i = begin; i < end; i++)
        {
            var row = _a.AsSpan(i * n, n);
            double r = TensorPrimitives.Dot<double>(row, _x) - _b[i];
            sum += r * r;
            TensorPrimitives.MultiplyAdd(row, r, g, g);
        }
        _partialLoss[chunk] = sum;
    }

    /// <summary>The minimum of f (at the least-squares solution, from the normal equations AᵀA x = Aᵀb), for the excess loss.</summary>
    public double OptimalLoss()
    {
        var a = Matrix<double>.Build.Dense(Rows, Dimension, (i, j) => _a[i * Dimension + j]);
        var b = Vector<double>.Build.Dense(_b);
        var x = a.TransposeThisAndMultiply(a).Cholesky().Solve(a.TransposeThisAndMultiply(b));
        var r = a * x - b;
        return 0.5 * r.DotProduct(r) / Rows;
    }
}

/// <summary>Settings of <see cref="LeastSquaresDemoExperiment"/>.</summary>
/// <param name="Rows">m, equations (<c>problem.rows</c>).</param>
/// <param name="Cols">n, unknowns (<c>problem.cols</c>, ≤ m).</param>
/// <param name="Noise">Standard deviation of the noise added to b (<c>problem.noise</c>).</param>
/// <param name="InitScale">x₀ ~ N(0, init_scale²) (<c>problem.init_scale</c>).</param>
/// <param name="LearningRate">Gradient-descent step size (<c>optimizer.lr</c>).</param>
/// <param name="Steps">Number of steps (<c>optimizer.steps</c>).</param>
/// <param name="LogEvery">Log the loss every this many steps (<c>log_every</c>).</param>
/// <param name="FinalWindow">final_loss averages the last this many losses (<c>final_window</c>).</param>
/// <param name="Checkpoint">Save x as <c>checkpoint.safetensors</c> (<c>checkpoint</c>).</param>
public sealed record LeastSquaresDemoConfig(int Rows, int Cols, double Noise, double InitScale, double LearningRate, int Steps, int LogEvery, int FinalWindow, bool Checkpoint);

/// <summary>
/// DEMO / TEST experiment kind <c>least-squares-demo</c> — not one of the paper experiments. It exists to exercise
/// the experiment machinery (specs, sweeps, shards, results, sinks, checkpoints) with real numbers and no
/// dependence on the training stack: gradient descent x ← x − lr ∇f on a random least-squares problem
/// f(x) = 1/(2m)‖A x − b‖² (<see cref="LeastSquaresObjective"/>), A ~ N(0,1) entries (Data stream),
/// b = A x* + noise·ε with x* ~ N(0,1) (Teacher stream), x₀ ~ N(0, init_scale²) (Init stream). GD converges
/// linearly for lr &lt; 2/λ_max(AᵀA/m) ≈ 2/(1+√(n/m))² and diverges above, so a learning-rate sweep shows both.
/// Metrics: <c>final_loss</c> (mean of the last <c>final_window</c> losses), <c>min_loss</c>, <c>initial_loss</c>,
/// <c>excess_loss</c> (f(x_T) − min f), <c>grad_norm</c> (‖∇f(x_T)‖).
/// <code>
/// kind: least-squares-demo
/// seed: 0
/// problem: {rows: 256, cols: 32, noise: 0.1, init_scale: 1}
/// optimizer: {lr: 0.5, steps: 200}
/// log_every: 1
/// final_window: 10
/// checkpoint: false
/// </code>
/// </summary>
public sealed class LeastSquaresDemoExperiment : ExperimentKind<LeastSquaresDemoConfig>
{
    /// <summary>A diverged run: the loss is not finite or exceeds this multiple of the initial loss.</summary>
    public const double DivergenceFactor = 1e6;

    /// <inheritdoc/>
    public override string Name => "least-squares-demo";

    /// <inheritdoc/>
    public override string Description => "demo/test kind: gradient descent on a random least-squares problem (exercises sweeps, results and sinks)";

    /// <inheritdoc/>
    public override IReadOnlyCollection<string> MetricNames { get; } = new[] { "final_loss", "min_loss", "initial_loss", "excess_loss", "grad_norm" };

    /// <inheritdoc/>
    public override LeastSquaresDemoConfig Bind(SpecNode spec)
    {
        var problem = spec.Child("problem", doc: "the random problem min ‖A x − b‖²/(2·rows)");
        int rows = problem.GetInt("rows", min: 1, max: 1 << 20, doc: "rows of A (equations)");
        int cols = problem.GetInt("cols", min: 1, max: 4096, doc: "columns of A (unknowns), at most rows");
        if (cols > rows) throw problem.Error("cols", $"must be <= rows ({rows}) so the problem has one solution (got {cols})");
        double noise = problem.GetDouble("noise", 0.0, min: 0, doc: "standard deviation of the noise added to b = A x*");
        double initScale = problem.GetDouble("init_scale", 1.0, min: 0, doc: "standard deviation of the initial x");
        var optimizer = spec.Child("optimizer", doc: "plain gradient descent");
        double lr = optimizer.GetDouble("lr", above: 0, doc: "step size");
        int steps = optimizer.GetInt("steps", min: 1, doc: "gradient steps");
        int logEvery = spec.GetInt("log_every", 1, min: 1, doc: "log the loss every this many steps");
        int window = spec.GetInt("final_window", 10, min: 1, doc: "final_loss averages the last this many steps");
        bool checkpoint = spec.GetBool("checkpoint", false, doc: "write the final x as checkpoint.safetensors");
        return new LeastSquaresDemoConfig(rows, cols, noise, initScale, lr, steps, logEvery, window, checkpoint);
    }

    /// <inheritdoc/>
    protected override RunSummary Execute(LeastSquaresDemoConfig c, RunContext context)
    {
        var a = new double[c.Rows * c.Cols];
        var b = new double[c.Rows];
        var xStar = new double[c.Cols];
        var x = new double[c.Cols];
        var grad = new double[c.Cols];
        context.Rng(RandomPurpose.Data).FillNormal<double>(a);
        context.Rng(RandomPurpose.Teacher).FillNormal<double>(xStar);
        var noise = context.Rng(RandomPurpose.Data, 1);
        for (int i = 0; i < c.Rows; i++)
            b[i] = TensorPrimitives.Dot<double>(a.AsSpan(i * c.Cols, c.Cols), xStar) + c.Noise * noise.NextNormal();
        context.Rng(RandomPurpose.Init).FillNormal<double>(x, 0, c.InitScale);

        var objective = new LeastSquaresObjective(a, b, c.Rows, c.Cols, context.Pool);
        var recent = new double[Math.Min(c.FinalWindow, c.Steps)];
        double initial = objective.Evaluate(x, grad), loss = initial, min = initial;
        var metrics = new MetricValue[2];
        for (int step = 0; step < c.Steps; step++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (step > 0) loss = objective.Evaluate(x, grad);
            recent[step % recent.Length] = loss;
            min = Math.Min(min, loss);
            if (step % c.LogEvery == 0 || step == c.Steps - 1)
            {
                metrics[0] = new MetricValue("loss", loss);
                metrics[1] = new MetricValue("grad_norm", TensorPrimitives.Norm<double>(grad));
                context.Metrics.Log(step, metrics);
            }
            context.ReportProgress(step + 1, c.Steps, loss);
            if (!double.IsFinite(loss) || loss > DivergenceFactor * Math.Max(initial, 1e-300))
            {
                if (step % c.LogEvery != 0 && step != c.Steps - 1)
                {
                    metrics[0] = new MetricValue("loss", loss);
                    metrics[1] = new MetricValue("grad_norm", TensorPrimitives.Norm<double>(grad));
                    context.Metrics.Log(step, metrics);
                }
                var partial = new Dictionary<string, double> { ["final_loss"] = loss, ["min_loss"] = min, ["initial_loss"] = initial };
                return RunSummary.Diverged(partial, step + 1, $"loss {loss:G4} at step {step} (initial {initial:G4}; lr {c.LearningRate} too large?)");
            }
            TensorPrimitives.MultiplyAdd(grad, -c.LearningRate, x, x);
        }
        double finalLoss = objective.Evaluate(x, grad);
        double windowMean = 0;
        foreach (double v in recent) windowMean += v;
        windowMean /= recent.Length;
        if (c.Checkpoint)
        {
            var layout = new ParameterLayout();
            layout.Add("x", "weights", c.Cols);
            context.SaveCheckpoint<double>(layout, x);
        }
        return RunSummary.Completed(new Dictionary<string, double>
        {
            ["final_loss"] = windowMean,
            ["min_loss"] = Math.Min(min, finalLoss),
            ["initial_loss"] = initial,
            ["excess_loss"] = finalLoss - objective.OptimalLoss(),
            ["grad_norm"] = TensorPrimitives.Norm<double>(grad),
        }, c.Steps);
    }
}
