using MemoryLab.Numerics;

namespace MemoryLab.Analysis;

/// <summary>Which integrator <see cref="GradientFlow"/> uses.</summary>
public enum GradientFlowMethod
{
    /// <summary>Dormand–Prince 5(4) (Hairer, Nørsett &amp; Wanner, "dopri5"): explicit, adaptive, with a
    /// Gustafsson PI step-size controller and its 4th-order continuous extension for dense output.</summary>
    DormandPrince45,
    /// <summary>Classical 4th-order Runge–Kutta with the fixed step <see cref="GradientFlowOptions.FixedStep"/>;
    /// dense output by cubic Hermite interpolation (both end slopes are exact).</summary>
    RungeKutta4,
    /// <summary>Linearly implicit Rosenbrock 2(3) (Shampine &amp; Reichelt 1997, MATLAB's ode23s), L-stable.
    /// Its Jacobian is −∇²J by central differences of the exact gradient (2n gradient calls per step), so it
    /// takes steps far beyond the explicit stability limit on long, stiff plateaus; worth it for small θ
    /// (the reduced Li21 model), not for big networks.</summary>
    Rosenbrock23,
}

/// <summary>Why a <see cref="GradientFlow"/> integration stopped.</summary>
public enum GradientFlowStatus
{
    /// <summary>τ reached <see cref="GradientFlowOptions.EndTime"/>.</summary>
    ReachedEndTime,
    /// <summary>‖∇J‖₂ fell to <see cref="GradientFlowOptions.GradientNormTolerance"/>.</summary>
    Converged,
    /// <summary>Every requested escape time was found and <see cref="GradientFlowOptions.StopAtEscape"/> was set.</summary>
    Escaped,
    /// <summary><see cref="GradientFlowOptions.StopWhen"/> returned true.</summary>
    StoppedByCondition,
    /// <summary><see cref="GradientFlowOptions.MaxSteps"/> accepted steps were taken.</summary>
    MaxStepsReached,
    /// <summary>The adaptive step fell below rounding level of τ (the flow is too stiff for the method or blows up).</summary>
    StepSizeUnderflow,
    /// <summary>The loss or gradient became NaN or infinite and smaller steps did not help.</summary>
    NonFinite,
}

/// <summary>One accepted step of a gradient-flow integration: τ, J(θ(τ)), ‖∇J(θ(τ))‖₂ and ‖θ(τ) − θ₀‖₂.</summary>
/// <param name="Time">Flow time τ.</param>
/// <param name="Loss">J(θ(τ)).</param>
/// <param name="GradientNorm">‖∇J(θ(τ))‖₂.</param>
/// <param name="Distance">‖θ(τ) − θ₀‖₂.</param>
/// <param name="Step">Index of the accepted step (0 = the initial point).</param>
public readonly record struct GradientFlowRecord(double Time, double Loss, double GradientNorm, double Distance, long Step);

/// <summary>θ(τ) and J(θ(τ)) at a requested output time, from the integrator's dense output.</summary>
/// <param name="Time">The requested τ.</param>
/// <param name="Loss">J at the interpolated θ (one extra objective call).</param>
/// <param name="Theta">The interpolated θ(τ).</param>
public sealed record GradientFlowSample(double Time, double Loss, double[] Theta);

/// <summary>A user stop condition, checked after every accepted step.</summary>
/// <param name="record">The step just taken.</param>
/// <param name="theta">θ at the end of that step.</param>
public delegate bool GradientFlowStopCondition(in GradientFlowRecord record, ReadOnlySpan<double> theta);

