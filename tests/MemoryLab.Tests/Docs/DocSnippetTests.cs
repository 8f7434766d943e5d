using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MemoryLab.Tests.Reproductions;
using Xunit.Abstractions;

namespace MemoryLab.Tests.Docs;

/// <summary>
/// Docs as code, the C# half: every <c>```csharp</c> block of README.md, docs/*.md and examples/README.md compiles against
/// the built MemoryLab library (Roslyn, in process, one compilation per page), and an error names the page and line.
/// <list type="bullet">
/// <item><c>```csharp file=NAME.cs</c>: a whole source file, compiled as written.</item>
/// <item>Any other block is a snippet: its statements are compiled as the body of a method, its type declarations as
/// written. A snippet that opens with <c>using</c> directives is a program a reader copies whole: it gets those directives
/// and the .NET SDK's implicit usings, nothing else. A snippet without any is a fragment: it gets every namespace of the
/// library, <c>System.Numerics</c>, and the namespaces of the page's own files.</item>
/// <item><c>```csharp continues</c>: the block goes on from the previous block of the page, in the same method (its
/// variables are in scope).</item>
/// <item>A type a snippet declares under the name of a public library type is an excerpt of that type: each member it
/// declares must exist on the library type.</item>
/// <item>A block whose first line is <c>// Not compiled: REASON</c> is skipped; such blocks are rare and listed in
/// <see cref="Exempt"/>.</item>
/// </list>
/// </summary>
public partial class DocSnippetTests(ITestOutputHelper output)
{
    /// <summary>The blocks allowed not to compile, as (page, first words of the reason); the test fails on any other.</summary>
    public static IReadOnlyList<(string Page, string Reason)> Exempt { get; } = [];

    /// <summary>One <c>```csharp</c> block: its page, the page line of its first code line, its info-string attributes and its text.</summary>
    public sealed record Snippet(string Page, int Line, string Attributes, string Code)
    {
        /// <summary>The NAME of <c>file=NAME</c>, or null.</summary>
        public string? File => Regex.Match(Attributes, @"\bfile=(\S+)") is { Success: true } m ? m.Groups[1].Value : null;

        /// <summary>Whether the block goes on from the previous one.</summary>
        public bool Continues => Regex.IsMatch(Attributes, @"\bcontinues\b");

        /// <summary>The reason after <c>// Not compiled:</c> on the first line, or null.</summary>
        public string? NotCompiled => Regex.Match(Code, @"\A//\s*Not compiled:\s*(.+)") is { Success: true } m ? m.Groups[1].Value.Trim() : null;
    }

