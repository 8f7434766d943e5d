using MemoryLab.Analysis;
using MemoryLab.Numerics;
using Xunit;

namespace MemoryLab.Tests.Analysis;

public class TrainedApproximantTests
{
    private static readonly Func<double, double> Pol = t => Math.Pow(1 + 0.1 * t, -1.1);

    [Fact]
    public void LossWeightsAreTheExpectedTemporallyWeightedMeanSquare()
    {
        // p = 0: ω_t = 1, so Ω_k = (T − k)/T (lag k is seen at the T − k times t ≥ k).
        var flat = ResidualRnnKernelObjective.LossWeights(5, 0);
        for (int k = 0; k < 5; k++) Assert.Equal((5.0 - k) / 5, flat[k], 14);
        // p = 2, T = 3: ω ∝ (1/16, 4/16, 9/16) = (1, 4, 9)/14 · 3; Ω_2 = ω_2²/3, Ω_0 = Σω²/3.
        var w = new[] { 3.0 / 14, 12.0 / 14, 27.0 / 14 };
        var om = ResidualRnnKernelObjective.LossWeights(3, 2);
        Assert.Equal(w[2] * w[2] / 3, om[2], 14);
        Assert.Equal((w[0] * w[0] + w[1] * w[1] + w[2] * w[2]) / 3, om[0], 14);
    }

    [Fact]
    public void LossMatchesMonteCarloOfTheSampledTask()
    {
        // The expected loss equals the mean over i.i.d. N(0, 1) input sequences of the weighted mean square (1/T)Σ ω_t²(ŷ_t − y_t)²
        // with y = ρ * x and ŷ the residual recurrence run step by step.
        int m = 3, T = 20;
        var map = RateParametrisation.Softplus;
        var o = new ResidualRnnKernelObjective(Pol, m, T, map, training: false);
        double[] theta = [0.7, -0.4, 1.1, 0.5, 0.9, -0.3, -1.0, 0.2, -2.5];
        double exact = o.Evaluate(theta, Span<double>.Empty);
        var omega = new double[T]; double sum = 0;
        for (int t = 0; t < T; t++) { omega[t] = Math.Pow((t + 1.0) / (T + 1), 2); sum += omega[t]; }
        for (int t = 0; t < T; t++) omega[t] *= T / sum;
        var rng = new CounterRng(5, RandomPurpose.Data);
        int n = 40000; double mc = 0, mc2 = 0;
        var x = new double[T]; var h = new double[m];
        for (int s = 0; s < n; s++)
        {
            for (int t = 0; t < T; t++) x[t] = rng.NextNormal();
            Array.Clear(h);
            double l = 0;
            for (int t = 0; t < T; t++)
            {
                double yhat = 0, y = 0;
                for (int i = 0; i < m; i++) { h[i] += theta[i] * x[t] - map.Rate(theta[2 * m + i]) * h[i]; yhat += theta[m + i] * h[i]; }
                for (int k = 0; k <= t; k++) y += Pol(k) * x[t - k];
                l += omega[t] * omega[t] * (yhat - y) * (yhat - y);
            }
            l /= T; mc += l; mc2 += l * l;
        }
        mc /= n;
        double sem = Math.Sqrt((mc2 / n - mc * mc) / n);
        Assert.InRange(exact, mc - 4 * sem, mc + 4 * sem);
    }

    [Theory]
    [InlineData("direct")]
    [InlineData("exp")]
    [InlineData("softplus")]
    public void GradientMatchesFiniteDifferences(string mapName)
    {
        // Training form (ReLU on the direct map, margin penalty active: the smallest positive rate is below 1) and evaluation form.
        var map = RateParametrisation.Parse(mapName);
        double[] theta = [0.7, -0.4, 1.1, 0.5, 0.9, -0.3, 0.35, -0.05, 0.6];
        foreach (bool training in new[] { true, false })
        {
            var o = new ResidualRnnKernelObjective(Pol, 3, 100, map, training, marginPenalty: 0.05);
            var r = GradientCheck.Check(o, theta, step: 1e-4); // the unstable λ = 1.05 mode makes J ~ 10^4: a larger step keeps rounding small
            Assert.True(r.MaxRelativeError < 1e-7, $"{mapName}, training={training}: {r}");
        }
        // The penalty is there: the training form exceeds the evaluation form by κ(1 − smallest positive rate).
        var tr = new ResidualRnnKernelObjective(Pol, 3, 100, map, training: true, marginPenalty: 0.05);
        var ev = new ResidualRnnKernelObjective(Pol, 3, 100, map, training: false);
        double smallest = new[] { 0.35, -0.05, 0.6 }.Select(v => mapName == "direct" ? v : map.Rate(v)).Where(r => r > 0).Min();
        if (mapName == "direct")
        {
            // ReLU: the negative v is a frozen integrator (λ = 1) in training, an unstable λ = 1.05 in the evaluation form.
            Assert.NotEqual(tr.Evaluate(theta, Span<double>.Empty) - 0.05 * (1 - smallest), ev.Evaluate(theta, Span<double>.Empty));
            var relu = ev.Evaluate(tr.ToEvaluationForm(theta), Span<double>.Empty);
            Assert.Equal(tr.Evaluate(theta, Span<double>.Empty) - 0.05 * (1 - smallest), relu, 12);
        }
        else Assert.Equal(tr.Evaluate(theta, Span<double>.Empty) - 0.05 * (1 - smallest), ev.Evaluate(theta, Span<double>.Empty), 12);
    }