/// <summary>Settings of <see cref="GradientFlow.Integrate"/>.</summary>
public sealed record GradientFlowOptions
{
    /// <summary>Flow time to integrate to (τ_end &gt; 0).</summary>
    public required double EndTime { get; init; }
    /// <summary>The integrator.</summary>
    public GradientFlowMethod Method { get; init; } = GradientFlowMethod.DormandPrince45;
    /// <summary>Relative tolerance of the adaptive methods (per-component scale atol + rtol·|θ_i|, RMS norm).</summary>
    public double RelativeTolerance { get; init; } = 1e-8;
    /// <summary>Absolute tolerance of the adaptive methods.</summary>
    public double AbsoluteTolerance { get; init; } = 1e-10;
    /// <summary>First trial step of the adaptive methods; 0 picks one by Hairer's rule (HNW I, §II.4).</summary>
    public double InitialStep { get; init; }
    /// <summary>Largest step the adaptive methods may take.</summary>
    public double MaxStep { get; init; } = double.PositiveInfinity;
    /// <summary>Step of <see cref="GradientFlowMethod.RungeKutta4"/> (required there, ignored otherwise).</summary>
    public double FixedStep { get; init; }
    /// <summary>Most accepted steps before giving up with <see cref="GradientFlowStatus.MaxStepsReached"/>.</summary>
    public long MaxSteps { get; init; } = 10_000_000;
    /// <summary>δ of the distance escape time τ₀ = inf{τ: ‖θ(τ)−θ₀‖₂ &gt; δ} (Li21, JMLR Thm 20); null: not tracked.</summary>
    public double? EscapeDistance { get; init; }
    /// <summary>δ of the loss escape time τ₀′ = inf{τ: |J(θ(τ))−J(θ₀)| &gt; δ} (Li21, JMLR Thm 20); null: not tracked.</summary>
    public double? EscapeLossChange { get; init; }
    /// <summary>Stop once every requested escape time has been located.</summary>
    public bool StopAtEscape { get; init; }
    /// <summary>Stop when ‖∇J‖₂ ≤ this (0: never).</summary>
    public double GradientNormTolerance { get; init; }
    /// <summary>A user stop condition checked after each accepted step.</summary>
    public GradientFlowStopCondition? StopWhen { get; init; }
    /// <summary>Keep every k-th accepted step in <see cref="GradientFlowResult.Records"/> (the first and last are always kept); 0 keeps only those two.</summary>
    public int RecordEvery { get; init; } = 1;
    /// <summary>Keep a record only when τ has grown by this factor since the last kept one (log-spaced thinning for long
    /// runs, e.g. 1.01 ≈ 230 points per decade); 1 disables it. Applied on top of <see cref="RecordEvery"/>.</summary>
    public double RecordTimeRatio { get; init; } = 1.0;
    /// <summary>Times (increasing, in (0, EndTime]) at which θ and J are reported from the dense output.</summary>
    public double[]? OutputTimes { get; init; }
    /// <summary>Event times are located to |Δτ| ≤ this × max(1, τ) on the step's interpolant.</summary>
    public double EventTolerance { get; init; } = 1e-13;
    /// <summary>Difference step of the Hessian that <see cref="GradientFlowMethod.Rosenbrock23"/> uses as its Jacobian (relative to max(1, |θ_i|)).</summary>
    public double JacobianStep { get; init; } = 1e-5;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (!(EndTime > 0) || double.IsInfinity(EndTime)) throw new ArgumentException($"end time must be positive and finite (got {EndTime})");
        if (!(RelativeTolerance > 0)) throw new ArgumentException($"relative tolerance must be positive (got {RelativeTolerance})");
        if (!(AbsoluteTolerance > 0)) throw new ArgumentException($"absolute tolerance must be positive (got {AbsoluteTolerance})");
        if (!(InitialStep >= 0)) throw new ArgumentException($"initial step must be ≥ 0 (got {InitialStep})");
        if (!(MaxStep > 0)) throw new ArgumentException($"max step must be positive (got {MaxStep})");
        if (Method == GradientFlowMethod.RungeKutta4 && !(FixedStep > 0 && !double.IsInfinity(FixedStep)))
            throw new ArgumentException($"RK4 needs a positive fixed step (got {FixedStep})");
        if (MaxSteps <= 0) throw new ArgumentException($"max steps must be positive (got {MaxSteps})");
        if (EscapeDistance is { } d && !(d > 0)) throw new ArgumentException($"escape distance δ must be positive (got {d})");
        if (EscapeLossChange is { } l && !(l > 0)) throw new ArgumentException($"escape loss change δ must be positive (got {l})");
        if (StopAtEscape && EscapeDistance is null && EscapeLossChange is null)
            throw new ArgumentException("stop-at-escape needs an escape distance or an escape loss change");
        if (!(GradientNormTolerance >= 0)) throw new ArgumentException($"gradient-norm tolerance must be ≥ 0 (got {GradientNormTolerance})");
        if (RecordEvery < 0) throw new ArgumentException($"record-every must be ≥ 0 (got {RecordEvery})");
        if (!(RecordTimeRatio >= 1)) throw new ArgumentException($"record time ratio must be ≥ 1 (got {RecordTimeRatio})");
        if (!(EventTolerance > 0)) throw new ArgumentException($"event tolerance must be positive (got {EventTolerance})");
        if (!(JacobianStep > 0)) throw new ArgumentException($"Jacobian step must be positive (got {JacobianStep})");
        if (OutputTimes is { } times)
            for (int i = 0; i < times.Length; i++)
            {
                if (!(times[i] > 0 && times[i] <= EndTime)) throw new ArgumentException($"output time {times[i]} lies outside (0, {EndTime}]");
                if (i > 0 && !(times[i] > times[i - 1])) throw new ArgumentException($"output times must increase (entry {i}: {times[i]} after {times[i - 1]})");
            }
    }
}