    [GeneratedRegex(@"^```(?:csharp|cs|c#)(?<attributes>[^\n]*)\n(?<code>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    /// <summary>README.md, every page of docs/ and examples/README.md, relative to the repository root.</summary>
    public static IEnumerable<object[]> PageNames()
    {
        string repo = TeacherStudentTests.RepoRoot();
        return new[] { "README.md", "examples/README.md" }
            .Concat(Directory.GetFiles(Path.Combine(repo, "docs"), "*.md").Select(f => "docs/" + Path.GetFileName(f)).Order(StringComparer.Ordinal))
            .Select(p => new object[] { p });
    }

    /// <summary>The C# blocks of <paramref name="markdown"/>, in order.</summary>
    public static List<Snippet> Snippets(string page, string markdown)
    {
        markdown = markdown.ReplaceLineEndings("\n");
        var list = new List<Snippet>();
        foreach (Match m in CSharpBlock().Matches(markdown))
        {
            int line = markdown.AsSpan(0, m.Groups["code"].Index).Count('\n') + 1;
            list.Add(new Snippet(page, line, m.Groups["attributes"].Value.Trim(), m.Groups["code"].Value));
        }
        return list;
    }

    [Theory]
    [MemberData(nameof(PageNames))]
    public void Every_csharp_block_of_the_page_compiles_against_the_library(string page)
    {
        string repo = TeacherStudentTests.RepoRoot();
        var snippets = Snippets(page, File.ReadAllText(Path.Combine(repo, page)));
        foreach (var s in snippets.Where(s => s.NotCompiled != null))
            Assert.True(Exempt.Any(e => e.Page == page && s.NotCompiled!.StartsWith(e.Reason, StringComparison.Ordinal)),
                $"{page}:{s.Line}: a block not compiled ({s.NotCompiled}) must be listed in DocSnippetTests.Exempt");
        var compiled = snippets.Where(s => s.NotCompiled == null).ToList();
        if (compiled.Count == 0) return;

        var errors = Compile(compiled);
        foreach (var s in compiled) output.WriteLine($"{s.Page}:{s.Line} {s.Attributes}");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        foreach (string problem in ExcerptProblems(compiled)) Assert.Fail(problem);
    }

    [Fact]
    public void Every_listed_exemption_is_still_on_its_page()
    {
        string repo = TeacherStudentTests.RepoRoot();
        foreach (var (page, reason) in Exempt)
            Assert.Contains(Snippets(page, File.ReadAllText(Path.Combine(repo, page))),
                s => s.NotCompiled?.StartsWith(reason, StringComparison.Ordinal) == true);
    }

    [Fact]
    public void A_snippet_that_does_not_compile_is_reported_with_its_page_and_line()
    {
        const string md = "Text.\n\n```csharp\nusing MemoryLab.Targets;\n\nvar rho = MemoryKernel.PowerLaw();\n```\n\n```csharp continues\ndouble x = rho.NoSuchMember;\n```\n\n" +
                          "```csharp\n// Not compiled: pseudo-code\nfoo bar\n```\n\n```csharp\nvar k = MemoryKernel.PowerLaw(exponent: 1.1); // a fragment: the library's namespaces are open\n```\n";
        var snippets = Snippets("docs/x.md", md);
        Assert.Equal([3, 9, 13, 18], snippets.Select(s => s.Line - 1)); // the fence lines
        Assert.True(snippets[1].Continues);
        Assert.Equal("pseudo-code", snippets[2].NotCompiled);
        var errors = Compile(snippets.Where(s => s.NotCompiled == null).ToList());
        Assert.Single(errors);
        Assert.StartsWith("docs/x.md:10: error CS1061", errors[0]); // rho is in scope; its member is not

        // A program with its own usings gets nothing else: without `using MemoryLab.Targets;` the kernel type is unknown.
        var program = Snippets("docs/y.md", "```csharp\nusing MemoryLab.Numerics;\n\nvar k = MemoryKernel.PowerLaw();\n```\n");
        Assert.StartsWith("docs/y.md:4: error CS0103", Assert.Single(Compile(program)));

        // An excerpt of a library type may only name members the type has.
        var excerpt = Snippets("docs/z.md", "```csharp\npublic interface IObjective<T> where T : unmanaged, IFloatingPointIeee754<T>\n{\n    int Dimension { get; }\n    int Size { get; }\n}\n```\n");
        Assert.Empty(Compile(excerpt));
        Assert.Equal("docs/z.md:5: IObjective<T> declares Size, which the library's MemoryLab.Numerics.IObjective`1 does not have", Assert.Single(ExcerptProblems(excerpt)));
    }

    private static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        // The shared framework's assemblies and the library, nothing of the test's own dependencies.
        string framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        return Directory.GetFiles(framework, "*.dll")
            .Where(IsManaged)
            .Append(typeof(MemoryLab.Targets.MemoryKernel).Assembly.Location)
            .Select(f => (MetadataReference)MetadataReference.CreateFromFile(f))
            .ToArray();
    });

    private static bool IsManaged(string file)
    {
        try { AssemblyName.GetAssemblyName(file); return true; }
        catch (BadImageFormatException) { return false; }
    }

    /// <summary>The namespaces of the library's public types.</summary>
    private static readonly Lazy<string[]> LibraryNamespaces = new(() =>
        typeof(MemoryLab.Targets.MemoryKernel).Assembly.GetExportedTypes().Select(t => t.Namespace!).Distinct().Order(StringComparer.Ordinal).ToArray());

    /// <summary>The .NET SDK's implicit usings of a console project.</summary>
    private static readonly string[] ImplicitUsings =
        ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    /// <summary>Compiles the blocks of one page together; returns "page:line: error CSxxxx: message" per error.</summary>
    internal static List<string> Compile(IReadOnlyList<Snippet> snippets)
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = new List<SyntaxTree>
        {
            CSharpSyntaxTree.ParseText(string.Concat(ImplicitUsings.Select(u => $"global using global::{u};\n")), options, "ImplicitUsings.cs"),
        };
        var fileNamespaces = new List<string>();
        foreach (var s in snippets.Where(s => s.File != null))
        {
            var tree = CSharpSyntaxTree.ParseText($"#line {s.Line} \"{s.Page}\"\n{s.Code}", options, s.File!);
            trees.Add(tree);
            fileNamespaces.AddRange(tree.GetRoot().DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>().Select(n => n.Name.ToString()));
        }