    [Fact]
    public void TrainingReachesAnExactlyRepresentableTarget()
    {
        // ρ(k) = 0.5^k is one mode (r = 0.5): a width-1 softplus model trained without the penalty reaches loss ≈ 0 from J(θ₀) ~ 0.3.
        var o = new ResidualRnnKernelObjective(k => Math.Pow(0.5, k), 1, 100, RateParametrisation.Softplus, training: true, marginPenalty: 0);
        double[] theta0 = [0.8, 0.3, 0.0];
        double j0 = ApproximantTraining.TestLoss(o, theta0);
        var r = ApproximantTraining.Train(o, theta0, 0, new ApproximantTrainingOptions { MaxEpochs = 40 });
        Assert.True(j0 > 0.1, $"initial loss {j0}");
        Assert.True(r.Loss < 1e-10, $"final loss {r.Loss}");
        Assert.False(r.Reached);
        Assert.Equal(40, r.Epochs);
        Assert.Equal(0.5, RateParametrisation.Softplus.Rate(r.Theta[2]), 4);
        Assert.Equal(1.0, r.Theta[0] * r.Theta[1], 4);
    }

    [Fact]
    public void StoppingRuleStopsAtTheFirstEpochBelowHalfThePreviousWidthsLoss()
    {
        var options = new ApproximantTrainingOptions { MaxEpochs = 60, Seed = 7 };
        var seq = ApproximantTraining.TrainSequence(m => new ResidualRnnKernelObjective(Pol, m, 100, RateParametrisation.Softplus, training: true), [2, 4, 6], options);
        // The first width's threshold is 100: any loss is below it, so it stops after the minimum 2 epochs.
        Assert.Equal(100, seq[0].Threshold);
        Assert.Equal(2, seq[0].Epochs);
        for (int i = 1; i < seq.Count; i++)
        {
            Assert.Equal(0.5 * seq[i - 1].Loss, seq[i].Threshold, 15);
            if (seq[i].Reached) Assert.True(seq[i].Loss < seq[i].Threshold);
            else Assert.Equal(60, seq[i].Epochs);
        }
        // Stopped at the first epoch below the threshold: one epoch fewer does not get there.
        var o = new ResidualRnnKernelObjective(Pol, 4, 100, RateParametrisation.Softplus, training: true);
        var theta0 = ApproximantTraining.Initialise(4, new CounterRng(7, RandomPurpose.Init).Fork(4));
        if (seq[1].Reached && seq[1].Epochs > 2)
        {
            var shorter = ApproximantTraining.Train(o, theta0, seq[1].Threshold, options with { MaxEpochs = seq[1].Epochs - 1 });
            Assert.False(shorter.Reached);
            Assert.True(shorter.Loss >= seq[1].Threshold);
        }
        // Deterministic by seed.
        var again = ApproximantTraining.TrainSequence(m => new ResidualRnnKernelObjective(Pol, m, 100, RateParametrisation.Softplus, training: true), [2, 4, 6], options);
        for (int i = 0; i < seq.Count; i++) Assert.Equal(seq[i].Theta, again[i].Theta);
    }

