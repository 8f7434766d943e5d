namespace MemoryLab.Tests.Reliability;

/// <summary>The tiny specs the reliability cases run (each run takes well under a second).</summary>
internal static class ReliabilitySpecs
{
    /// <summary>A 20-step teacher–student run checkpointed every 5 steps; line numbers matter to the cases.</summary>
    public const string Train = """
        kind: train
        seed: 0
        data:
          kind: teacher
          time: 10
          state_size: 2
          nu0: 0.5
        model:
          kind: lru
          hidden: 4
        optimizer:
          kind: adam
          lr: 0.01
        schedule:
          kind: cosine
          initial: 1.0e-7
        steps: 20
        batch: 4
        log_every: 2
        checkpoint_every: 5

        """;

    /// <summary>Two seeds of the least-squares demo.</summary>
    public const string Sweep = """
        kind: least-squares-demo
        seed: 0
        problem:
          rows: 16
          cols: 2
          noise: 0.1
        optimizer:
          lr: 0.1
          steps: 5
        grid:
          seed: [0, 1, 2]
        select:
          metric: final_loss
          minimize: true

        """;

    /// <summary>One least-squares run.</summary>
    public const string Demo = """
        kind: least-squares-demo
        seed: 0
        problem:
          rows: 16
          cols: 2
          noise: 0.1
        optimizer:
          lr: 0.1
          steps: 5

        """;
}
