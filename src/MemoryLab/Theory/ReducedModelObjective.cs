using MemoryLab.Numerics;
using MemoryLab.Targets;

namespace MemoryLab.Theory;

/// <summary>Thrown when a model's recurrence is unstable (a rate w ≤ 0, or W not Hurwitz), where the population loss is infinite.
/// Callers probing perturbed parameters (Wang24 perturbation error) may catch it and record an infinite error.</summary>
public sealed class UnstableModelException(string message) : ArgumentException(message);

/// <summary>
/// The exact population loss of Li21's reduced continuous-time model (Li21 §2): ρ̂(t) = Σ_i a_i e^{−w_i t},
/// <c>J = ∫_0^∞ (ρ̂ − ρ)² dt = aᵀGa − 2aᵀb + ‖ρ‖²</c>, G_ij = 1/(w_i+w_j), b_i = b(w_i);
/// <c>∂J/∂a = 2(Ga − b)</c>, <c>∂J/∂w_i = −2a_i[(G¹a)_i − b¹_i]</c>, G¹_ij = 1/(w_i+w_j)², b¹_i = b¹(w_i);
/// with w_i = r(v_i) under a <see cref="RateParametrisation"/> (Wang24), ∂J/∂v_i = r'(v_i)·∂J/∂w_i.
/// θ layout: <c>a</c> [m] (group "readout") then <c>v</c> [m] (group "recurrent"). With white-noise input this equals
/// the expected squared error of the functional (Itô isometry). b, b¹ come from the kernel (closed form or quadrature).
/// Holds scratch buffers: not thread-safe (one instance per thread).
/// </summary>
public sealed class ReducedModelObjective : IObjective<double>
{
    private readonly double[] _w, _dw, _b, _b1;

    /// <summary>A width-<paramref name="width"/> reduced model fitting <paramref name="target"/>.</summary>
    public ReducedModelObjective(MemoryKernel target, int width, RateParametrisation parametrisation = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "model width m must be at least 1");
        double norm = target.SquaredNorm;
        if (!double.IsFinite(norm)) throw new ArgumentException($"kernel '{target.Name}' has infinite L² norm: its population loss is infinite", nameof(target));
        Target = target;
        Width = width;
        Parametrisation = parametrisation;
        TargetSquaredNorm = norm;
        Layout = new ParameterLayout();
        Layout.Add("a", "readout", width);
        Layout.Add("v", "recurrent", width);
        _w = new double[width]; _dw = new double[width]; _b = new double[width]; _b1 = new double[width];
    }

    /// <summary>ρ.</summary>
    public MemoryKernel Target { get; }
    /// <summary>m.</summary>
    public int Width { get; }
    /// <summary>w = r(v).</summary>
    public RateParametrisation Parametrisation { get; }
    /// <summary>‖ρ‖².</summary>
    public double TargetSquaredNorm { get; }
    /// <summary>"a" [m], then "v" [m].</summary>
    public ParameterLayout Layout { get; }
    /// <inheritdoc />
    public int Dimension => 2 * Width;

    /// <summary>θ = (a, r⁻¹(w)) for amplitudes a and rates w.</summary>
    public double[] Pack(ReadOnlySpan<double> amplitudes, ReadOnlySpan<double> rates)
    {
        if (amplitudes.Length != Width || rates.Length != Width) throw new ArgumentException($"need {Width} amplitudes and {Width} rates");
        var theta = new double[Dimension];
        amplitudes.CopyTo(theta);
        for (int i = 0; i < Width; i++) theta[Width + i] = Parametrisation.Inverse(rates[i]);
        return theta;
    }

    /// <summary>(a, w) from θ.</summary>
    public (double[] Amplitudes, double[] Rates) Unpack(ReadOnlySpan<double> theta)
    {
        CheckLength(theta);
        var a = theta[..Width].ToArray();
        var w = new double[Width];
        for (int i = 0; i < Width; i++) w[i] = Parametrisation.Rate(theta[Width + i]);
        return (a, w);
    }

    /// <summary>The model kernel ρ̂ = Σ a_i e^{−w_i t} at θ (throws if a rate is not positive).</summary>
    public ExponentialSumKernel ModelKernel(ReadOnlySpan<double> theta)
    {
        var (a, w) = Unpack(theta);
        CheckRates(w);
        return new ExponentialSumKernel(a, w, "reduced-model");
    }

    /// <inheritdoc />
    public double Evaluate(ReadOnlySpan<double> theta, Span<double> gradient)
    {
        CheckLength(theta);
        bool wantGradient = !gradient.IsEmpty;
        if (wantGradient && gradient.Length != Dimension) throw new ArgumentException($"gradient has {gradient.Length} entries, expected {Dimension}");
        int m = Width;
        var a = theta[..m];
        for (int i = 0; i < m; i++)
        {
            _w[i] = Parametrisation.Rate(theta[m + i]);
            _dw[i] = Parametrisation.Derivative(theta[m + i]);
        }
        CheckRates(_w);
        for (int i = 0; i < m; i++) (_b[i], _b1[i]) = Target.LaplacePair(_w[i]);
        double quad = 0, lin = 0;
        for (int i = 0; i < m; i++)
        {
            double ga = 0, g1a = 0;
            for (int j = 0; j < m; j++)
            {
                double inv = 1 / (_w[i] + _w[j]);
                ga += inv * a[j];
                g1a += inv * inv * a[j];
            }
            quad += a[i] * ga;
            lin += a[i] * _b[i];
            if (wantGradient)
            {
                gradient[i] = 2 * (ga - _b[i]);
                gradient[m + i] = -2 * a[i] * (g1a - _b1[i]) * _dw[i];
            }
        }
        return quad - 2 * lin + TargetSquaredNorm;
    }

    /// <summary>J at amplitudes a and rates w directly.</summary>
    public double Loss(ReadOnlySpan<double> amplitudes, ReadOnlySpan<double> rates)
    {
        var theta = Pack(amplitudes, rates);
        return Evaluate(theta, Span<double>.Empty);
    }

    private void CheckLength(ReadOnlySpan<double> theta)
    {
        if (theta.Length != Dimension) throw new ArgumentException($"θ has {theta.Length} entries, the reduced model of width {Width} expects {Dimension} (a then v)");
    }

    private void CheckRates(ReadOnlySpan<double> w)
    {
        for (int i = 0; i < w.Length; i++)
            if (!(w[i] > 0) || !double.IsFinite(w[i]))
                throw new UnstableModelException($"rate w[{i}] = {w[i]} is not positive and finite ({Parametrisation} parametrisation): the model is unstable and its loss infinite");
    }
}
