using System.Globalization;
using MemoryLab.Models;

namespace MemoryLab.Experiments;

/// <summary>
/// Reads a model from a spec: <c>kind</c> names a registered layer kind (<see cref="ModelFactory.Kinds"/>),
/// other scalar keys are its options, <c>layer:</c> (a mapping) is its one child and <c>layers:</c> (a list) its
/// children, each read the same way. Example:
/// <code>
/// model: {kind: deep_stack, d_model: 256, blocks: 4, out: 1, layer: {kind: lru, hidden: 64}}
/// </code>
/// </summary>
public static class ModelSpec
{
    /// <summary>The model description written at <paramref name="node"/>.</summary>
    public static ModelDescription Bind(SpecNode node)
    {
        string kind = node.GetString("kind");
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var children = new List<ModelDescription>();
        foreach (var key in node.Keys.ToArray())
        {
            if (key == "kind") continue;
            if (key == "layer") children.Add(Bind(node.Child("layer")));
            else if (key == "layers") children.AddRange(node.GetItems("layers").Select(Bind));
            else options[key] = node.GetString(key);
        }
        return new ModelDescription(kind, options, children);
    }

    /// <summary>Builds the model once in float64 to check it, turning a description error into a spec error at
    /// <paramref name="node"/>; returns the model's output size.</summary>
    public static int Validate(ModelFactory factory, ModelDescription description, int inputSize, SpecNode node) =>
        Measure(factory, description, inputSize, node).Outputs;

    /// <summary>As <see cref="Validate"/>, and counts the model's parameters and its widest dimension (largest extent of any
    /// parameter tensor, input or output) without allocating θ: a model of more than 2³¹ − 1 parameters is a spec error at
    /// <paramref name="node"/>.</summary>
    public static (int Outputs, long Parameters, long Width) Measure(ModelFactory factory, ModelDescription description, int inputSize, SpecNode node)
    {
        try
        {
            var layer = factory.Build<double>(description, inputSize);
            var layout = new MemoryLab.Numerics.ParameterLayout();
            try { layer.Declare(layout, ""); }
            catch (InvalidOperationException e) { throw node.Error($"the model cannot fit: {e.Message} (at most {int.MaxValue} parameters)"); }
            catch (OverflowException) { throw node.Error($"the model cannot fit: its parameter count overflows (at most {int.MaxValue} parameters)"); }
            long width = Math.Max(inputSize, layer.OutputSize);
            foreach (var v in layout.Views) foreach (int d in v.Shape) width = Math.Max(width, d);
            return (layer.OutputSize, layout.Count, width);
        }
        catch (ModelDescriptionException e)
        {
            string where = e.Key is null ? node.Path : $"{node.Path}.{e.Key}";
            // At the value's own position: a key=value override is reported at <command line>, not at the spec's line.
            var at = e.Key is not null && !e.Path.Contains('/') ? node.Peek(e.Key)?.Position : null;
            throw new SpecException(at ?? node.Position, where,
                $"{e.Message.TrimEnd('.')} (at {e.Path})".ToString(CultureInfo.InvariantCulture));
        }
    }
}
