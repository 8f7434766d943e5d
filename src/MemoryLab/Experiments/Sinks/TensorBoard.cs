using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace MemoryLab.Experiments;

/// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) over bytes, with the hardware instruction behind
/// <see cref="BitOperations.Crc32C(uint, ulong)"/>; and TFRecord's masked form. Check value: crc32c("123456789") = 0xE3069283.</summary>
internal static class Crc32C
{
    /// <summary>The standard CRC-32C of <paramref name="data"/> (initial value and final xor 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        // BitOperations.Crc32C is the raw accumulate step (no pre/post inversion), so invert around it.
        uint crc = 0xFFFFFFFFu;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8) crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        for (; i < data.Length; i++) crc = BitOperations.Crc32C(crc, data[i]);
        return ~crc;
    }

    /// <summary>TFRecord's masked CRC: ((crc &gt;&gt; 15) | (crc &lt;&lt; 17)) + 0xa282ead8 (TensorFlow's <c>crc32c::Mask</c>).</summary>
    public static uint Mask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);

    /// <summary>The masked CRC-32C of <paramref name="data"/>.</summary>
    public static uint Masked(ReadOnlySpan<byte> data) => Mask(Compute(data));
}

/// <summary>TFRecord framing, as TensorFlow writes it: uint64 length (little-endian), masked CRC-32C of those
/// 8 bytes, the data, masked CRC-32C of the data.</summary>
internal static class TfRecord
{
    /// <summary>Writes one record.</summary>
    public static void Write(Stream stream, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        stream.Write(header);
        stream.Write(data);
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        stream.Write(footer);
    }

    /// <summary>Reads every record of a TFRecord file, checking both CRCs; throws <see cref="InvalidDataException"/>
    /// naming the record on a CRC mismatch or a truncated record.</summary>
    public static List<byte[]> ReadAll(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var records = new List<byte[]>();
        int pos = 0;
        while (pos < bytes.Length)
        {
            if (bytes.Length - pos < 12) throw new InvalidDataException($"{path}: record {records.Count} is truncated (header)");
            var header = bytes.AsSpan(pos, 8);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 8)) != Crc32C.Masked(header))
                throw new InvalidDataException($"{path}: record {records.Count} has a bad length CRC");
            pos += 12;
            if (length > (ulong)(bytes.Length - pos - 4)) throw new InvalidDataException($"{path}: record {records.Count} is truncated (data)");
            var data = bytes.AsSpan(pos, (int)length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + (int)length)) != Crc32C.Masked(data))
                throw new InvalidDataException($"{path}: record {records.Count} has a bad data CRC");
            records.Add(data.ToArray());
            pos += (int)length + 4;
        }
        return records;
    }
}

/// <summary>One decoded TensorBoard <c>Event</c>: wall time (Unix seconds), step, the file version (first record
/// only) and the scalar summary values (tag, simple_value).</summary>
/// <param name="WallTime">Unix seconds.</param>
/// <param name="Step">Training step.</param>
/// <param name="FileVersion"><c>brain.Event:2</c> in the first record, else null.</param>
/// <param name="Scalars">Tag and value of each scalar in the event's summary.</param>
public sealed record TensorBoardEvent(double WallTime, long Step, string? FileVersion, IReadOnlyList<(string Tag, float Value)> Scalars);

/// <summary>
/// Metrics as a TensorBoard event file (<c>events.out.tfevents.&lt;unix&gt;.&lt;host&gt;</c>): TFRecord framing of
/// hand-encoded <c>Event</c> protobufs — wall_time (double, field 1), step (int64, field 2), file_version
/// (string, field 3), summary (field 5) holding repeated value (field 1) {tag (string, 1), simple_value (float, 2)}.
/// The first record carries file_version <c>brain.Event:2</c>. Values are stored as float32, as TensorBoard does.
/// </summary>
public sealed class TensorBoardMetricSink : IMetricSink
{
    private readonly FileStream _stream;
    private readonly MemoryStream _event = new();
    private readonly MemoryStream _summary = new();
    private readonly MemoryStream _value = new();
    private readonly Dictionary<string, byte[]> _tagBytes = new(StringComparer.Ordinal);

    /// <summary>Creates a new event file in <paramref name="directory"/>; <see cref="FilePath"/> tells its name.</summary>
    public TensorBoardMetricSink(string directory) : this(directory, null) { }

