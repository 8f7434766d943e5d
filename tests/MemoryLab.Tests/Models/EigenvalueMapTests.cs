using System.Numerics;
using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Models;

/// <summary>An eigenvalue parametrisation of a researcher's own: a map registered in a factory, looked up by name from a
/// description or a spec, with a gradient exact against finite differences; the built-in maps are instances of the same strategy.</summary>
public class EigenvalueMapTests
{
    /// <summary>λ = ν e^{iθ} with ν = p² / (1 + p²), θ = sinh q: a map no built-in has, to check the strategy end to end.</summary>
    public sealed class SquareRatio<T> : PolarEigenvalueMap<T> where T : IFloatingPointIeee754<T>
    {
        public override string Name => "square_ratio";
        public override (string P, string Q) ParameterNames => ("nu_root", "theta_asinh");
        public override (T Nu, T Theta) ToPolar(T p, T q) => (p * p / (T.One + p * p), T.Sinh(q));
        protected override (T DP, T DQ) PolarBackward(T p, T q, T nu, T theta, T dNu, T dTheta)
        {
            T d = T.One + p * p;
            return (dNu * T.CreateTruncating(2) * p / (d * d), dTheta * T.Cosh(q));
        }
        public override (double P, double Q) FromPolar(double nu, double theta)
        {
            double n = Math.Min(nu, 1 - 1e-7);
            return (Math.Sqrt(n / (1 - n)), Math.Asinh(theta));
        }
    }

    private static ModelFactory WithSquareRatio()
    {
        var factory = ModelFactory.CreateDefault();
        factory.RegisterParametrisation(typeof(SquareRatio<>));
        return factory;
    }

    [Theory]
    [InlineData("none")]
    [InlineData("l2")]
    [InlineData("learned")]
    public void A_registered_map_builds_from_a_description_and_has_exact_gradients(string normalisation)
    {
        var layer = WithSquareRatio().Build<double>(ModelDescription.Of("complex_diagonal",
            ("parametrisation", "square_ratio"), ("normalisation", normalisation), ("hidden", 5), ("out", 2), ("r_min", 0.4), ("r_max", 0.9)), 3);
        var diagonal = Assert.IsType<DiagonalRecurrence<double>>(layer);
        Assert.IsType<SquareRatio<double>>(diagonal.Map);
        var layout = new ParameterLayout();
        layer.Declare(layout, "");
        Assert.True(layout.TryGet("nu_root", out _) && layout.TryGet("theta_asinh", out _));
        var (parameters, input) = LayerGradientCheck.Check(layer, batch: 3, time: 6);
        Assert.True(parameters.MaxRelativeError < 1e-6, parameters.ToString());
        Assert.True(input.MaxRelativeError < 1e-6, input.ToString());
    }

    [Fact]
    public void The_ring_initialisation_reaches_the_map_through_its_inverse()
    {
        var layer = new DiagonalRecurrence<double>(1, 1, new DiagonalRecurrenceOptions { StateSize = 50, RMin = 0.5, RMax = 0.9, MaxPhase = 1 },
            new SquareRatio<double>());
        var model = new SequenceModel<double>(layer);
        model.Initialize(2);
        var re = new double[50]; var im = new double[50]; var g = new double[50];
        layer.Eigenvalues(model.Theta, re, im, g);
        for (int i = 0; i < 50; i++)
        {
            double nu = Math.Sqrt(re[i] * re[i] + im[i] * im[i]), phase = Math.Atan2(im[i], re[i]);
            Assert.InRange(nu, 0.5 - 1e-12, 0.9 + 1e-12);
            Assert.InRange(phase, 0, 1 + 1e-12);
        }
    }

    [Fact]
    public void An_unknown_parametrisation_lists_the_registered_ones()
    {
        var e = Assert.Throws<ModelDescriptionException>(() => ModelFactory.CreateDefault().Build<float>(
            ModelDescription.Of("complex_diagonal", ("parametrisation", "square_ratio")), 1));
        Assert.Equal("parametrisation", e.Key);
        Assert.Contains("'square_ratio' is not one of default, exp, opt, polar, tanh", e.Message);
        Assert.Contains("square_ratio", string.Join(",", WithSquareRatio().Parametrisations));
        Assert.Throws<ArgumentException>(() => WithSquareRatio().RegisterParametrisation(typeof(SquareRatio<>)));
    }

    [Theory]
    [InlineData(EigenvalueParametrisation.Default)]
    [InlineData(EigenvalueParametrisation.Exp)]
    [InlineData(EigenvalueParametrisation.Opt)]
    public void A_built_in_map_named_in_a_spec_gives_the_same_bits_as_the_options(EigenvalueParametrisation kind)
    {
        string name = EigenvalueMaps.For<float>(kind).Name;
        var fromSpec = (DiagonalRecurrence<float>)ModelFactory.CreateDefault().Build<float>(ModelDescription.Of("complex_diagonal",
            ("parametrisation", name), ("normalisation", "l2"), ("hidden", 6), ("r_min", 0.5), ("algorithm", "scan")), 2);
        var fromOptions = new DiagonalRecurrence<float>(2, 2, new DiagonalRecurrenceOptions
        {
            StateSize = 6, Parametrisation = kind, Normalisation = InputNormalisation.L2, RMin = 0.5,
        });
        Assert.Equal(kind, fromSpec.Options.Parametrisation);
        Assert.Same(fromOptions.Map, fromSpec.Map);
        var a = new SequenceModel<float>(fromSpec); var b = new SequenceModel<float>(fromOptions);
        a.Initialize(4); b.Initialize(4);
        Assert.Equal(b.Theta, a.Theta);
        using var pool = new WorkerPool(1);
        a.Prepare(3, 7, pool); b.Prepare(3, 7, pool);
        var x = new SequenceTensor<float>(3, 7, 2);
        new CounterRng(1, RandomPurpose.Data).FillNormal<float>(x.Data);
        Assert.Equal(b.Forward(x).Data, a.Forward(x).Data);
    }

    private sealed class Doubling : ILayerKind
    {
        public string Name => "doubling";
        public string Summary => "y = 2x";
        public ISequenceLayer<T> Build<T>(LayerBuildContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
            new Dense<T>(c.InputSize, c.InputSize, bias: false);
    }

    [Fact]
    public void A_layer_kind_in_one_type_registers_and_a_train_run_builds_from_the_given_factory()
    {
        var factory = WithSquareRatio();
        factory.Register(new Doubling());
        Assert.Contains("doubling", factory.Kinds);
        var spec = SpecParser.ParseText("kind: train\ndata: {kind: teacher, time: 10, state_size: 2}\n"
            + "model: {kind: stack, layers: [{kind: doubling}, {kind: complex_diagonal, parametrisation: square_ratio, hidden: 3}]}\n", "p.yaml");
        spec.GetString("kind");
        new TrainExperiment(factory).BindStrict(spec);
        spec = SpecParser.ParseText("kind: train\ndata: {kind: teacher, time: 10, state_size: 2}\nmodel: {kind: doubling}\n", "p.yaml");
        spec.GetString("kind");
        var e = Assert.Throws<SpecException>(() => new TrainExperiment().BindStrict(spec));
        Assert.Contains("unknown kind 'doubling'", e.Message);
    }
}
