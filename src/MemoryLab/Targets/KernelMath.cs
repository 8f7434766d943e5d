using System.Numerics;

namespace MemoryLab.Targets;

/// <summary>Small special functions used by the closed-form kernel integrals.</summary>
internal static class KernelMath
{
    /// <summary><c>I_k(x) = ∫_0^1 u^k e^{xu} du</c> for k = 0, 1, 2 (complex x): the building block of
    /// ∫ polynomial·e^{−zt} over a segment. Series Σ xⁿ/(n!(n+k+1)) near 0 (no cancellation), closed
    /// form with the upward recurrence I_k = (e^x − k I_{k−1})/x otherwise.</summary>
    public static (Complex I0, Complex I1, Complex I2) UnitMoments(Complex x)
    {
        if (Complex.Abs(x) < 2)
        {
            Complex term = Complex.One, i0 = Complex.Zero, i1 = Complex.Zero, i2 = Complex.Zero;
            for (int n = 0; n < 40; n++)
            {
                i0 += term / (n + 1);
                i1 += term / (n + 2);
                i2 += term / (n + 3);
                term *= x / (n + 1);
                if (Complex.Abs(term) < 1e-18 * Complex.Abs(i0)) break;
            }
            return (i0, i1, i2);
        }
        Complex ex = Complex.Exp(x);
        Complex j0 = (ex - 1) / x;
        Complex j1 = (ex - j0) / x;
        Complex j2 = (ex - 2 * j1) / x;
        return (j0, j1, j2);
    }

    /// <summary>∫ over [t0, t0+L] of e^{−zt}(p + q(t−t0)) and of t·e^{−zt}(p + q(t−t0)), exactly.</summary>
    public static (Complex B, Complex B1) LinearSegment(Complex z, double t0, double length, double p, double q)
    {
        if (length <= 0) return (Complex.Zero, Complex.Zero);
        var (i0, i1, i2) = UnitMoments(-z * length);
        Complex e = Complex.Exp(-z * t0);
        double l = length;
        Complex b = e * l * (p * i0 + q * l * i1);
        Complex b1 = e * l * (t0 * p * i0 + (t0 * q + p) * l * i1 + q * l * l * i2);
        return (b, b1);
    }

    /// <summary>K(x) in the continued fraction √π·erfcx(x) = 1/(x + K(x)),
    /// K = (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))), evaluated bottom-up; accurate for x ≥ 2.</summary>
    public static double ErfcxTail(double x)
    {
        double k = 0;
        for (int n = 200; n >= 1; n--) k = 0.5 * n / (x + k);
        return k;
    }

    /// <summary>erfcx(x) = e^{x²} erfc(x), accurate for all real x (continued fraction above 2).</summary>
    public static double Erfcx(double x)
    {
        if (x < 2) return Math.Exp(x * x) * MathNet.Numerics.SpecialFunctions.Erfc(x);
        return 1 / (Math.Sqrt(Math.PI) * (x + ErfcxTail(x)));
    }
}

/// <summary>A piecewise Chebyshev interpolant of a smooth function on [a, b]: equal panels, degree-n interpolation at
/// Chebyshev points of the first kind, Clenshaw evaluation. Used to make expensive kernels (Ai) cheap inside quadrature
/// while staying within a few ulps of the function.</summary>
internal sealed class PiecewiseChebyshev
{
    private readonly double _a, _h;
    private readonly int _panels, _n;
    private readonly double[] _coefficients;   // panel-major, n per panel

    public PiecewiseChebyshev(Func<double, double> f, double a, double b, double panelWidth, int degree)
    {
        _n = degree + 1;
        _panels = Math.Max(1, (int)Math.Ceiling((b - a) / panelWidth));
        _a = a;
        _h = (b - a) / _panels;
        _coefficients = new double[_panels * _n];
        var values = new double[_n];
        for (int p = 0; p < _panels; p++)
        {
            double lo = a + p * _h, mid = lo + 0.5 * _h;
            for (int k = 0; k < _n; k++) values[k] = f(mid + 0.5 * _h * Math.Cos(Math.PI * (k + 0.5) / _n));
            for (int j = 0; j < _n; j++)
            {
                double c = 0;
                for (int k = 0; k < _n; k++) c += values[k] * Math.Cos(Math.PI * j * (k + 0.5) / _n);
                _coefficients[p * _n + j] = (j == 0 ? 1.0 : 2.0) * c / _n;
            }
        }
        Low = a;
        High = b;
    }

    public double Low { get; }
    public double High { get; }

    public double Evaluate(double x)
    {
        int p = (int)((x - _a) / _h);
        if (p < 0) p = 0;
        if (p >= _panels) p = _panels - 1;
        double u = 2 * (x - (_a + p * _h)) / _h - 1;   // panel-local coordinate in [−1, 1]
        int o = p * _n;
        double b1 = 0, b2 = 0, u2 = 2 * u;
        for (int j = _n - 1; j >= 1; j--)
        {
            double t = u2 * b1 - b2 + _coefficients[o + j];
            b2 = b1;
            b1 = t;
        }
        return u * b1 - b2 + _coefficients[o];
    }
}
