using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MemoryLab.Experiments;
using MemoryLab.Numerics;

namespace MemoryLab.Tests.Experiments;

public class SafeTensorsTests
{
    private static ParameterLayout Layout()
    {
        var layout = new ParameterLayout();
        layout.Add("blocks.0.rnn.nu_log", "recurrent", 5);
        layout.Add("blocks.0.rnn.B", "input", 5, 3);
        layout.Add("scale", "readout"); // a scalar: shape []
        layout.Add("C", "readout", 2, 5);
        return layout;
    }

    [Fact]
    public void DoubleParametersRoundTripAndTheHeaderIsValid()
    {
        using var dir = new TempDirectory();
        var layout = Layout();
        var rng = new CounterRng(3, RandomPurpose.Init);
        var theta = new double[layout.Count];
        rng.FillNormal<double>(theta);
        theta[0] = double.Epsilon; theta[1] = -0.0; theta[2] = 1e300;
        string path = Path.Combine(dir.Path, "c.safetensors");
        SafeTensors.Save<double>(path, layout, theta, new Dictionary<string, string> { ["note"] = "hello" });

        // Independent check of the format: header length, JSON, offsets, alignment, raw data.
        var bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, (8 + n) % 8);
        Assert.Equal((byte)'{', bytes[8]);
        using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)n).TrimEnd(' '));
        var header = doc.RootElement;
        Assert.Equal("hello", header.GetProperty("__metadata__").GetProperty("note").GetString());
        long dataStart = 8 + (long)n;
        Assert.Equal(dataStart + theta.Length * 8L, bytes.Length);
        foreach (var view in layout.Views)
        {
            var entry = header.GetProperty(view.Name);
            Assert.Equal("F64", entry.GetProperty("dtype").GetString());
            Assert.Equal(view.Shape, entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            var off = entry.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.Equal(new[] { view.Offset * 8L, (view.Offset + view.Length) * 8L }, off);
            for (int i = 0; i < view.Length; i++)
                Assert.Equal(theta[view.Offset + i], BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan((int)(dataStart + off[0] + 8 * i))));
        }

        var restored = SafeTensors.Restore<double>(path, layout);
        Assert.Equal(theta, restored);
        Assert.Equal(BitConverter.DoubleToInt64Bits(-0.0), BitConverter.DoubleToInt64Bits(restored[1]));

        var file = SafeTensors.Load(path);
        var rebuilt = file.ToLayout();
        Assert.Equal(layout.Views.Select(v => (v.Name, v.Group, v.Offset, v.Length, v.ShapeText)),
                     rebuilt.Views.Select(v => (v.Name, v.Group, v.Offset, v.Length, v.ShapeText)));
        Assert.Equal(theta.AsSpan(layout["C"].Offset, 10).ToArray(), file.Read<double>("C"));
    }

    [Fact]
    public void FloatParametersRoundTripAndConvert()
    {
        using var dir = new TempDirectory();
        var layout = Layout();
        var theta = new float[layout.Count];
        new CounterRng(4, RandomPurpose.Init).FillNormal<float>(theta);
        string path = Path.Combine(dir.Path, "f.safetensors");
        SafeTensors.Save<float>(path, layout, theta);
        Assert.Equal(theta, SafeTensors.Restore<float>(path, layout));
        Assert.Equal("F32", SafeTensors.Load(path)["C"].DType);
        // F32 into a double θ is exact.
        Assert.Equal(theta.Select(x => (double)x), SafeTensors.Restore<double>(path, layout));
    }

    [Fact]
    public void MismatchesAndCorruptionAreReported()
    {
        using var dir = new TempDirectory();
        var layout = Layout();
        string path = Path.Combine(dir.Path, "c.safetensors");
        SafeTensors.Save<double>(path, layout, new double[layout.Count]);

        var other = new ParameterLayout();
        other.Add("blocks.0.rnn.nu_log", "recurrent", 5);
        other.Add("blocks.0.rnn.B", "input", 3, 5);
        other.Add("scale", "readout");
        other.Add("C", "readout", 2, 5);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Restore<double>(path, other));
        Assert.Contains("'blocks.0.rnn.B' has shape [5, 3] in the checkpoint but [3, 5]", e.Message);
        var fewer = new ParameterLayout();
        fewer.Add("blocks.0.rnn.nu_log", "recurrent", 5);
        Assert.Throws<InvalidDataException>(() => SafeTensors.Restore<double>(path, fewer));

        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^8]); // truncated data
        Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.Throws<ArgumentException>(() => SafeTensors.Save<double>(path, layout, new double[3]));
    }
}
