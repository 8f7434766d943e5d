using MemoryLab.Numerics;

namespace MemoryLab.Analysis;

/// <summary>An error of a model at parameters θ (e.g. a kernel distance sup_t|ρ̂_θ(t) − ρ(t)| or a test loss).</summary>
public delegate double ParameterError(ReadOnlySpan<double> theta);

/// <summary>Settings of <see cref="PerturbationAnalysis.Run(ReadOnlySpan{double}, ParameterError, PerturbationOptions)"/>.</summary>
public sealed record PerturbationOptions
{
    /// <summary>Perturbation sizes β (max-norm of the noise), increasing, ≥ 0. Default: Wang24's grid
    /// {0} ∪ {1e−3·2^{0.5i}, i = 0..20} (see <see cref="PerturbationAnalysis.Wang24Betas"/>).</summary>
    public double[] Betas { get; init; } = PerturbationAnalysis.Wang24Betas();
    /// <summary>Random draws per β (Wang24 used 3–30).</summary>
    public int Repeats { get; init; } = 10;
    /// <summary>Seed of the <see cref="RandomPurpose.Perturbation"/> stream.</summary>
    public ulong Seed { get; init; }
    /// <summary>Which entries of θ are perturbed (null: all, as in Wang24). Entries that are false stay at θ_m.</summary>
    public bool[]? Mask { get; init; }
    /// <summary>Parameter tensors, one non-negative index per entry of θ (null: one tensor): the noise of each tensor is rescaled to
    /// max-norm β on its own, as the group's <c>src/perturb.py</c> does per named parameter (radarFudan/Curse-of-memory).</summary>
    public int[]? Groups { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate(int dimension)
    {
        if (Betas is null || Betas.Length == 0) throw new ArgumentException("the β grid is empty");
        for (int i = 0; i < Betas.Length; i++)
        {
            if (!(Betas[i] >= 0) || double.IsInfinity(Betas[i])) throw new ArgumentException($"β[{i}] = {Betas[i]} must be finite and ≥ 0");
            if (i > 0 && !(Betas[i] > Betas[i - 1])) throw new ArgumentException($"β grid must increase (β[{i}] = {Betas[i]} after {Betas[i - 1]})");
        }
        if (Repeats <= 0) throw new ArgumentException($"repeats must be positive (got {Repeats})");
        if (Mask != null)
        {
            if (Mask.Length != dimension) throw new ArgumentException($"mask has {Mask.Length} entries, θ has {dimension}");
            if (!Mask.Contains(true)) throw new ArgumentException("mask selects no parameter");
        }
        if (Groups != null)
        {
            if (Groups.Length != dimension) throw new ArgumentException($"groups has {Groups.Length} entries, θ has {dimension}");
            if (Groups.Any(g => g < 0)) throw new ArgumentException("group indices must be ≥ 0");
        }
    }
}

/// <summary>Perturbation error curve E(β) of a fitted model.</summary>
/// <param name="Betas">The β grid.</param>
/// <param name="Error">E(β_i) = max over repeats and over all β_k ≤ β_i (monotone in β, Wang24's running maximum).</param>
/// <param name="MaxPerBeta">Max over repeats at β_i alone.</param>
/// <param name="MeanPerBeta">Mean over repeats at β_i (non-finite errors excluded).</param>
/// <param name="NonFiniteCount">Draws whose error was NaN or infinite (such a draw makes E infinite from that β on).</param>
public sealed record PerturbationCurve(double[] Betas, double[] Error, double[] MaxPerBeta, double[] MeanPerBeta, int NonFiniteCount);

/// <summary>
/// The stable-approximation protocol of Wang24 (§5): perturbation error
/// E_m(β) = sup_{‖θ̃ − θ_m‖∞ ≤ β} ‖H − Ĥ(θ̃)‖, estimated by adding to θ_m Gaussian noise rescaled to max-norm
/// exactly β, repeating, and keeping the running maximum over repeats and over smaller β (so E is
/// monotone, as the sup over growing balls must be). A stable approximation has E continuous at β = 0.
/// Draws are a pure function of (seed, β index, repeat) through <see cref="RandomPurpose.Perturbation"/>.
/// </summary>
public static class PerturbationAnalysis
{
    /// <summary>Wang24's grid {0} ∪ {β₀·2^{0.5i}, i = 0..count−1}; the default β₀ = 1e−3, count = 21 spans 1e−3 … 1.024.</summary>
    public static double[] Wang24Betas(double beta0 = 1e-3, int count = 21)
    {
        if (!(beta0 > 0)) throw new ArgumentException($"β₀ must be positive (got {beta0})", nameof(beta0));
        if (count < 0) throw new ArgumentException($"count must be ≥ 0 (got {count})", nameof(count));
        var b = new double[count + 1];
        for (int i = 0; i < count; i++) b[i + 1] = beta0 * Math.Pow(2, 0.5 * i);
        return b;
    }

