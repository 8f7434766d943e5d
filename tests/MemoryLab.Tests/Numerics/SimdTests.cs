using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Numerics;

/// <summary>The ISimd family: a kernel written once gives the same bits at the vector width and at one lane
/// (so a layer's vector body and scalar tail agree), and the lane runner covers each lane exactly once.</summary>
public class SimdTests
{
    private static IEnumerable<float> FloatGrid()
    {
        for (int i = -4000; i <= 4000; i++) yield return i * 3.7e-3f;
        foreach (float x in new[] { 0f, -0f, 7.9f, -7.9f, 8f, -8f, 50f, -50f, 1e-30f, float.MaxValue, float.MinValue }) yield return x;
    }

    private static Vector<float> V(float x) => new(x);

    [Fact]
    public void Float_sigmoid_tanh_and_activations_round_alike_at_every_width()
    {
        int mismatches = 0;
        foreach (float x in FloatGrid())
        {
            var lane = new Lane<SimdVector<float>, Vector<float>, float>(V(x));
            var one = new Lane<Simd1<float>, float, float>(x);
            float[] vector =
            [
                SimdMath.Sigmoid(lane).Value[0], SimdMath.Tanh(lane).Value[0],
                TanhActivation.Apply(lane).Value[0], TanhActivation.DerivativeFromOutput(lane).Value[0],
                HardTanhActivation.Apply(lane).Value[0], HardTanhActivation.DerivativeFromOutput(lane).Value[0],
                IdentityActivation.Apply(lane).Value[0], IdentityActivation.DerivativeFromOutput(lane).Value[0],
            ];
            float[] scalar =
            [
                SimdMath.Sigmoid(one).Value, SimdMath.Tanh(one).Value,
                TanhActivation.Apply(one).Value, TanhActivation.DerivativeFromOutput(one).Value,
                HardTanhActivation.Apply(one).Value, HardTanhActivation.DerivativeFromOutput(one).Value,
                IdentityActivation.Apply(one).Value, IdentityActivation.DerivativeFromOutput(one).Value,
            ];
            for (int k = 0; k < vector.Length; k++)
                if (BitConverter.SingleToInt32Bits(vector[k]) != BitConverter.SingleToInt32Bits(scalar[k])) mismatches++;
        }
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void Hardtanh_clamps_and_its_derivative_is_one_strictly_inside()
    {
        var y = HardTanhActivation.Apply(new Lane<Simd1<double>, double, double>(3.0)).Value;
        Assert.Equal(1.0, y);
        Assert.Equal(-1.0, HardTanhActivation.Apply(new Lane<Simd1<double>, double, double>(-3.0)).Value);
        Assert.Equal(0.0, HardTanhActivation.DerivativeFromOutput(new Lane<Simd1<double>, double, double>(1.0)).Value);
        Assert.Equal(1.0, HardTanhActivation.DerivativeFromOutput(new Lane<Simd1<double>, double, double>(0.999)).Value);
        Assert.Equal(0.0, HardTanhActivation.DerivativeFromOutput(new Lane<SimdVector<double>, Vector<double>, double>(new Vector<double>(-1.0))).Value[0]);
    }

    [Fact]
    public void Double_sigmoid_and_tanh_agree_with_the_math_library_at_both_widths()
    {
        for (int i = -2000; i <= 2000; i++)
        {
            double x = i * 1.3e-2;
            var lane = new Lane<SimdVector<double>, Vector<double>, double>(new Vector<double>(x));
            var one = new Lane<Simd1<double>, double, double>(x);
            double sigmoid = 1 / (1 + Math.Exp(-x)), tanh = Math.Tanh(x);
            Assert.Equal(sigmoid, SimdMath.Sigmoid(lane).Value[0], 1e-15);
            Assert.Equal(sigmoid, SimdMath.Sigmoid(one).Value, 1e-15);
            Assert.Equal(tanh, SimdMath.Tanh(lane).Value[0], 1e-15);
            Assert.Equal(tanh, SimdMath.Tanh(one).Value, 1e-15);
        }
    }

    /// <summary>Adds the width that visited each lane, so double visits and gaps show.</summary>
    private readonly ref struct CountVisits(Span<int> visits) : ILaneKernel<float>
    {
        private readonly Span<int> _visits = visits;

        public void Run<TS, TV>(nuint from, nuint to) where TS : ISimd<TV, float> where TV : struct
        {
            Assert.Equal(0u, (to - from) % (nuint)TS.Count);
            for (int j = (int)from; j < (int)to; j++) _visits[j] += TS.Count;
        }
    }

    [Fact]
    public void The_lane_runner_visits_every_lane_once_vector_blocks_first()
    {
        int w = Vector<float>.Count;
        foreach (int n in new[] { 0, 1, w - 1, w, w + 1, 3 * w + 5 })
        {
            var visits = new int[n];
            var kernel = new CountVisits(visits);
            Lanes.ForEach<CountVisits, float>(ref kernel, n);
            for (int j = 0; j < n; j++) Assert.Equal(j < n - n % w ? w : 1, visits[j]);
        }
    }
}
