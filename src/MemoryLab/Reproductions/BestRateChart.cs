using MemoryLab.Experiments;
using MemoryLab.Reporting.Charts;

namespace MemoryLab.Reproductions;

/// <summary>
/// The chart the teacher–student sweeps share (Zucchet24 Fig. 3 left, Fig. 10 learning panel): per student, the final loss at its best
/// learning rate (mean ± SEM over seeds) against one setting of the teacher (ν₀, or the phase range θ₀), a line through the points in
/// the student's colour and the points with their error bars.
/// </summary>
internal static class BestRateChart
{
    /// <summary>The chart titled <paramref name="title"/> of <paramref name="points"/> (student name, x, final-loss statistics), one series per
    /// entry of <paramref name="students"/> (name, legend label) in their order and colour; students without points are left out.</summary>
    public static Chart Create(string title, string xLabel, AxisScale xScale, IReadOnlyList<(string Name, string Label)> students,
        IReadOnlyList<(string Student, double X, MetricStats Loss)> points)
    {
        ArgumentNullException.ThrowIfNull(students);
        ArgumentNullException.ThrowIfNull(points);
        var chart = Chart.Create(title, xLabel, "final loss", xScale, AxisScale.Log);
        for (int s = 0; s < students.Count; s++)
        {
            var ordered = points.Where(p => p.Student == students[s].Name).OrderBy(p => p.X).ToArray();
            if (ordered.Length == 0) continue;
            var x = ordered.Select(p => p.X).ToArray();
            var y = ordered.Select(p => p.Loss.Mean).ToArray();
            var e = ordered.Select(p => double.IsNaN(p.Loss.Sem) ? 0 : p.Loss.Sem).ToArray();
            string color = Palette.Series(s);
            chart.AddLine(null, x, y, color);
            chart.AddPoints(students[s].Label, x, y, e, color);
        }
        return chart;
    }
}
