using System.Numerics;
using MemoryLab.Models;
using MemoryLab.Numerics;
using MemoryLab.Targets;

namespace MemoryLab.Diagnostics;

/// <summary>Settings of <see cref="Diagnoser.Run"/>.</summary>
public sealed record DiagnosisOptions
{
    /// <summary>Sequences the input statistics of every recurrent layer are measured on.</summary>
    public int Batch { get; init; } = 32;
    /// <summary>An eigenvalue is flagged when its sensitivity exceeds this multiple of its layer's median.</summary>
    public double FlagRatio { get; init; } = 10;
    /// <summary>Steps of the memory function (0: the data's sequence length).</summary>
    public int MemoryTime { get; init; }
    /// <summary>Sequences in the one batch whose loss the Hessian is taken of (null: 16, or 4 above <see cref="Diagnoser.LargeModel"/> parameters).</summary>
    public int? HessianBatch { get; init; }
    /// <summary>Top Hessian eigenpairs reported.</summary>
    public int HessianEigenvalues { get; init; } = 4;
    /// <summary>Lanczos steps (Hessian-vector products) for the top eigenpairs; 0 skips the curvature (null: 24, or 12 above
    /// <see cref="Diagnoser.LargeModel"/> parameters).</summary>
    public int? LanczosSteps { get; init; }
    /// <summary>Step of the differences of exact gradients in each Hessian-vector product (relative to max |θ|).</summary>
    public double DifferenceStep { get; init; } = 1e-5;
    /// <summary>Check the first diagonal layer's closed-form sensitivities by Monte Carlo through its own backward pass.</summary>
    public bool Check { get; init; }
    /// <summary>Monte Carlo sequences of the check.</summary>
    public int CheckSequences { get; init; } = 128;
    /// <summary>Seed of every random draw of the diagnosis (probe directions, Lanczos start, Monte Carlo inputs).</summary>
    public ulong Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Batch < 1) throw new ArgumentException($"batch must be at least 1 (got {Batch})");
        if (!(FlagRatio > 1) || double.IsInfinity(FlagRatio)) throw new ArgumentException($"the flag ratio must be finite and above 1 (got {FlagRatio})");
        if (MemoryTime < 0) throw new ArgumentException($"memory time must be ≥ 0 (got {MemoryTime})");
        if (HessianBatch is < 1) throw new ArgumentException($"Hessian batch must be at least 1 (got {HessianBatch})");
        if (HessianEigenvalues < 1) throw new ArgumentException($"Hessian eigenvalues must be at least 1 (got {HessianEigenvalues})");
        if (LanczosSteps is < 0) throw new ArgumentException($"Lanczos steps must be ≥ 0 (got {LanczosSteps})");
        if (!(DifferenceStep > 0)) throw new ArgumentException($"difference step must be positive (got {DifferenceStep})");
        if (CheckSequences < 2) throw new ArgumentException($"check sequences must be at least 2 (got {CheckSequences})");
    }
}

/// <summary>Adam's state as a checkpoint holds it.</summary>
/// <param name="SecondMoment">v (PyTorch's <c>exp_avg_sq</c>), laid out like θ.</param>
/// <param name="Steps">Optimiser steps taken (t of the bias corrections).</param>
/// <param name="LearningRate">The learning rate the effective rate is quoted for (the spec's peak rate).</param>
/// <param name="Beta1">β₁.</param>
/// <param name="Beta2">β₂.</param>
/// <param name="Epsilon">ε.</param>
public sealed record AdamState(double[] SecondMoment, long Steps, double LearningRate, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8);

/// <summary>How well a model mapped from a foreign file reproduces the output pair the file carries.</summary>
/// <param name="MaxAbsoluteError">max |ŷ − y|.</param>
/// <param name="RelativeError">max |ŷ − y| / max |y|.</param>
/// <param name="Sequences">Sequences compared.</param>
public sealed record MappingCheck(double MaxAbsoluteError, double RelativeError, int Sequences);

