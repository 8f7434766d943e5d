using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MemoryLab.Numerics;

namespace MemoryLab.Experiments;

/// <summary>One tensor entry of a safetensors header.</summary>
/// <param name="Name">Parameter name (the <see cref="ParameterView.Name"/>).</param>
/// <param name="DType">Element type: <c>F32</c>, <c>F64</c>, … (safetensors spelling).</param>
/// <param name="Shape">Row-major shape (empty for a scalar).</param>
/// <param name="Begin">Start byte of the data, relative to the end of the header.</param>
/// <param name="End">End byte (exclusive).</param>
public sealed record SafeTensorInfo(string Name, string DType, int[] Shape, long Begin, long End)
{
    /// <summary>Number of elements (product of the shape).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// Checkpoints in the safetensors format (Hugging Face): an 8-byte little-endian header length N, a JSON header
/// of N bytes <c>{"__metadata__": {string: string}, name: {"dtype": "F32"|"F64", "shape": [...],
/// "data_offsets": [begin, end]}}</c> padded with spaces so the data starts 8-byte aligned, then the raw
/// little-endian data, tensors back to back. A checkpoint is θ plus its names (DESIGN.md): each
/// <see cref="ParameterView"/> of a <see cref="ParameterLayout"/> becomes one tensor, and the views' optimiser
/// groups are kept in the metadata key <c>memlab.groups</c> (a JSON object name → group), so
/// <see cref="SafeTensorsFile.ToLayout"/> rebuilds the layout. Python reads it with <c>safetensors.numpy.load_file</c>.
/// </summary>
public static class SafeTensors
{
    /// <summary>Metadata key holding the JSON object parameter name → optimiser group.</summary>
    public const string GroupsMetadataKey = "memlab.groups";

    /// <summary>Writes θ (float → F32, double → F64) under the names of <paramref name="layout"/>, with optional
    /// extra string metadata.</summary>
    public static void Save<T>(string path, ParameterLayout layout, ReadOnlySpan<T> theta, IReadOnlyDictionary<string, string>? metadata = null)
        where T : unmanaged, IFloatingPointIeee754<T> => Save(path, layout, theta, metadata, killAfterBytes: null);

    /// <summary>As <see cref="Save{T}(string, ParameterLayout, ReadOnlySpan{T}, IReadOnlyDictionary{string, string}?)"/>, written atomically
    /// (<see cref="AtomicFile"/>); <paramref name="killAfterBytes"/> is the tests' torn-write fault.</summary>
    internal static void Save<T>(string path, ParameterLayout layout, ReadOnlySpan<T> theta, IReadOnlyDictionary<string, string>? metadata, long? killAfterBytes)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layout);
        string dtype = DTypeOf<T>();
        if (theta.Length != layout.Count) throw new ArgumentException($"θ has {theta.Length} entries but the layout declares {layout.Count}", nameof(theta));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian; this machine is big-endian");
        int size = Marshal.SizeOf<T>();

