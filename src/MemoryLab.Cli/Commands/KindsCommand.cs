using System.CommandLine;
using MemoryLab.Experiments;
using MemoryLab.Models;

namespace MemoryLab.Cli.Commands;

/// <summary><c>memlab kinds [KIND|FAMILY] [--markdown]</c>: every experiment, data, optimiser, schedule and model kind with each
/// key's type, default, range and meaning, read from the binders that validate specs (<see cref="SpecReference"/>);
/// <c>--markdown</c> writes <c>docs/spec-reference.md</c>.</summary>
internal static class KindsCommand
{
    /// <summary>The <c>kinds</c> command over <paramref name="registry"/>'s experiment kinds and the model and data kinds of
    /// <paramref name="models"/> and <paramref name="data"/> (plugins' included).</summary>
    public static Command Create(ExperimentRegistry registry, ModelFactory models, SpecKinds<DataSpec> data)
    {
        var name = new Argument<string?>("kind")
        {
            Description = "A kind (train, teacher, adam, lru, …) or a family (experiment, data, optimizer, schedule, model); default: all",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var markdown = new Option<bool>("--markdown") { Description = "Write the whole reference as Markdown (docs/spec-reference.md is this output)" };
        var command = new Command("kinds", "List the kinds a spec can name and each key's type, default, range and meaning") { name, markdown };
        command.SetAction(parse => CommandSupport.Guard(_ =>
        {
            var all = SpecReference.All(registry, models, data);
            if (parse.GetValue(markdown))
            {
                Console.Out.Write(SpecReference.Markdown(all));
                return CommandSupport.ExitOk;
            }
            string? wanted = parse.GetValue(name);
            var found = SpecReference.Find(all, wanted);
            if (found.Count == 0)
                throw new SpecException(SourcePosition.CommandLine, null,
                    $"no kind or family '{wanted}' (families: {string.Join(", ", SpecReference.Families.Select(f => f.Family))}; kinds: {string.Join(", ", all.Select(k => k.Name).Distinct())})");
            Console.Out.Write(SpecReference.Text(found));
            return CommandSupport.ExitOk;
        }));
        return command;
    }
}
