using System.Buffers;

namespace MemoryLab.Numerics;

/// <summary>
/// A complex discrete Fourier transform of fixed length on split real/imaginary arrays:
/// forward <c>X_k = Σ_n x_n e^{−2πi kn/N}</c>, inverse <c>x_n = (1/N) Σ_k X_k e^{+2πi kn/N}</c>.
/// Powers of two use an iterative radix-2 Cooley–Tukey transform; other lengths use Bluestein's chirp-z
/// algorithm on a power-of-two transform. Twiddles are precomputed once per plan; a plan is immutable and
/// may be shared across threads (Bluestein scratch comes from <see cref="ArrayPool{T}"/>).
/// </summary>
public sealed class FftPlan
{
    private readonly int[]? _bitReverse;
    private readonly double[]? _cos, _sin;            // radix-2 twiddles e^{−2πi j/N}, j < N/2
    private readonly FftPlan? _inner;                 // Bluestein: power-of-two plan of length M ≥ 2N−1
    private readonly double[]? _chirpRe, _chirpIm;     // w_n = e^{−iπ n²/N}
    private readonly double[]? _filterRe, _filterIm;   // FFT of conj(w) wrapped to length M

    /// <summary>A plan for transforms of <paramref name="length"/> points (≥ 1).</summary>
    public FftPlan(int length)
    {
        if (length < 1) throw new ArgumentOutOfRangeException(nameof(length), length, "FFT length must be at least 1");
        Length = length;
        if (IsPowerOfTwo(length))
        {
            int bits = System.Numerics.BitOperations.Log2((uint)length);
            _bitReverse = new int[length];
            for (int i = 0; i < length; i++)
            {
                int r = 0, x = i;
                for (int b = 0; b < bits; b++) { r = (r << 1) | (x & 1); x >>= 1; }
                _bitReverse[i] = r;
            }
            _cos = new double[Math.Max(1, length / 2)];
            _sin = new double[Math.Max(1, length / 2)];
            for (int j = 0; j < length / 2; j++)
            {
                // SinCosPi takes the rational multiple of π directly, avoiding the rounding of 2π·j/N
                (double s, double c) = double.SinCosPi(-2.0 * j / length);
                _cos[j] = c; _sin[j] = s;
            }
        }
        else
        {
            int m = 1;
            while (m < 2 * length - 1) m <<= 1;
            _inner = new FftPlan(m);
            _chirpRe = new double[length];
            _chirpIm = new double[length];
            long twoN = 2L * length;
            for (int n = 0; n < length; n++)
            {
                // angle −π n²/N, with n² reduced mod 2N so large n keep full accuracy
                long q = (long)n * n % twoN;
                (double s, double c) = double.SinCosPi(-(double)q / length);
                _chirpRe[n] = c; _chirpIm[n] = s;
            }
            _filterRe = new double[m];
            _filterIm = new double[m];
            _filterRe[0] = _chirpRe[0]; _filterIm[0] = -_chirpIm[0];
            for (int n = 1; n < length; n++)
            {
                _filterRe[n] = _chirpRe[n]; _filterIm[n] = -_chirpIm[n];
                _filterRe[m - n] = _chirpRe[n]; _filterIm[m - n] = -_chirpIm[n];
            }
            _inner.Forward(_filterRe, _filterIm);
        }
    }

    /// <summary>Number of points.</summary>
    public int Length { get; }

    /// <summary>True when <paramref name="n"/> is a positive power of two.</summary>
    public static bool IsPowerOfTwo(int n) => n > 0 && (n & (n - 1)) == 0;