/// <summary>A model to diagnose, with the data it is meant for.</summary>
public sealed class DiagnosisSubject
{
    /// <summary>The model in float64.</summary>
    public required SequenceModel<double> Model { get; init; }
    /// <summary>Where it came from (a run folder or a file).</summary>
    public required string Source { get; init; }
    /// <summary>How it was read (e.g. "MemoryLab run", "torch.nn.GRU names").</summary>
    public required string Reading { get; init; }
    /// <summary>The data; null means unit white noise of <see cref="Time"/> steps, and the model's own outputs as targets.</summary>
    public ISequenceDataset<double>? Data { get; init; }
    /// <summary>Steps per sequence when there is no data.</summary>
    public int Time { get; init; } = 300;
    /// <summary>What the data is, in words.</summary>
    public string DataDescription { get; init; } = "unit white noise; targets: the model's own outputs";
    /// <summary>Adam's state, when the checkpoint holds it.</summary>
    public AdamState? Adam { get; init; }
    /// <summary>The output-pair check of a mapped foreign model.</summary>
    public MappingCheck? Mapping { get; init; }
}

/// <summary>One eigenvalue (or gate time constant) of a recurrent layer.</summary>
/// <param name="Lambda">The eigenvalue λ (a gate's σ(b) for GRU/LSTM).</param>
/// <param name="TimeScale">Memory time 1/(1 − |λ|).</param>
/// <param name="InputVariance">σ² = E|u|² of the input driving this mode, measured on the data.</param>
/// <param name="InputCorrelation">ρ = Re E[u_t ū_{t−1}] / σ², the lag-1 correlation the AR(1) closed forms use.</param>
/// <param name="StateSecondMoment">E|h|² (closed form).</param>
/// <param name="LambdaSensitivity">E|∂h/∂λ|² (closed form), with the layer's input normalisation.</param>
/// <param name="ParameterSensitivity">E|∂h/∂ω|² for each trainable eigenvalue parameter ω (closed form, chain rule of the layer's map).</param>
/// <param name="Headline">The sensitivity compared across the layer (see <see cref="LayerDiagnosis.HeadlineName"/>).</param>
/// <param name="Flagged">Headline above the flag ratio times the layer's median.</param>
public sealed record ModeDiagnosis(Complex Lambda, double TimeScale, double InputVariance, double InputCorrelation, double StateSecondMoment,
    double LambdaSensitivity, IReadOnlyDictionary<string, double> ParameterSensitivity, double Headline, bool Flagged);

/// <summary>Spectrum, memory and sensitivity of one recurrent layer.</summary>
/// <param name="Path">The layer's parameter prefix (e.g. <c>blocks.2.rnn</c>; empty for a model that is one layer).</param>
/// <param name="Kind">The layer kind.</param>
/// <param name="How">How the eigenvalues were obtained.</param>
/// <param name="HeadlineName">Which sensitivity is compared and flagged.</param>
/// <param name="Modes">Every eigenvalue.</param>
/// <param name="MedianHeadline">The layer's median headline sensitivity.</param>
public sealed record LayerDiagnosis(string Path, string Kind, string How, string HeadlineName, IReadOnlyList<ModeDiagnosis> Modes, double MedianHeadline)
{
    /// <summary>Eigenvalues flagged.</summary>
    public int FlaggedCount => Modes.Count(m => m.Flagged);
}

/// <summary>The memory function of the model and, for a linear-functional target, |ρ(t)|.</summary>
public sealed record MemoryDiagnosis(double[] Model, double[] Mean, int Probes, double[]? Target, string? TargetName);

