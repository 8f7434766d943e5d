namespace MemoryLab.Numerics;

/// <summary>Result of comparing an analytic gradient with central finite differences.</summary>
/// <param name="Index">Index into θ of the worst entry.</param>
/// <param name="Name">Parameter name of the worst entry, when a layout was given.</param>
/// <param name="Analytic">Analytic derivative at the worst entry.</param>
/// <param name="Numeric">Finite-difference derivative at the worst entry.</param>
/// <param name="MaxRelativeError">Largest relative error over the checked entries.</param>
/// <param name="Checked">How many entries were checked.</param>
public sealed record GradientCheckResult(int Index, string? Name, double Analytic, double Numeric, double MaxRelativeError, int Checked)
{
    /// <summary>A readable one-line summary.</summary>
    public override string ToString() =>
        $"max relative error {MaxRelativeError:E3} over {Checked} entries (worst: {Name ?? "θ"}[{Index}] analytic {Analytic:G10} vs numeric {Numeric:G10})";
}

/// <summary>
/// Float64 finite-difference gradient checks. Public so a researcher can check the backward pass of a
/// layer, parametrisation or objective of their own. Uses the 4-point central stencil
/// (error O(h⁴)); relative error is |a − n| / max(|a|, |n|, <c>floor</c>).
/// </summary>
public static class GradientCheck
{
    /// <summary>Checks ∇f at θ for every entry (or every <paramref name="stride"/>-th entry).</summary>
    public static GradientCheckResult Check(IObjective<double> objective, ReadOnlySpan<double> theta,
        double step = 1e-5, double floor = 1e-8, int stride = 1, ParameterLayout? layout = null)
    {
        int n = objective.Dimension;
        if (theta.Length != n) throw new ArgumentException($"θ has {theta.Length} entries, the objective expects {n}");
        var grad = new double[n];
        var scratch = new double[n];
        objective.Evaluate(theta, grad);
        var x = theta.ToArray();
        double worst = -1; int worstIndex = 0; double worstA = 0, worstN = 0; int count = 0;
        for (int i = 0; i < n; i += Math.Max(1, stride))
        {
            double x0 = x[i];
            double h = step * Math.Max(1.0, Math.Abs(x0));
            x[i] = x0 + h; double fp1 = objective.Evaluate(x, scratch);
            x[i] = x0 - h; double fm1 = objective.Evaluate(x, scratch);
            x[i] = x0 + 2 * h; double fp2 = objective.Evaluate(x, scratch);
            x[i] = x0 - 2 * h; double fm2 = objective.Evaluate(x, scratch);
            x[i] = x0;
            double numeric = (8 * (fp1 - fm1) - (fp2 - fm2)) / (12 * h);
            double err = RelativeError(grad[i], numeric, floor);
            count++;
            if (err > worst || double.IsNaN(err))
            {
                worst = double.IsNaN(err) ? double.PositiveInfinity : err;
                worstIndex = i; worstA = grad[i]; worstN = numeric;
            }
        }
        string? name = null;
        if (layout != null)
            foreach (var v in layout.Views)
                if (worstIndex >= v.Offset && worstIndex < v.Offset + v.Length) { name = v.Name; worstIndex -= v.Offset; break; }
        return new GradientCheckResult(worstIndex, name, worstA, worstN, Math.Max(worst, 0), count);
    }

    /// <summary>|a − n| / max(|a|, |n|, floor).</summary>
    public static double RelativeError(double analytic, double numeric, double floor = 1e-8) =>
        Math.Abs(analytic - numeric) / Math.Max(Math.Max(Math.Abs(analytic), Math.Abs(numeric)), floor);
}

/// <summary>An objective from a delegate, for tests and quick experiments.</summary>
public sealed class DelegateObjective<T>(int dimension, DelegateObjective<T>.Function function) : IObjective<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    /// <summary>θ ↦ loss, writing the gradient.</summary>
    public delegate T Function(ReadOnlySpan<T> theta, Span<T> gradient);

    /// <inheritdoc />
    public int Dimension { get; } = dimension;

    /// <inheritdoc />
    public T Evaluate(ReadOnlySpan<T> theta, Span<T> gradient) => function(theta, gradient);
}