    /// <summary>The smallest power of two ≥ <paramref name="n"/>.</summary>
    public static int NextPowerOfTwo(int n)
    {
        if (n < 1) return 1;
        if (n > 1 << 30) throw new ArgumentOutOfRangeException(nameof(n), n, "FFT length too large");
        return (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)n);
    }

    /// <summary>In-place forward transform.</summary>
    public void Forward(Span<double> re, Span<double> im) => Transform(re, im, inverse: false);

    /// <summary>In-place inverse transform (scaled by 1/N).</summary>
    public void Inverse(Span<double> re, Span<double> im)
    {
        Transform(re, im, inverse: true);
        double s = 1.0 / Length;
        for (int i = 0; i < Length; i++) { re[i] *= s; im[i] *= s; }
    }

    private void Transform(Span<double> re, Span<double> im, bool inverse)
    {
        if (re.Length < Length || im.Length < Length)
            throw new ArgumentException($"FFT of length {Length} needs {Length} real and imaginary entries, got {re.Length} and {im.Length}");
        re = re[..Length]; im = im[..Length];
        if (_bitReverse != null) Radix2(re, im, inverse);
        else Bluestein(re, im, inverse);
    }

    private void Radix2(Span<double> re, Span<double> im, bool inverse)
    {
        int n = Length;
        var rev = _bitReverse!;
        for (int i = 0; i < n; i++)
        {
            int j = rev[i];
            if (j > i) { (re[i], re[j]) = (re[j], re[i]); (im[i], im[j]) = (im[j], im[i]); }
        }
        var cos = _cos!; var sin = _sin!;
        double sgn = inverse ? -1 : 1;
        for (int size = 2; size <= n; size <<= 1)
        {
            int half = size >> 1, step = n / size;
            for (int start = 0; start < n; start += size)
            {
                for (int k = 0; k < half; k++)
                {
                    double wr = cos[k * step], wi = sgn * sin[k * step];
                    int p = start + k, q = p + half;
                    double tr = wr * re[q] - wi * im[q];
                    double ti = wr * im[q] + wi * re[q];
                    re[q] = re[p] - tr; im[q] = im[p] - ti;
                    re[p] += tr; im[p] += ti;
                }
            }
        }
    }

    private void Bluestein(Span<double> re, Span<double> im, bool inverse)
    {
        // DFT_k = w_k Σ_n (x_n w_n) conj(w_{k−n}); the inverse is conj(DFT(conj x)) (unscaled here).
        int n = Length, m = _inner!.Length;
        double[] ar = ArrayPool<double>.Shared.Rent(m), ai = ArrayPool<double>.Shared.Rent(m);
        try
        {
            var cr = _chirpRe!; var ci = _chirpIm!;
            double sgn = inverse ? -1 : 1;
            for (int i = 0; i < n; i++)
            {
                double xr = re[i], xi = sgn * im[i];
                ar[i] = xr * cr[i] - xi * ci[i];
                ai[i] = xr * ci[i] + xi * cr[i];
            }
            Array.Clear(ar, n, m - n);
            Array.Clear(ai, n, m - n);
            var sar = ar.AsSpan(0, m); var sai = ai.AsSpan(0, m);
            _inner.Forward(sar, sai);
            var fr = _filterRe!; var fi = _filterIm!;
            for (int i = 0; i < m; i++)
            {
                double pr = sar[i] * fr[i] - sai[i] * fi[i];
                double pi = sar[i] * fi[i] + sai[i] * fr[i];
                sar[i] = pr; sai[i] = pi;
            }
            _inner.Inverse(sar, sai);
            for (int k = 0; k < n; k++)
            {
                double yr = sar[k] * cr[k] - sai[k] * ci[k];
                double yi = sar[k] * ci[k] + sai[k] * cr[k];
                re[k] = yr; im[k] = sgn * yi;
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(ar);
            ArrayPool<double>.Shared.Return(ai);
        }
    }
}

/// <summary>How a causal convolution is computed.</summary>
public enum ConvolutionMethod
{
    /// <summary>Pick by cost: direct sums for short sequences, FFT for long ones.</summary>
    Auto,
    /// <summary>Direct sums, O(T²).</summary>
    Direct,
    /// <summary>Zero-padded FFT, O(T log T).</summary>
    Fft,
}

/// <summary>
/// Causal convolution with a fixed kernel over sequences of fixed length T:
/// <c>y_t = Σ_{s=0}^{t} k_s x_{t−s}</c>, t = 0..T−1 (the sampled linear functional of Li21 §2).
/// The FFT path pads to a power of two N ≥ 2T−1 (no wrap-around), precomputes the kernel's transform, and
/// convolves two real sequences per complex transform (x₁ + i x₂). Both paths agree to rounding.
/// Thread-safe: scratch comes from <see cref="ArrayPool{T}"/>.
/// </summary>
public sealed class CausalConvolution
{
    /// <summary>Below this length <see cref="ConvolutionMethod.Auto"/> uses direct sums.</summary>
    public const int FftThreshold = 128;

    private readonly double[] _kernel;
    private readonly FftPlan? _plan;
    private readonly double[]? _kre, _kim;

