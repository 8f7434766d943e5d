namespace MemoryLab.Experiments;

/// <summary>
/// One kind of experiment (a paper figure, or a user's own), selected by a spec's <c>kind:</c> key.
/// <see cref="Validate"/> binds a resolved spec without running it (so a sweep rejects bad input before
/// writing anything); <see cref="Run"/> binds and runs it. Most kinds derive from
/// <see cref="ExperimentKind{TConfig}"/>, which builds both from one <c>Bind</c> method.
/// </summary>
public interface IExperimentKind
{
    /// <summary>The name a spec's <c>kind:</c> uses, in kebab-case (<c>teacher-student</c>).</summary>
    string Name { get; }

    /// <summary>One line on what the experiment does and where it comes from.</summary>
    string Description { get; }

    /// <summary>Names of the final metrics <see cref="Run"/> reports (checked against a sweep's <c>select.metric</c>).</summary>
    IReadOnlyCollection<string> MetricNames { get; }

    /// <summary>Reads and checks every setting of <paramref name="spec"/> (a resolved spec whose <c>kind</c> and
    /// <c>seed</c> are already read) and throws a <see cref="SpecException"/> for bad or unknown keys.</summary>
    void Validate(SpecNode spec);

    /// <summary>Runs the experiment for <paramref name="spec"/>, logging metrics to <see cref="RunContext.Metrics"/>
    /// and reporting progress, and returns how it ended.</summary>
    RunSummary Run(SpecNode spec, RunContext context);

    /// <summary>Writes into <paramref name="spec"/> (a resolved run spec) the choices the run would otherwise make when it
    /// starts, such as the algorithm <c>auto</c> picks for a linear time-invariant layer at the run's shape on
    /// <paramref name="threads"/> threads, so that they are part of the run's identity (its id hashes the spec) and of its
    /// stored spec. A spec this kind cannot bind is left as it is (validation reports it). The default makes no choice.</summary>
    void ResolveChoices(SpecNode spec, int threads) { }
}

/// <summary>
/// The usual way to write an experiment kind: <see cref="Bind"/> turns the spec into a typed config with the
/// <see cref="SpecNode"/> reader (every key read, ranges checked), and <see cref="Execute"/> runs from the config.
/// Validation is <see cref="Bind"/> followed by <see cref="SpecNode.EnsureAllKeysUsed"/>, so unknown keys are
/// errors without any extra code.
/// </summary>
/// <typeparam name="TConfig">The experiment's typed settings.</typeparam>
public abstract class ExperimentKind<TConfig> : IExperimentKind
{
    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public abstract string Description { get; }

    /// <inheritdoc/>
    public abstract IReadOnlyCollection<string> MetricNames { get; }

    /// <summary>Reads the settings from <paramref name="spec"/> (the root of a resolved spec).</summary>
    public abstract TConfig Bind(SpecNode spec);

    /// <summary>Runs the experiment with bound settings.</summary>
    protected abstract RunSummary Execute(TConfig config, RunContext context);

    /// <summary>Binds <paramref name="spec"/> and rejects keys nobody read.</summary>
    public TConfig BindStrict(SpecNode spec)
    {
        var config = Bind(spec);
        spec.EnsureAllKeysUsed();
        return config;
    }

    /// <inheritdoc/>
    public void Validate(SpecNode spec) => BindStrict(spec);

    /// <inheritdoc/>
    public virtual void ResolveChoices(SpecNode spec, int threads) { }

    /// <summary>Binds a stored run's resolved spec (<see cref="RunRecord.Spec"/>, with its <c>kind</c> and <c>seed</c>), e.g. for a
    /// report step that needs the settings a run used.</summary>
    public TConfig BindRun(SpecNode runSpec)
    {
        ArgumentNullException.ThrowIfNull(runSpec);
        var copy = runSpec.Clone();
        copy.GetString(ExperimentRegistry.KindKey);
        copy.GetLong(ExperimentRegistry.SeedKey, 0);
        return BindStrict(copy);
    }

    /// <inheritdoc/>
    public RunSummary Run(SpecNode spec, RunContext context) => Execute(BindStrict(spec), context);
}
