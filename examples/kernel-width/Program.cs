// Example 1: define your own memory kernel and find the width a linear RNN needs to approximate it.
//
// A linear RNN of width m whose recurrent matrix is diagonalisable with real eigenvalues −w_i has the memory
// kernel ρ̂(t) = Σ_i a_i e^{−w_i t} (Li, Han, E & Li, ICLR 2021, §3: the linear RNN's memory kernel). Its population loss against a target
// kernel ρ under white-noise input is J = ‖ρ̂ − ρ‖² = aᵀGa − 2aᵀb + ‖ρ‖², G_ij = 1/(w_i + w_j), b_i = ∫ e^{−w_i t} ρ(t) dt,
// which ReducedModelObjective evaluates exactly, with its gradient. Widths grow one at a time: each starts from
// the previous fit plus one new rate, with the best amplitudes for its rates (a = G⁺b), then Adam runs, and we
// report the relative error J/‖ρ‖². The answer is the smallest width whose error is below the tolerance.
//
//   dotnet run -c Release -- [--steps 400] [--tolerance 1e-4] [--max-width 8]
//
// Two ways to write a kernel are shown: a delegate (MemoryKernel.FromFunction; every integral the loss needs
// is then computed by adaptive quadrature), and a subclass that overrides those integrals with closed forms.

using System.Globalization;
using MathNet.Numerics.LinearAlgebra;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Theory;
using MemoryLab.Training;

Options options;
try { options = Options.Parse(args); }
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"kernel-width: {e.Message}");
    return 2;
}

// (a) A delegate kernel: the stretched exponential ρ(t) = e^{−√t}, whose tail is heavier than any single
// exponential's. The time scale tells the quadrature how far the kernel reaches.
MemoryKernel stretched = MemoryKernel.FromFunction(t => Math.Exp(-Math.Sqrt(t)), name: "stretched-exp", timeScale: 4);

// (b) A subclass with closed forms: the alpha function ρ(t) = (t/τ²) e^{−t/τ}, a delayed response.
MemoryKernel alpha = new AlphaKernel(tau: 2);

var invariant = CultureInfo.InvariantCulture;
foreach (var kernel in new[] { stretched, alpha })
{
    Console.WriteLine($"kernel {kernel.Name}: ‖ρ‖² = {kernel.SquaredNorm.ToString("G6", invariant)}");
    Console.WriteLine("| width | relative error J/‖ρ‖² |");
    Console.WriteLine("|------:|----------------------:|");
    int? needed = null;
    var fit = new WidthFit(kernel, options.Steps);
    for (int m = 1; m <= options.MaxWidth; m++)
    {
        double error = fit.NextWidth();
        Console.WriteLine($"| {m,5} | {error.ToString("0.000e+00", invariant),21} |");
        if (error <= options.Tolerance) { needed = m; break; }
    }
    Console.WriteLine(needed is { } w
        ? $"width needed for {kernel.Name} at tolerance {options.Tolerance.ToString("G3", invariant)}: {w}"
        : $"width needed for {kernel.Name} at tolerance {options.Tolerance.ToString("G3", invariant)}: more than {options.MaxWidth}");
    Console.WriteLine();
}
return 0;

/// <summary>ρ(t) = (t/τ²) e^{−t/τ}: unit area, peak at t = τ. Only <see cref="Value"/> is required; the overrides
/// replace quadrature by closed forms: b(w) = 1/(1+wτ)², b¹(w) = −b'(w) = 2τ/(1+wτ)³, ‖ρ‖² = 1/(4τ).</summary>
internal sealed class AlphaKernel(double tau) : MemoryKernel
{
    public override string Name => $"alpha(τ={tau.ToString(CultureInfo.InvariantCulture)})";
    public override double TimeScale => tau;
    public override double Value(double t) => t / (tau * tau) * Math.Exp(-t / tau);
    public override double Laplace(double w) => 1 / ((1 + w * tau) * (1 + w * tau));
    public override (double Value, double Moment) LaplacePair(double w)
    {
        double s = 1 + w * tau;
        return (1 / (s * s), 2 * tau / (s * s * s));
    }
    protected override double ComputeSquaredNorm() => 1 / (4 * tau);
}

