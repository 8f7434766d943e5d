using System.Globalization;
using System.Numerics;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Training;

namespace MemoryLab.Experiments;

/// <summary>Floating-point precision of a training run.</summary>
public enum Precision
{
    /// <summary>float32: the speed of training.</summary>
    Float32,
    /// <summary>float64: for checks and small exact runs.</summary>
    Float64,
}

/// <summary>Which steps the training loss averages: every step's error, or the last step's only.</summary>
public enum TrainLoss
{
    /// <summary>½·mean over all steps and features of (ŷ − y)².</summary>
    AllSteps,
    /// <summary>½·mean over features of the last step's (ŷ − y)².</summary>
    LastStep,
}

/// <summary>A resolved training spec (see <see cref="TrainExperiment"/>).</summary>
/// <param name="Precision">float32 or float64.</param>
/// <param name="Data">The data kind and its settings.</param>
/// <param name="Model">The model description.</param>
/// <param name="Optimizer">The optimiser kind, its peak learning rate and settings.</param>
/// <param name="Schedule">The schedule kind that scales the peak rate.</param>
/// <param name="Loss">Which steps the loss averages.</param>
/// <param name="Steps">Optimiser steps.</param>
/// <param name="Batch">Sequences per step.</param>
/// <param name="LogEvery">Metrics are logged every this many steps (and at the last).</param>
/// <param name="CheckpointEvery">Periodic checkpoint interval (resumability).</param>
/// <param name="EffectiveLr">Parameter groups whose effective Adam learning rate is logged (metric <c>effective_lr.GROUP</c>):
/// the geometric mean over the group's entries of the step Adam would take for a unit gradient (<see cref="Adam{T}.UnitGradientStep"/>),
/// floored at 1e−8 as Zucchet &amp; Orvieto (NeurIPS 2024) Fig. 11 does. Empty: none.</param>
public sealed record TrainConfig(Precision Precision, DataSpec Data, ModelDescription Model, OptimizerSpec Optimizer, ScheduleSpec Schedule,
    TrainLoss Loss, long Steps, int Batch, int LogEvery, long CheckpointEvery, IReadOnlyList<string>? EffectiveLr = null);

/// <summary>
/// <c>kind: train</c>: trains one model on one data source with one optimiser and schedule, logging
/// loss, learning rate, gradient norm and wall time, and saving the final θ (and Adam's state) as a
/// safetensors checkpoint. Periodic checkpoints make a killed run resumable (<c>memlab train --resume</c>):
/// batches are a pure function of (seed, step), so a resumed run ends with the same bits as an uninterrupted one.
/// The defaults are the Zucchet24 teacher–student task (Zucchet &amp; Orvieto, NeurIPS 2024, §5).
/// </summary>
public sealed class TrainExperiment : ExperimentKind<TrainConfig>
{
    private readonly ModelFactory _models;
    private readonly SpecKinds<DataSpec> _data;

    /// <summary>A train kind building models from <paramref name="models"/> and data from <paramref name="data"/>
    /// (default: the built-in kinds of each).</summary>
    public TrainExperiment(ModelFactory? models = null, SpecKinds<DataSpec>? data = null)
    {
        _models = models ?? ModelFactory.CreateDefault();
        _data = data ?? DataSpec.CreateKinds();
    }

    /// <inheritdoc />
    public override string Name => "train";
    /// <inheritdoc />
    public override string Description => "Train one model on a teacher, a linear functional or Lorenz-96 (Zucchet24 §5, Li21 §5)";
    /// <inheritdoc />
    public override IReadOnlyCollection<string> MetricNames => ["final_loss", "initial_loss", "loss", "lr", "grad_norm", "elapsed_s", "steps_per_second"];