/// <summary>What a <see cref="GradientFlow"/> integration produced.</summary>
public sealed record GradientFlowResult
{
    /// <summary>Why it stopped.</summary>
    public required GradientFlowStatus Status { get; init; }
    /// <summary>τ at the end.</summary>
    public required double FinalTime { get; init; }
    /// <summary>θ at <see cref="FinalTime"/>.</summary>
    public required double[] FinalTheta { get; init; }
    /// <summary>J(θ₀).</summary>
    public required double InitialLoss { get; init; }
    /// <summary>J at <see cref="FinalTime"/>.</summary>
    public required double FinalLoss { get; init; }
    /// <summary>τ₀ = inf{τ: ‖θ(τ)−θ₀‖ &gt; δ}, or null when not requested or not reached.</summary>
    public double? EscapeTimeDistance { get; init; }
    /// <summary>τ₀′ = inf{τ: |J(θ(τ))−J(θ₀)| &gt; δ}, or null when not requested or not reached.</summary>
    public double? EscapeTimeLoss { get; init; }
    /// <summary>The loss curve: kept accepted steps (τ, J, ‖∇J‖, ‖θ−θ₀‖), starting with τ = 0.</summary>
    public required IReadOnlyList<GradientFlowRecord> Records { get; init; }
    /// <summary>θ and J at <see cref="GradientFlowOptions.OutputTimes"/> that were reached.</summary>
    public required IReadOnlyList<GradientFlowSample> Samples { get; init; }
    /// <summary>Accepted steps.</summary>
    public required long AcceptedSteps { get; init; }
    /// <summary>Rejected step attempts.</summary>
    public required long RejectedSteps { get; init; }
    /// <summary>Objective calls (θ ↦ (J, ∇J)), all purposes together.</summary>
    public required long Evaluations { get; init; }
}

/// <summary>
/// Gradient flow dθ/dτ = −∇J(θ) of any <see cref="IObjective{T}"/> (Li21 §4 / JMLR Thm 20: the
/// continuous-time limit of gradient descent, whose plateaus and escape times the paper bounds).
/// Adaptive Dormand–Prince 5(4) with a PI controller (the controller settles at the explicit stability
/// limit on stiff plateaus instead of collapsing), fixed-step RK4, or the L-stable Rosenbrock 2(3) for
/// very long stiff plateaus; escape times are located on each step's continuous interpolant by the
/// Illinois method.
/// </summary>
public static class GradientFlow
{
    /// <summary>Integrates the flow from <paramref name="theta0"/> per <paramref name="options"/>.</summary>
    public static GradientFlowResult Integrate(IObjective<double> objective, ReadOnlySpan<double> theta0, GradientFlowOptions options)
    {
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (theta0.Length != objective.Dimension)
            throw new ArgumentException($"θ₀ has {theta0.Length} entries, the objective expects {objective.Dimension}", nameof(theta0));
        foreach (var v in theta0)
            if (!double.IsFinite(v)) throw new ArgumentException("θ₀ has a NaN or infinite entry", nameof(theta0));
        return new FlowIntegrator(objective, theta0, options).Run();
    }

    /// <summary>The vector field F(θ) = −∇J(θ), writing F and returning J (for callers who want the raw field).</summary>
    public static double Field(IObjective<double> objective, ReadOnlySpan<double> theta, Span<double> field)
    {
        double j = objective.Evaluate(theta, field);
        for (int i = 0; i < field.Length; i++) field[i] = -field[i];
        return j;
    }

    // Holds all buffers of one integration; the step methods write a trial step and its interpolant data.
    private sealed class FlowIntegrator
    {
        // Dormand–Prince 5(4) tableau (HNW I, Table 5.2).
        private const double C2 = 1.0 / 5, C3 = 3.0 / 10, C4 = 4.0 / 5, C5 = 8.0 / 9;
        private const double A21 = 1.0 / 5;
        private const double A31 = 3.0 / 40, A32 = 9.0 / 40;
        private const double A41 = 44.0 / 45, A42 = -56.0 / 15, A43 = 32.0 / 9;
        private const double A51 = 19372.0 / 6561, A52 = -25360.0 / 2187, A53 = 64448.0 / 6561, A54 = -212.0 / 729;
        private const double A61 = 9017.0 / 3168, A62 = -355.0 / 33, A63 = 46732.0 / 5247, A64 = 49.0 / 176, A65 = -5103.0 / 18656;
        private const double A71 = 35.0 / 384, A73 = 500.0 / 1113, A74 = 125.0 / 192, A75 = -2187.0 / 6784, A76 = 11.0 / 84;
        private const double E1 = 71.0 / 57600, E3 = -71.0 / 16695, E4 = 71.0 / 1920, E5 = -17253.0 / 339200, E6 = 22.0 / 525, E7 = -1.0 / 40;