        // Chains of snippets: a block marked `continues` joins the one before it.
        var chains = new List<List<Snippet>>();
        foreach (var s in snippets.Where(s => s.File == null))
            if (s.Continues && chains.Count > 0) chains[^1].Add(s);
            else chains.Add([s]);

        foreach (var chain in chains)
        {
            var usings = new List<string>();
            var statements = new StringBuilder();
            var types = new StringBuilder();
            foreach (var s in chain)
            {
                var unit = (CompilationUnitSyntax)CSharpSyntaxTree.ParseText(s.Code, options).GetRoot();
                foreach (var u in unit.Usings)
                    usings.Add($"#line {s.Line + u.GetLocation().GetLineSpan().StartLinePosition.Line} \"{s.Page}\"\n{u.ToString().Trim()}\n");
                foreach (var member in unit.Members)
                {
                    int line = s.Line + member.GetLocation().GetLineSpan().StartLinePosition.Line;
                    // The member's text from the start of its line, so columns (and comments before it) stay as on the page.
                    string text = member.ToFullString();
                    var target = member is GlobalStatementSyntax ? statements : types;
                    int leading = member.GetLeadingTrivia().ToFullString().Count(c => c == '\n');
                    target.Append($"#line {line - leading} \"{s.Page}\"\n{text}\n");
                }
            }
            if (usings.Count == 0)
                usings.AddRange(LibraryNamespaces.Value.Append("System.Numerics").Concat(fileNamespaces).Distinct().Select(n => $"using {n};\n"));
            string name = $"Snippet_{Regex.Replace(chain[0].Page, @"\W", "_")}_{chain[0].Line}";
            string source = string.Concat(usings) + "#line default\n" +
                            $"static class {name}\n{{\n#pragma warning disable CS1998\n    static async System.Threading.Tasks.Task Run()\n    {{\n{statements}#line default\n    }}\n}}\n" +
                            types;
            trees.Add(CSharpSyntaxTree.ParseText(source, options, name + ".cs"));
        }

        var compilation = CSharpCompilation.Create("DocSnippets_" + Guid.NewGuid().ToString("N"), trees, References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: false));
        using var sink = new MemoryStream();
        var result = compilation.Emit(sink);
        return result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d =>
        {
            var span = d.Location.GetMappedLineSpan();
            return $"{span.Path}:{span.StartLinePosition.Line + 1}: error {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
        }).Distinct().ToList();
    }

    /// <summary>For each type a snippet (not a file) declares under the name of a public library type: the members it
    /// declares that the library type lacks.</summary>
    internal static IEnumerable<string> ExcerptProblems(IReadOnlyList<Snippet> snippets)
    {
        var library = typeof(MemoryLab.Targets.MemoryKernel).Assembly.GetExportedTypes();
        foreach (var s in snippets.Where(s => s.File == null))
        {
            var root = CSharpSyntaxTree.ParseText(s.Code, new CSharpParseOptions(LanguageVersion.Latest)).GetRoot();
            foreach (var declared in root.DescendantNodes().OfType<TypeDeclarationSyntax>())
            {
                int arity = declared.TypeParameterList?.Parameters.Count ?? 0;
                string clrName = arity == 0 ? declared.Identifier.Text : $"{declared.Identifier.Text}`{arity}";
                var match = library.FirstOrDefault(t => t.Name == clrName);
                if (match == null) continue;
                var names = match.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static).Select(m => m.Name)
                    .Concat(match.GetInterfaces().SelectMany(i => i.GetMembers().Select(m => m.Name))).ToHashSet();
                foreach (var member in declared.Members)
                {
                    string? memberName = member switch
                    {
                        MethodDeclarationSyntax m => m.Identifier.Text,
                        PropertyDeclarationSyntax p => p.Identifier.Text,
                        EventDeclarationSyntax e => e.Identifier.Text,
                        _ => null,
                    };
                    if (memberName != null && !names.Contains(memberName))
                        yield return $"{s.Page}:{s.Line + member.GetLocation().GetLineSpan().StartLinePosition.Line}: " +
                                     $"{declared.Identifier.Text}{declared.TypeParameterList} declares {memberName}, which the library's {match.FullName} does not have";
                }
            }
        }
    }
}
