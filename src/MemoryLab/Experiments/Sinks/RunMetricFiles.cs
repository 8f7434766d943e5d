namespace MemoryLab.Experiments;

/// <summary>
/// A run's metric files in its folder: <c>metrics.csv</c>, <c>metrics.jsonl</c> and a TensorBoard event file, written as
/// one sink. A resumable run stores a <see cref="Snapshot"/> of them inside its periodic checkpoint (one file, replaced
/// atomically, so the rows and θ of a checkpoint always belong together) and a resumed run <see cref="Restore"/>s it: the
/// rows logged before the checkpoint come back exactly, and the rows after it are appended as an uninterrupted run would.
/// </summary>
public sealed class RunMetricFiles : IMetricSink
{
    private const string Prefix = "memlab.metrics.";
    private const string CsvKey = Prefix + "csv", JsonLinesKey = Prefix + "jsonl", EventsKey = Prefix + "tfevents", EventsNameKey = Prefix + "tfevents_name";
    private readonly string _directory;
    private CsvMetricSink _csv;
    private JsonLinesMetricSink _jsonLines;
    private TensorBoardMetricSink _events;

    /// <summary>New metric files in <paramref name="directory"/>.</summary>
    public RunMetricFiles(string directory)
    {
        _directory = directory;
        _csv = new CsvMetricSink(CsvPath);
        _jsonLines = new JsonLinesMetricSink(JsonLinesPath);
        _events = new TensorBoardMetricSink(directory);
    }

    private string CsvPath => Path.Combine(_directory, ResultsStore.MetricsCsvFileName);
    private string JsonLinesPath => Path.Combine(_directory, ResultsStore.MetricsJsonLinesFileName);

    /// <summary>Whether <paramref name="metadata"/> (a checkpoint's) holds a snapshot.</summary>
    public static bool HasSnapshot(IReadOnlyDictionary<string, string> metadata) =>
        metadata.ContainsKey(CsvKey) && metadata.ContainsKey(JsonLinesKey) && metadata.ContainsKey(EventsKey) && metadata.ContainsKey(EventsNameKey);

    /// <inheritdoc/>
    public void Log(long step, ReadOnlySpan<MetricValue> values)
    {
        _csv.Log(step, values);
        _jsonLines.Log(step, values);
        _events.Log(step, values);
    }

    /// <inheritdoc/>
    public void Flush()
    {
        _csv.Flush();
        _jsonLines.Flush();
        _events.Flush();
    }

    /// <summary>The files' contents so far (flushed first), as checkpoint metadata.</summary>
    public IReadOnlyDictionary<string, string> Snapshot()
    {
        Flush();
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [CsvKey] = ReadShared(CsvPath),
            [JsonLinesKey] = ReadShared(JsonLinesPath),
            [EventsKey] = Convert.ToBase64String(ReadSharedBytes(_events.FilePath)),
            [EventsNameKey] = Path.GetFileName(_events.FilePath),
        };
    }

    /// <summary>Replaces the files with <paramref name="snapshot"/> (see <see cref="Snapshot"/>) and continues them.
    /// Throws <see cref="InvalidDataException"/> when the snapshot is not one.</summary>
    public void Restore(IReadOnlyDictionary<string, string> snapshot)
    {
        if (!HasSnapshot(snapshot)) throw new InvalidDataException("the checkpoint holds no metric rows");
        byte[] events;
        try { events = Convert.FromBase64String(snapshot[EventsKey]); }
        catch (FormatException) { throw new InvalidDataException($"metadata '{EventsKey}' is not base64"); }
        string name = snapshot[EventsNameKey];
        if (name.Length == 0 || name != Path.GetFileName(name) || !name.StartsWith("events.out.tfevents.", StringComparison.Ordinal))
            throw new InvalidDataException($"metadata '{EventsNameKey}' is not an event file name");
        Dispose();
        File.Delete(_events.FilePath);
        File.WriteAllText(CsvPath, snapshot[CsvKey]);
        File.WriteAllText(JsonLinesPath, snapshot[JsonLinesKey]);
        string eventsPath = Path.Combine(_directory, name);
        File.WriteAllBytes(eventsPath, events);
        _csv = new CsvMetricSink(CsvPath, append: true);
        _jsonLines = new JsonLinesMetricSink(JsonLinesPath, append: true);
        _events = new TensorBoardMetricSink(_directory, eventsPath);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _csv.Dispose();
        _jsonLines.Dispose();
        _events.Dispose();
    }

    private static string ReadShared(string path) => new System.Text.UTF8Encoding(false).GetString(ReadSharedBytes(path));

    private static byte[] ReadSharedBytes(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[fs.Length];
        fs.ReadExactly(bytes);
        return bytes;
    }
}
