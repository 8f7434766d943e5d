using System.Globalization;
using System.Text.RegularExpressions;
using MemoryLab.Experiments;
using MemoryLab.Reporting;

namespace MemoryLab.Reproductions;

/// <summary>
/// A bound of a claim's test: a number written in the spec, or a named value the report step measures and passes to
/// <see cref="ClaimSet.Check"/> (<c>{measured: NAME}</c>, for a claim that compares two measurements).
/// </summary>
/// <param name="Value">The number, when the spec gives one.</param>
/// <param name="Measured">The name of the measured value, when the report supplies it.</param>
public sealed record ClaimBound(double? Value, string? Measured)
{
    internal static ClaimBound Bind(SpecNode test, string key)
    {
        var node = test.Peek(key);
        if (node is { Kind: SpecNodeKind.Mapping })
        {
            var m = test.Child(key);
            return new ClaimBound(null, m.GetString("measured"));
        }
        return new ClaimBound(test.GetDouble(key), null);
    }

    /// <summary>The bound's value: the spec's number, or the named value among <paramref name="values"/>.</summary>
    public double Resolve(string claimId, IReadOnlyDictionary<string, object> values)
    {
        if (Value is { } v) return v;
        if (values.TryGetValue(Measured!, out var o) && o is double d) return d;
        throw new InvalidOperationException($"claim '{claimId}' compares against the measured value '{Measured}', which the report did not pass (a double)");
    }
}

/// <summary>
/// The comparison a claim's measured value must pass: the spec's <c>test:</c> mapping holds exactly one relation,
/// <c>less_than</c>, <c>greater_than</c>, <c>at_least</c>, <c>at_most</c> (bound: a number or <c>{measured: NAME}</c>),
/// <c>between: [low, high]</c>, or <c>near: TARGET</c> with <c>tolerance: RELATIVE</c>. Each relation is a record that
/// binds its own keys and turns a measurement into a <see cref="ClaimCheck"/>.
/// </summary>
public abstract record ClaimTest
{
    private static readonly (string Key, Func<SpecNode, ClaimTest> Bind)[] Relations =
    [
        ("less_than", t => new LessThanTest(ClaimBound.Bind(t, "less_than"))),
        ("greater_than", t => new GreaterThanTest(ClaimBound.Bind(t, "greater_than"))),
        ("at_least", t => new AtLeastTest(ClaimBound.Bind(t, "at_least"))),
        ("at_most", t => new AtMostTest(ClaimBound.Bind(t, "at_most"))),
        ("between", BetweenTest.BindBetween),
        ("near", NearTest.BindNear),
    ];

    /// <summary>Reads a <c>test:</c> mapping.</summary>
    public static ClaimTest Bind(SpecNode test)
    {
        ArgumentNullException.ThrowIfNull(test);
        if (test.Kind != SpecNodeKind.Mapping) throw test.Error($"must be a mapping with one of {string.Join(", ", Relations.Select(r => r.Key))}");
        var present = Relations.Where(r => test.Has(r.Key)).ToArray();
        if (present.Length != 1)
            throw test.Error($"must hold exactly one of {string.Join(", ", Relations.Select(r => r.Key))} (got {(present.Length == 0 ? "none" : string.Join(", ", present.Select(r => r.Key)))})");
        return present[0].Bind(test);
    }

    /// <summary>The check of <paramref name="measured"/>; <paramref name="values"/> supplies measured bounds by name.</summary>
    public abstract ClaimCheck Evaluate(string experiment, string claimId, string claim, double measured, string? measuredText, IReadOnlyDictionary<string, object> values);
}

/// <summary><c>less_than: B</c>: holds when measured &lt; B.</summary>
/// <param name="Bound">B.</param>
public sealed record LessThanTest(ClaimBound Bound) : ClaimTest
{
    /// <inheritdoc />
    public override ClaimCheck Evaluate(string experiment, string claimId, string claim, double measured, string? measuredText, IReadOnlyDictionary<string, object> values) =>
        ClaimCheck.LessThan(experiment, claim, measured, Bound.Resolve(claimId, values), measuredText);
}

