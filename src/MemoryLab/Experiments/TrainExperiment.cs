using System.Globalization;
using System.Numerics;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Training;

namespace MemoryLab.Experiments;

/// <summary>Where the training data comes from.</summary>
public sealed record DataConfig(string Kind, int Time, TeacherOptions Teacher, string Kernel, double Dt, int TeacherHidden, ulong TeacherSeed);

/// <summary>Optimiser settings of a training spec.</summary>
public sealed record OptimizerConfig(string Kind, double LearningRate, double Beta1, double Beta2, double Epsilon, double Momentum,
    double WeightDecay, double ClipNorm, IReadOnlyList<ParameterGroupRule> Groups);

/// <summary>Schedule settings: constant, or warm-up + cosine from <see cref="Initial"/> to the optimiser's rate to <see cref="End"/>.</summary>
public sealed record ScheduleConfig(string Kind, double Initial, double End, double WarmupFraction);

/// <summary>A resolved training spec (see <see cref="TrainExperiment"/>).</summary>
public sealed record TrainConfig(bool Double, DataConfig Data, ModelDescription Model, OptimizerConfig Optimizer, ScheduleConfig Schedule,
    string Loss, long Steps, int Batch, int LogEvery, long CheckpointEvery);

/// <summary>
/// <c>kind: train</c>: trains one model on one data source with one optimiser and schedule, logging
/// loss, learning rate, gradient norm and wall time, and saving the final θ (and Adam's state) as a
/// safetensors checkpoint. Periodic checkpoints make a killed run resumable (<c>memlab train --resume</c>):
/// batches are a pure function of (seed, step), so a resumed run ends with the same bits as an uninterrupted one.
/// The defaults are the Zucchet24 teacher–student task (SCIENCE.md B3 E3).
/// </summary>
public sealed class TrainExperiment : ExperimentKind<TrainConfig>
{
    private readonly ModelFactory _models;

    /// <summary>A train kind building models from <paramref name="models"/> (default: every built-in kind).</summary>
    public TrainExperiment(ModelFactory? models = null) => _models = models ?? ModelFactory.CreateDefault();

    /// <inheritdoc />
    public override string Name => "train";
    /// <inheritdoc />
    public override string Description => "Train one model on a teacher, a linear functional or Lorenz-96 (Zucchet24 §5, Li21 §5)";
    /// <inheritdoc />
    public override IReadOnlyCollection<string> MetricNames => ["final_loss", "initial_loss", "loss", "lr", "grad_norm", "elapsed_s", "steps_per_second"];

