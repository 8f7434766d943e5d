using System.Text.RegularExpressions;
using MemoryLab.Tests.Packaging;

namespace MemoryLab.Tests.Architecture;

/// <summary>The library's rooms depend one way: Numerics ← Models ← Targets ← Training ← Experiments ← Reporting ←
/// Reproductions and Diagnostics (side by side, ← the CLI, its own assembly), with Theory and Analysis beside the chain,
/// built on the core rooms and used only by the top rooms. A file that names a room its own may not use (a <c>using</c>,
/// a qualified name or a cref) fails here.</summary>
public sealed partial class RoomDependencyTests
{
    private static readonly string[] Chain = ["Numerics", "Models", "Targets", "Training", "Experiments", "Reporting"];
    private static readonly string[] Top = ["Reproductions", "Diagnostics"];
    private static readonly string[] Beside = ["Theory", "Analysis"];
    private static readonly string[] Rooms = [.. Chain, .. Top, .. Beside];

    /// <summary>The rooms each room may name.</summary>
    public static IReadOnlySet<string> Allowed(string room)
    {
        int at = Array.IndexOf(Chain, room);
        if (at >= 0) return Chain.Take(at).ToHashSet();
        if (Top.Contains(room)) return Chain.Concat(Beside).ToHashSet();
        if (Beside.Contains(room)) return Chain.Take(Array.IndexOf(Chain, "Training") + 1).ToHashSet();
        throw new ArgumentException($"'{room}' is no room of the library: add it to the chain or beside it");
    }

    [GeneratedRegex(@"\bMemoryLab\.(?<room>[A-Z]\w*)")]
    private static partial Regex RoomName();

    /// <summary>Each (file, room) reference that breaks the order.</summary>
    public static IEnumerable<string> Violations(string sourceRoot)
    {
        foreach (string dir in Directory.GetDirectories(sourceRoot).Where(d => !Path.GetFileName(d).StartsWith('.') && Path.GetFileName(d) is not ("bin" or "obj")))
        {
            string room = Path.GetFileName(dir);
            var allowed = Allowed(room);
            foreach (string file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
                foreach (string used in RoomName().Matches(File.ReadAllText(file)).Select(m => m.Groups["room"].Value).Distinct())
                    if (used != room && !allowed.Contains(used) && Rooms.Contains(used))
                        yield return $"{Path.GetRelativePath(sourceRoot, file)} uses {used}";
        }
    }

    [Fact]
    public void Every_room_depends_only_on_the_rooms_before_it()
    {
        string root = Path.Combine(Repo.Root, "src", "MemoryLab");
        Assert.Equal(Rooms.Order(), Directory.GetDirectories(root).Select(Path.GetFileName)
            .Where(n => n is not ("bin" or "obj") && !n!.StartsWith('.')).Order());
        Assert.Empty(Violations(root));
    }

    [Fact]
    public void A_file_that_reaches_up_the_chain_or_into_theory_is_caught()
    {
        using var dir = new ScratchFolder("rooms");
        foreach (string room in Rooms) Directory.CreateDirectory(Path.Combine(dir.Path, room));
        dir.Write(Path.Combine("Models", "Up.cs"), "using MemoryLab.Numerics;\nnamespace MemoryLab.Models;\nclass Up { MemoryLab.Training.Adam<float>? a; }\n");
        dir.Write(Path.Combine("Experiments", "Side.cs"), "using MemoryLab.Theory;\nnamespace MemoryLab.Experiments;\n");
        dir.Write(Path.Combine("Theory", "Fine.cs"), "using MemoryLab.Training;\nusing MemoryLab.Models;\nnamespace MemoryLab.Theory;\n");
        dir.Write(Path.Combine("Reproductions", "Across.cs"), "using MemoryLab.Reporting;\nusing MemoryLab.Diagnostics;\nnamespace MemoryLab.Reproductions;\n");
        Assert.Equal([Path.Combine("Experiments", "Side.cs") + " uses Theory", Path.Combine("Models", "Up.cs") + " uses Training",
            Path.Combine("Reproductions", "Across.cs") + " uses Diagnostics"],
            Violations(dir.Path).Order());
    }
}
