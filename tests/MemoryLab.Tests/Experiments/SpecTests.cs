using System.Security.Cryptography;
using System.Text;
using MemoryLab.Experiments;

namespace MemoryLab.Tests.Experiments;

public class SpecTests
{
    private const string Text =
        "kind: demo\n" +            // 1
        "model:\n" +                // 2
        "  nu0: 1.2\n" +            // 3
        "  hidden: 64\n" +          // 4
        "  kind: lru\n" +           // 5
        "optimizer: {lr: 1e-3, betas: [0.9, 0.999]}\n" + // 6
        "name: \"0.5\"\n" +         // 7
        "flag: true\n";             // 8

    [Fact]
    public void NodesKeepFileLineAndColumn()
    {
        var root = SpecParser.ParseText(Text, "specs/a.yaml");
        var nu0 = root.Child("model").Peek("nu0")!;
        Assert.Equal(new SourcePosition("specs/a.yaml", 3, 8), nu0.Position);
        Assert.Equal("model.nu0", nu0.Path);
        Assert.Equal(6, root.Child("optimizer").Peek("betas")!.Items[1].Position.Line);
        Assert.Equal("optimizer.betas[1]", root.Child("optimizer").Peek("betas")!.Items[1].Path);
    }

    [Fact]
    public void TypedReaderReadsValuesAndChecksRanges()
    {
        var root = SpecParser.ParseText(Text, "a.yaml");
        var model = root.Child("model");
        Assert.Equal(64, model.GetInt("hidden", min: 1));
        Assert.Equal(0.001, root.Child("optimizer").GetDouble("lr", above: 0));
        Assert.Equal(new[] { 0.9, 0.999 }, root.Child("optimizer").GetDoubleList("betas", min: 0, below: 1));
        Assert.Equal(7, model.GetInt("missing_with_default", 7));
        Assert.True(root.GetBool("flag"));
        Assert.Equal("0.5", root.GetString("name"));
        Assert.Equal(ModelKind.Lru, model.GetEnum<ModelKind>("kind"));

        var e = Assert.Throws<SpecException>(() => model.GetDouble("nu0", min: 0, below: 1));
        Assert.Equal("a.yaml:3: key 'model.nu0': must be < 1 (got 1.2)", e.Message);
        e = Assert.Throws<SpecException>(() => model.GetInt("hidden", max: 32));
        Assert.Equal("a.yaml:4: key 'model.hidden': must be <= 32 (got 64)", e.Message);
        e = Assert.Throws<SpecException>(() => root.GetDouble("name"));
        Assert.Equal("a.yaml:7: key 'name': must be a number (got \"0.5\")", e.Message);
        e = Assert.Throws<SpecException>(() => model.GetDouble("width"));
        Assert.Equal("a.yaml:3: key 'model.width': required, but missing", e.Message);
        e = Assert.Throws<SpecException>(() => root.GetDouble("model"));
        Assert.Contains("key 'model': must be a number (got a mapping)", e.Message);
        e = Assert.Throws<SpecException>(() => root.GetEnum<ModelKind>("kind"));
        Assert.Equal("a.yaml:1: key 'kind': must be one of dense-rnn, complex-diagonal, lru (got demo)", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private enum ModelKind { DenseRnn, ComplexDiagonal, Lru }

    [Fact]
    public void EnumNamesIgnoreCaseDashesAndUnderscores()
    {
        var root = SpecParser.ParseText("a: dense_rnn\nb: Dense-RNN\nc: complexdiagonal\n", "x.yaml");
        Assert.Equal(ModelKind.DenseRnn, root.GetEnum<ModelKind>("a"));
        Assert.Equal(ModelKind.DenseRnn, root.GetEnum<ModelKind>("b"));
        Assert.Equal(ModelKind.ComplexDiagonal, root.GetEnum<ModelKind>("c"));
    }

    [Fact]
    public void UnknownKeysAreRejectedWithASuggestion()
    {
        var root = SpecParser.ParseText("model:\n  nu0: 0.5\n  hiddn: 64\n", "s.yaml");
        var model = root.Child("model");
        model.GetDouble("nu0");
        model.GetInt("hidden", 32); // absent: default, but the name is known
        var e = Assert.Throws<SpecException>(() => root.EnsureAllKeysUsed());
        Assert.Equal("s.yaml:3: key 'model.hiddn': unknown key (did you mean 'hidden'?)", e.Message);

        // A whole section nobody read is unknown too.
        var other = SpecParser.ParseText("a: 1\nextra:\n  b: 2\n", "t.yaml");
        other.GetInt("a");
        e = Assert.Throws<SpecException>(() => other.EnsureAllKeysUsed());
        Assert.StartsWith("t.yaml:2: key 'extra': unknown key", e.Message);

        // Once everything is read, nothing is thrown.
        var ok = SpecParser.ParseText("a: 1\nb: [1, 2]\n", "u.yaml");
        ok.GetInt("a");
        ok.GetIntList("b");
        ok.EnsureAllKeysUsed();
    }

    [Fact]
    public void IncludesMergeRelativeFilesAndTheIncluderWins()
    {
        using var dir = new TempDirectory();
        dir.File("base/common.yaml", "kind: demo\nmodel:\n  nu0: 0.5\n  hidden: 64\noptimizer:\n  lr: 0.1\n");
        dir.File("base/more.yaml", "optimizer:\n  lr: 0.2\n  steps: 10\n");
        string main = dir.File("main.yaml", "include: [base/common.yaml, base/more.yaml]\nmodel:\n  nu0: 0.9\n");
        var root = SpecParser.ParseFile(main);
        Assert.Equal(0.9, root.Child("model").GetDouble("nu0"));
        Assert.Equal(64, root.Child("model").GetInt("hidden"));
        Assert.Equal(0.2, root.Child("optimizer").GetDouble("lr"));
        Assert.Equal(10, root.Child("optimizer").GetInt("steps"));
        Assert.False(root.Has("include"));
        // Positions point into the file that supplied the value.
        Assert.EndsWith(System.IO.Path.Combine("base", "more.yaml"), root.Child("optimizer").Peek("lr")!.Position.File);
        Assert.Equal(2, root.Child("optimizer").Peek("lr")!.Position.Line);
        Assert.Equal(main, root.Child("model").Peek("nu0")!.Position.File);

        // Nested include: relative to the including file, merged under its mapping.
        dir.File("models/lru.yaml", "kind: lru\nr_min: 0.4\n");
        string nested = dir.File("nested.yaml", "model:\n  include: models/lru.yaml\n  r_min: 0.9\n");
        var n = SpecParser.ParseFile(nested);
        Assert.Equal("lru", n.Child("model").GetString("kind"));
        Assert.Equal(0.9, n.Child("model").GetDouble("r_min"));
        Assert.Equal("model.kind", n.Child("model").Peek("kind")!.Path);
    }

    [Fact]
    public void IncludeErrorsNameTheLine()
    {
        using var dir = new TempDirectory();
        string a = dir.File("a.yaml", "x: 1\ninclude: nowhere.yaml\n");
        var e = Assert.Throws<SpecException>(() => SpecParser.ParseFile(a));
        Assert.StartsWith($"{a}:2: key 'include': cannot read spec file", e.Message);
        dir.File("c1.yaml", "include: c2.yaml\n");
        dir.File("c2.yaml", "include: c1.yaml\n");
        e = Assert.Throws<SpecException>(() => SpecParser.ParseFile(System.IO.Path.Combine(dir.Path, "c1.yaml")));
        Assert.Contains("include cycle", e.Message);
    }

    [Fact]
    public void YamlSyntaxErrorsAreOneLineWithThePosition()
    {
        var e = Assert.Throws<SpecException>(() => SpecParser.ParseText("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml"));
        Assert.StartsWith("bad.yaml:", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        e = Assert.Throws<SpecException>(() => SpecParser.ParseText("a: 1\na: 2\n", "dup.yaml"));
        Assert.Equal("dup.yaml:2: key 'a': duplicate key", e.Message);
    }

    [Fact]
    public void AnchorsAliasesAndMergeKeysAreCopied()
    {
        var root = SpecParser.ParseText("base: &b {lr: 0.1, steps: 5}\nrun:\n  <<: *b\n  steps: 7\ncopy: *b\n", "m.yaml");
        Assert.Equal(0.1, root.Child("run").GetDouble("lr"));
        Assert.Equal(7, root.Child("run").GetInt("steps"));
        Assert.Equal(5, root.Child("copy").GetInt("steps"));
        Assert.Equal("copy.steps", root.Child("copy").Peek("steps")!.Path);
    }

    [Fact]
    public void OverridesSetNestedKeysParseYamlValuesAndRejectUnknownKeys()
    {
        var root = SpecParser.ParseText(Text, "a.yaml");
        SpecOverrides.Apply(root, new[] { "model.nu0=0.99", "optimizer.betas=[0.8, 0.9]", "model.kind=dense-rnn", "+model.r_min=0.4", "optimizer.betas.1=0.95" });
        var model = root.Child("model");
        Assert.Equal(0.99, model.GetDouble("nu0"));
        Assert.Equal(SourcePosition.CommandLine, model.Peek("nu0")!.Position);
        Assert.Equal(new[] { 0.8, 0.95 }, root.Child("optimizer").GetDoubleList("betas"));
        Assert.Equal(0.4, model.GetDouble("r_min"));

        var e = Assert.Throws<SpecException>(() => SpecOverrides.Apply(root, new[] { "model.nuu=0.5" }));
        Assert.StartsWith("<command line>: key 'model.nuu': no such key in the spec (did you mean 'model.nu0'?)", e.Message);
        e = Assert.Throws<SpecException>(() => SpecOverrides.Apply(root, new[] { "model.nu0" }));
        Assert.Equal("<command line>: override 'model.nu0' is not of the form key=value", e.Message);
        e = Assert.Throws<SpecException>(() => SpecOverrides.Apply(root, new[] { "model.nu0=[1, 2" }));
        Assert.StartsWith("<command line>: key 'model.nu0': cannot read value '[1, 2'", e.Message);

        // A value from the command line that breaks a range names the command line.
        SpecOverrides.Apply(root, new[] { "model.nu0=1.5" });
        e = Assert.Throws<SpecException>(() => root.Child("model").GetDouble("nu0", below: 1));
        Assert.Equal("<command line>: key 'model.nu0': must be < 1 (got 1.5)", e.Message);
    }

    [Fact]
    public void WriterOutputReadsBackToTheSameCanonicalSpec()
    {
        var root = SpecParser.ParseText(Text + "weird: \"a: b, [c]\"\nlist:\n  - {x: 1, y: [1, 2]}\n  - [3, 4]\n  - plain\nempty: {}\nnothing: ~\nmulti: \"line1\\nline2\"\n", "w.yaml");
        string yaml = SpecYamlWriter.ToYaml(root);
        var back = SpecParser.ParseText(yaml, "back.yaml");
        Assert.Equal(root.ToCanonicalJson(), back.ToCanonicalJson());
        Assert.Equal("\"0.5\"", back.Peek("name")!.CanonicalScalar()); // a quoted number stays a string
    }

    [Fact]
    public void CanonicalJsonIgnoresKeyOrderAndNumberSpelling()
    {
        var a = SpecParser.ParseText("b: 0.10\na: {y: 1.0, x: 1e-3}\nc: [true, ~, 'q']\n", "a.yaml");
        var b = SpecParser.ParseText("a:\n  x: 0.001\n  y: 1\nb: 1e-1\nc: [True, null, \"q\"]\n", "b.yaml");
        Assert.Equal(a.ToCanonicalJson(), b.ToCanonicalJson());
        Assert.Equal("{\"a\":{\"x\":0.001,\"y\":1},\"b\":0.1,\"c\":[true,null,\"q\"]}", a.ToCanonicalJson());
        Assert.Equal(ResultsStore.ComputeRunId(a), ResultsStore.ComputeRunId(b));
        // The id is the first 12 hex digits of SHA-256 of that canonical text.
        string expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(a.ToCanonicalJson())))[..12];
        Assert.Equal(expected, ResultsStore.ComputeRunId(a));
        var c = SpecParser.ParseText("b: 0.11\na: {y: 1.0, x: 1e-3}\nc: [true, ~, 'q']\n", "c.yaml");
        Assert.NotEqual(ResultsStore.ComputeRunId(a), ResultsStore.ComputeRunId(c));
    }
}