/// <summary><c>greater_than: B</c>: holds when measured &gt; B.</summary>
/// <param name="Bound">B.</param>
public sealed record GreaterThanTest(ClaimBound Bound) : ClaimTest
{
    /// <inheritdoc />
    public override ClaimCheck Evaluate(string experiment, string claimId, string claim, double measured, string? measuredText, IReadOnlyDictionary<string, object> values) =>
        ClaimCheck.GreaterThan(experiment, claim, measured, Bound.Resolve(claimId, values), measuredText);
}

/// <summary><c>at_least: B</c>: holds when measured ≥ B up to rounding.</summary>
/// <param name="Bound">B.</param>
public sealed record AtLeastTest(ClaimBound Bound) : ClaimTest
{
    /// <inheritdoc />
    public override ClaimCheck Evaluate(string experiment, string claimId, string claim, double measured, string? measuredText, IReadOnlyDictionary<string, object> values) =>
        ClaimCheck.AtLeast(experiment, claim, measured, Bound.Resolve(claimId, values), measuredText);
}

/// <summary><c>at_most: B</c>: holds when measured ≤ B up to rounding.</summary>
/// <param name="Bound">B.</param>
public sealed record AtMostTest(ClaimBound Bound) : ClaimTest
{
    /// <inheritdoc />
    public override ClaimCheck Evaluate(string experiment, string claimId, string claim, double measured, string? measuredText, IReadOnlyDictionary<string, object> values) =>
        ClaimCheck.AtMost(experiment, claim, measured, Bound.Resolve(claimId, values), measuredText);
}

/// <summary><c>between: [low, high]</c>: holds when low ≤ measured ≤ high.</summary>
/// <param name="Low">Lower end.</param>
/// <param name="High">Upper end.</param>
public sealed record BetweenTest(double Low, double High) : ClaimTest
{
    internal static BetweenTest BindBetween(SpecNode t)
    {
        var ends = t.GetDoubleList("between", minCount: 2);
        if (ends.Length != 2 || !(ends[1] >= ends[0])) throw t.Error("between", $"must be [low, high] with low <= high (got [{string.Join(", ", ends)}])");
        return new BetweenTest(ends[0], ends[1]);
    }

    /// <inheritdoc />
    public override ClaimCheck Evaluate(string experiment, string claimId, string claim, double measured, string? measuredText, IReadOnlyDictionary<string, object> values) =>
        ClaimCheck.Between(experiment, claim, measured, Low, High, measuredText);
}

/// <summary><c>near: TARGET, tolerance: R</c>: holds when |measured − TARGET| ≤ R·|TARGET|.</summary>
/// <param name="Target">The target value.</param>
/// <param name="Tolerance">Relative tolerance R &gt; 0.</param>
public sealed record NearTest(double Target, double Tolerance) : ClaimTest
{
    internal static NearTest BindNear(SpecNode t) => new(t.GetDouble("near"), t.GetDouble("tolerance", above: 0));

    /// <inheritdoc />
    public override ClaimCheck Evaluate(string experiment, string claimId, string claim, double measured, string? measuredText, IReadOnlyDictionary<string, object> values) =>
        ClaimCheck.Near(experiment, claim, measured, Target, Tolerance, measuredText);
}

/// <summary>
/// One claim of a reproduction, as its spec states it (<c>reproduction.claims</c>, shared by both scales): an <c>id</c>
/// (kebab-case, unique in the reproduction), the <c>text</c> (which may hold placeholders such as <c>{m}</c> that the
/// report step fills, one claim per filled instance), its <c>kind</c> (<c>paper</c> or <c>numerical-check</c>), its
/// <c>source</c> (<c>paper</c>, <c>where</c>: section/figure/equation, <c>reading</c>: the sentence or figure reading
/// tested; <c>unknown</c> while not traced) and its <c>test</c> (<see cref="ClaimTest"/>). Optionally <c>not_reproduced</c>: the
/// evidence, in a few sentences with what was measured, that the claim does not reproduce after the set-up was matched to the
/// authors' (<see cref="NotReproduced"/>).
/// </summary>
/// <param name="Id">Unique id within the reproduction.</param>
/// <param name="Text">The claim as stated, with <c>{name}</c> placeholders.</param>
/// <param name="Kind">Paper claim or numerical check.</param>
/// <param name="Source">Where it comes from.</param>
/// <param name="Test">The comparison and its threshold.</param>
public sealed record ClaimSpec(string Id, string Text, ClaimKind Kind, ClaimSource Source, ClaimTest Test)
{
    private static readonly Regex IdPattern = new("^[a-z0-9]+(-[a-z0-9]+)*$", RegexOptions.CultureInvariant);

