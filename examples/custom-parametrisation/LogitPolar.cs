using System.Numerics;
using MemoryLab.Models;

namespace LogitPolarExample;

/// <summary>
/// λ = σ(p)·e^{iq}, σ(p) = 1/(1 + e^{−p}): |λ| stays in (0, 1) whatever p, like the LRU's exp(−exp(ν_log)) (Orvieto
/// et al. 2023, §3.3), but the phase q is trained directly. Everything else is the complex diagonal layer's.
/// </summary>
public sealed class LogitPolar<T> : PolarEigenvalueMap<T> where T : IFloatingPointIeee754<T>
{
    public override string Name => "logit_polar";

    public override (string P, string Q) ParameterNames => ("nu_logit", "theta");

    public override (T Nu, T Theta) ToPolar(T p, T q) => (T.One / (T.One + T.Exp(-p)), q);

    // dν/dp = σ(p)(1 − σ(p)) = ν(1 − ν), dθ/dq = 1.
    protected override (T DP, T DQ) PolarBackward(T p, T q, T nu, T theta, T dNu, T dTheta) => (dNu * nu * (T.One - nu), dTheta);

    public override (double P, double Q) FromPolar(double nu, double theta)
    {
        double n = Math.Clamp(nu, 1e-7, 1 - 1e-7); // the logit is finite inside (0, 1)
        return (Math.Log(n / (1 - n)), theta);
    }
}