    /// <summary>Writes Gaussian noise rescaled so max_i |noise_i| = β exactly (over the masked entries; the others are 0); with
    /// <paramref name="groups"/>, within each group (tensor) separately.</summary>
    public static void DrawNoise(CounterRng rng, double beta, Span<double> noise, ReadOnlySpan<bool> mask = default, ReadOnlySpan<int> groups = default)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!(beta >= 0) || double.IsInfinity(beta)) throw new ArgumentException($"β must be finite and ≥ 0 (got {beta})", nameof(beta));
        if (!mask.IsEmpty && mask.Length != noise.Length) throw new ArgumentException($"mask has {mask.Length} entries, the noise {noise.Length}", nameof(mask));
        if (!groups.IsEmpty && groups.Length != noise.Length) throw new ArgumentException($"groups has {groups.Length} entries, the noise {noise.Length}", nameof(groups));
        int ng = 1;
        foreach (int g in groups) ng = Math.Max(ng, g + 1);
        Span<double> max = ng <= 64 ? stackalloc double[ng] : new double[ng];
        max.Clear();
        for (int i = 0; i < noise.Length; i++)
        {
            if (!mask.IsEmpty && !mask[i]) { noise[i] = 0; continue; }
            noise[i] = rng.NextNormal();
            int g = groups.IsEmpty ? 0 : groups[i];
            max[g] = Math.Max(max[g], Math.Abs(noise[i]));
        }
        // z_i·(β/max) gives exactly ±β at the arg-max only if rounding cooperates; set it explicitly. A group of zeros (empty
        // under the mask, or a β-free draw of zeros) stays 0.
        for (int i = 0; i < noise.Length; i++)
        {
            double mg = max[groups.IsEmpty ? 0 : groups[i]];
            noise[i] = mg == 0 ? 0 : Math.Abs(noise[i]) == mg ? Math.CopySign(beta, noise[i]) : noise[i] * (beta / mg);
        }
    }

    /// <summary>Runs the protocol at <paramref name="thetaM"/> with the error <paramref name="error"/>.</summary>
    public static PerturbationCurve Run(ReadOnlySpan<double> thetaM, ParameterError error, PerturbationOptions options)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(thetaM.Length);
        foreach (var x in thetaM)
            if (!double.IsFinite(x)) throw new ArgumentException("θ_m has a NaN or infinite entry", nameof(thetaM));
        int nb = options.Betas.Length, n = thetaM.Length;
        var running = new double[nb];
        var maxPer = new double[nb];
        var meanPer = new double[nb];
        var noise = new double[n];
        var theta = new double[n];
        var root = new CounterRng(options.Seed, RandomPurpose.Perturbation);
        int nonFinite = 0;
        double runMax = double.NegativeInfinity;
        for (int b = 0; b < nb; b++)
        {
            double beta = options.Betas[b];
            // β = 0 is the unperturbed model: one evaluation is the whole distribution.
            int repeats = beta == 0 ? 1 : options.Repeats;
            double max = double.NegativeInfinity, sum = 0;
            int finite = 0;
            for (int r = 0; r < repeats; r++)
            {
                DrawNoise(root.Fork((ulong)b * 1_000_003UL + (ulong)r), beta, noise, options.Mask, options.Groups);
                for (int i = 0; i < n; i++) theta[i] = thetaM[i] + noise[i];
                double e = error(theta);
                if (double.IsNaN(e) || double.IsInfinity(e))
                {
                    // A perturbation that breaks the model (e.g. an unstable recurrence) has unbounded error.
                    nonFinite++;
                    max = double.PositiveInfinity;
                    continue;
                }
                max = Math.Max(max, e);
                sum += e; finite++;
            }
            maxPer[b] = max;
            meanPer[b] = finite > 0 ? sum / finite : double.NaN;
            runMax = Math.Max(runMax, max);
            running[b] = runMax;
        }
        return new PerturbationCurve((double[])options.Betas.Clone(), running, maxPer, meanPer, nonFinite);
    }

    /// <summary>The protocol with an objective's loss as the error (its gradient is computed and discarded).</summary>
    public static PerturbationCurve Run(ReadOnlySpan<double> thetaM, IObjective<double> objective, PerturbationOptions options)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (thetaM.Length != objective.Dimension) throw new ArgumentException($"θ_m has {thetaM.Length} entries, the objective expects {objective.Dimension}", nameof(thetaM));
        var scratch = new double[objective.Dimension];
        return Run(thetaM, t => objective.Evaluate(t, scratch), options);
    }
}
