using System.Numerics;
using MemoryLab.Numerics;

namespace MemoryLab.Targets;

/// <summary>
/// A random tanh (Elman) RNN teacher: <c>h_t = tanh(W h_{t−1} + U x_t)</c>, <c>h_{−1} = 0</c>, <c>y_t = C h_t</c>,
/// a nonlinear target functional for the curse-of-memory experiments (Li21 Fig. 1c; Wang24). Weights are
/// drawn once from <c>CounterRng(teacherSeed, Teacher)</c>: W ~ N(0, gain²/n) (gain near 1 gives long
/// memory, &gt; 1 chaotic), U ~ N(0, inputScale²/d_in), C ~ N(0, 1/n) [assumed: the papers give no constants
/// for this teacher; all are settings]. Inputs come from an <see cref="IInputProcess"/> per feature.
/// </summary>
public sealed class TanhRnnTeacher<T> : ISequenceDataset<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly double[] _w, _u, _c;

    /// <summary>Draws the teacher; throws on non-positive sizes or invalid scales.</summary>
    public TanhRnnTeacher(int inputFeatures, int hidden, int outputFeatures, int time, IInputProcess? input = null,
        ulong teacherSeed = 42, ulong dataSeed = 0, double recurrentGain = 1.0, double inputScale = 1.0)
    {
        if (inputFeatures < 1) throw new ArgumentOutOfRangeException(nameof(inputFeatures), inputFeatures, "need at least one input feature");
        if (hidden < 1) throw new ArgumentOutOfRangeException(nameof(hidden), hidden, "need at least one hidden unit");
        if (outputFeatures < 1) throw new ArgumentOutOfRangeException(nameof(outputFeatures), outputFeatures, "need at least one output feature");
        if (time < 1) throw new ArgumentOutOfRangeException(nameof(time), time, "sequence length must be at least 1");
        if (!(recurrentGain >= 0) || !double.IsFinite(recurrentGain)) throw new ArgumentOutOfRangeException(nameof(recurrentGain), recurrentGain, "recurrent gain must be finite and ≥ 0");
        if (!(inputScale >= 0) || !double.IsFinite(inputScale)) throw new ArgumentOutOfRangeException(nameof(inputScale), inputScale, "input scale must be finite and ≥ 0");
        InputFeatures = inputFeatures;
        Hidden = hidden;
        OutputFeatures = outputFeatures;
        Time = time;
        Input = input ?? InputProcess.WhiteNoise();
        TeacherSeed = teacherSeed;
        Seed = dataSeed;
        RecurrentGain = recurrentGain;
        var rng = new CounterRng(teacherSeed, RandomPurpose.Teacher);
        _w = new double[hidden * hidden];
        _u = new double[hidden * inputFeatures];
        _c = new double[outputFeatures * hidden];
        rng.Fork(0).FillNormal<double>(_w, 0, recurrentGain / Math.Sqrt(hidden));
        rng.Fork(1).FillNormal<double>(_u, 0, inputScale / Math.Sqrt(inputFeatures));
        rng.Fork(2).FillNormal<double>(_c, 0, 1 / Math.Sqrt(hidden));
    }

    /// <inheritdoc />
    public int Time { get; }
    /// <inheritdoc />
    public int InputFeatures { get; }
    /// <inheritdoc />
    public int OutputFeatures { get; }
    /// <summary>Hidden width n.</summary>
    public int Hidden { get; }
    /// <inheritdoc />
    public ulong Seed { get; }
    /// <summary>Seed of the teacher's weights.</summary>
    public ulong TeacherSeed { get; }
    /// <summary>Gain of W.</summary>
    public double RecurrentGain { get; }
    /// <summary>The input process.</summary>
    public IInputProcess Input { get; }
    /// <summary>W, [n, n] row-major.</summary>
    public ReadOnlySpan<double> W => _w;
    /// <summary>U, [n, d_in] row-major.</summary>
    public ReadOnlySpan<double> U => _u;
    /// <summary>C, [d_out, n] row-major.</summary>
    public ReadOnlySpan<double> C => _c;

    /// <inheritdoc />
    public void FillBatch(long step, SequenceTensor<T> inputs, SequenceTensor<T> targets)
    {
        SequenceDataset.CheckShapes(this, inputs, targets);
        InputProcess.Fill(Input, Seed, step, inputs);
        ComputeTargets(inputs, targets);
    }

    /// <summary>Runs the teacher on given inputs (float64 inside).</summary>
    public void ComputeTargets(SequenceTensor<T> inputs, SequenceTensor<T> targets)
    {
        SequenceDataset.CheckShapes(this, inputs, targets);
        int n = Hidden, d = InputFeatures, o = OutputFeatures;
        var h = new double[n];
        var pre = new double[n];
        for (int b = 0; b < inputs.Batch; b++)
        {
            Array.Clear(h);
            var xs = inputs.Sequence(b);
            var ys = targets.Sequence(b);
            for (int t = 0; t < Time; t++)
            {
                for (int i = 0; i < n; i++)
                {
                    double s = 0;
                    for (int j = 0; j < n; j++) s += _w[i * n + j] * h[j];
                    for (int k = 0; k < d; k++) s += _u[i * d + k] * double.CreateTruncating(xs[t * d + k]);
                    pre[i] = s;
                }
                for (int i = 0; i < n; i++) h[i] = Math.Tanh(pre[i]);
                for (int r = 0; r < o; r++)
                {
                    double s = 0;
                    for (int j = 0; j < n; j++) s += _c[r * n + j] * h[j];
                    ys[t * o + r] = T.CreateTruncating(s);
                }
            }
        }
    }
}