/// <summary>Fits reduced models of growing width to one kernel. Width m + 1 starts from width m's fit plus the one
/// new rate (from a log-spaced grid) that lowers the loss most with the best amplitudes for all rates, so the error
/// can only go down as the width grows; Adam on θ = (a, log w) then improves the start.</summary>
internal sealed class WidthFit(MemoryKernel kernel, int steps)
{
    private double[] _rates = [];

    /// <summary>The relative error J/‖ρ‖² of the best width-(previous + 1) model found.</summary>
    public double NextWidth()
    {
        int width = _rates.Length + 1;
        // w = e^v keeps every rate positive, so Adam can never make the model unstable (Wang24).
        var objective = new ReducedModelObjective(kernel, width, RateParametrisation.Exp);
        double[] theta = [];
        double best = double.PositiveInfinity;
        for (int k = 0; k <= 24; k++)
        {
            double candidate = 0.01 * Math.Pow(1000, k / 24.0) / kernel.TimeScale; // [0.01, 10] / time scale
            if (_rates.Contains(candidate)) continue;
            double[] rates = [.. _rates, candidate];
            var start = objective.Pack(BestAmplitudes(rates), rates);
            double loss = objective.Evaluate(start, Span<double>.Empty);
            if (loss < best) { best = loss; theta = start; }
        }

        var adam = new Adam<double>(objective.Layout);
        var gradient = new double[objective.Dimension];
        var schedule = new WarmupCosineSchedule(Initial: 1e-4, Peak: 0.01, End: 1e-5, WarmupSteps: steps / 10, TotalSteps: steps).Validated();
        var bestTheta = (double[])theta.Clone();
        for (int step = 0; step <= steps; step++)
        {
            double loss = objective.Evaluate(theta, gradient);
            if (loss < best) { best = loss; theta.CopyTo(bestTheta, 0); }
            if (step < steps) adam.Step(theta, gradient, schedule.At(step));
        }
        _rates = objective.Unpack(bestTheta).Rates;
        // J is a difference of large terms when the fit is good: clamp the rounding below zero.
        return Math.Max(best, 0) / objective.TargetSquaredNorm;
    }

    /// <summary>The amplitudes minimising J for fixed rates: G a = b, solved by SVD (G is a Cauchy matrix, badly
    /// conditioned once rates are close).</summary>
    private double[] BestAmplitudes(double[] rates)
    {
        int m = rates.Length;
        var g = Matrix<double>.Build.Dense(m, m, (i, j) => 1 / (rates[i] + rates[j]));
        var b = Vector<double>.Build.Dense(m, i => kernel.Laplace(rates[i]));
        return g.Svd().Solve(b).ToArray();
    }
}

/// <summary>Command-line settings (defaults are the "paper" ones; tests pass smaller values).</summary>
internal sealed record Options(int Steps, double Tolerance, int MaxWidth)
{
    public static Options Parse(string[] args)
    {
        var o = new Options(Steps: 400, Tolerance: 1e-4, MaxWidth: 8);
        const string known = "--steps, --tolerance, --max-width, --help";
        for (int i = 0; i < args.Length; i++)
        {
            string option = args[i];
            if (option is "--help" or "-h")
            {
                Console.WriteLine($"usage: kernel-width [--steps N] [--tolerance X] [--max-width N] (defaults: {o.Steps}, {o.Tolerance}, {o.MaxWidth})");
                Environment.Exit(0);
            }
            if (!known.Split(", ").Contains(option)) throw new ArgumentException($"unknown option {option} (known: {known})");
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{option} needs a value (known: {known})");
            int Int() => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v : throw new ArgumentException($"{option} needs a positive integer (got '{value}')");
            o = args[i] switch
            {
                "--steps" => o with { Steps = Int() },
                "--tolerance" => o with { Tolerance = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double t) && t > 0
                    ? t : throw new ArgumentException($"--tolerance needs a positive number (got '{value}')") },
                "--max-width" => o with { MaxWidth = Int() },
                _ => throw new ArgumentException($"unknown option {args[i]} (known: {known})"),
            };
            i++;
        }
        return o;
    }
}