    [Fact]
    public void ExpMapStartsAtStableSsmsRateAndTrainsWhereANormalDrawOverflows()
    {
        // Exponential target, exp map, width 2 with biases, seed 1: the N(0, 1) draw gives v = (2.388, −1.534), so e^v ≈ 10.9 and
        // λ = 1 − e^v ≈ −9.9; the kernel grows like |λ|^k, J ≈ 2·10^191, its gradient norm overflows and the clipped step is 0, so
        // the width never trains (what wang24-stable-approximation's quick run showed before). StableSSM's initial rate 0.5
        // (λ = 0.5) trains it below the zero model.
        ResidualRnnKernelObjective Make(int m) => new(k => Math.Exp(-k), m, 100, RateParametrisation.Exp, training: true, biased: true);
        var o = Make(2);
        var randn = new ApproximantTrainingOptions { Seed = 1, MaxEpochs = 3, ExpInitialRate = null };
        var drawn = ApproximantTraining.Initialise(o, new CounterRng(1, RandomPurpose.Init).Fork(2), randn);
        Assert.True(ApproximantTraining.TestLoss(o, drawn) > 1e100, "the regression's seed no longer draws an overflowing rate");
        var stuck = ApproximantTraining.TrainSequence(Make, [2], randn);
        Assert.False(stuck[0].Loss < o.ZeroModelLoss);

        var options = randn with { ExpInitialRate = 0.5 };
        Assert.Equal(0.5, new ApproximantTrainingOptions().ExpInitialRate); // the default is StableSSM's
        var start = ApproximantTraining.Initialise(o, new CounterRng(1, RandomPurpose.Init).Fork(2), options);
        for (int i = 0; i < 2; i++) Assert.Equal(0.5, Math.Exp(start[4 + i]), 15);
        for (int i = 0; i < start.Length; i++) if (i is not (4 or 5)) Assert.Equal(drawn[i], start[i]); // only v changes
        var fit = ApproximantTraining.TrainSequence(Make, [2], options);
        Assert.True(double.IsFinite(fit[0].Loss) && fit[0].Loss < 1e-3 * o.ZeroModelLoss, $"loss {fit[0].Loss}, zero model {o.ZeroModelLoss}");
        for (int i = 0; i < 2; i++) Assert.InRange(Math.Exp(fit[0].Theta[4 + i]), 0, 2); // |λ| < 1
        Assert.Throws<ArgumentException>(() => (options with { ExpInitialRate = 0 }).Validate());
    }

    [Fact]
    public void SampledLossFormEqualsTheLossOfTheModelRunOnTheSequences()
    {
        // δᵀMδ over a set of sequences equals (1/(N·T)) Σ_n Σ_t ω_t² (ŷ − y)² with ŷ the residual recurrence run step by step and
        // y = ρ * x (the authors' twe_MSE on their sampled data), to round-off.
        int m = 3, T = 20, n = 7;
        var map = RateParametrisation.Softplus;
        double[] theta = [0.7, -0.4, 1.1, 0.5, 0.9, -0.3, -1.0, 0.2, -2.5];
        var x = new double[n * T];
        new CounterRng(11, RandomPurpose.Data).FillNormal<double>(x);
        var o = new ResidualRnnKernelObjective(Pol, m, T, map, training: false) { Metric = KernelLossMetric.Sampled(x, n, T, 2) };
        double form = o.Evaluate(theta, Span<double>.Empty);
        var omega = new double[T]; double sum = 0;
        for (int t = 0; t < T; t++) { omega[t] = Math.Pow((t + 1.0) / (T + 1), 2); sum += omega[t]; }
        for (int t = 0; t < T; t++) omega[t] *= T / sum;
        double direct = 0;
        var h = new double[m];
        for (int s = 0; s < n; s++)
        {
            Array.Clear(h);
            for (int t = 0; t < T; t++)
            {
                double yhat = 0, y = 0;
                for (int i = 0; i < m; i++) { h[i] += theta[i] * x[s * T + t] - map.Rate(theta[2 * m + i]) * h[i]; yhat += theta[m + i] * h[i]; }
                for (int k = 0; k <= t; k++) y += Pol(k) * x[s * T + t - k];
                direct += omega[t] * omega[t] * (yhat - y) * (yhat - y);
            }
        }
        direct /= n * T;
        Assert.Equal(direct, form, 1e-12 * direct);
        // The zero model's loss is ρᵀMρ, the mean weighted square of the targets.
        Assert.True(o.ZeroModelLoss > 0);
    }

