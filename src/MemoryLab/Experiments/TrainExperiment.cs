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
            spec.GetLong("steps", 10_000, min: 1, max: MaxSteps, doc: "optimiser steps"),
            spec.GetInt("batch", 128, min: 1, max: MaxBatch, doc: "sequences per step"),
            spec.GetInt("log_every", 10, min: 1, doc: "log metrics every this many steps (and at the last step, and at a non-finite loss)"),
            spec.GetLong("checkpoint_every", 1000, min: 1, doc: "write a resumable checkpoint every this many steps (memlab train --resume)"),
            spec.GetStringList("effective_lr", [], doc: "parameter groups whose effective Adam learning rate is logged as effective_lr.GROUP "
                + "(geometric mean over the group of Adam's step for a unit gradient; Zucchet & Orvieto 2024 Fig. 11)"));
        if (model is not null)
        {
            var (modelOutputs, parameters, width) = ModelSpec.Measure(_models, model, data.InputFeatures, modelNode);
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
            CheckFits(config, parameters, width, spec, modelNode);
        }
        return config;
    }

    /// <summary>Most optimiser steps a spec may ask for.</summary>
    public const long MaxSteps = 1L << 40;
    /// <summary>Most sequences per step.</summary>
    public const int MaxBatch = 1 << 20;

    /// <summary>Says before anything runs when a run cannot fit: one activation of batch × time × width values must fit in an array
    /// (2³¹ − 1 elements), and θ, its gradient, the optimiser's two moments and a few activations must fit in this machine's memory.</summary>
    private static void CheckFits(TrainConfig c, long parameters, long width, SpecNode spec, SpecNode modelNode)
    {
        long bytesPerValue = c.Precision == Precision.Float64 ? 8 : 4;
        long dataWidth = Math.Max(c.Data.InputFeatures, c.Data.OutputFeatures);
        var timeNode = spec.OptionalChild("data") is { } d && d.Has("time") ? d : null;
        double dataValues = (double)c.Batch * c.Data.Time * dataWidth;
        if (dataValues > int.MaxValue)
            throw (timeNode?.Error("time", $"the data cannot fit: batch {c.Batch} × time {c.Data.Time} × {dataWidth} features = {dataValues:G4} values, more than one array holds ({int.MaxValue})")
                   ?? spec.Error("batch", $"the data cannot fit: batch {c.Batch} × time {c.Data.Time} × {dataWidth} features = {dataValues:G4} values, more than one array holds ({int.MaxValue})"));
        double activation = (double)c.Batch * c.Data.Time * width;
        if (activation > int.MaxValue)
            throw modelNode.Error($"the model cannot fit: batch {c.Batch} × time {c.Data.Time} × width {width} = {activation:G4} values per activation, more than one array holds ({int.MaxValue})");
        // At least: θ, gradient, two optimiser moments and a scratch copy; one activation and its gradient.
        double bytes = bytesPerValue * (5.0 * parameters + 2.0 * activation);
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (available > 0 && bytes > available)
            throw modelNode.Error($"the model cannot fit: {parameters} parameters and batch {c.Batch} × time {c.Data.Time} × width {width} activations need at least {bytes / (1L << 30):F1} GiB, this machine has {available / (double)(1L << 30):F1} GiB");
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
        using var objective = new SupervisedObjective<T>(model, data, loss, c.Batch, ctx.Pool, drawAhead: ctx.Offload);
        var optimizer = c.Optimizer.Create<T>(model.Layout);
        var schedule = c.Schedule.Create(c.Optimizer.LearningRate, c.Steps);

        long start = 0;
        var probes = EffectiveLrProbe<T>.For(c.EffectiveLr, model.Layout, optimizer, schedule);
        var observer = new Observer(ctx, c.Steps, c.LogEvery, probes);
        double initialLoss = double.NaN;
        if (ctx.ResumeCheckpointPath is { } resumePath && ctx.Resume && File.Exists(resumePath))
        {
            // A checkpoint that cannot be used (torn, corrupt, of another model, out of range) is never fatal: the run starts over.
            try
            {
                var state = TrainingCheckpoint.ReadResume(resumePath, model, optimizer, c.Steps, c.CheckpointEvery, needMetrics: ctx.MetricFiles is not null);
                ctx.MetricFiles?.Restore(state.Metadata, resumePath);
                state.Apply(model, optimizer);
                observer.Restore(state.Metadata);
                initialLoss = state.InitialLoss;
                start = state.Step;
            }
            catch (InvalidDataException e)
            {
                ctx.Warn($"warning: {resumePath}: {TrainingCheckpoint.WithoutPath(e.Message, resumePath)}; the run starts over from step 0");
            }
        }
        TrainingResult result = new(TrainingStatus.Completed, 0, double.NaN, initialLoss, 0, null);
        // Periodic checkpoints are captured on this thread (θ, the optimiser state and the loop's state copied at the step; the
        // metric files' lengths marked behind the rows logged so far) and written to disk on another while training goes on: a
        // checkpoint is four fsyncs (its file and the three metric journals), which cost a run 7–18 ms each when written here (README,
        // "Training throughput"), 1–3 ms now.
        using var writes = new CheckpointWrites();
        // Train in segments between periodic checkpoints, so a killed run can resume from the latest one.
        for (long segmentEnd = Math.Min(c.Steps, (start / c.CheckpointEvery + 1) * c.CheckpointEvery); ; segmentEnd = Math.Min(c.Steps, segmentEnd + c.CheckpointEvery))
        {
            var part = Trainer.Run(objective, model.Theta, optimizer, schedule,
                new TrainerOptions { Steps = segmentEnd, LogEvery = 1, FinalWindow = 100 }, observer, start, ctx.Cancellation);
            result = part with { InitialLoss = double.IsNaN(result.InitialLoss) ? part.InitialLoss : result.InitialLoss };
            ctx.Cancellation.ThrowIfCancellationRequested();
            if (part.Status != TrainingStatus.Completed || segmentEnd >= c.Steps) break;
            start = segmentEnd;
            if (ctx.ResumeCheckpointPath is { } path)
            {
                writes.Wait();
                var meta = new Dictionary<string, string>(StringComparer.Ordinal) { [TrainingCheckpoint.InitialLossKey] = Number(result.InitialLoss) };
                observer.SaveTo(meta);
                var journal = ctx.MetricFiles?.Capture(path);
                var save = TrainingCheckpoint.Capture(model, optimizer, segmentEnd, meta);
                long? kill = AtomicFile.KillPointAt(segmentEnd);
                writes.Start(() =>
                {
                    // The journal first: the checkpoint that names its lengths replaces the previous one only once they are on disk.
                    if (journal is not null) foreach (var (k, v) in journal.Write()) meta[k] = v;
                    save(path, kill == long.MaxValue ? null : kill);
                    if (kill == long.MaxValue) AtomicFile.KillSelf();
                });
            }
        }
        writes.Wait();
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
        private const string StateKey = "memlab.observer";
        private readonly MetricValue[] _row = new MetricValue[5];
        private readonly MetricValue[] _probeRow = new MetricValue[probes.Count];
        private readonly double[] _window = new double[100];
        // Its own clock, so elapsed_s runs on across checkpoint segments and, offset by the checkpoint's, across a resume.
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private double _offset;
        private int _count;
        private long _firstStep = -1;
        private double _firstWall, _lastWall;
        private long _lastStep;

        public double FinalLoss => _count == 0 ? double.NaN : _window.Take(Math.Min(_count, _window.Length)).Average();
        public double StepsPerSecond => _lastWall > _firstWall ? (_lastStep - _firstStep) / (_lastWall - _firstWall) : double.NaN;

        public void OnStep(in StepRecord r)
        {
            double wall = _offset + _clock.Elapsed.TotalSeconds;
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

        /// <summary>The final-loss window (in slot order, so its mean has the same bits), the timing and the step counters.</summary>
        public void SaveTo(Dictionary<string, string> metadata)
        {
            double now = _offset + _clock.Elapsed.TotalSeconds;
            metadata[StateKey] = string.Join(";", Number(now), _count.ToString(CultureInfo.InvariantCulture), _firstStep.ToString(CultureInfo.InvariantCulture),
                Number(_firstWall), _lastStep.ToString(CultureInfo.InvariantCulture), Number(_lastWall), string.Join(",", _window.Select(Number)));
        }

        /// <summary>Continues from <see cref="SaveTo"/>'s state (checked by <see cref="TrainingCheckpoint.ReadResume{T}"/>).</summary>
        public void Restore(IReadOnlyDictionary<string, string> metadata)
        {
            var parts = metadata[StateKey].Split(';');
            _offset = Parse(parts[0]);
            _count = int.Parse(parts[1], CultureInfo.InvariantCulture);
            _firstStep = long.Parse(parts[2], CultureInfo.InvariantCulture);
            _firstWall = Parse(parts[3]);
            _lastStep = long.Parse(parts[4], CultureInfo.InvariantCulture);
            _lastWall = Parse(parts[5]);
            var w = parts[6].Split(',');
            for (int i = 0; i < _window.Length; i++) _window[i] = Parse(w[i]);
            _clock.Restart();
        }

        /// <summary>Whether <paramref name="metadata"/> holds a state <see cref="Restore"/> reads.</summary>
        public static bool IsValidState(IReadOnlyDictionary<string, string> metadata)
        {
            if (!metadata.TryGetValue(StateKey, out var text)) return false;
            var parts = text.Split(';');
            if (parts.Length != 7) return false;
            var w = parts[6].Split(',');
            return w.Length == 100 && w.All(x => double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int count) && count >= 0
                && long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out _) && long.TryParse(parts[4], NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
                && new[] { parts[0], parts[3], parts[5] }.All(x => double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v >= 0);
        }

        private static double Parse(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    internal static string Number(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    internal static bool IsObserverState(IReadOnlyDictionary<string, string> metadata) => Observer.IsValidState(metadata);
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

/// <summary>A run's periodic checkpoint writes, one at a time on a thread pool thread while the run trains on. <see cref="Wait"/>
/// returns once the last one is on disk and re-throws its failure; <see cref="Dispose"/> waits too, without throwing, for a run
/// that ends by an exception (cancelled: the checkpoint it started is still completed, for <c>--resume</c>).</summary>
internal sealed class CheckpointWrites : IDisposable
{
    private Task _last = Task.CompletedTask;

    /// <summary>Starts <paramref name="write"/> once the previous write is done (<see cref="Wait"/>).</summary>
    public void Start(Action write)
    {
        Wait();
        _last = Task.Run(write);
    }

    /// <summary>Waits for the last write; re-throws its exception.</summary>
    public void Wait()
    {
        var last = _last;
        _last = Task.CompletedTask;
        last.GetAwaiter().GetResult();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        try { _last.Wait(); }
        catch (AggregateException) { } // the run already ends by another exception, which is the one to report
    }
}

/// <summary>Checkpoints of a training run: θ, the optimiser's state and the step, in one safetensors file, written atomically
/// (a temporary file renamed over the previous checkpoint, which stays until the new one is complete). A periodic checkpoint
/// also holds what a resumed run needs to continue its files exactly: the metric rows so far, the initial loss, the final-loss
/// window and the elapsed time.</summary>
public static class TrainingCheckpoint
{
    internal const string StepKey = "memlab.step", OptimizerStepsKey = "memlab.optimizer_steps", InitialLossKey = "memlab.initial_loss";

    /// <summary>Saves θ (under its parameter names), the optimiser state (under <c>optimizer.&lt;state&gt;.&lt;name&gt;</c>) and the step.</summary>
    public static void Save<T>(string path, SequenceModel<T> model, Optimizer<T> optimizer, long step) where T : unmanaged, IFloatingPointIeee754<T> =>
        Capture(model, optimizer, step, null)(path, null);

    /// <summary>Copies θ, the optimiser state and the step now, and returns the write of that copy to a path (with the test-only
    /// kill point), which may run on another thread while training goes on. <paramref name="extra"/>, metadata to store beside
    /// them, is read when the write runs.</summary>
    internal static Action<string, long?> Capture<T>(SequenceModel<T> model, Optimizer<T> optimizer, long step, IReadOnlyDictionary<string, string>? extra)
        where T : unmanaged, IFloatingPointIeee754<T>
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
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [StepKey] = step.ToString(CultureInfo.InvariantCulture),
            [OptimizerStepsKey] = optimizer.StepCount.ToString(CultureInfo.InvariantCulture),
        };
        return (path, killAfterBytes) =>
        {
            if (extra is not null) foreach (var (k, v) in extra) meta[k] = v;
            SafeTensors.Save(path, layout, (ReadOnlySpan<T>)all, meta, killAfterBytes);
        };
    }

    /// <summary>Restores θ and the optimiser state from <paramref name="path"/>; returns the step to continue from.
    /// Throws <see cref="InvalidDataException"/> (naming what is wrong) when the file does not match the model, and changes nothing then.</summary>
    public static long Load<T>(string path, SequenceModel<T> model, Optimizer<T> optimizer) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var state = ReadResume(path, model, optimizer, long.MaxValue, 1, needMetrics: false, needObserver: false);
        state.Apply(model, optimizer);
        return state.Step;
    }

    /// <summary>Reads and checks a periodic checkpoint of a run of <paramref name="steps"/> steps checkpointed every
    /// <paramref name="every"/>: every tensor of the model and optimiser with its shape and this run's dtype and nothing else, finite
    /// values, a step in range, and (when asked) the metric rows and observer state. Throws <see cref="InvalidDataException"/> with one
    /// line; changes nothing.</summary>
    internal static ResumeState<T> ReadResume<T>(string path, SequenceModel<T> model, Optimizer<T> optimizer, long steps, long every,
        bool needMetrics, bool needObserver = true) where T : unmanaged, IFloatingPointIeee754<T>
    {
        SafeTensorsFile file;
        try { file = SafeTensors.Load(path); }
        catch (IOException e) { throw new InvalidDataException($"cannot be read ({e.Message})", e); }
        catch (UnauthorizedAccessException e) { throw new InvalidDataException($"cannot be read ({e.Message})", e); }
        string dtype = SafeTensors.DTypeOf<T>();
        var expected = new List<(string Name, int[] Shape)>();
        foreach (var v in model.Layout.Views) expected.Add((v.Name, v.Shape));
        foreach (var (name, _) in optimizer.State)
            foreach (var v in model.Layout.Views) expected.Add(($"optimizer.{name}.{v.Name}", v.Shape));
        var names = expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var t in file.Tensors)
            if (!names.Contains(t.Name)) throw new InvalidDataException($"holds tensor '{t.Name}', which this run's model and optimiser do not have (a checkpoint of another model?)");
        foreach (var (name, shape) in expected)
        {
            if (!file.Tensors.Any(t => t.Name == name)) throw new InvalidDataException($"lacks tensor '{name}' of this run's model (a checkpoint of another model?)");
            var info = file[name];
            if (!info.Shape.SequenceEqual(shape))
                throw new InvalidDataException($"tensor '{name}' has shape [{string.Join(", ", info.Shape)}] but this run's model has [{string.Join(", ", shape)}] (a checkpoint of another model?)");
            if (info.DType != dtype) throw new InvalidDataException($"tensor '{name}' is {info.DType} but this run trains in {dtype}");
        }
        long step = Integer(file, StepKey);
        if (step < 0 || step > steps || (steps != long.MaxValue && (step == 0 || step >= steps || step % every != 0)))
            throw new InvalidDataException($"{StepKey} = {step} is not a checkpoint step of this run (a multiple of {every} between 1 and {steps - 1})");
        long optimizerSteps = Integer(file, OptimizerStepsKey);
        if (optimizerSteps < 0 || optimizerSteps > step) throw new InvalidDataException($"{OptimizerStepsKey} = {optimizerSteps} is not between 0 and the step {step}");
        double initial = double.NaN;
        if (needObserver)
        {
            if (!file.Metadata.TryGetValue(InitialLossKey, out var text) || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out initial))
                throw new InvalidDataException($"has no valid {InitialLossKey}");
            if (!TrainExperiment.IsObserverState(file.Metadata)) throw new InvalidDataException("has no valid training-loop state (memlab.observer)");
        }
        if (needMetrics && !RunMetricFiles.HasSnapshot(file.Metadata)) throw new InvalidDataException("holds no metric rows (not a periodic checkpoint of memlab train)");
        var values = new Dictionary<string, T[]>(StringComparer.Ordinal);
        foreach (var (name, _) in expected)
        {
            var data = file.Read<T>(name);
            for (int i = 0; i < data.Length; i++)
                if (!T.IsFinite(data[i])) throw new InvalidDataException($"tensor '{name}' holds a non-finite value at index {i}");
            values[name] = data;
        }
        return new ResumeState<T>(step, optimizerSteps, initial, file.Metadata, values);
    }

    /// <summary><paramref name="message"/> without a leading "<paramref name="path"/>: " (the warning names the file once).</summary>
    internal static string WithoutPath(string message, string path) =>
        (message.StartsWith(path + ": ", StringComparison.Ordinal) ? message[(path.Length + 2)..] : message).ReplaceLineEndings(" ");

    private static long Integer(SafeTensorsFile file, string key) =>
        file.Metadata.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n)
            ? n : throw new InvalidDataException($"has no integer {key} (got {(text is null ? "nothing" : $"'{text}'")})");
}

/// <summary>A checked periodic checkpoint, ready to apply.</summary>
internal sealed record ResumeState<T>(long Step, long OptimizerSteps, double InitialLoss, IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyDictionary<string, T[]> Values) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Copies θ and the optimiser state in.</summary>
    public void Apply(SequenceModel<T> model, Optimizer<T> optimizer)
    {
        foreach (var v in model.Layout.Views) Values[v.Name].CopyTo(v.Of(model.Theta));
        foreach (var (name, state) in optimizer.State)
            foreach (var v in model.Layout.Views) Values[$"optimizer.{name}.{v.Name}"].CopyTo(v.Of(state));
        optimizer.RestoreStepCount(OptimizerSteps);
    }
}