        // Dense output: θ(τ + σh) = θ + h Σ_k k_k Σ_j P[k, j] σ^{j+1} (Dormand–Prince continuous extension, as in SciPy's RK45).
        private static readonly double[,] P =
        {
            { 1, -8048581381.0 / 2820520608, 8663915743.0 / 2820520608, -12715105075.0 / 11282082432 },
            { 0, 0, 0, 0 },
            { 0, 131558114200.0 / 32700410799, -68118460800.0 / 10900136933, 87487479700.0 / 32700410799 },
            { 0, -1754552775.0 / 470086768, 14199869525.0 / 1410260304, -10690763975.0 / 1880347072 },
            { 0, 127303824393.0 / 49829197408, -318862633887.0 / 49829197408, 701980252875.0 / 199316789632 },
            { 0, -282668133.0 / 205662961, 2019193451.0 / 616988883, -1453857185.0 / 822651844 },
            { 0, 40617522.0 / 29380423, -110615467.0 / 29380423, 69997945.0 / 29380423 },
        };

        private const double MachineEpsilon = 2.220446049250313e-16; // (double.Epsilon is the smallest subnormal, not this)

        // Rosenbrock 2(3) constants (Shampine & Reichelt 1997).
        private static readonly double RosD = 1.0 / (2.0 + Math.Sqrt(2.0));
        private static readonly double RosE32 = 6.0 + Math.Sqrt(2.0);

        private readonly IObjective<double> _f;
        private readonly GradientFlowOptions _o;
        private readonly int _n;
        private readonly double[] _theta0, _y, _yNew, _yStage, _fY, _fNew, _scratch, _interp;
        private readonly double[][] _k; // stage slopes (7 for DOPRI, 4 for RK4, 3 for Rosenbrock)
        private readonly double[] _jac = [], _lu = [];
        private readonly int[] _pivots = [];
        private bool _jacobianValid;
        private double _j, _jNew, _t, _h, _j0;
        private long _evaluations, _accepted, _rejected;
        private double _lastRecordTime;
        private readonly List<GradientFlowRecord> _records = new();
        private readonly List<GradientFlowSample> _samples = new();
        private int _nextOutput;
        private double? _tauDistance, _tauLoss;

        public FlowIntegrator(IObjective<double> f, ReadOnlySpan<double> theta0, GradientFlowOptions o)
        {
            _f = f; _o = o; _n = f.Dimension;
            _theta0 = theta0.ToArray();
            _y = theta0.ToArray();
            _yNew = new double[_n]; _yStage = new double[_n]; _fY = new double[_n]; _fNew = new double[_n];
            _scratch = new double[_n]; _interp = new double[_n];
            int stages = o.Method switch { GradientFlowMethod.DormandPrince45 => 7, GradientFlowMethod.RungeKutta4 => 4, _ => 3 };
            _k = new double[stages][];
            for (int i = 0; i < stages; i++) _k[i] = new double[_n];
            if (o.Method == GradientFlowMethod.Rosenbrock23)
            {
                _jac = new double[_n * _n]; _lu = new double[_n * _n]; _pivots = new int[_n];
            }
        }

        private double Eval(ReadOnlySpan<double> theta, Span<double> field)
        {
            _evaluations++;
            double j = _f.Evaluate(theta, field);
            for (int i = 0; i < field.Length; i++) field[i] = -field[i];
            return j;
        }

