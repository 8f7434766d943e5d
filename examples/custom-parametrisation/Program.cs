// Example 2: add a custom eigenvalue parametrisation and compare it with the LRU on the teacher–student task.
//
// 1. LogitPolarRecurrence (beside this file) is a new layer: λ = σ(p)·e^{iq} instead of the LRU's
//    λ = exp(−exp(ν_log) + i·exp(θ_log)). Its backward is checked against finite differences with the library's
//    LayerGradientCheck before anything is trained.
// 2. It is registered in a ModelFactory as the kind "logit_polar", next to the built-in "lru", so both are built
//    from the same kind of description (the same one a YAML spec's `model:` section binds to).
// 3. Both train on the linear teacher–student task of Zucchet24 §5 (SCIENCE.md B3 E3) — same teacher, same
//    seeds, the same draws of the ring initialisation, Adam with a warm-up cosine schedule — and the final losses go
//    into comparison.md and comparison.csv in the output folder.
//
//   dotnet run -c Release -- [--steps 1000] [--batch 64] [--time 100] [--hidden 32] [--seeds 3] [--out comparison]

using System.Globalization;
using System.Numerics;
using System.Text;
using CustomParametrisation;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Training;

Settings o;
try { o = Settings.Parse(args); }
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"custom-parametrisation: {e.Message}");
    return 2;
}
var inv = CultureInfo.InvariantCulture;

// 1. Check the hand-written backward: every parameter and every input entry, in float64.
var (parameters, input) = LayerGradientCheck.Check(new LogitPolarRecurrence<double>(features: 1, stateSize: 4, rMin: 0.5, rMax: 0.99));
Console.WriteLine($"gradient check: parameters {parameters.MaxRelativeError.ToString("0.0e+00", inv)}, input {input.MaxRelativeError.ToString("0.0e+00", inv)}");
if (parameters.MaxRelativeError > 1e-6 || input.MaxRelativeError > 1e-6)
{
    Console.Error.WriteLine($"the backward pass disagrees with finite differences: {parameters} / {input}");
    return 1;
}

// 2. Register the new kind. A kind is built for float (training) and double (checks, Hessians).
var factory = ModelFactory.CreateDefault();
factory.Register("logit_polar", LogitPolar<float>, LogitPolar<double>,
    "λ = σ(p)·e^{iq}, learned γ, diagonal skip; hidden=in, r_min=0, r_max=1, max_phase=2π, init=lru23|teacher_student");

// The student options of experiments/teacher-student.yaml: ring initialisation on [ν₀, 1], phases in [−π, π].
var teacher = new TeacherOptions { StateSize = 10, Nu0 = 0.95, Theta0 = 3.14, Seed = 42 };
(string Kind, object Value)[] student = [("hidden", o.Hidden), ("r_min", teacher.Nu0), ("r_max", 1.0), ("max_phase", 3.14), ("init", "teacher_student")];

// 3. Train both kinds on every seed.
var rows = new List<(string Kind, int Seed, TrainingResult Result)>();
foreach (string kind in new[] { "lru", "logit_polar" })
    for (int seed = 0; seed < o.Seeds; seed++)
    {
        var result = Train(factory, ModelDescription.Of(kind, student), teacher, (ulong)seed, o);
        rows.Add((kind, seed, result));
        Console.WriteLine($"{kind,-12} seed {seed}: loss {result.InitialLoss.ToString("0.000e+00", inv)} → {result.FinalLoss.ToString("0.000e+00", inv)} ({result.Status}, {result.WallSeconds.ToString("0.0", inv)} s)");
    }

Directory.CreateDirectory(o.Out);
var csv = new StringBuilder("kind,seed,initial_loss,final_loss,status,seconds\n");
foreach (var (kind, seed, r) in rows)
    csv.Append(inv, $"{kind},{seed},{r.InitialLoss:R},{r.FinalLoss:R},{r.Status.ToString().ToLowerInvariant()},{r.WallSeconds:0.###}\n");
File.WriteAllText(Path.Combine(o.Out, "comparison.csv"), csv.ToString());