    /// <summary>The key of <see cref="NotReproduced"/> in a claim's mapping.</summary>
    public const string NotReproducedKey = "not_reproduced";

    /// <summary>
    /// The evidence that the claim does not reproduce after the set-up was matched to the authors' (what was measured, and why no
    /// setting closer to the paper exists), carried into claims.json, claims.md and report.html with each check of the claim; null
    /// when the spec gives none. It never changes a check's status, which is always the measurement's.
    /// </summary>
    public string? NotReproduced { get; init; }

    /// <summary>Reads one claim mapping.</summary>
    public static ClaimSpec Bind(SpecNode c)
    {
        ArgumentNullException.ThrowIfNull(c);
        string id = c.GetString("id");
        if (!IdPattern.IsMatch(id)) throw c.Error("id", $"must be kebab-case letters and digits (got '{id}')");
        var source = c.Child("source");
        return new ClaimSpec(id, c.GetString("text"), c.GetEnum<ClaimKind>("kind"),
            new ClaimSource(source.GetString("paper"), source.GetString("where"), source.GetString("reading")),
            ClaimTest.Bind(c.Child("test")))
        {
            NotReproduced = BindNotReproduced(c),
        };
    }

    // Optional, but when written it must be text: a bare key, a number, true/false or a mapping is a mistake, not "no evidence".
    private static string? BindNotReproduced(SpecNode c)
    {
        var node = c.Peek(NotReproducedKey);   // an explicit null too, which GetNode would read as absent
        c.GetNode(NotReproducedKey);            // asked for even when absent, so a misspelt key gets "did you mean"
        if (node is null) return null;
        const string what = "must be a non-empty text: the evidence, with what was measured, that the claim does not reproduce once the set-up matches the authors'";
        if (node.Kind != SpecNodeKind.Scalar || node.ScalarType != SpecScalarType.String) throw c.Error(NotReproducedKey, $"{what} (got {node.Describe()})");
        string text = c.GetString(NotReproducedKey);
        if (string.IsNullOrWhiteSpace(text)) throw c.Error(NotReproducedKey, $"{what} (got {node.Describe()})");
        return text.Trim();
    }

    /// <summary>Reads a <c>claims:</c> list; ids must be unique.</summary>
    public static IReadOnlyList<ClaimSpec> BindAll(SpecNode parent, string key)
    {
        ArgumentNullException.ThrowIfNull(parent);
        var list = new List<ClaimSpec>();
        foreach (var item in parent.GetItems(key))
        {
            var claim = Bind(item);
            if (list.Any(c => c.Id == claim.Id)) throw item.Error("id", $"claim id '{claim.Id}' appears twice");
            list.Add(claim);
        }
        return list;
    }
}

/// <summary>
/// The claims of one reproduction's report: the report step passes each claim's measured value by id, with the values
/// its text's placeholders and measured bounds need; <see cref="Check"/> applies the spec's test and adds the result to the
/// section. <see cref="Finish"/> adds every declared claim the step never measured as inconclusive, so a claim written in
/// the spec cannot silently vanish.
/// </summary>
public sealed class ClaimSet
{
    private static readonly Regex Placeholder = new(@"\{([a-z_][a-z0-9_]*)\}", RegexOptions.CultureInvariant);
    private readonly string _experiment;
    private readonly IReadOnlyList<ClaimSpec> _specs;
    private readonly ReportSection _section;
    private readonly HashSet<string> _checkedIds = new(StringComparer.Ordinal);
    private readonly HashSet<string> _instances = new(StringComparer.Ordinal);