    /// <inheritdoc />
    public override TrainConfig Bind(SpecNode spec)
    {
        var precision = spec.GetEnum<Precision>("precision", Precision.Float32, doc: "float32 (speed) or float64 (checks, small exact runs)");
        var data = _data.Bind(Section(spec, "data", "where the sequences come from: a data kind and its keys"));
        var modelNode = spec.Child("model", doc: "the model: a model kind and its options, children under layer: or layers:");
        var model = spec.IsDescribing ? null : ModelSpec.Bind(modelNode);
        var config = new TrainConfig(precision, data, model!,
            OptimizerSpec.Kinds.Bind(Section(spec, "optimizer", "the optimiser kind and its keys (lr is the peak learning rate)")),
            ScheduleSpec.Kinds.Bind(Section(spec, "schedule", "the learning-rate schedule kind and its keys")),
            spec.GetEnum<TrainLoss>("loss", TrainLoss.AllSteps, doc: "which steps' squared error the loss averages: every step, or the last"),
            spec.GetLong("steps", 10_000, min: 1, doc: "optimiser steps"),
            spec.GetInt("batch", 128, min: 1, doc: "sequences per step"),
            spec.GetInt("log_every", 10, min: 1, doc: "log metrics every this many steps (and at the last step, and at a non-finite loss)"),
            spec.GetLong("checkpoint_every", 1000, min: 1, doc: "write a resumable checkpoint every this many steps (memlab train --resume)"),
            spec.GetStringList("effective_lr", [], doc: "parameter groups whose effective Adam learning rate is logged as effective_lr.GROUP "
                + "(geometric mean over the group of Adam's step for a unit gradient; Zucchet & Orvieto 2024 Fig. 11)"));
        if (model is not null)
        {
            int modelOutputs = ModelSpec.Validate(_models, model, data.InputFeatures, modelNode);
            if (modelOutputs != data.OutputFeatures)
                throw modelNode.Error($"the model outputs {modelOutputs} features but the data has {data.OutputFeatures} "
                    + "(set the model's output size, e.g. stack it with a dense readout: {kind: stack, layers: [{kind: …}, {kind: dense, out: N}]})");
            if (config.EffectiveLr is { Count: > 0 } groupsWanted)
            {
                if (config.Optimizer is not AdamSpec)
                    throw spec.Error("effective_lr", "needs an Adam optimiser (kind adam or adamw): it reads Adam's moment estimates");
                var groups = new SequenceModel<double>(_models.Build<double>(model, data.InputFeatures)).Layout.Views.Select(v => v.Group).Distinct().ToArray();
                foreach (var g in groupsWanted)
                    if (!groups.Contains(g)) throw spec.Error("effective_lr", $"the model has no parameter group '{g}' (groups: {string.Join(", ", groups)})");
            }
        }
        return config;
    }

    /// <summary>Writes the algorithm <c>auto</c> picks for a linear time-invariant model (<c>lru</c>, <c>complex_diagonal</c>,
    /// <c>linear_rnn</c>) at the run's batch, length and <paramref name="threads"/> into <c>model.algorithm</c>, so the
    /// algorithm is part of the run's id and stored spec, and a result of one algorithm is never taken for another's.</summary>
    public override void ResolveChoices(SpecNode spec, int threads)
    {
        if (spec.Peek("model") is not { Kind: SpecNodeKind.Mapping } modelNode) return;
        if (modelNode.Peek("algorithm") is { } given && given.Text != "auto") return;
        TrainConfig config;
        try { config = Bind(spec.Clone()); }
        catch (SpecException) { return; }
        ILtiLayer? lti;
        try { lti = _models.Build<float>(config.Model, config.Data.InputFeatures) as ILtiLayer; }
        catch (ModelDescriptionException) { return; }
        if (lti is null) return;
        var algorithm = lti.AlgorithmFor(config.Batch, config.Data.Time, threads);
        SpecOverrides.Set(spec, "model.algorithm",
            SpecNode.Scalar(algorithm.ToString().ToLowerInvariant(), false, modelNode.Position, modelNode.Path + ".algorithm"), create: true);
    }

    // A section left out of the spec takes every default.
    private static SpecNode Section(SpecNode spec, string key, string doc) =>
        spec.OptionalChild(key, doc: doc) ?? SpecParser.ParseText("{}", spec.Position.File);

    /// <inheritdoc />
    protected override RunSummary Execute(TrainConfig config, RunContext context) =>
        config.Precision == Precision.Float64 ? Train<double>(config, context) : Train<float>(config, context);

