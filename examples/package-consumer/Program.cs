// Example 3: MemoryLab from a plain console program that references the NuGet package.
//
// Trains a small LRU (LRU23) to imitate a linear teacher RNN (Zucchet24 §5's teacher–student task) with Adam
// and a warm-up cosine schedule, then prints the loss before and after and the eigenvalues the student learned.
//
//   dotnet run -c Release -- [steps]

using System.Globalization;
using System.Reflection;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Training;

const string usage = "usage: package-consumer [STEPS] (a positive integer, default 300; --help prints this)";
if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(usage);
    return 0;
}
if (args.Length > 1 || (args.Length == 1 && !(int.TryParse(args[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int parsed) && parsed > 0)))
{
    Console.Error.WriteLine($"package-consumer: unknown argument '{string.Join(' ', args)}' ({usage})");
    return 2;
}
int steps = args.Length == 1 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 300;
var inv = CultureInfo.InvariantCulture;
string version = typeof(SequenceModel<>).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
Console.WriteLine($"MemoryLab {version}");

// A 4-neuron teacher with eigenvalue magnitudes in [0.8, 1): sequences of 50 steps, fresh Gaussian inputs per batch.
var teacher = new TeacherLinearSystem<float>(new TeacherOptions { StateSize = 4, Nu0 = 0.8, Seed = 42 }, dataSeed: 1, time: 50);
// An 8-neuron LRU student, ring-initialised on the same magnitudes.
var student = new SequenceModel<float>(new LinearRecurrentUnit<float>(features: 1, stateSize: 8, rMin: 0.8, rMax: 1.0));
student.Initialize(seed: 1);

using var pool = new WorkerPool(1);
var objective = new SupervisedObjective<float>(student, teacher, MeanSquaredError<float>.AllSteps(), batch: 16, pool);
var adam = new Adam<float>(student.Layout);
var schedule = new WarmupCosineSchedule(Initial: 1e-5, Peak: 0.01, End: 1e-5, WarmupSteps: steps / 10, TotalSteps: steps).Validated();
var result = Trainer.Run(objective, student.Theta, adam, schedule, new TrainerOptions { Steps = steps, FinalWindow = Math.Max(1, steps / 10) });

Console.WriteLine($"trained {result.StepsRun} steps in {result.WallSeconds.ToString("0.00", inv)} s: loss {result.InitialLoss.ToString("0.0000", inv)} -> {result.FinalLoss.ToString("0.0000", inv)} ({result.Status})");
var lru = (LinearRecurrentUnit<float>)student.Root;
var re = new float[8]; var im = new float[8]; var gamma = new float[8];
lru.Eigenvalues(student.Theta, re, im, gamma);
Console.WriteLine("student |λ|: " + string.Join(" ", re.Zip(im, (r, i) => MathF.Sqrt(r * r + i * i).ToString("0.000", inv))));
Console.WriteLine("teacher |λ|: " + string.Join(" ", teacher.Eigenvalues().Select(l => l.Magnitude.ToString("0.000", inv))));
return result.Status == TrainingStatus.Completed && result.FinalLoss < result.InitialLoss ? 0 : 1;