var md = new StringBuilder();
md.Append(inv, $"# LRU vs logit-polar parametrisation on the teacher–student task\n\n");
md.Append(inv, $"Teacher: {teacher.StateSize} neurons, |λ| ≥ ν₀ = {teacher.Nu0}; student: {o.Hidden} neurons; T = {o.Time}, batch {o.Batch}, ");
md.Append(inv, $"{o.Steps} Adam steps (peak lr {o.LearningRate}, warm-up cosine); final loss = mean training loss over the last {Math.Min(100, o.Steps)} steps; {o.Seeds} seed(s).\n\n");
md.Append("| parametrisation | λ | final loss (mean over seeds) | best seed | worst seed |\n");
md.Append("|---|---|---:|---:|---:|\n");
foreach (var group in rows.GroupBy(r => r.Kind))
{
    var losses = group.Select(g => g.Result.FinalLoss).ToArray();
    string formula = group.Key == "lru" ? "exp(−exp(ν_log) + i·exp(θ_log))" : "σ(p)·e^{iq}";
    md.Append(inv, $"| {group.Key} | {formula} | {losses.Average():0.000e+00} | {losses.Min():0.000e+00} | {losses.Max():0.000e+00} |\n");
}
File.WriteAllText(Path.Combine(o.Out, "comparison.md"), md.ToString());
Console.WriteLine();
Console.Write(md);
Console.WriteLine($"\nwrote {Path.Combine(o.Out, "comparison.md")} and comparison.csv");
return 0;

static ISequenceLayer<T> LogitPolar<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
    new LogitPolarRecurrence<T>(c.InputSize, c.Int("hidden", c.InputSize), c.Double("r_min", 0.0), c.Double("r_max", 1.0),
        c.Double("max_phase", 2 * Math.PI), c.Enum("init", RingInitialisation.Lru23));

static TrainingResult Train(ModelFactory factory, ModelDescription description, TeacherOptions teacher, ulong seed, Settings o)
{
    // The seed fixes the student's initialisation (Init stream) and the batches (Data stream); the teacher is fixed.
    var data = new TeacherLinearSystem<float>(teacher, dataSeed: seed, time: o.Time);
    var model = new SequenceModel<float>(factory.Build<float>(description, data.InputFeatures));
    model.Initialize(seed);
    using var pool = new WorkerPool(WorkerPool.DefaultThreadCount());
    var objective = new SupervisedObjective<float>(model, data, MeanSquaredError<float>.AllSteps(), o.Batch, pool);
    var optimizer = new Adam<float>(model.Layout);
    var schedule = new WarmupCosineSchedule(Initial: 1e-7, Peak: o.LearningRate, End: 1e-7, WarmupSteps: o.Steps / 10, TotalSteps: o.Steps).Validated();
    return Trainer.Run(objective, model.Theta, optimizer, schedule, new TrainerOptions { Steps = o.Steps, FinalWindow = Math.Min(100, o.Steps) });
}

/// <summary>Command-line settings; the defaults take about a minute, tests pass smaller ones.</summary>
internal sealed record Settings(int Steps, int Batch, int Time, int Hidden, int Seeds, double LearningRate, string Out)
{
    public static Settings Parse(string[] args)
    {
        var s = new Settings(Steps: 1000, Batch: 64, Time: 100, Hidden: 32, Seeds: 3, LearningRate: 0.01, Out: "comparison");
        const string known = "--steps, --batch, --time, --hidden, --seeds, --lr, --out, --help";
        for (int i = 0; i < args.Length; i += 2)
        {
            string option = args[i];
            if (option is "--help" or "-h")
            {
                Console.WriteLine($"usage: custom-parametrisation [--steps N] [--batch N] [--time N] [--hidden N] [--seeds N] [--lr X] [--out DIR] (defaults: {s.Steps}, {s.Batch}, {s.Time}, {s.Hidden}, {s.Seeds}, {s.LearningRate}, {s.Out})");
                Environment.Exit(0);
            }
            if (!known.Split(", ").Contains(option)) throw new ArgumentException($"unknown option {option} (known: {known})");
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{option} needs a value (known: {known})");
            int Int() => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v : throw new ArgumentException($"{option} needs a positive integer (got '{value}')");
            s = args[i] switch
            {
                "--steps" => s with { Steps = Int() },
                "--batch" => s with { Batch = Int() },
                "--time" => s with { Time = Int() },
                "--hidden" => s with { Hidden = Int() },
                "--seeds" => s with { Seeds = Int() },
                "--lr" => s with { LearningRate = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double lr) && lr > 0
                    ? lr : throw new ArgumentException($"--lr needs a positive number (got '{value}')") },
                "--out" => s with { Out = value },
                _ => throw new ArgumentException($"unknown option {args[i]} (known: {known})"),
            };
        }
        return s;
    }
}
