using MemoryLab.Experiments;
using MemoryLab.Training;
using Xunit;

namespace MemoryLab.Tests.Experiments;

/// <summary>Data, optimiser and schedule kinds are types: each binds only its own keys (anything else is an error at
/// its line, at any nesting level), a wrong kind lists the valid ones, and the bound values reach what is created.</summary>
public class TrainSpecKindsTests
{
    private static TrainConfig Bind(string extra)
    {
        var spec = SpecParser.ParseText($$"""
            kind: train
            data: {kind: teacher, time: 20, state_size: 4, nu0: 0.5}
            model: {kind: lru, hidden: 4}
            {{extra}}
            """, "t.yaml");
        spec.GetString("kind");
        return new TrainExperiment().BindStrict(spec);
    }

    [Theory]
    [InlineData("optimizer: {kind: adam, momentum: 0.9}", "t.yaml:4: key 'optimizer.momentum': unknown key")]
    [InlineData("optimizer: {kind: sgd, beta1: 0.9}", "t.yaml:4: key 'optimizer.beta1': unknown key")]
    [InlineData("optimizer: {kind: adam, lr: 0.01, groups: {recurrent: {lr_factr: 0.5}}}", "key 'optimizer.groups.recurrent.lr_factr': unknown key (did you mean 'lr_factor'?)")]
    [InlineData("schedule: {kind: constant, initial: 0.001}", "t.yaml:4: key 'schedule.initial': unknown key")]
    [InlineData("schedule: {kind: cosine, warmup_fractoin: 0.1}", "key 'schedule.warmup_fractoin': unknown key (did you mean 'warmup_fraction'?)")]
    [InlineData("optimizer: {kind: adagrad}", "key 'optimizer.kind': must be one of adam, adamw, sgd (got adagrad)")]
    [InlineData("schedule: {kind: linear}", "key 'schedule.kind': must be one of constant, cosine (got linear)")]
    [InlineData("loss: mean", "key 'loss': must be one of all-steps, last-step")]
    public void A_key_the_kind_does_not_read_or_an_unknown_kind_is_an_error_at_its_line(string extra, string expected)
    {
        var e = Assert.Throws<SpecException>(() => Bind(extra));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("{kind: complex_diagonal, hidden: 4, normalisation: l2, gamma: direct}", "m.yaml:3: key 'model.gamma':", "applies only to a learned γ")]
    [InlineData("{kind: complex_diagonal, hidden: 4, gamma_init: real_part}", "m.yaml:3: key 'model.gamma_init':", "applies only to a learned γ")]
    [InlineData("{kind: lru, hidden: 4, gamma: linear}", "m.yaml:3: key 'model.gamma':", "'linear' is not one of log, direct")]
    [InlineData("{kind: lru, hidden: 4, gamma_init: imag}", "m.yaml:3: key 'model.gamma_init':", "'imag' is not one of modulus, realpart")]
    public void Gamma_keys_are_checked_at_their_line(string model, string where, string expected)
    {
        var spec = SpecParser.ParseText($"kind: train\ndata: {{kind: teacher, time: 20, state_size: 4, nu0: 0.5}}\nmodel: {model}\n", "m.yaml");
        spec.GetString("kind");
        var e = Assert.Throws<SpecException>(() => new TrainExperiment().BindStrict(spec));
        Assert.StartsWith(where, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Gamma_keys_reach_the_layer()
    {
        var spec = SpecParser.ParseText("kind: train\ndata: {kind: teacher, time: 20, state_size: 4, nu0: 0.5}\n"
            + "model: {kind: complex_diagonal, hidden: 4, normalisation: learned, gamma: direct, gamma_init: real_part}\n", "m.yaml");
        spec.GetString("kind");
        var config = new TrainExperiment().BindStrict(spec);
        var layer = Assert.IsType<MemoryLab.Models.DiagonalRecurrence<double>>(
            MemoryLab.Models.ModelFactory.CreateDefault().Build<double>(config.Model, 1));
        Assert.Equal((MemoryLab.Models.GammaParametrisation.Direct, MemoryLab.Models.GammaInitialisation.RealPart),
            (layer.Options.Gamma, layer.Options.GammaInit));
    }

    /// <summary>A data kind of a researcher's own: a two-neuron teacher with only <c>time</c> to set.</summary>
    private sealed class SmallTeacher : IDataKind
    {
        public string Name => "small-teacher";
        public DataSpec Bind(SpecNode d) => new TeacherDataSpec(d.GetInt("time", 5, min: 1), new MemoryLab.Targets.TeacherOptions { StateSize = 2 });
    }

    [Fact]
    public void A_data_kind_registered_in_a_family_reaches_only_the_train_kind_given_that_family()
    {
        var kinds = DataSpec.CreateKinds();
        var mine = new SmallTeacher();
        kinds.Register(mine.Name, mine.Bind);
        Assert.Throws<ArgumentException>(() => kinds.Register("teacher", mine.Bind));
        const string text = "kind: train\ndata: {kind: small-teacher, time: 7}\nmodel: {kind: lru, hidden: 4}\n";
        var spec = SpecParser.ParseText(text, "s.yaml");
        spec.GetString("kind");
        var data = Assert.IsType<TeacherDataSpec>(new TrainExperiment(data: kinds).BindStrict(spec).Data);
        Assert.Equal((7, 2), (data.Time, data.Teacher.StateSize));
        var plain = SpecParser.ParseText(text, "s.yaml");
        plain.GetString("kind");
        var e = Assert.Throws<SpecException>(() => new TrainExperiment().BindStrict(plain));
        Assert.Contains("must be one of teacher, linear-functional, tanh-teacher, lorenz96 (got small-teacher)", e.Message);
    }

    [Fact]
    public void Data_keys_belong_to_their_kind()
    {
        var spec = SpecParser.ParseText("kind: train\ndata: {kind: lorenz96, time: 5, nu0: 0.9}\nmodel: {kind: linear_rnn, hidden: 4}\n", "d.yaml");
        spec.GetString("kind");
        var e = Assert.Throws<SpecException>(() => new TrainExperiment().BindStrict(spec));
        Assert.Contains("d.yaml:2: key 'data.nu0': unknown key", e.Message);
        var wrong = SpecParser.ParseText("kind: train\ndata: {kind: mnist}\nmodel: {kind: lru, hidden: 4}\n", "d.yaml");
        wrong.GetString("kind");
        e = Assert.Throws<SpecException>(() => new TrainExperiment().BindStrict(wrong));
        Assert.Contains("must be one of teacher, linear-functional, tanh-teacher, lorenz96 (got mnist)", e.Message);
    }

    [Fact]
    public void Each_kind_reads_its_own_settings_and_defaults_and_they_reach_what_it_creates()
    {
        var c = Bind("optimizer: {kind: adamw, lr: 0.0032, beta2: 0.99}\nschedule: {kind: cosine, initial: 0.0, warmup_fraction: 0.5}\nsteps: 100");
        var adam = Assert.IsType<AdamSpec>(c.Optimizer);
        Assert.Equal(0.0032, adam.LearningRate);
        Assert.Equal(0.99, adam.Beta2);
        Assert.Equal(0.05, adam.WeightDecay);   // AdamW's own default
        Assert.True(adam.Decoupled);
        var teacher = Assert.IsType<TeacherDataSpec>(c.Data);
        Assert.Equal(4, teacher.Teacher.StateSize);
        Assert.Equal(3.14, teacher.Teacher.Theta0);   // TeacherOptions' default
        var schedule = Assert.IsType<WarmupCosineSchedule>(c.Schedule.Create(adam.LearningRate, c.Steps));
        Assert.Equal(0.0032, schedule.Peak);
        Assert.Equal(50, schedule.WarmupSteps);
        Assert.Equal(0.0032, schedule.At(50), 15);

        var defaults = Bind("");
        Assert.Equal(0.0, Assert.IsType<AdamSpec>(defaults.Optimizer).WeightDecay);   // Adam's default
        Assert.IsType<CosineScheduleSpec>(defaults.Schedule);
        Assert.Equal(TrainLoss.AllSteps, defaults.Loss);
        var sgd = Assert.IsType<SgdSpec>(Bind("optimizer: {kind: sgd, momentum: 0.9, lr: 0.1}\nschedule: {kind: constant}").Optimizer);
        Assert.Equal(0.9, sgd.Momentum);
    }
}
