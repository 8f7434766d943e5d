using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Models;

public class ModelFactoryTests
{
    private static readonly ModelFactory Factory = ModelFactory.CreateDefault();

    private static ParameterLayout LayoutOf<T>(ISequenceLayer<T> layer) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var layout = new ParameterLayout();
        layer.Declare(layout, "m");
        return layout;
    }

    [Fact]
    public void Deep_stack_description_builds_the_same_model_as_code()
    {
        var description = ModelDescription.Of("deep_stack", ("d_model", 8), ("blocks", 3), ("out", 2), ("norm", "layer"))
            .With(ModelDescription.Of("gru", ("init", "chrono"), ("t_min", 2), ("t_max", 4)));
        var built = Factory.Build<double>(description, inputSize: 5);
        var coded = new DeepStack<double>(5, 8, 2, 3, _ => new GatedRecurrentUnit<double>(8, 8, GruInitialization.Chrono, 2, 4), NormKind.Layer);
        Assert.IsType<DeepStack<double>>(built);
        Assert.Equal((5, 2), (built.InputSize, built.OutputSize));
        var a = LayoutOf(built);
        var b = LayoutOf(coded);
        Assert.Equal(b.Views.Select(v => (v.Name, v.Offset, v.Length)), a.Views.Select(v => (v.Name, v.Offset, v.Length)));
        // Same seed, same parameters.
        var ta = new double[a.Count];
        var tb = new double[b.Count];
        built.Initialize(ta, new CounterRng(3, RandomPurpose.Init));
        coded.Initialize(tb, new CounterRng(3, RandomPurpose.Init));
        Assert.Equal(tb, ta);
    }

    [Fact]
    public void Every_builtin_kind_builds_for_float_and_double()
    {
        var rnn = ModelDescription.Of("elman", ("activation", "hard_tanh"));
        var cases = new[]
        {
            ModelDescription.Of("dense", ("out", 3), ("bias", false)),
            ModelDescription.Of("elman", ("hidden", 6), ("activation", "identity"), ("recurrent_gain", 0.5)),
            ModelDescription.Of("continuous_time", ("hidden", 6), ("parametrisation", "best"), ("dt", 0.5)),
            ModelDescription.Of("gru", ("hidden", 6), ("init", "pytorch")),
            ModelDescription.Of("lstm", ("hidden", 6), ("forget_bias", 1.0)),
            ModelDescription.Of("glu", ("out", 3)),
            ModelDescription.Of("gelu", ("approximation", "tanh")),
            ModelDescription.Of("layer_norm", ("epsilon", 1e-6)),
            ModelDescription.Of("batch_norm", ("momentum", 0.2)),
            ModelDescription.Of("residual_block", ("norm", "batch")).With(rnn),
            ModelDescription.Of("deep_stack", ("d_model", 4), ("blocks", 2)).With(rnn),
            ModelDescription.Of("linear_rnn", ("hidden", 6), ("heads", 3), ("out", 2)),
            ModelDescription.Of("complex_diagonal", ("hidden", 5), ("parametrisation", "opt"), ("normalisation", "l2"), ("r_min", 0.5)),
            ModelDescription.Of("lru", ("hidden", 5), ("init", "teacher_student")),
            ModelDescription.Of("stack").With(ModelDescription.Of("gru", ("hidden", 7), ("name", "rnn")), ModelDescription.Of("dense", ("out", 1), ("name", "readout"))),
        };
        Assert.Equal(cases.Select(c => c.Kind).Distinct().Order(), Factory.Kinds);
        foreach (var description in cases)
        {
            var f = Factory.Build<float>(description, 4);
            var d = Factory.Build<double>(description, 4);
            Assert.Equal(LayoutOf(f).Count, LayoutOf(d).Count);
        }
        var stack = Factory.Build<double>(cases[^1], 4);
        var names = LayoutOf(stack).Views.Select(v => v.Name).ToArray();
        Assert.Contains("m.rnn.weight_hh", names);
        Assert.Contains("m.readout.weight", names);
        var ct = (ContinuousTimeRecurrence<double>)Factory.Build<double>(cases[2], 4);
        Assert.Equal((StableParametrisation.Best, 0.5), (ct.Parametrisation, ct.Dt));
    }

    [Fact]
    public void Bad_descriptions_fail_with_the_place_and_the_option()
    {
        var typo = Assert.Throws<ModelDescriptionException>(() => Factory.Build<float>(
            ModelDescription.Of("deep_stack", ("d_model", 4)).With(ModelDescription.Of("gru", ("hiden", 4))), 2));
        Assert.Equal("hiden", typo.Key);
        Assert.Equal("deep_stack/children[0]:gru", typo.Path);
        Assert.Contains("hidden", typo.Message);

        var missing = Assert.Throws<ModelDescriptionException>(() => Factory.Build<float>(ModelDescription.Of("dense"), 2));
        Assert.Equal("out", missing.Key);

        var malformed = Assert.Throws<ModelDescriptionException>(() => Factory.Build<float>(ModelDescription.Of("gru", ("hidden", "many")), 2));
        Assert.Contains("'many' is not an integer", malformed.Message);

        var badEnum = Assert.Throws<ModelDescriptionException>(() => Factory.Build<float>(ModelDescription.Of("elman", ("activation", "relu")), 2));
        Assert.Contains("tanh, hardtanh, identity", badEnum.Message);

        var unknown = Assert.Throws<ModelDescriptionException>(() => Factory.Build<float>(ModelDescription.Of("transformer"), 2));
        Assert.Contains("known kinds", unknown.Message);

        Assert.Throws<ModelDescriptionException>(() => Factory.Build<float>(ModelDescription.Of("residual_block"), 2));
        Assert.Throws<ModelDescriptionException>(() => Factory.Build<float>(ModelDescription.Of("gelu").With(ModelDescription.Of("gelu")), 2));
        // A value the layer itself rejects is reported at its description.
        var rejected = Assert.Throws<ModelDescriptionException>(() => Factory.Build<float>(ModelDescription.Of("gru", ("t_min", 5), ("t_max", 2)), 2));
        Assert.Equal("gru", rejected.Path);
        // A recurrent layer that does not map d → d cannot sit in a block.
        Assert.Throws<ModelDescriptionException>(() => Factory.Build<float>(
            ModelDescription.Of("residual_block").With(ModelDescription.Of("gru", ("hidden", 3))), 2));
    }

    [Fact]
    public void New_kinds_register_in_one_line()
    {
        var factory = ModelFactory.CreateDefault();
        factory.Register("tanh_rnn", Tanh<float>, Tanh<double>, "an Elman RNN fixed to tanh");
        var built = factory.Build<double>(ModelDescription.Of("residual_block").With(ModelDescription.Of("tanh_rnn")), 3);
        Assert.IsType<ElmanRecurrence<double>>(((ResidualBlock<double>)built).Recurrent);
        Assert.Throws<ArgumentException>(() => factory.Register("gru", Tanh<float>, Tanh<double>, "duplicate"));
    }

    private static ISequenceLayer<T> Tanh<T>(LayerBuildContext c) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        new ElmanRecurrence<T>(c.InputSize, c.Int("hidden", c.InputSize));

    [Fact]
    public void Descriptions_compare_and_print_by_value()
    {
        var a = ModelDescription.Of("gru", ("hidden", 64), ("init", "chrono"));
        var b = new ModelDescription("gru", new Dictionary<string, string> { ["init"] = "chrono", ["hidden"] = "64" });
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, ModelDescription.Of("gru", ("hidden", 32)));
        Assert.Equal("stack[gru(hidden=64, init=chrono), dense(out=1)]", ModelDescription.Of("stack").With(a, ModelDescription.Of("dense", ("out", 1))).ToString());
        Assert.Equal("0.001", ModelDescription.Of("x", ("lr", 1e-3)).Options["lr"]);
    }
}
