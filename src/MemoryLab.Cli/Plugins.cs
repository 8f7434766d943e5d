using System.Reflection;
using MemoryLab.Experiments;
using MemoryLab.Models;
using MemoryLab.Reproductions;

namespace MemoryLab.Cli;

/// <summary>
/// Researchers' own kinds, loaded without forking: every assembly named in <c>MEMLAB_PLUGINS</c> (paths separated by
/// the platform's path separator) is loaded, and each public, non-abstract type with a parameterless constructor is
/// registered by what it implements: <see cref="IExperimentKind"/> and <see cref="IReproduction"/> (or both, as a
/// <see cref="ReproductionKind{TSettings}"/> does), <see cref="ILayerKind"/> (a model kind) and <see cref="IDataKind"/>
/// (a data kind of <c>kind: train</c>); a generic type definition with one type parameter that implements
/// <see cref="IEigenvalueMap{T}"/> is registered as an eigenvalue parametrisation, built for float and double. So
/// <c>memlab run</c>, <c>sweep</c>, <c>reproduce</c> and <c>report</c> see each like a built-in one.
/// </summary>
internal static class Plugins
{
    public const string Variable = "MEMLAB_PLUGINS";

    /// <summary>Registers the plugins; returns an error line, or null when all loaded.</summary>
    public static string? Load(ExperimentRegistry kinds, ReproductionRegistry reproductions, ModelFactory models, SpecKinds<DataSpec> data)
    {
        string? list = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(list)) return null;
        foreach (string path in list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Assembly assembly;
            try { assembly = Assembly.LoadFrom(Path.GetFullPath(path)); }
            catch (Exception e) when (e is IOException or BadImageFormatException or ArgumentException)
            {
                return $"{Variable}: cannot load '{path}': {e.Message}".ReplaceLineEndings(" ");
            }
            Type[] types;
            try { types = assembly.GetExportedTypes(); }
            catch (Exception e) when (e is FileNotFoundException or FileLoadException or TypeLoadException or ReflectionTypeLoadException or BadImageFormatException)
            {
                return $"{Variable}: cannot load '{path}': {MissingDependency(e)}".ReplaceLineEndings(" ");
            }
            foreach (var type in types)
            {
                try
                {
                    if (IsEigenvalueMap(type)) { models.RegisterParametrisation(type); continue; }
                    if (type.IsGenericTypeDefinition) continue;
                    if (type.IsAbstract || type.GetConstructor(Type.EmptyTypes) is null) continue;
                    if (typeof(IExperimentKind).IsAssignableFrom(type)) kinds.Register((IExperimentKind)Activator.CreateInstance(type)!);
                    if (typeof(IReproduction).IsAssignableFrom(type)) reproductions.Register((IReproduction)Activator.CreateInstance(type)!);
                    if (typeof(ILayerKind).IsAssignableFrom(type)) models.Register((ILayerKind)Activator.CreateInstance(type)!);
                    if (typeof(IDataKind).IsAssignableFrom(type))
                    {
                        var kind = (IDataKind)Activator.CreateInstance(type)!;
                        data.Register(kind.Name, kind.Bind, kind.Description);
                    }
                }
                catch (ArgumentException e)
                {
                    return $"{Variable}: '{path}': {type.FullName}: {e.Message}".ReplaceLineEndings(" ");
                }
                catch (Exception e) when (e is FileNotFoundException or FileLoadException or TypeLoadException or BadImageFormatException or TargetInvocationException or MissingMethodException)
                {
                    return $"{Variable}: '{path}': {type.FullName} cannot be created: {MissingDependency(e.InnerException ?? e)}".ReplaceLineEndings(" ");
                }
            }
        }
        return null;
    }

    private static string MissingDependency(Exception e) => e switch
    {
        FileNotFoundException f when f.FileName is not null => $"a dependency is missing: {f.FileName} (put it beside the plugin)",
        ReflectionTypeLoadException r when r.LoaderExceptions.FirstOrDefault(x => x is not null) is { } inner => MissingDependency(inner),
        _ => e.Message,
    };

    private static bool IsEigenvalueMap(Type type) =>
        type.IsGenericTypeDefinition && type.GetGenericArguments().Length == 1
        && type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEigenvalueMap<>));
}