    /// <summary>With <paramref name="existingFile"/> (an event file this sink wrote before), adds events to it instead of
    /// starting a new file: a resumed run continues its event file.</summary>
    public TensorBoardMetricSink(string directory, string? existingFile)
    {
        if (existingFile is not null && File.Exists(existingFile))
        {
            FilePath = existingFile;
            _stream = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.Read);
            return;
        }
        long unix = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string host = Environment.MachineName;
        FilePath = Path.Combine(directory, $"events.out.tfevents.{unix}.{host}");
        _stream = new FileStream(FilePath, FileMode.Create, FileAccess.Write, FileShare.Read);
        _event.SetLength(0);
        WriteTag(_event, 1, 1); WriteDouble(_event, MetricFormat.WallTime());
        WriteTag(_event, 2, 0); WriteVarint(_event, 0);
        WriteBytesField(_event, 3, Encoding.UTF8.GetBytes("brain.Event:2"));
        TfRecord.Write(_stream, _event.GetBuffer().AsSpan(0, (int)_event.Length));
    }

    /// <summary>Full path of the event file.</summary>
    public string FilePath { get; }

    /// <inheritdoc/>
    public void Log(long step, ReadOnlySpan<MetricValue> values) => Log(step, values, MetricFormat.WallTime());

    /// <summary>Writes the event of <paramref name="step"/> with <paramref name="wallTime"/> (Unix seconds) as its wall time: the
    /// time it was logged at, when another thread writes it later.</summary>
    public void Log(long step, ReadOnlySpan<MetricValue> values, double wallTime)
    {
        _summary.SetLength(0);
        Span<byte> f = stackalloc byte[4];
        foreach (var v in values)
        {
            _value.SetLength(0);
            if (!_tagBytes.TryGetValue(v.Name, out var tag)) _tagBytes[v.Name] = tag = Encoding.UTF8.GetBytes(v.Name);
            WriteBytesField(_value, 1, tag);
            WriteTag(_value, 2, 5);
            BinaryPrimitives.WriteSingleLittleEndian(f, (float)v.Value);
            _value.Write(f);
            WriteBytesField(_summary, 1, _value.GetBuffer().AsSpan(0, (int)_value.Length));
        }
        _event.SetLength(0);
        WriteTag(_event, 1, 1); WriteDouble(_event, wallTime);
        WriteTag(_event, 2, 0); WriteVarint(_event, unchecked((ulong)step));
        WriteBytesField(_event, 5, _summary.GetBuffer().AsSpan(0, (int)_summary.Length));
        TfRecord.Write(_stream, _event.GetBuffer().AsSpan(0, (int)_event.Length));
    }

    /// <inheritdoc/>
    public void Flush() => _stream.Flush();

    /// <inheritdoc/>
    public void Dispose() => _stream.Dispose();

    /// <summary>Decodes every event of a TensorBoard event file (CRCs checked; unknown fields skipped).</summary>
    public static List<TensorBoardEvent> ReadEvents(string path)
    {
        var events = new List<TensorBoardEvent>();
        foreach (var record in TfRecord.ReadAll(path))
        {
            double wall = 0; long step = 0; string? version = null;
            var scalars = new List<(string, float)>();
            var r = new ProtoReader(record);
            while (r.Next(out int field, out int wire))
            {
                switch (field, wire)
                {
                    case (1, 1): wall = r.Double(); break;
                    case (2, 0): step = (long)r.Varint(); break;
                    case (3, 2): version = Encoding.UTF8.GetString(r.Bytes()); break;
                    case (5, 2):
                        var s = new ProtoReader(r.Bytes());
                        while (s.Next(out int sf, out int sw))
                        {
                            if (sf != 1 || sw != 2) { s.Skip(sw); continue; }
                            var v = new ProtoReader(s.Bytes());
                            string tag = ""; float value = float.NaN;
                            while (v.Next(out int vf, out int vw))
                            {
                                if (vf == 1 && vw == 2) tag = Encoding.UTF8.GetString(v.Bytes());
                                else if (vf == 2 && vw == 5) value = v.Float();
                                else v.Skip(vw);
                            }
                            scalars.Add((tag, value));
                        }
                        break;
                    default: r.Skip(wire); break;
                }
            }
            events.Add(new TensorBoardEvent(wall, step, version, scalars));
        }
        return events;
    }

    private static void WriteTag(Stream s, int field, int wireType) => WriteVarint(s, (ulong)((field << 3) | wireType));

    private static void WriteVarint(Stream s, ulong v)
    {
        while (v >= 0x80) { s.WriteByte((byte)(v | 0x80)); v >>= 7; }
        s.WriteByte((byte)v);
    }

    private static void WriteDouble(Stream s, double x)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(b, x);
        s.Write(b);
    }

    private static void WriteBytesField(Stream s, int field, ReadOnlySpan<byte> data)
    {
        WriteTag(s, field, 2);
        WriteVarint(s, (ulong)data.Length);
        s.Write(data);
    }

    private ref struct ProtoReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public bool Next(out int field, out int wire)
        {
            field = wire = 0;
            if (_pos >= _data.Length) return false;
            ulong tag = Varint();
            field = (int)(tag >> 3);
            wire = (int)(tag & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (_pos >= _data.Length || shift > 63) throw new InvalidDataException("truncated protobuf varint");
                byte b = _data[_pos++];
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
        }

        public double Double() { var x = BinaryPrimitives.ReadDoubleLittleEndian(Take(8)); return x; }

        public float Float() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

        public ReadOnlySpan<byte> Bytes() => Take(checked((int)Varint()));

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Take(8); break;
                case 2: Bytes(); break;
                case 5: Take(4); break;
                default: throw new InvalidDataException($"unsupported protobuf wire type {wire}");
            }
        }

        private ReadOnlySpan<byte> Take(int n)
        {
            if (_pos + n > _data.Length) throw new InvalidDataException("truncated protobuf field");
            var s = _data.Slice(_pos, n);
            _pos += n;
            return s;
        }
    }
}