        var groups = new Dictionary<string, string>();
        foreach (var v in layout.Views) groups[v.Name] = v.Group;
        using var headerStream = new MemoryStream();
        using (var w = new Utf8JsonWriter(headerStream))
        {
            w.WriteStartObject();
            w.WritePropertyName("__metadata__");
            w.WriteStartObject();
            if (metadata != null)
                foreach (var (k, val) in metadata)
                    if (k != GroupsMetadataKey) w.WriteString(k, val);
            w.WriteString(GroupsMetadataKey, JsonSerializer.Serialize(groups));
            w.WriteEndObject();
            foreach (var v in layout.Views)
            {
                w.WritePropertyName(v.Name);
                w.WriteStartObject();
                w.WriteString("dtype", dtype);
                w.WritePropertyName("shape");
                w.WriteStartArray();
                foreach (int s in v.Shape) w.WriteNumberValue(s);
                w.WriteEndArray();
                w.WritePropertyName("data_offsets");
                w.WriteStartArray();
                w.WriteNumberValue((long)v.Offset * size);
                w.WriteNumberValue((long)(v.Offset + v.Length) * size);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int headerLength = (int)headerStream.Length;
        int padded = (headerLength + 7) / 8 * 8;
        var header = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)padded);
        headerStream.GetBuffer().AsSpan(0, headerLength).CopyTo(header.AsSpan(8));
        header.AsSpan(8 + headerLength).Fill((byte)' ');
        // Views tile θ in order, so the data section is θ itself.
        var data = MemoryMarshal.AsBytes(theta).ToArray();
        AtomicFile.Write(path, file =>
        {
            file.Write(header);
            file.Write(data);
        }, killAfterBytes);
    }

    /// <summary>Reads and validates a safetensors file (see <see cref="SafeTensorsFile"/>).</summary>
    public static SafeTensorsFile Load(string path) => SafeTensorsFile.Load(path);

    /// <summary>Reads the checkpoint at <paramref name="path"/> into a new θ laid out as <paramref name="layout"/>.</summary>
    public static T[] Restore<T>(string path, ParameterLayout layout) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var theta = new T[layout.Count];
        Load(path).CopyTo(layout, theta.AsSpan());
        return theta;
    }

    internal static string DTypeOf<T>() =>
        typeof(T) == typeof(float) ? "F32"
        : typeof(T) == typeof(double) ? "F64"
        : throw new ArgumentException($"checkpoints hold float or double parameters, not {typeof(T).Name}");

    internal static int SizeOf(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => 0,
    };
}

/// <summary>A loaded safetensors file: its metadata, its tensor entries (in data order) and the data.
/// Loading checks what the format requires: the header is a JSON object, every tensor's byte range matches its
/// dtype and shape, and the ranges tile the data section exactly.</summary>
public sealed class SafeTensorsFile
{
    private readonly byte[] _data;
    private readonly Dictionary<string, SafeTensorInfo> _byName;

    private SafeTensorsFile(IReadOnlyDictionary<string, string> metadata, List<SafeTensorInfo> tensors, byte[] data, long headerLength)
    {
        Metadata = metadata;
        Tensors = tensors;
        _data = data;
        HeaderLength = headerLength;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The <c>__metadata__</c> object (string → string).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor entries ordered by data offset.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }

    /// <summary>Length in bytes of the JSON header (padding included).</summary>
    public long HeaderLength { get; }

    /// <summary>The entry named <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> listing the names otherwise.</summary>
    public SafeTensorInfo this[string name] => _byName.TryGetValue(name, out var t) ? t
        : throw new KeyNotFoundException($"no tensor '{name}' in the checkpoint; it has: {string.Join(", ", _byName.Keys)}");

