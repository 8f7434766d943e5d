using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Theory;
using MemoryLab.Training;

namespace MemoryLab.Reproductions;

/// <summary>Small training loops shared by the Li21/Wang24 reproductions that need every step's loss.</summary>
public static class ReproductionTraining
{
    /// <summary>Trains <paramref name="model"/> (already initialised) on <paramref name="data"/> with Adam at a constant
    /// rate and the all-steps mean squared error; returns the loss of every step (training batches: data of step k are
    /// a pure function of (seed, k)).</summary>
    public static double[] TrainAdam(SequenceModel<double> model, ISequenceDataset<double> data, long steps, int batch, double learningRate,
        WorkerPool pool, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (steps < 1) throw new ArgumentException($"steps must be ≥ 1 (got {steps})");
        var objective = new SupervisedObjective<double>(model, data, MeanSquaredError<double>.AllSteps(), batch, pool);
        var optimizer = new Adam<double>(model.Layout);
        var recorder = new LossRecorder(steps);
        Trainer.Run(objective, model.Theta, optimizer, new ConstantSchedule(learningRate),
            new TrainerOptions { Steps = steps, LogEvery = 1 }, recorder, 0, cancel);
        return recorder.Losses;
    }

    /// <summary>
    /// Plain gradient descent θ ← θ − η∇J(θ) on an exact objective (Li21 Fig. 1 (a)/(b): linear RNN trained by GD on
    /// the population loss J). A step that would leave W non-Hurwitz (<see cref="UnstableModelException"/>) or raise the
    /// loss to a non-finite value is retried with η halved (at most 30 times) for that step only — a safeguard the
    /// continuous-time model needs because J is undefined outside the Hurwitz set; η itself never changes.
    /// Returns J before each step (length <paramref name="steps"/>) and leaves the final θ in <paramref name="theta"/>.
    /// </summary>
    public static double[] GradientDescent(IObjective<double> objective, double[] theta, long steps, double learningRate, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(theta);
        if (!(learningRate > 0)) throw new ArgumentException($"learning rate must be positive (got {learningRate})");
        var losses = new double[steps];
        var gradient = new double[objective.Dimension];
        var trial = new double[objective.Dimension];
        double loss = objective.Evaluate(theta, gradient);
        for (long s = 0; s < steps; s++)
        {
            cancel.ThrowIfCancellationRequested();
            losses[s] = loss;
            double eta = learningRate;
            bool moved = false;
            for (int attempt = 0; attempt < 30 && !moved; attempt++, eta *= 0.5)
            {
                for (int i = 0; i < trial.Length; i++) trial[i] = theta[i] - eta * gradient[i];
                try
                {
                    double next = objective.Evaluate(trial, Span<double>.Empty);
                    if (double.IsFinite(next)) moved = true;
                }
                catch (UnstableModelException) { }
                catch (InvalidOperationException) { } // Lyapunov solver: W too ill-conditioned at the trial point
            }
            if (!moved)
            {
                for (long r = s + 1; r < steps; r++) losses[r] = loss;
                break;
            }
            Array.Copy(trial, theta, theta.Length);
            loss = objective.Evaluate(theta, gradient);
        }
        return losses;
    }

    /// <summary>Steps 1, 2, … up to <paramref name="last"/> thinned to about <paramref name="perDecade"/> log-spaced
    /// steps per decade (every step while they are denser), for storing long loss curves.</summary>
    public static long[] LogSpacedSteps(long last, int perDecade = 40)
    {
        var steps = new List<long>();
        for (int k = 0; ; k++)
        {
            long s = Math.Max(steps.Count == 0 ? 1 : steps[^1] + 1, (long)Math.Round(Math.Pow(10, k / (double)perDecade)));
            if (s > last) break;
            steps.Add(s);
        }
        if (steps.Count == 0 || steps[^1] != last) steps.Add(last);
        return steps.ToArray();
    }

    private sealed class LossRecorder(long steps) : ITrainingObserver
    {
        public double[] Losses { get; } = Enumerable.Repeat(double.NaN, (int)steps).ToArray();
        public void OnStep(in StepRecord record)
        {
            if (record.Step >= 0 && record.Step < Losses.Length) Losses[record.Step] = record.Loss;
        }
    }
}