    /// <inheritdoc />
    public override TrainConfig Bind(SpecNode spec)
    {
        string precision = spec.GetString("precision", "float32", allowed: ["float32", "float64"]);
        var d = Section(spec, "data");
        string dataKind = d.GetString("kind", "teacher", allowed: ["teacher", "linear-functional", "tanh-teacher", "lorenz96"]);
        int time = d.GetInt("time", 300, min: 1);
        var teacher = new TeacherOptions();
        string kernel = "exp"; double dt = 1; int hidden = 16; ulong teacherSeed = 42;
        if (dataKind == "teacher")
        {
            teacher = new TeacherOptions
            {
                StateSize = d.GetInt("state_size", 10, min: 1),
                InputSize = d.GetInt("input_size", 1, min: 1),
                OutputSize = d.GetInt("output_size", 1, min: 1),
                Nu0 = d.GetDouble("nu0", 0.9, min: 0, below: 1),
                Theta0 = d.GetDouble("theta0", 3.14, above: 0, max: Math.PI),
                Seed = (ulong)d.GetLong("teacher_seed", 42, min: 0),
            };
        }
        else if (dataKind == "linear-functional")
        {
            kernel = d.GetString("kernel", "exp");
            dt = d.GetDouble("dt", 1.0, above: 0);
            try { MemoryKernel.FromName(kernel); }
            catch (ArgumentException e) { throw d.Error("kernel", e.Message); }
        }
        else if (dataKind == "tanh-teacher")
        {
            hidden = d.GetInt("hidden", 16, min: 1);
            teacherSeed = (ulong)d.GetLong("teacher_seed", 42, min: 0);
        }
        var modelNode = spec.Child("model");
        var model = ModelSpec.Bind(modelNode);
        var lorenz = new Lorenz96Settings();
        int inputs = dataKind switch { "teacher" => teacher.InputSize, "lorenz96" => lorenz.K, _ => 1 };
        int outputs = dataKind switch { "teacher" => teacher.OutputSize, "lorenz96" => lorenz.K, _ => 1 };
        int modelOutputs = ModelSpec.Validate(_models, model, inputs, modelNode);
        if (modelOutputs != outputs)
            throw modelNode.Error($"the model outputs {modelOutputs} features but the data has {outputs} (set the model's output size)");
        var o = Section(spec, "optimizer");
        string optKind = o.GetString("kind", "adam", allowed: ["adam", "adamw", "sgd"]);
        var groups = new List<ParameterGroupRule>();
        if (o.OptionalChild("groups") is { } g)
            foreach (var name in g.Keys)
            {
                var rule = g.Child(name);
                groups.Add(new ParameterGroupRule(name, rule.GetDouble("lr_factor", 1.0, min: 0), rule.Has("weight_decay") ? rule.GetDouble("weight_decay", 0, min: 0) : null));
            }
        var opt = new OptimizerConfig(optKind,
            o.GetDouble("lr", 1e-3, above: 0),
            o.GetDouble("beta1", 0.9, min: 0, below: 1),
            o.GetDouble("beta2", 0.999, min: 0, below: 1),
            o.GetDouble("eps", 1e-8, above: 0),
            o.GetDouble("momentum", 0.0, min: 0, below: 1),
            o.GetDouble("weight_decay", optKind == "adamw" ? 0.05 : 0.0, min: 0),
            o.GetDouble("clip_norm", 0.0, min: 0),
            groups);
        var s = Section(spec, "schedule");
        var schedule = new ScheduleConfig(
            s.GetString("kind", "cosine", allowed: ["constant", "cosine"]),
            s.GetDouble("initial", 1e-7, min: 0),
            s.GetDouble("end", 1e-7, min: 0),
            s.GetDouble("warmup_fraction", 0.0, min: 0, max: 1));
        return new TrainConfig(precision == "float64",
            new DataConfig(dataKind, time, teacher, kernel, dt, hidden, teacherSeed),
            model, opt, schedule,
            spec.GetString("loss", "all_steps", allowed: ["all_steps", "last_step"]),
            spec.GetLong("steps", 10_000, min: 1),
            spec.GetInt("batch", 128, min: 1),
            spec.GetInt("log_every", 10, min: 1),
            spec.GetLong("checkpoint_every", 1000, min: 1));
    }

    // A section left out of the spec takes every default.
    private static SpecNode Section(SpecNode spec, string key) => spec.OptionalChild(key) ?? SpecParser.ParseText("{}", spec.Position.File);

    /// <inheritdoc />
    protected override RunSummary Execute(TrainConfig config, RunContext context) =>
        config.Double ? Train<double>(config, context) : Train<float>(config, context);