        public GradientFlowResult Run()
        {
            _j = Eval(_y, _fY);
            _j0 = _j;
            if (!IsFinite(_j, _fY)) return Finish(GradientFlowStatus.NonFinite);
            Record();
            if (_o.GradientNormTolerance > 0 && Norm(_fY) <= _o.GradientNormTolerance) return Finish(GradientFlowStatus.Converged);
            _h = _o.Method switch
            {
                GradientFlowMethod.RungeKutta4 => _o.FixedStep,
                _ => _o.InitialStep > 0 ? Math.Min(_o.InitialStep, _o.MaxStep) : InitialStepGuess(),
            };
            double errOld = 1e-4;
            bool lastRejected = false;
            int nonFiniteStreak = 0;
            while (true)
            {
                double remaining = _o.EndTime - _t;
                if (remaining <= 1e-14 * Math.Max(1, _o.EndTime)) return Finish(GradientFlowStatus.ReachedEndTime);
                if (_accepted >= _o.MaxSteps) return Finish(GradientFlowStatus.MaxStepsReached);
                double h = Math.Min(_h, remaining);
                if (_o.Method != GradientFlowMethod.RungeKutta4 && (h < 16 * MachineEpsilon * Math.Abs(_t) || h < 1e-300))
                    return Finish(GradientFlowStatus.StepSizeUnderflow);

                double err = _o.Method switch
                {
                    GradientFlowMethod.DormandPrince45 => TryDormandPrince(h),
                    GradientFlowMethod.RungeKutta4 => TryRungeKutta4(h),
                    _ => TryRosenbrock(h),
                };
                if (double.IsNaN(err) || double.IsInfinity(err))
                {
                    // A stage left the region where J is finite: shrink the step and try again.
                    if (_o.Method == GradientFlowMethod.RungeKutta4 || ++nonFiniteStreak > 60) return Finish(GradientFlowStatus.NonFinite);
                    _rejected++;
                    _h = h * 0.25;
                    lastRejected = true;
                    continue;
                }
                nonFiniteStreak = 0;

                if (err <= 1.0)
                {
                    AcceptStep(h);
                    // Step-size proposal for the next step.
                    if (_o.Method == GradientFlowMethod.DormandPrince45)
                    {
                        // Gustafsson PI control as in dopri5: fac = err^{α} / errOld^{β}, α = 0.2 − 0.75β, β = 0.04.
                        const double beta = 0.04, alpha = 0.2 - 0.75 * beta;
                        double fac = Math.Pow(Math.Max(err, 1e-300), alpha) / Math.Pow(errOld, beta);
                        fac = Math.Clamp(fac / 0.9, 0.1, 5.0); // h_new ∈ [h/5, 10h]
                        double hNew = h / fac;
                        if (lastRejected) hNew = Math.Min(hNew, h);
                        _h = Math.Min(hNew, _o.MaxStep);
                        errOld = Math.Max(err, 1e-4);
                    }
                    else if (_o.Method == GradientFlowMethod.Rosenbrock23)
                    {
                        double fac = Math.Min(5.0, 0.8 * Math.Pow(Math.Max(err, 1e-300), -1.0 / 3.0));
                        _h = Math.Min(lastRejected ? Math.Min(h * fac, h) : h * fac, _o.MaxStep);
                        _jacobianValid = false; // new point: new Jacobian
                    }
                    lastRejected = false;

                    var stop = AfterStep();
                    if (stop is { } s) return Finish(s);
                }
                else
                {
                    _rejected++;
                    lastRejected = true;
                    if (_o.Method == GradientFlowMethod.DormandPrince45)
                        _h = h / Math.Min(5.0, Math.Pow(err, 0.2 - 0.75 * 0.04) / 0.9);
                    else
                        _h = h * Math.Max(0.2, 0.8 * Math.Pow(err, -1.0 / 3.0));
                }
            }
        }

        private GradientFlowStatus? AfterStep()
        {
            double g = Norm(_fY);
            double dist = Distance(_y);
            var rec = new GradientFlowRecord(_t, _j, g, dist, _accepted);
            bool allEscaped = (_o.EscapeDistance is null || _tauDistance is not null) && (_o.EscapeLossChange is null || _tauLoss is not null);
            if (_o.StopAtEscape && allEscaped) return GradientFlowStatus.Escaped;
            if (_o.GradientNormTolerance > 0 && g <= _o.GradientNormTolerance) return GradientFlowStatus.Converged;
            if (_o.StopWhen is { } cond && cond(in rec, _y)) return GradientFlowStatus.StoppedByCondition;
            return null;
        }

        private void AcceptStep(double h)
        {
            double tOld = _t, tNew = _t + h;
            if (Math.Abs(_o.EndTime - tNew) <= 1e-14 * Math.Max(1, _o.EndTime)) tNew = _o.EndTime;
            // Events and outputs use the interpolant between (_y, _t) and (_yNew, tNew), before the state moves on.
            if (_o.EscapeDistance is { } delta && _tauDistance is null) LocateDistanceEscape(tOld, tNew, h, delta);
            if (_o.EscapeLossChange is { } dl && _tauLoss is null && Math.Abs(_jNew - _j0) > dl) _tauLoss = LocateLossEscape(tOld, h, dl);
            var outputs = _o.OutputTimes;
            while (outputs != null && _nextOutput < outputs.Length && outputs[_nextOutput] <= tNew)
            {
                double tau = outputs[_nextOutput++];
                Interpolate((tau - tOld) / h, h, _interp);
                double loss = Eval(_interp, _scratch);
                _samples.Add(new GradientFlowSample(tau, loss, (double[])_interp.Clone()));
            }
            _yNew.CopyTo(_y, 0);
            _fNew.CopyTo(_fY, 0);
            _j = _jNew;
            _t = tNew;
            _accepted++;
            bool last = _t >= _o.EndTime;
            bool keep = _o.RecordEvery > 0 && _accepted % _o.RecordEvery == 0 && (_o.RecordTimeRatio <= 1 || _t >= _lastRecordTime * _o.RecordTimeRatio);
            if (keep || last) Record();
        }

        private void Record()
        {
            _records.Add(new GradientFlowRecord(_t, _j, Norm(_fY), Distance(_y), _accepted));
            _lastRecordTime = _t;
        }