    /// <summary>The claims <paramref name="specs"/> of reproduction <paramref name="experiment"/>, checked into <paramref name="section"/>.</summary>
    public ClaimSet(string experiment, IReadOnlyList<ClaimSpec> specs, ReportSection section)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(experiment);
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(section);
        _experiment = experiment;
        _specs = specs;
        _section = section;
    }

    /// <summary>The declared claims.</summary>
    public IReadOnlyList<ClaimSpec> Specs => _specs;

    // The claims come from the spec the runs were made with (a results folder's sweep.yaml), so a claim the report step checks but
    // that spec lacks means results older than the report code: bad input (exit 2), named with the remedy.
    // Marked (InvalidDataException is sealed) so that a report section does not absorb it as "could not be built": every claim of
    // the section would turn inconclusive and a publication would carry them silently.
    private InvalidDataException NotDeclared(string id) => new(
        $"{_experiment}: claim '{id}' is not declared in the spec (declared: {string.Join(", ", _specs.Select(s => s.Id))}); "
        + "results made before this claim was added need their sweep.yaml's claims updated, or the reproduction run again")
    { Data = { [UndeclaredKey] = id } };

    private const string UndeclaredKey = "memlab.undeclared-claim";

    /// <summary>Whether <paramref name="e"/> says a report step checked a claim the results' spec does not declare (results older than the claim).</summary>
    public static bool IsUndeclaredClaim(Exception e) => e.Data.Contains(UndeclaredKey);

    /// <summary>
    /// Checks claim <paramref name="id"/> against <paramref name="measured"/> and adds the result to the section.
    /// <paramref name="values"/> fill the text's <c>{name}</c> placeholders (numbers in invariant culture; the filled names
    /// make the instance's id, e.g. <c>log-tau-linear[m=5, tau=τ₀]</c>) and supply bounds written <c>{measured: NAME}</c>.
    /// Throws <see cref="InvalidDataException"/> for an id the spec does not declare (results older than the report step), and
    /// <see cref="InvalidOperationException"/> for a placeholder left unfilled or an instance checked twice: mistakes in the report step.
    /// </summary>
    public ClaimCheck Check(string id, double measured, string? measuredText = null, params (string Name, object Value)[] values)
    {
        var spec = _specs.FirstOrDefault(s => s.Id == id)
            ?? throw NotDeclared(id);
        var named = values.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        var filled = new List<string>();
        string text = Placeholder.Replace(spec.Text, m =>
        {
            string name = m.Groups[1].Value;
            if (!named.TryGetValue(name, out var v)) throw new InvalidOperationException($"{_experiment}: claim '{id}' needs a value for {{{name}}}");
            string shown = v is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : v.ToString() ?? "";
            filled.Add($"{name}={shown}");
            return shown;
        });
        string instance = filled.Count == 0 ? id : $"{id}[{string.Join(", ", filled.Distinct())}]";
        if (!_instances.Add(instance)) throw new InvalidOperationException($"{_experiment}: claim '{instance}' is checked twice");
        _checkedIds.Add(id);
        var check = spec.Test.Evaluate(_experiment, id, text, measured, measuredText, named) with { Id = instance, Kind = spec.Kind, Source = spec.Source, NotReproduced = spec.NotReproduced };
        _section.Claims.Add(check);
        return check;
    }

    /// <summary>
    /// Adds claim <paramref name="id"/> as inconclusive by design: this scale cannot decide it (e.g. an ordering that needs the
    /// paper's seeds and steps). <paramref name="seen"/> says what was measured anyway, <paramref name="why"/> why it is not decided.
    /// </summary>
    public ClaimCheck NotDecidedHere(string id, string seen, string why)
    {
        var spec = _specs.FirstOrDefault(s => s.Id == id)
            ?? throw NotDeclared(id);
        if (Placeholder.IsMatch(spec.Text)) throw new InvalidOperationException($"{_experiment}: claim '{id}' has placeholders; check its instances instead");
        if (!_instances.Add(id)) throw new InvalidOperationException($"{_experiment}: claim '{id}' is checked twice");
        _checkedIds.Add(id);
        var check = new ClaimCheck(_experiment, spec.Text, double.NaN, seen, "—", ClaimStatus.Inconclusive)
        {
            Details = why, Id = id, Kind = spec.Kind, Source = spec.Source, NotReproduced = spec.NotReproduced,
        };
        _section.Claims.Add(check);
        return check;
    }

    /// <summary>Adds each declared claim that was never checked as inconclusive, saying <paramref name="why"/>.</summary>
    public void Finish(string why = "the report step did not measure it")
    {
        foreach (var spec in _specs.Where(s => !_checkedIds.Contains(s.Id)))
            _section.Claims.Add(new ClaimCheck(_experiment, spec.Text, double.NaN, "not measured", "—", ClaimStatus.Inconclusive)
            {
                Details = why, Id = spec.Id, Kind = spec.Kind, Source = spec.Source, NotReproduced = spec.NotReproduced,
            });
    }
}