    private RunSummary Train<T>(TrainConfig c, RunContext ctx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = CreateData<T>(c.Data, ctx.Seed);
        ISequenceLayer<T> layer;
        try { layer = _models.Build<T>(c.Model, data.InputFeatures); }
        catch (ModelDescriptionException e) { return RunSummary.Failed($"model: {e.Message}"); }
        if (layer.OutputSize != data.OutputFeatures)
            return RunSummary.Failed($"model outputs {layer.OutputSize} features but the data has {data.OutputFeatures}");
        var model = new SequenceModel<T>(layer);
        model.Initialize(ctx.Seed);
        var loss = c.Loss == "last_step" ? MeanSquaredError<T>.LastStep() : MeanSquaredError<T>.AllSteps();
        var objective = new SupervisedObjective<T>(model, data, loss, c.Batch, ctx.Pool);
        Optimizer<T> optimizer = c.Optimizer.Kind switch
        {
            "sgd" => new Sgd<T>(model.Layout, c.Optimizer.Momentum, weightDecay: c.Optimizer.WeightDecay, groups: c.Optimizer.Groups, clipNorm: c.Optimizer.ClipNorm),
            _ => new Adam<T>(model.Layout, c.Optimizer.Beta1, c.Optimizer.Beta2, c.Optimizer.Epsilon, c.Optimizer.WeightDecay,
                decoupledWeightDecay: c.Optimizer.Kind == "adamw", groups: c.Optimizer.Groups, clipNorm: c.Optimizer.ClipNorm),
        };
        ISchedule schedule = c.Schedule.Kind == "constant"
            ? new ConstantSchedule(c.Optimizer.LearningRate)
            : new WarmupCosineSchedule(c.Schedule.Initial, c.Optimizer.LearningRate, c.Schedule.End, (long)(c.Schedule.WarmupFraction * c.Steps), c.Steps).Validated();

        long start = 0;
        if (ctx.ResumeCheckpointPath is { } resumePath && ctx.Resume && File.Exists(resumePath))
            start = TrainingCheckpoint.Load(resumePath, model, optimizer);
        var observer = new Observer(ctx, c.Steps, c.LogEvery);
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
        if (result.Status == TrainingStatus.Diverged)
            return RunSummary.Diverged(metrics, result.DivergedAtStep ?? 0, $"non-finite loss at step {result.DivergedAtStep}");
        return RunSummary.Completed(metrics, c.Steps);
    }

    private static ISequenceDataset<T> CreateData<T>(DataConfig d, ulong seed) where T : unmanaged, IFloatingPointIeee754<T> => d.Kind switch
    {
        "teacher" => new TeacherLinearSystem<T>(d.Teacher, seed, d.Time),
        "linear-functional" => new LinearFunctionalDataset<T>(MemoryKernel.FromName(d.Kernel), d.Time, d.Dt, seed),
        "tanh-teacher" => new TanhRnnTeacher<T>(1, d.TeacherHidden, 1, d.Time, teacherSeed: d.TeacherSeed, dataSeed: seed),
        _ => new Lorenz96Dataset<T>(d.Time, seed),
    };

    /// <summary>Sees every step: keeps the final-loss window over the last 100 steps (SCIENCE.md B3 E3) and streams every
    /// <c>logEvery</c>-th step (and the last, and any non-finite one) to the run's metric sink and progress.</summary>
    private sealed class Observer(RunContext ctx, long total, int logEvery) : ITrainingObserver
    {
        private readonly MetricValue[] _row = new MetricValue[5];
        private readonly double[] _window = new double[100];
        private int _count;
        private long _firstStep = -1;
        private double _firstWall, _lastWall;
        private long _lastStep;

        public double FinalLoss => _count == 0 ? double.NaN : _window.Take(Math.Min(_count, _window.Length)).Average();
        public double StepsPerSecond => _lastWall > _firstWall ? (_lastStep - _firstStep) / (_lastWall - _firstWall) : double.NaN;

        public void OnStep(in StepRecord r)
        {
            if (_firstStep < 0) { _firstStep = r.Step; _firstWall = r.WallSeconds; }
            _lastStep = r.Step; _lastWall = r.WallSeconds;
            _window[_count++ % _window.Length] = r.Loss;
            if (r.Step % logEvery != 0 && r.Step != total - 1 && double.IsFinite(r.Loss)) return;
            _row[0] = new("loss", r.Loss); _row[1] = new("lr", r.LearningRate); _row[2] = new("grad_norm", r.GradientNorm);
            _row[3] = new("elapsed_s", r.WallSeconds); _row[4] = new("steps_per_second", StepsPerSecond);
            ctx.Metrics.Log(r.Step, _row);
            ctx.ReportProgress(r.Step + 1, total, r.Loss);
        }
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
