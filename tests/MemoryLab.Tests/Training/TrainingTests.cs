using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;
using MemoryLab.Training;

namespace MemoryLab.Tests.Training;

public class TrainingTests
{
    [Theory]
    [InlineData("all")]
    [InlineData("last")]
    [InlineData("weighted")]
    public void Losses_have_exact_gradients(string kind)
    {
        var loss = kind switch
        {
            "all" => MeanSquaredError<double>.AllSteps(),
            "last" => MeanSquaredError<double>.LastStep(),
            _ => MeanSquaredError<double>.Weighted((t, n) => Math.Exp(-(n - 1 - t) / 3.0)),
        };
        var target = new SequenceTensor<double>(3, 4, 2);
        new CounterRng(1, RandomPurpose.Data).FillNormal<double>(target.Data);
        var p = new SequenceTensor<double>(3, 4, 2);
        var g = new SequenceTensor<double>(3, 4, 2);
        var f = new DelegateObjective<double>(p.Data.Length, (theta, grad) =>
        {
            theta.CopyTo(p.Data);
            double v = loss.Evaluate(p, target, g);
            g.Data.CopyTo(grad);
            return v;
        });
        var start = new double[p.Data.Length];
        new CounterRng(2, RandomPurpose.Data).FillNormal<double>(start);
        // The loss is quadratic, so central differences have no truncation error at any step: a step of 10⁻³ keeps their rounding
        // (≈ ε·L/h) far below the 10⁻⁸ asked of the smallest weighted entries (≈ 10⁻³), which the default 10⁻⁵ only just met.
        var r = GradientCheck.Check(f, start, step: 1e-3);
        Assert.True(r.MaxRelativeError < 1e-8, r.ToString());
        // ½·mean of squared differences for the uniform loss.
        if (kind == "all")
        {
            double expected = 0.5 * start.Zip(target.Data, (a, b) => (a - b) * (a - b)).Average();
            Assert.Equal(expected, f.Evaluate(start, new double[start.Length]), 1e-14);
        }
    }

    [Theory]
    [InlineData(3, 37, 3)]     // a sequence of 111 elements: six 16-wide steps and a tail of 15
    [InlineData(5, 300, 1)]    // the teacher–student shape, 300 elements per sequence
    [InlineData(2, 5, 1)]      // shorter than one vector: tail only
    public void Float_loss_sums_in_its_documented_lanes_and_its_gradient_is_exact(int batch, int time, int features)
    {
        var loss = MeanSquaredError<float>.Weighted((t, n) => Math.Exp(-(n - 1 - t) / 7.0));
        var p = new SequenceTensor<float>(batch, time, features);
        var y = new SequenceTensor<float>(batch, time, features);
        var g = new SequenceTensor<float>(batch, time, features);
        new CounterRng(5, RandomPurpose.Data).FillNormal<float>(p.Data);
        new CounterRng(6, RandomPurpose.Data).FillNormal<float>(y.Data);
        float value = loss.Evaluate(p, y, g);

        // The documented order: per sequence, element i of its time·features into float64 lane i mod 8, the lanes added in
        // order, the sequences in order; the gradient is float(w_t / (B·F))·(ŷ − y) per element.
        double perElement = 1.0 / (batch * features), total = 0, naive = 0;
        int n = time * features;
        for (int s = 0; s < batch; s++)
        {
            var lanes = new double[8];
            for (int i = 0; i < n; i++)
            {
                int o = s * n + i, t = i / features;
                double wt = Math.Exp(-(time - 1 - t) / 7.0) * perElement;
                float e = p.Data[o] - y.Data[o];
                Assert.Equal((float)wt * e, g.Data[o]);
                lanes[i % 8] += 0.5 * wt * e * e;
                naive += 0.5 * wt * e * e;
            }
            total += lanes.Sum();
        }
        Assert.Equal((float)total, value);
        Assert.Equal(naive, value, naive * 1e-6);
        // A second call reuses the prepared factors and gives the same bits; another batch size re-prepares them.
        Assert.Equal(value, loss.Evaluate(p, y, g));
    }