    private RunSummary Train<T>(TrainConfig c, RunContext ctx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = c.Data.Create<T>(ctx.Seed);
        ISequenceLayer<T> layer;
        try { layer = _models.Build<T>(c.Model, data.InputFeatures); }
        catch (ModelDescriptionException e) { return RunSummary.Failed($"model: {e.Message}"); }
        if (layer.OutputSize != data.OutputFeatures)
            return RunSummary.Failed($"model outputs {layer.OutputSize} features but the data has {data.OutputFeatures}");
        var model = new SequenceModel<T>(layer);
        model.Initialize(ctx.Seed);
        var loss = c.Loss == TrainLoss.LastStep ? MeanSquaredError<T>.LastStep() : MeanSquaredError<T>.AllSteps();
        var objective = new SupervisedObjective<T>(model, data, loss, c.Batch, ctx.Pool);
        var optimizer = c.Optimizer.Create<T>(model.Layout);
        var schedule = c.Schedule.Create(c.Optimizer.LearningRate, c.Steps);

        long start = 0;
        if (ctx.ResumeCheckpointPath is { } resumePath && ctx.Resume && File.Exists(resumePath))
            start = TrainingCheckpoint.Load(resumePath, model, optimizer);
        var probes = EffectiveLrProbe<T>.For(c.EffectiveLr, model.Layout, optimizer, schedule);
        var observer = new Observer(ctx, c.Steps, c.LogEvery, probes);
        TrainingResult result = new(TrainingStatus.Completed, 0, double.NaN, double.NaN, 0, null);
        // Train in segments between periodic checkpoints, so a killed run can resume from the latest one.
        for (long segmentEnd = Math.Min(c.Steps, (start / c.CheckpointEvery + 1) * c.CheckpointEvery); ; segmentEnd = Math.Min(c.Steps, segmentEnd + c.CheckpointEvery))
        {
            var part = Trainer.Run(objective, model.Theta, optimizer, schedule,
                new TrainerOptions { Steps = segmentEnd, LogEvery = 1, FinalWindow = 100 }, observer, start, ctx.Cancellation);
            result = part with { InitialLoss = double.IsNaN(result.InitialLoss) ? part.InitialLoss : result.InitialLoss };
            ctx.Cancellation.ThrowIfCancellationRequested();
            if (part.Status != TrainingStatus.Completed || segmentEnd >= c.Steps) break;
            start = segmentEnd;
            if (ctx.ResumeCheckpointPath is { } path) TrainingCheckpoint.Save(path, model, optimizer, segmentEnd);
        }
        var metrics = new Dictionary<string, double>
        {
            ["final_loss"] = observer.FinalLoss,
            ["initial_loss"] = result.InitialLoss,
            ["steps_per_second"] = observer.StepsPerSecond,
            ["parameters"] = model.Layout.Count,
        };
        TrainingCheckpoint.Save(ctx.CheckpointPath, model, optimizer, c.Steps);
        string? algorithm = layer is ILtiLayer lti ? lti.ResolvedAlgorithm.ToString().ToLowerInvariant() : null;
        if (result.Status == TrainingStatus.Diverged)
            return RunSummary.Diverged(metrics, result.DivergedAtStep ?? 0, $"non-finite loss at step {result.DivergedAtStep}") with { Algorithm = algorithm };
        return RunSummary.Completed(metrics, c.Steps) with { Algorithm = algorithm };
    }

    /// <summary>Sees every step: keeps the final-loss window over the last 100 steps (the final loss of Zucchet &amp; Orvieto, NeurIPS 2024, §5) and streams every
    /// <c>logEvery</c>-th step (and the last, and any non-finite one) to the run's metric sink and progress.</summary>
    private sealed class Observer(RunContext ctx, long total, int logEvery, IReadOnlyList<IEffectiveLrProbe> probes) : ITrainingObserver
    {
        private readonly MetricValue[] _row = new MetricValue[5];
        private readonly MetricValue[] _probeRow = new MetricValue[probes.Count];
        private readonly double[] _window = new double[100];
        // One clock over the whole run: the trainer's restarts with each segment between checkpoints.
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private int _count;
        private long _firstStep = -1;
        private double _firstWall, _lastWall;
        private long _lastStep;

        public double FinalLoss => _count == 0 ? double.NaN : _window.Take(Math.Min(_count, _window.Length)).Average();
        public double StepsPerSecond => _lastWall > _firstWall ? (_lastStep - _firstStep) / (_lastWall - _firstWall) : double.NaN;