    /// <summary>A convolution of length <paramref name="length"/> with the first <paramref name="length"/> entries of <paramref name="kernel"/>.</summary>
    public CausalConvolution(ReadOnlySpan<double> kernel, int length, ConvolutionMethod method = ConvolutionMethod.Auto)
    {
        if (length < 1) throw new ArgumentOutOfRangeException(nameof(length), length, "sequence length must be at least 1");
        if (kernel.Length < length) throw new ArgumentException($"kernel has {kernel.Length} samples, the convolution needs {length}");
        Length = length;
        _kernel = kernel[..length].ToArray();
        foreach (double k in _kernel)
            if (!double.IsFinite(k)) throw new ArgumentException("kernel samples must be finite");
        UsesFft = method switch
        {
            ConvolutionMethod.Direct => false,
            ConvolutionMethod.Fft => true,
            ConvolutionMethod.Auto => length >= FftThreshold,
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "unknown convolution method"),
        };
        if (UsesFft)
        {
            int n = FftPlan.NextPowerOfTwo(2 * length - 1);
            _plan = new FftPlan(n);
            _kre = new double[n];
            _kim = new double[n];
            _kernel.CopyTo(_kre, 0);
            _plan.Forward(_kre, _kim);
        }
    }

    /// <summary>Sequence length T.</summary>
    public int Length { get; }

    /// <summary>Whether the FFT path is used.</summary>
    public bool UsesFft { get; }

    /// <summary>The kernel samples k_0..k_{T−1}.</summary>
    public ReadOnlySpan<double> Kernel => _kernel;

    /// <summary>y ← k * x (causal, first T outputs).</summary>
    public void Apply(ReadOnlySpan<double> x, Span<double> y)
    {
        Check(x, y);
        if (!UsesFft) { Direct(_kernel, x[..Length], y[..Length]); return; }
        ApplyFft(x, default, y, default);
    }

    /// <summary>Two convolutions at once (one complex FFT on the FFT path).</summary>
    public void ApplyPair(ReadOnlySpan<double> x1, ReadOnlySpan<double> x2, Span<double> y1, Span<double> y2)
    {
        Check(x1, y1);
        Check(x2, y2);
        if (!UsesFft)
        {
            Direct(_kernel, x1[..Length], y1[..Length]);
            Direct(_kernel, x2[..Length], y2[..Length]);
            return;
        }
        ApplyFft(x1, x2, y1, y2);
    }

    private void Check(ReadOnlySpan<double> x, Span<double> y)
    {
        if (x.Length < Length || y.Length < Length)
            throw new ArgumentException($"convolution of length {Length} got input {x.Length} and output {y.Length}");
    }

    private void ApplyFft(ReadOnlySpan<double> x1, ReadOnlySpan<double> x2, Span<double> y1, Span<double> y2)
    {
        int n = _plan!.Length, t = Length;
        double[] re = ArrayPool<double>.Shared.Rent(n), im = ArrayPool<double>.Shared.Rent(n);
        try
        {
            var sre = re.AsSpan(0, n); var sim = im.AsSpan(0, n);
            x1[..t].CopyTo(sre);
            sre[t..].Clear();
            if (x2.Length >= t) x2[..t].CopyTo(sim); else sim[..t].Clear();
            sim[t..].Clear();
            _plan.Forward(sre, sim);
            var kr = _kre!; var ki = _kim!;
            for (int i = 0; i < n; i++)
            {
                double a = sre[i], b = sim[i];
                sre[i] = a * kr[i] - b * ki[i];
                sim[i] = a * ki[i] + b * kr[i];
            }
            _plan.Inverse(sre, sim);
            sre[..t].CopyTo(y1);
            if (x2.Length >= t) sim[..t].CopyTo(y2);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(re);
            ArrayPool<double>.Shared.Return(im);
        }
    }

    /// <summary>Direct causal convolution <c>y_t = Σ_{s=0}^{t} k_s x_{t−s}</c>, O(T²); the reference for the FFT path.</summary>
    public static void Direct(ReadOnlySpan<double> kernel, ReadOnlySpan<double> x, Span<double> y)
    {
        int t = x.Length;
        if (kernel.Length < t || y.Length < t) throw new ArgumentException("kernel and output must be at least as long as the input");
        for (int i = 0; i < t; i++)
        {
            double s = 0;
            for (int j = 0; j <= i; j++) s += kernel[j] * x[i - j];
            y[i] = s;
        }
    }
}