    [Fact]
    public void Supervised_objective_gradient_matches_finite_differences()
    {
        var teacher = new TeacherLinearSystem<double>(new TeacherOptions { StateSize = 4, Nu0 = 0.5 }, dataSeed: 3, time: 12);
        var model = new SequenceModel<double>(new LinearRecurrentUnit<double>(1, 6, 0.3, 0.9));
        model.Initialize(1);
        using var pool = new WorkerPool(1);
        var objective = new SupervisedObjective<double>(model, teacher, MeanSquaredError<double>.AllSteps(), 4, pool);
        objective.NextBatch(0);
        var r = GradientCheck.Check(objective, model.Theta.ToArray(), layout: model.Layout);
        Assert.True(r.MaxRelativeError < 1e-6, r.ToString());
    }

    private static float[] TrainLru(int threads, int steps, out TrainingResult result, int batch = 32, int time = 100)
    {
        var teacher = new TeacherLinearSystem<float>(new TeacherOptions { Nu0 = 0.9 }, dataSeed: 7, time: time);
        var model = new SequenceModel<float>(new LinearRecurrentUnit<float>(1, 32, rMin: 0.9, rMax: 1.0, maxPhase: Math.PI, init: RingInitialisation.TeacherStudent));
        model.Initialize(7);
        using var pool = new WorkerPool(threads);
        var objective = new SupervisedObjective<float>(model, teacher, MeanSquaredError<float>.AllSteps(), batch, pool);
        var adam = new Adam<float>(model.Layout);
        var schedule = new WarmupCosineSchedule(1e-7, 0.03, 1e-7, 0, steps).Validated();
        result = Trainer.Run(objective, model.Theta, adam, schedule, new TrainerOptions { Steps = steps, FinalWindow = 20 });
        return model.Theta;
    }

    [Fact]
    public void Same_seed_gives_identical_bits_with_one_and_two_threads()
    {
        var one = TrainLru(1, 50, out _, batch: 40, time: 30);
        var two = TrainLru(2, 50, out _, batch: 40, time: 30);
        Assert.Equal(one, two);
    }

    [Fact]
    public void Dense_student_is_thread_count_independent_too()
    {
        float[] Run(int threads)
        {
            var teacher = new TeacherLinearSystem<float>(new TeacherOptions { Nu0 = 0.9 }, dataSeed: 1, time: 20);
            var model = new SequenceModel<float>(new DenseLinearRecurrence<float>(1, 1, new DenseLinearRecurrenceOptions { StateSize = 16 }));
            model.Initialize(2);
            using var pool = new WorkerPool(threads);
            var objective = new SupervisedObjective<float>(model, teacher, MeanSquaredError<float>.AllSteps(), 40, pool);
            Trainer.Run(objective, model.Theta, new Adam<float>(model.Layout), new ConstantSchedule(1e-3), new TrainerOptions { Steps = 50 });
            return model.Theta;
        }
        Assert.Equal(Run(1), Run(2));
    }

    [Fact]
    public void Lru_student_cuts_the_teacher_loss_tenfold()
    {
        TrainLru(2, 400, out var result);
        Assert.Equal(TrainingStatus.Completed, result.Status);
        Assert.True(result.FinalLoss * 10 < result.InitialLoss, $"initial {result.InitialLoss}, final {result.FinalLoss}");
    }

    [Fact]
    public void A_diverging_run_is_recorded_not_thrown()
    {
        var teacher = new TeacherLinearSystem<double>(new TeacherOptions { Nu0 = 0.9 }, dataSeed: 1, time: 200);
        var model = new SequenceModel<double>(new DiagonalRecurrence<double>(1, 1, new DiagonalRecurrenceOptions { StateSize = 4, RMin = 0.9, RMax = 0.99 }));
        model.Initialize(1);
        using var pool = new WorkerPool(1);
        var objective = new SupervisedObjective<double>(model, teacher, MeanSquaredError<double>.AllSteps(), 4, pool);
        // A huge learning rate pushes |λ| far above 1, and the state overflows.
        var result = Trainer.Run(objective, model.Theta, new Sgd<double>(model.Layout), new ConstantSchedule(1e3), new TrainerOptions { Steps = 100 });
        Assert.Equal(TrainingStatus.Diverged, result.Status);
        Assert.NotNull(result.DivergedAtStep);
    }
}