/// <summary>Top of the Hessian spectrum of the loss on one batch.</summary>
/// <param name="Loss">The loss, in words.</param>
/// <param name="LossValue">Its value at θ.</param>
/// <param name="Batch">Sequences in the batch.</param>
/// <param name="Eigenvalues">Top eigenvalues, largest first.</param>
/// <param name="EffectiveParameters">1/IPR of each eigenvector (Zucchet24 Fig. 4).</param>
/// <param name="Residuals">Lanczos residual ‖Hv − λv‖ of each pair.</param>
/// <param name="TopParameters">The three parameter tensors carrying most of each eigenvector's mass.</param>
/// <param name="Products">Hessian-vector products spent.</param>
public sealed record CurvatureDiagnosis(string Loss, double LossValue, int Batch, double[] Eigenvalues, double[] EffectiveParameters, double[] Residuals,
    IReadOnlyList<IReadOnlyList<(string Name, double Fraction)>> TopParameters, int Products);

/// <summary>Adam's effective learning rate lr/(1−β₁ᵗ)/(√v̂ + ε) over one parameter tensor.</summary>
public sealed record EffectiveRate(string Parameter, string Group, double Median, double Min, double Max);

/// <summary>The Monte Carlo check of one layer's closed-form sensitivities through its own backward pass.</summary>
/// <param name="Layer">The layer checked.</param>
/// <param name="Parameter">The parameter whose sensitivity E|∂h_T/∂ω_j|² is compared.</param>
/// <param name="Sequences">Monte Carlo sequences.</param>
/// <param name="Time">Their length.</param>
/// <param name="ClosedForm">Closed form per mode (for the check's AR(1) input).</param>
/// <param name="MonteCarlo">Monte Carlo mean per mode.</param>
/// <param name="Compared">Modes whose memory time is below Time/20 (so the state is stationary at the last step).</param>
/// <param name="MedianRatio">Median over compared modes of Monte Carlo / closed form.</param>
/// <param name="MedianAbsoluteDeviation">Median over compared modes of |ratio − 1|.</param>
public sealed record CheckDiagnosis(string Layer, string Parameter, int Sequences, int Time, double[] ClosedForm, double[] MonteCarlo, bool[] Compared,
    double MedianRatio, double MedianAbsoluteDeviation);

/// <summary>Everything <see cref="Diagnoser.Run"/> measured.</summary>
public sealed record Diagnosis
{
    /// <summary>Where the model came from.</summary>
    public required string Source { get; init; }
    /// <summary>How it was read.</summary>
    public required string Reading { get; init; }
    /// <summary>The data, in words.</summary>
    public required string Data { get; init; }
    /// <summary>Trainable parameters.</summary>
    public required int Parameters { get; init; }
    /// <summary>Settings used.</summary>
    public required DiagnosisOptions Options { get; init; }
    /// <summary>Every recurrent layer.</summary>
    public required IReadOnlyList<LayerDiagnosis> Layers { get; init; }
    /// <summary>The memory function.</summary>
    public MemoryDiagnosis? Memory { get; init; }
    /// <summary>The top of the Hessian spectrum (null when skipped).</summary>
    public CurvatureDiagnosis? Curvature { get; init; }
    /// <summary>Adam's effective rates (empty without Adam's state).</summary>
    public IReadOnlyList<EffectiveRate> EffectiveRates { get; init; } = [];
    /// <summary>The Monte Carlo check (null unless asked for and possible).</summary>
    public CheckDiagnosis? Check { get; init; }
    /// <summary>Why the check could not run, when it was asked for.</summary>
    public string? CheckNote { get; init; }
    /// <summary>The output-pair check of a mapped model.</summary>
    public MappingCheck? Mapping { get; init; }
    /// <summary>Seconds spent per part.</summary>
    public required IReadOnlyDictionary<string, double> Seconds { get; init; }
}

/// <summary>Unit white noise (or the model's own outputs as targets, filled in by the caller).</summary>
internal sealed class WhiteNoiseData(int inputs, int outputs, int time, ulong seed) : ISequenceDataset<double>
{
    public int Time => time;
    public int InputFeatures => inputs;
    public int OutputFeatures => outputs;
    public ulong Seed => seed;
    public void FillBatch(long step, SequenceTensor<double> x, SequenceTensor<double> y)
    {
        new CounterRng(seed, RandomPurpose.Data, (ulong)step).FillNormal<double>(x.Data);
        Array.Clear(y.Data);
    }
}
