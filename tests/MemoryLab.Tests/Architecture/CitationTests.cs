using System.Text.RegularExpressions;
using MemoryLab.Tests.Experiments;
using MemoryLab.Tests.Reproductions;

namespace MemoryLab.Tests.Architecture;

/// <summary>Code, specs, scripts and docs cite the papers (author, year, section, figure), never the project's internal
/// notes, which a reader of the repository cannot open: no "SCIENCE.md", no "issue N" and no note section such as
/// "B3 E3".</summary>
public sealed partial class CitationTests
{
    private static readonly string[] Extensions = [".cs", ".py", ".sh", ".yaml", ".yml", ".md", ".csproj", ".props"];

    [GeneratedRegex(@"SCIENCE\.md|\bissue\s+#?\d+\b|\bB\d/?(B\d)?\s+E\d+\b", RegexOptions.IgnoreCase)]
    private static partial Regex InternalNote();

    /// <summary>Every line in the repository's text files that cites an internal note, as "path:line: text".</summary>
    public static IEnumerable<string> InternalCitations(string root)
    {
        // Build outputs, git's own files and results folders (a user's runs) are not the repository's text.
        var skip = new[] { "bin", "obj", ".git", "node_modules", "TestResults" };
        foreach (string file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(root, file);
            var parts = rel.Split(Path.DirectorySeparatorChar);
            if (parts.Any(skip.Contains) || parts[0] == "results") continue;
            if (!Extensions.Contains(Path.GetExtension(file)) || rel.StartsWith("tests" + Path.DirectorySeparatorChar + "MemoryLab.Tests" + Path.DirectorySeparatorChar + "Architecture" + Path.DirectorySeparatorChar + "CitationTests", StringComparison.Ordinal))
                continue;
            int line = 0;
            foreach (string text in File.ReadLines(file))
            {
                line++;
                if (InternalNote().IsMatch(text)) yield return $"{rel}:{line}: {text.Trim()}";
            }
        }
    }

    [Fact]
    public void No_file_cites_an_internal_note()
    {
        Assert.Empty(InternalCitations(TeacherStudentTests.RepoRoot()));
    }

    [Fact]
    public void The_check_catches_each_form_of_internal_citation()
    {
        using var dir = new TempDirectory();
        dir.File("a.cs", "// fine: Zucchet & Orvieto (NeurIPS 2024) §5, Fig. 3\n// see SCIENCE.md B3 E3\n");
        dir.File("b.md", "text\nas asked in issue 9\n");
        dir.File("c.yaml", "# (B2/B3 E7)\n");
        dir.File("d.txt", "SCIENCE.md in a file type the check does not read\n");
        Assert.Equal(new[] { "a.cs:2", "b.md:2", "c.yaml:1" },
            InternalCitations(dir.Path).Select(s => s[..s.IndexOf(": ", StringComparison.Ordinal)]).Order(StringComparer.Ordinal));
    }
}