    [Theory]
    [InlineData("direct")]
    [InlineData("softplus")]
    public void GradientUnderASampledLossFormMatchesFiniteDifferences(string mapName)
    {
        var map = RateParametrisation.Parse(mapName);
        double[] theta = [0.7, -0.4, 1.1, 0.5, 0.9, -0.3, 0.35, 0.05, 0.6];
        var data = ApproximantData.Sample(64, 16, 16, 32, 100, 2, seed: 3);
        foreach (bool training in new[] { true, false })
        {
            var o = new ResidualRnnKernelObjective(Pol, 3, 100, map, training, marginPenalty: 0.05) { Metric = data.Batches[1] };
            var r = GradientCheck.Check(o, theta, step: 1e-5);
            Assert.True(r.MaxRelativeError < 1e-7, $"{mapName}, training={training}: {r}");
        }
    }

    [Fact]
    public void MinibatchTrainingIsDeterministicAndMonitorsTheValidationLoss()
    {
        var data = ApproximantData.Sample(256, 64, 64, 64, 50, 2, seed: 5);
        Assert.Equal(4, data.Batches.Count);
        var options = new ApproximantTrainingOptions { MaxEpochs = 20, Seed = 9 };
        ResidualRnnKernelObjective Make(int m) => new(Pol, m, 50, RateParametrisation.Softplus, training: true);
        var a = ApproximantTraining.TrainSequence(Make, [2, 4], options, data);
        var b = ApproximantTraining.TrainSequence(Make, [2, 4], options, data);
        for (int i = 0; i < a.Count; i++) Assert.Equal(a[i].Theta, b[i].Theta);
        // The recorded loss is the validation loss of the kept parameters (the authors' val/loss), not the expected one.
        var o = Make(4);
        double val = ApproximantTraining.FitLoss(o, a[1].Theta, data.Validation);
        Assert.Equal(a[1].Loss, val, 1e-12 * val);
        Assert.NotEqual(ApproximantTraining.FitLoss(o, a[1].Theta), val);
        // Minibatch and expected gradients take different paths from the same start.
        var e = ApproximantTraining.TrainSequence(Make, [2, 4], options);
        Assert.NotEqual(e[1].Theta, a[1].Theta);
        Assert.Throws<ArgumentException>(() => ApproximantData.Sample(100, 10, 10, 64, 50, 2, seed: 1));
    }

