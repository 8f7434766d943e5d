using System.Runtime.Intrinsics;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Numerics;

public class MachinePeaksTests
{
    // No timing thresholds (the machine is shared): only that a measurement is produced and is a real number.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Fma_peak_is_positive_and_finite(int threads)
    {
        double gflops = MachinePeaks.MeasureFmaPeak(threads, repetitions: 2, secondsPerRun: 0.01);
        Assert.True(double.IsFinite(gflops) && gflops > 0, $"FMA peak {gflops}");
        Assert.Equal(Vector512.IsHardwareAccelerated ? 512 : 256, MachinePeaks.NativeVectorBits);
        if (Vector512.IsHardwareAccelerated)
        {
            double wide = MachinePeaks.MeasureFmaPeak(threads, 512, repetitions: 1, secondsPerRun: 0.01);
            Assert.True(double.IsFinite(wide) && wide > 0, $"512-bit FMA peak {wide}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Stream_bandwidth_is_positive_and_finite(int threads)
    {
        double gbs = MachinePeaks.MeasureStreamBandwidth(threads, repetitions: 2, bytesPerArray: 8 << 20);
        Assert.True(double.IsFinite(gbs) && gbs > 0, $"bandwidth {gbs}");
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MachinePeaks.MeasureFmaPeak(0));
        Assert.Throws<NotSupportedException>(() => MachinePeaks.MeasureFmaPeak(1, vectorBits: 384));
        Assert.Throws<ArgumentOutOfRangeException>(() => MachinePeaks.MeasureStreamBandwidth(1, repetitions: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => MachinePeaks.MeasureStreamBandwidth(2, bytesPerArray: 8));
    }
}