    /// <summary>Reads and validates <paramref name="path"/>; throws <see cref="InvalidDataException"/> naming the problem.</summary>
    public static SafeTensorsFile Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"{path}: too short for a safetensors file");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > (ulong)(bytes.Length - 8) || n > 100_000_000) throw new InvalidDataException($"{path}: header length {n} exceeds the file");
        int headerLength = (int)n;
        var data = bytes.AsSpan(8 + headerLength).ToArray();
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: header is not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: header is not a JSON object");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<SafeTensorInfo>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    foreach (var m in p.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()!
                            : throw new InvalidDataException($"{path}: metadata '{m.Name}' is not a string");
                    continue;
                }
                try
                {
                    string dtype = p.Value.GetProperty("dtype").GetString() ?? "";
                    int[] shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                    long[] offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    if (offsets.Length != 2) throw new InvalidDataException($"{path}: tensor '{p.Name}' needs two data_offsets");
                    var info = new SafeTensorInfo(p.Name, dtype, shape, offsets[0], offsets[1]);
                    int size = SafeTensors.SizeOf(dtype);
                    if (size == 0) throw new InvalidDataException($"{path}: tensor '{p.Name}' has unknown dtype '{dtype}'");
                    if (shape.Any(s => s < 0) || info.End < info.Begin || info.End - info.Begin != info.ElementCount * size)
                        throw new InvalidDataException($"{path}: tensor '{p.Name}' spans bytes [{info.Begin}, {info.End}) but {dtype}{info.Shape.Length}D shape [{string.Join(",", shape)}] needs {info.ElementCount * size}");
                    tensors.Add(info);
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
                {
                    throw new InvalidDataException($"{path}: tensor '{p.Name}' entry is malformed ({e.Message})", e);
                }
            }
            tensors.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            long expected = 0;
            foreach (var t in tensors)
            {
                if (t.Begin != expected) throw new InvalidDataException($"{path}: tensor '{t.Name}' starts at byte {t.Begin}, expected {expected} (data must be contiguous)");
                expected = t.End;
            }
            if (expected != data.Length) throw new InvalidDataException($"{path}: tensors cover {expected} bytes but the data section has {data.Length}");
            return new SafeTensorsFile(metadata, tensors, data, headerLength);
        }
    }

    /// <summary>The values of tensor <paramref name="name"/> as <typeparamref name="T"/> (F32 and F64 convert either way).</summary>
    public T[] Read<T>(string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var info = this[name];
        var result = new T[info.ElementCount];
        CopyValues(info, result.AsSpan());
        return result;
    }

    /// <summary>Fills θ from the checkpoint, view by view of <paramref name="layout"/>: every view must be present with the
    /// same shape, and the checkpoint must hold no tensor the layout lacks. F32 ↔ F64 convert (F64 → float rounds).</summary>
    public void CopyTo<T>(ParameterLayout layout, Span<T> theta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (theta.Length != layout.Count) throw new ArgumentException($"θ has {theta.Length} entries but the layout declares {layout.Count}", nameof(theta));
        foreach (var view in layout.Views)
        {
            if (!_byName.TryGetValue(view.Name, out var info))
                throw new InvalidDataException($"checkpoint lacks parameter '{view.Name}' (it has: {string.Join(", ", _byName.Keys)})");
            if (!info.Shape.SequenceEqual(view.Shape))
                throw new InvalidDataException($"parameter '{view.Name}' has shape [{string.Join(", ", info.Shape)}] in the checkpoint but {view.ShapeText} in the model");
            CopyValues(info, view.Of(theta));
        }
        foreach (var t in Tensors)
            if (!layout.TryGet(t.Name, out _)) throw new InvalidDataException($"checkpoint has parameter '{t.Name}' that the model does not declare");
    }

    /// <summary>The layout stored in the file: one view per tensor in data order, groups from <c>memlab.groups</c>
    /// (<c>default</c> when absent).</summary>
    public ParameterLayout ToLayout()
    {
        Dictionary<string, string>? groups = null;
        if (Metadata.TryGetValue(SafeTensors.GroupsMetadataKey, out var json))
            groups = JsonSerializer.Deserialize<Dictionary<string, string>>(json);
        var layout = new ParameterLayout();
        foreach (var t in Tensors)
        {
            string group = groups != null && groups.TryGetValue(t.Name, out var g) ? g : "default";
            layout.Add(t.Name, group, t.Shape);
        }
        return layout;
    }

    private void CopyValues<T>(SafeTensorInfo info, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var src = _data.AsSpan((int)info.Begin, (int)(info.End - info.Begin));
        switch (info.DType)
        {
            case "F32":
                for (int i = 0; i < destination.Length; i++) destination[i] = T.CreateTruncating(BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]));
                break;
            case "F64":
                for (int i = 0; i < destination.Length; i++) destination[i] = T.CreateTruncating(BinaryPrimitives.ReadDoubleLittleEndian(src[(8 * i)..]));
                break;
            default:
                throw new InvalidDataException($"tensor '{info.Name}' has dtype {info.DType}; only F32 and F64 parameters can be restored");
        }
    }
}