        // τ₀: g(σ) = ‖θ(σ) − θ₀‖ − δ; sampled at interior points of the interpolant so a crossing that
        // returns below δ within one step is not missed, then refined in the first bracket.
        private void LocateDistanceEscape(double tOld, double tNew, double h, double delta)
        {
            const int samples = 4;
            double sPrev = 0, gPrev = Distance(_y) - delta;
            for (int i = 1; i <= samples; i++)
            {
                double s = (double)i / samples;
                double g;
                if (i == samples) g = Distance(_yNew) - delta;
                else { Interpolate(s, h, _interp); g = Distance(_interp) - delta; }
                if (g > 0)
                {
                    double root = Illinois(sPrev, gPrev, s, g, h, tOld, sigma =>
                    {
                        Interpolate(sigma, h, _interp);
                        return Distance(_interp) - delta;
                    });
                    _tauDistance = Math.Min(tOld + root * h, tNew);
                    return;
                }
                sPrev = s; gPrev = g;
            }
        }

        // τ₀′: g(σ) = |J(θ(σ)) − J(θ₀)| − δ; each trial costs one objective call, so only step ends are
        // screened (J is monotone along the flow, so a crossing cannot hide inside a step).
        private double LocateLossEscape(double tOld, double h, double delta)
        {
            double g0 = Math.Abs(_j - _j0) - delta, g1 = Math.Abs(_jNew - _j0) - delta;
            double root = Illinois(0, g0, 1, g1, h, tOld, sigma =>
            {
                Interpolate(sigma, h, _interp);
                return Math.Abs(Eval(_interp, _scratch) - _j0) - delta;
            });
            return tOld + root * h;
        }

        // Illinois variant of regula falsi on σ ∈ [a, b] with g(a) ≤ 0 < g(b); returns the smallest σ found with g > 0
        // side bracketed to the event tolerance (τ accuracy: EventTolerance · max(1, τ)).
        private double Illinois(double a, double ga, double b, double gb, double h, double tOld, Func<double, double> g)
        {
            double tol = _o.EventTolerance * Math.Max(1, Math.Abs(tOld + h)) / h;
            int side = 0;
            for (int iter = 0; iter < 200 && b - a > tol; iter++)
            {
                double c = (a * gb - b * ga) / (gb - ga);
                // Keep the trial point strictly inside, and bisect if regula falsi stalls near an end.
                double margin = 0.5 * tol;
                if (!(c > a + margin && c < b - margin)) c = 0.5 * (a + b);
                double gc = g(c);
                if (gc > 0)
                {
                    b = c; gb = gc;
                    if (side == -1) ga *= 0.5;
                    side = -1;
                }
                else
                {
                    a = c; ga = gc;
                    if (side == 1) gb *= 0.5;
                    side = 1;
                }
            }
            return b;
        }

        private void Interpolate(double sigma, double h, Span<double> dest)
        {
            switch (_o.Method)
            {
                case GradientFlowMethod.DormandPrince45:
                {
                    Span<double> q = stackalloc double[7];
                    double s1 = sigma, s2 = s1 * sigma, s3 = s2 * sigma, s4 = s3 * sigma;
                    for (int k = 0; k < 7; k++) q[k] = h * (P[k, 0] * s1 + P[k, 1] * s2 + P[k, 2] * s3 + P[k, 3] * s4);
                    double[] k1 = _k[0], k3 = _k[2], k4 = _k[3], k5 = _k[4], k6 = _k[5], k7 = _k[6];
                    for (int i = 0; i < _n; i++)
                        dest[i] = _y[i] + q[0] * k1[i] + q[2] * k3[i] + q[3] * k4[i] + q[4] * k5[i] + q[5] * k6[i] + q[6] * k7[i];
                    break;
                }
                case GradientFlowMethod.RungeKutta4:
                {
                    // Cubic Hermite on (θ₀, F₀), (θ₁, F₁).
                    double s = sigma, s2 = s * s, s3 = s2 * s;
                    double h00 = 2 * s3 - 3 * s2 + 1, h10 = s3 - 2 * s2 + s, h01 = -2 * s3 + 3 * s2, h11 = s3 - s2;
                    for (int i = 0; i < _n; i++)
                        dest[i] = h00 * _y[i] + h * h10 * _fY[i] + h01 * _yNew[i] + h * h11 * _fNew[i];
                    break;
                }
                default:
                {
                    // ode23s interpolant: θ + h[σ(1−σ)/(1−2d) k₁ + σ(σ−2d)/(1−2d) k₂].
                    double d = RosD, w1 = sigma * (1 - sigma) / (1 - 2 * d), w2 = sigma * (sigma - 2 * d) / (1 - 2 * d);
                    double[] k1 = _k[0], k2 = _k[1];
                    for (int i = 0; i < _n; i++) dest[i] = _y[i] + h * (w1 * k1[i] + w2 * k2[i]);
                    break;
                }
            }
        }

