using System.Text.RegularExpressions;
using MemoryLab.Tests.Reproductions;

namespace MemoryLab.Tests.Docs;

/// <summary>
/// A measured time on a page says when and how it was measured: every paragraph or table of README.md, docs/*.md and
/// examples/README.md that quotes a duration (ms, µs, s, min, h) has, in its section up to and including itself, a date
/// (YYYY-MM-DD) and a command in backticks (<c>memlab …</c>, <c>dotnet …</c>, <c>time …</c> or a script under
/// <c>scripts/</c>). Code blocks are not prose (the command tests check them); docs/claims.md and docs/spec-reference.md
/// are generated, and the tests that generate them keep them equal to their source.
/// </summary>
public partial class DocNumberTests
{
    private static readonly HashSet<string> Generated = ["docs/claims.md", "docs/spec-reference.md"];

    [GeneratedRegex(@"(?<![\w.])\d[\d.,]*(?:[–-]\d[\d.,]*)?\s?(?:ms|µs|s|min|h)\b(?![\w-])")]
    private static partial Regex Duration();

    [GeneratedRegex(@"\b20\d\d-\d\d-\d\d\b")]
    private static partial Regex Date();

    [GeneratedRegex(@"`(?:memlab |dotnet |time |scripts/)[^`]*`")]
    private static partial Regex Command();

    public static IEnumerable<object[]> PageNames() =>
        DocSnippetTests.PageNames().Where(p => !Generated.Contains((string)p[0]));

    /// <summary>The paragraphs (tables included) of <paramref name="markdown"/> outside code blocks, each with its first
    /// line and the text of its section up to and including it.</summary>
    internal static IEnumerable<(int Line, string Paragraph, string SectionSoFar)> Paragraphs(string markdown)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        string section = "";
        var current = new List<string>();
        int start = 0;
        bool inCode = false;
        for (int i = 0; i <= lines.Length; i++)
        {
            string line = i < lines.Length ? lines[i] : "";
            if (line.StartsWith("```", StringComparison.Ordinal)) { inCode = !inCode; line = ""; }
            else if (inCode) line = "";
            bool heading = line.StartsWith('#');
            if ((heading || line.Trim().Length == 0) && current.Count > 0)
            {
                string paragraph = string.Join("\n", current);
                section += "\n" + paragraph;
                yield return (start + 1, paragraph, section);
                current.Clear();
            }
            if (heading) section = line;
            else if (line.Trim().Length > 0) { if (current.Count == 0) start = i; current.Add(line); }
        }
    }

    [Theory]
    [MemberData(nameof(PageNames))]
    public void Every_measured_time_on_the_page_carries_its_date_and_command(string page)
    {
        string markdown = File.ReadAllText(Path.Combine(TeacherStudentTests.RepoRoot(), page));
        foreach (var (line, paragraph, section) in Paragraphs(markdown))
        {
            var time = Duration().Match(paragraph);
            if (!time.Success) continue;
            Assert.True(Date().IsMatch(section) && Command().IsMatch(section),
                $"{page}:{line}: '{time.Value}' is quoted without the date (YYYY-MM-DD) and the command (in backticks) that measured it in its section");
        }
    }

    [Fact]
    public void The_check_finds_an_undated_time_and_accepts_a_dated_one()
    {
        const string md = "# A\n\nIt took 4.3 s.\n\n# B\n\n`memlab bench` on 2026-12-03:\n\n| x | 1.2 ms |\n\nNo time here: 10 × the median.\n\n```\nwall_s=4.3 s\n```\n";
        var hits = Paragraphs(md).Where(p => Duration().IsMatch(p.Paragraph)).ToList();
        Assert.Equal([3, 9], hits.Select(h => h.Line));
        Assert.DoesNotMatch(Date(), hits[0].SectionSoFar);
        Assert.True(Date().IsMatch(hits[1].SectionSoFar) && Command().IsMatch(hits[1].SectionSoFar));
    }
}
