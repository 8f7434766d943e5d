using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MemoryLab.Experiments;

namespace MemoryLab.Tests.Experiments;

public class SinkTests
{
    [Fact]
    public void Crc32CMatchesTheStandardCheckValue()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, Crc32C.Compute(ReadOnlySpan<byte>.Empty));
        // 32 zero bytes: RFC 3720 (iSCSI) test vector.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        // Byte-at-a-time reference (reflected polynomial 0x82F63B78) on a longer, unaligned input.
        var data = Enumerable.Range(0, 1001).Select(i => (byte)(i * 31 + 7)).ToArray();
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        Assert.Equal(~crc, Crc32C.Compute(data));
    }

    [Fact]
    public void TensorBoardRecordsPassTheirCrcsAndDecodeToTheLoggedScalars()
    {
        using var dir = new TempDirectory();
        string file;
        using (var sink = new TensorBoardMetricSink(dir.Path))
        {
            file = sink.FilePath;
            sink.Log(0, "loss", 1.5);
            sink.Log(7, new[] { new MetricValue("loss", 0.25), new MetricValue("train/lr", 1e-3) });
            sink.Log(1L << 40, "loss", double.PositiveInfinity);
            sink.Log(-3, "odd", -2.0);
        }
        Assert.Matches(@"^events\.out\.tfevents\.\d+\..+$", Path.GetFileName(file));

        // Check the framing independently of the library's reader.
        var bytes = File.ReadAllBytes(file);
        int pos = 0, records = 0;
        while (pos < bytes.Length)
        {
            ulong len = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(pos));
            uint lenCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 8));
            uint raw = Crc32C.Compute(bytes.AsSpan(pos, 8));
            Assert.Equal(unchecked(((raw >> 15) | (raw << 17)) + 0xa282ead8u), lenCrc);
            var data = bytes.AsSpan(pos + 12, (int)len);
            uint dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 12 + (int)len));
            Assert.Equal(Crc32C.Mask(Crc32C.Compute(data)), dataCrc);
            pos += 12 + (int)len + 4;
            records++;
        }
        Assert.Equal(5, records);

        var events = TensorBoardMetricSink.ReadEvents(file);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Empty(events[0].Scalars);
        Assert.Equal(0, events[1].Step);
        Assert.Equal(("loss", 1.5f), events[1].Scalars.Single());
        Assert.Equal(7, events[2].Step);
        Assert.Equal(new[] { ("loss", 0.25f), ("train/lr", 1e-3f) }, events[2].Scalars);
        Assert.Equal(1L << 40, events[3].Step);
        Assert.True(float.IsPositiveInfinity(events[3].Scalars[0].Value));
        Assert.Equal(-3, events[4].Step);
        Assert.Equal(-2f, events[4].Scalars[0].Value);
        double now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.All(events, e => Assert.InRange(e.WallTime, now - 600, now + 600));

        // A flipped bit is caught.
        bytes[^6] ^= 0x10;
        File.WriteAllBytes(file, bytes);
        Assert.Throws<InvalidDataException>(() => TensorBoardMetricSink.ReadEvents(file));
    }

    [Fact]
    public void CsvHasOneRowPerStepAndGrowsColumns()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "m.csv");
        using (var sink = new CsvMetricSink(path))
        {
            sink.Log(0, "loss", 1.0);
            sink.Log(0, "grad_norm", 2.0);    // same step: same row
            sink.Log(1, "loss", 0.5);
            sink.Log(2, new[] { new MetricValue("loss", double.NaN), new MetricValue("eval", 0.125) }); // a new column
            sink.Log(3, "grad_norm", double.NegativeInfinity);
        }
        Assert.Equal(new[]
        {
            "step,loss,grad_norm,eval",
            "0,1,2,",
            "1,0.5,,",
            "2,NaN,,0.125",
            "3,,-Infinity,",
        }, File.ReadAllLines(path));
    }

    [Fact]
    public void JsonLinesAreStrictJsonWithTheLoggedValues()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "m.jsonl");
        using (var sink = new JsonLinesMetricSink(path))
        {
            sink.Log(3, new[] { new MetricValue("loss", 0.1), new MetricValue("q\"uote", double.NaN) });
            sink.Log(4, "loss", 1e-300);
        }
        var lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Equal(3, first.RootElement.GetProperty("step").GetInt64());
        Assert.Equal(0.1, first.RootElement.GetProperty("loss").GetDouble());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, first.RootElement.GetProperty("q\"uote").ValueKind); // non-finite: null
        Assert.True(first.RootElement.GetProperty("wall_time").GetDouble() > 1.6e9);
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal(1e-300, second.RootElement.GetProperty("loss").GetDouble());
    }
}