        // One Dormand–Prince trial step of size h from (_y, _fY); writes _yNew, _fNew, _jNew and returns the scaled error.
        private double TryDormandPrince(double h)
        {
            double[] y = _y, k1 = _k[0], k2 = _k[1], k3 = _k[2], k4 = _k[3], k5 = _k[4], k6 = _k[5], k7 = _k[6], ys = _yStage;
            _fY.CopyTo(k1, 0);
            for (int i = 0; i < _n; i++) ys[i] = y[i] + h * A21 * k1[i];
            if (!double.IsFinite(Eval(ys, k2))) return double.NaN;
            for (int i = 0; i < _n; i++) ys[i] = y[i] + h * (A31 * k1[i] + A32 * k2[i]);
            if (!double.IsFinite(Eval(ys, k3))) return double.NaN;
            for (int i = 0; i < _n; i++) ys[i] = y[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i]);
            if (!double.IsFinite(Eval(ys, k4))) return double.NaN;
            for (int i = 0; i < _n; i++) ys[i] = y[i] + h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]);
            if (!double.IsFinite(Eval(ys, k5))) return double.NaN;
            for (int i = 0; i < _n; i++) ys[i] = y[i] + h * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i]);
            if (!double.IsFinite(Eval(ys, k6))) return double.NaN;
            for (int i = 0; i < _n; i++) _yNew[i] = y[i] + h * (A71 * k1[i] + A73 * k3[i] + A74 * k4[i] + A75 * k5[i] + A76 * k6[i]);
            _jNew = Eval(_yNew, k7); // FSAL: the slope at the new point is the next step's k₁
            if (!IsFinite(_jNew, k7)) return double.NaN;
            k7.CopyTo(_fNew, 0);
            double sum = 0;
            for (int i = 0; i < _n; i++)
            {
                double e = h * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * k7[i]);
                double sc = _o.AbsoluteTolerance + _o.RelativeTolerance * Math.Max(Math.Abs(y[i]), Math.Abs(_yNew[i]));
                sum += (e / sc) * (e / sc);
            }
            return Math.Sqrt(sum / _n);
        }

        // One classical RK4 step; "error" 0 (always accepted) unless the loss became non-finite.
        private double TryRungeKutta4(double h)
        {
            double[] y = _y, k1 = _fY, k2 = _k[1], k3 = _k[2], k4 = _k[3], ys = _yStage;
            for (int i = 0; i < _n; i++) ys[i] = y[i] + 0.5 * h * k1[i];
            if (!double.IsFinite(Eval(ys, k2))) return double.NaN;
            for (int i = 0; i < _n; i++) ys[i] = y[i] + 0.5 * h * k2[i];
            if (!double.IsFinite(Eval(ys, k3))) return double.NaN;
            for (int i = 0; i < _n; i++) ys[i] = y[i] + h * k3[i];
            if (!double.IsFinite(Eval(ys, k4))) return double.NaN;
            for (int i = 0; i < _n; i++) _yNew[i] = y[i] + h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
            _jNew = Eval(_yNew, _fNew);
            return IsFinite(_jNew, _fNew) ? 0 : double.NaN;
        }

        // One Rosenbrock 2(3) step (ode23s) with W = I − h·d·∂F/∂θ = I + h·d·∇²J.
        private double TryRosenbrock(double h)
        {
            if (!_jacobianValid)
            {
                Hessian.Compute(_f, _y, _jac, _o.JacobianStep, HessianStencil.TwoPoint);
                _evaluations += 2L * _n;
                _jacobianValid = true;
            }
            double d = RosD;
            for (int i = 0; i < _n * _n; i++) _lu[i] = h * d * _jac[i];
            for (int i = 0; i < _n; i++) _lu[i * _n + i] += 1.0;
            if (!DenseLu.Factor(_lu, _pivots, _n)) return double.NaN;
            double[] k1 = _k[0], k2 = _k[1], k3 = _k[2], y = _y, f0 = _fY, f1 = _scratch, ys = _yStage;
            f0.CopyTo(k1, 0);
            DenseLu.Solve(_lu, _pivots, _n, k1);
            for (int i = 0; i < _n; i++) ys[i] = y[i] + 0.5 * h * k1[i];
            if (!double.IsFinite(Eval(ys, f1))) return double.NaN;
            for (int i = 0; i < _n; i++) k2[i] = f1[i] - k1[i];
            DenseLu.Solve(_lu, _pivots, _n, k2);
            for (int i = 0; i < _n; i++) { k2[i] += k1[i]; _yNew[i] = y[i] + h * k2[i]; }
            _jNew = Eval(_yNew, _fNew);
            if (!IsFinite(_jNew, _fNew)) return double.NaN;
            for (int i = 0; i < _n; i++) k3[i] = _fNew[i] - RosE32 * (k2[i] - f1[i]) - 2 * (k1[i] - f0[i]);
            DenseLu.Solve(_lu, _pivots, _n, k3);
            double sum = 0;
            for (int i = 0; i < _n; i++)
            {
                double e = h / 6 * (k1[i] - 2 * k2[i] + k3[i]);
                double sc = _o.AbsoluteTolerance + _o.RelativeTolerance * Math.Max(Math.Abs(y[i]), Math.Abs(_yNew[i]));
                sum += (e / sc) * (e / sc);
            }
            return Math.Sqrt(sum / _n);
        }

        // Hairer's starting step (HNW I, §II.4): h₀ from ‖θ‖/‖F‖, refined by a second-derivative estimate, for order 5 (or 2).
        private double InitialStepGuess()
        {
            int order = _o.Method == GradientFlowMethod.Rosenbrock23 ? 2 : 5;
            double d0 = 0, d1 = 0;
            for (int i = 0; i < _n; i++)
            {
                double sc = _o.AbsoluteTolerance + _o.RelativeTolerance * Math.Abs(_y[i]);
                d0 += (_y[i] / sc) * (_y[i] / sc);
                d1 += (_fY[i] / sc) * (_fY[i] / sc);
            }
            d0 = Math.Sqrt(d0 / _n); d1 = Math.Sqrt(d1 / _n);
            double h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
            h0 = Math.Min(h0, _o.EndTime);
            for (int i = 0; i < _n; i++) _yStage[i] = _y[i] + h0 * _fY[i];
            Eval(_yStage, _scratch);
            double d2 = 0;
            for (int i = 0; i < _n; i++)
            {
                double sc = _o.AbsoluteTolerance + _o.RelativeTolerance * Math.Abs(_y[i]);
                double v = (_scratch[i] - _fY[i]) / sc;
                d2 += v * v;
            }
            d2 = Math.Sqrt(d2 / _n) / h0;
            double dm = Math.Max(d1, d2);
            double h1 = !(dm > 1e-15) ? Math.Max(1e-6, h0 * 1e-3) : Math.Pow(0.01 / dm, 1.0 / (order + 1));
            return Math.Min(Math.Min(100 * h0, h1), _o.MaxStep);
        }

        private GradientFlowResult Finish(GradientFlowStatus status)
        {
            if (_records.Count == 0 || _records[^1].Step != _accepted) Record();
            return new GradientFlowResult
            {
                Status = status,
                FinalTime = _t,
                FinalTheta = (double[])_y.Clone(),
                InitialLoss = _j0,
                FinalLoss = _j,
                EscapeTimeDistance = _tauDistance,
                EscapeTimeLoss = _tauLoss,
                Records = _records,
                Samples = _samples,
                AcceptedSteps = _accepted,
                RejectedSteps = _rejected,
                Evaluations = _evaluations,
            };
        }

        private double Distance(ReadOnlySpan<double> y)
        {
            double s = 0;
            for (int i = 0; i < _n; i++) { double d = y[i] - _theta0[i]; s += d * d; }
            return Math.Sqrt(s);
        }

        private static double Norm(ReadOnlySpan<double> v)
        {
            double s = 0;
            foreach (var x in v) s += x * x;
            return Math.Sqrt(s);
        }

        private static bool IsFinite(double j, ReadOnlySpan<double> g)
        {
            if (!double.IsFinite(j)) return false;
            foreach (var x in g) if (!double.IsFinite(x)) return false;
            return true;
        }
    }
}