    [Fact]
    public void RotatedRecurrenceGradientMatchesFiniteDifferencesAndEqualsTheDiagonalModelInItsEigenbasis()
    {
        // The authors' softplus model with its basis P (θ = (u, c, v, P)): float64 finite differences on every parameter, under the
        // expected and a sampled loss form, training form (margin penalty active) and evaluation form.
        int m = 3;
        var map = RateParametrisation.Softplus;
        var theta = ApproximantTraining.Initialise(m, new CounterRng(4, RandomPurpose.Init), rotated: true);
        Assert.Equal(3 * m + m * m, theta.Length);
        theta[2 * m] = -0.5; // softplus(−0.5) ≈ 0.47 < 1: the penalty is active
        for (int k = 3 * m; k < theta.Length; k++) theta[k] += 0.1 * Math.Sin(k); // P no longer orthogonal, as after training
        var data = ApproximantData.Sample(32, 8, 8, 32, 60, 2, seed: 2);
        foreach (bool training in new[] { true, false })
            foreach (var metric in new[] { KernelLossMetric.Expected(60, 2), data.Batches[0] })
            {
                var o = new ResidualRnnKernelObjective(Pol, m, 60, map, training, marginPenalty: 0.05, rotated: true) { Metric = metric };
                // J ≈ 12 on the small batch: a step of 10^−3 keeps the differences' rounding (≈ 10^−16·J/h) below the tolerance;
                // the truncation error shrinks as h² (3·10^−9 at 10^−3, 1.3·10^−8 at 10^−4 is rounding already).
                var r = GradientCheck.Check(o, theta, step: 1e-3);
                Assert.True(r.MaxRelativeError < 1e-7, $"training={training}, sampled={!metric.IsExpected}: {r}");
            }
        // P orthogonal at the start (Gram–Schmidt QR).
        var p0 = ApproximantTraining.Initialise(m, new CounterRng(4, RandomPurpose.Init), rotated: true).AsSpan(3 * m);
        for (int a = 0; a < m; a++)
            for (int b = 0; b < m; b++)
            {
                double dot = 0;
                for (int i = 0; i < m; i++) dot += p0[i * m + a] * p0[i * m + b];
                Assert.Equal(a == b ? 1 : 0, dot, 12);
            }
        // With P orthogonal the kernel is that of the diagonal model with u' = P u, c' = P c and the same rates: a change of basis.
        var start = ApproximantTraining.Initialise(m, new CounterRng(4, RandomPurpose.Init), rotated: true);
        var rot = new ResidualRnnKernelObjective(Pol, m, 60, map, training: false, rotated: true);
        var diag = new ResidualRnnKernelObjective(Pol, m, 60, map, training: false);
        var d = new double[3 * m];
        for (int i = 0; i < m; i++)
        {
            for (int b = 0; b < m; b++) { d[i] += start[3 * m + i * m + b] * start[b]; d[m + i] += start[3 * m + i * m + b] * start[m + b]; }
            d[2 * m + i] = start[2 * m + i];
        }
        var k1 = rot.Kernel(start); var k2 = diag.Kernel(d);
        for (int k = 0; k < 60; k++) Assert.Equal(k2[k], k1[k], 1e-13);
        // The diagonal form's u, c, v are drawn first, so they do not depend on whether P follows.
        Assert.Equal(ApproximantTraining.Initialise(m, new CounterRng(4, RandomPurpose.Init)), start[..(3 * m)]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ModelWithBiasesMatchesItsRunOnTheSequencesAndFiniteDifferences(bool rotated)
    {
        // The authors' model with the encoder's bias b and the decoder's b₀ (h_{k+1} = h_k + u x_k + b − PᵀDP h_k, ŷ_k = cᵀh_{k+1} + b₀):
        // the sampled loss form equals the model run step by step on the sequences, and the gradient matches float64 finite
        // differences on every parameter (u, c, v, P, b, b₀), expected and sampled, training and evaluation form.
        int m = 3, T = 20, n = 5;
        var map = RateParametrisation.Softplus;
        var theta = ApproximantTraining.Initialise(m, new CounterRng(8, RandomPurpose.Init), rotated, biased: true);
        Assert.Equal(3 * m + (rotated ? m * m : 0) + m + 1, theta.Length);
        theta[2 * m + 1] = -0.7; // an active margin penalty
        var x = new double[n * T];
        new CounterRng(12, RandomPurpose.Data).FillNormal<double>(x);
        var metric = KernelLossMetric.Sampled(x, n, T, 2);
        var o = new ResidualRnnKernelObjective(Pol, m, T, map, training: false, rotated: rotated, biased: true) { Metric = metric };
        double form = o.Evaluate(theta, Span<double>.Empty);
        var omega = new double[T]; double sum = 0;
        for (int t = 0; t < T; t++) { omega[t] = Math.Pow((t + 1.0) / (T + 1), 2); sum += omega[t]; }
        for (int t = 0; t < T; t++) omega[t] *= T / sum;
        // Recurrence matrix S = PᵀDP (or D).
        var sMat = new double[m, m];
        for (int a = 0; a < m; a++)
            for (int b = 0; b < m; b++)
                for (int i = 0; i < m; i++)
                {
                    double pa = rotated ? theta[3 * m + i * m + a] : (i == a ? 1 : 0), pb = rotated ? theta[3 * m + i * m + b] : (i == b ? 1 : 0);
                    sMat[a, b] += pa * map.Rate(theta[2 * m + i]) * pb;
                }
        int bo = o.BiasOffset;
        double direct = 0;
        for (int q = 0; q < n; q++)
        {
            var h = new double[m];
            for (int t = 0; t < T; t++)
            {
                var hn = new double[m];
                for (int a = 0; a < m; a++)
                {
                    double sh = 0;
                    for (int b = 0; b < m; b++) sh += sMat[a, b] * h[b];
                    hn[a] = h[a] + theta[a] * x[q * T + t] + theta[bo + a] - sh;
                }
                h = hn;
                double yhat = theta[bo + m], y = 0;
                for (int a = 0; a < m; a++) yhat += theta[m + a] * h[a];
                for (int k = 0; k <= t; k++) y += Pol(k) * x[q * T + t - k];
                direct += omega[t] * omega[t] * (yhat - y) * (yhat - y);
            }
        }
        direct /= n * T;
        Assert.Equal(direct, form, 1e-11 * direct);
        foreach (bool training in new[] { true, false })
            foreach (var mt in new[] { KernelLossMetric.Expected(T, 2), metric })
            {
                var og = new ResidualRnnKernelObjective(Pol, m, T, map, training, marginPenalty: 0.05, rotated: rotated, biased: true) { Metric = mt };
                var r = GradientCheck.Check(og, theta, step: 1e-4);
                Assert.True(r.MaxRelativeError < 1e-7, $"rotated={rotated}, training={training}, sampled={!mt.IsExpected}: {r}");
            }
    }
}