        public void OnStep(in StepRecord r)
        {
            double wall = _clock.Elapsed.TotalSeconds;
            if (_firstStep < 0) { _firstStep = r.Step; _firstWall = wall; }
            _lastStep = r.Step; _lastWall = wall;
            _window[_count++ % _window.Length] = r.Loss;
            if (r.Step % logEvery != 0 && r.Step != total - 1 && double.IsFinite(r.Loss)) return;
            _row[0] = new("loss", r.Loss); _row[1] = new("lr", r.LearningRate); _row[2] = new("grad_norm", r.GradientNorm);
            _row[3] = new("elapsed_s", wall); _row[4] = new("steps_per_second", StepsPerSecond);
            ctx.Metrics.Log(r.Step, _row);
            if (probes.Count > 0)
            {
                for (int i = 0; i < probes.Count; i++) _probeRow[i] = new(probes[i].Metric, probes[i].Measure(r.Step));
                ctx.Metrics.Log(r.Step, _probeRow);
            }
            ctx.ReportProgress(r.Step + 1, total, r.Loss);
        }
    }
}

internal interface IEffectiveLrProbe
{
    string Metric { get; }
    double Measure(long step);
}

/// <summary>The effective Adam learning rate of one parameter group after step <c>step</c>: the geometric mean over the group's
/// entries of max(0, unit-gradient step) + 1e−8, the next step's scheduled rate (Zucchet &amp; Orvieto, NeurIPS 2024, Fig. 11; the
/// authors' source/train.py).</summary>
internal sealed class EffectiveLrProbe<T>(string group, int[] entries, Adam<T> adam, ISchedule schedule) : IEffectiveLrProbe
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public string Metric { get; } = "effective_lr." + group;

    public static IReadOnlyList<IEffectiveLrProbe> For(IReadOnlyList<string>? groups, ParameterLayout layout, Optimizer<T> optimizer, ISchedule schedule)
    {
        if (groups is null || groups.Count == 0) return [];
        if (optimizer is not Adam<T> adam) throw new InvalidOperationException("effective_lr needs an Adam optimiser");
        return groups.Select(g => (IEffectiveLrProbe)new EffectiveLrProbe<T>(g,
            layout.Views.Where(v => v.Group == g).SelectMany(v => Enumerable.Range(v.Offset, v.Length)).ToArray(), adam, schedule)).ToArray();
    }

    private readonly double[] _steps = new double[entries.Length];

    public double Measure(long step)
    {
        adam.UnitGradientSteps(entries, schedule.At(step + 1), _steps);
        double sum = 0;
        foreach (double u in _steps) sum += Math.Log10(Math.Max(0, u) + 1e-8);
        return Math.Pow(10, sum / _steps.Length);
    }
}

/// <summary>Checkpoints of a training run: θ, the optimiser's state and the step, in one safetensors file.</summary>
public static class TrainingCheckpoint
{
    /// <summary>Saves θ (under its parameter names), the optimiser state (under <c>optimizer.&lt;state&gt;.&lt;name&gt;</c>) and the step.</summary>
    public static void Save<T>(string path, SequenceModel<T> model, Optimizer<T> optimizer, long step) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layout = new ParameterLayout();
        int total = model.Layout.Count * (1 + optimizer.State.Count);
        var all = new T[total];
        int offset = 0;
        foreach (var v in model.Layout.Views) { layout.Add(v.Name, v.Group, v.Shape); }
        model.Theta.CopyTo(all, 0); offset += model.Layout.Count;
        foreach (var (name, values) in optimizer.State)
        {
            foreach (var v in model.Layout.Views) layout.Add($"optimizer.{name}.{v.Name}", "optimizer", v.Shape);
            values.CopyTo(all, offset); offset += values.Length;
        }
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        SafeTensors.Save(path, layout, (ReadOnlySpan<T>)all, new Dictionary<string, string>
        {
            ["memlab.step"] = step.ToString(CultureInfo.InvariantCulture),
            ["memlab.optimizer_steps"] = optimizer.StepCount.ToString(CultureInfo.InvariantCulture),
        });
    }

    /// <summary>Restores θ and the optimiser state from <paramref name="path"/>; returns the step to continue from.</summary>
    public static long Load<T>(string path, SequenceModel<T> model, Optimizer<T> optimizer) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var file = SafeTensors.Load(path);
        foreach (var v in model.Layout.Views) file.Read<T>(v.Name).CopyTo(v.Of(model.Theta));
        foreach (var (name, values) in optimizer.State)
            foreach (var v in model.Layout.Views) file.Read<T>($"optimizer.{name}.{v.Name}").CopyTo(v.Of(values));
        optimizer.RestoreStepCount(long.Parse(file.Metadata["memlab.optimizer_steps"], CultureInfo.InvariantCulture));
        return long.Parse(file.Metadata["memlab.step"], CultureInfo.InvariantCulture);
    }
}