/// <summary>In-place dense LU with partial pivoting for the small linear systems of implicit steps.</summary>
internal static class DenseLu
{
    /// <summary>Factors the row-major n×n <paramref name="a"/> in place; false when it is singular to working precision.</summary>
    public static bool Factor(double[] a, int[] pivots, int n)
    {
        for (int k = 0; k < n; k++)
        {
            int p = k;
            double best = Math.Abs(a[k * n + k]);
            for (int i = k + 1; i < n; i++)
                if (Math.Abs(a[i * n + k]) > best) { best = Math.Abs(a[i * n + k]); p = i; }
            if (!(best > 0) || !double.IsFinite(best)) return false;
            pivots[k] = p;
            if (p != k)
                for (int j = 0; j < n; j++) (a[k * n + j], a[p * n + j]) = (a[p * n + j], a[k * n + j]);
            double inv = 1.0 / a[k * n + k];
            for (int i = k + 1; i < n; i++)
            {
                double l = a[i * n + k] *= inv;
                if (l == 0) continue;
                for (int j = k + 1; j < n; j++) a[i * n + j] -= l * a[k * n + j];
            }
        }
        return true;
    }

    /// <summary>Solves A x = b in place in <paramref name="b"/> with the factors from <see cref="Factor"/>.</summary>
    public static void Solve(double[] lu, int[] pivots, int n, Span<double> b)
    {
        for (int k = 0; k < n; k++)
        {
            int p = pivots[k];
            if (p != k) (b[k], b[p]) = (b[p], b[k]);
        }
        for (int i = 1; i < n; i++)
        {
            double s = b[i];
            for (int j = 0; j < i; j++) s -= lu[i * n + j] * b[j];
            b[i] = s;
        }
        for (int i = n - 1; i >= 0; i--)
        {
            double s = b[i];
            for (int j = i + 1; j < n; j++) s -= lu[i * n + j] * b[j];
            b[i] = s / lu[i * n + i];
        }
    }
}
