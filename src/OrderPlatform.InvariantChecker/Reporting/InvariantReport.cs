namespace OrderPlatform.InvariantChecker.Reporting;

public enum InvariantStatus
{
    Pass,
    Fail,

    /// <summary>Not checkable from the data (or not asked for); never counts as a violation.</summary>
    Skipped,
}

/// <summary>A number shown beside an invariant: how much was checked, or information that is not a violation.</summary>
public sealed record ReportCount(string Name, long Value);

/// <summary>One way an invariant can be broken, how often it was, and the first few cases.</summary>
public sealed record RuleResult(string Rule, long Violations, IReadOnlyList<string> Examples);

/// <summary>The verdict on one invariant of ARCHITECTURE.md; <see cref="Number"/> is its number there.</summary>
public sealed record InvariantResult(
    int Number,
    string Name,
    string Statement,
    InvariantStatus Status,
    IReadOnlyList<ReportCount> Counts,
    IReadOnlyList<RuleResult> Rules,
    IReadOnlyList<string> Notes)
{
    public long Violations => Rules.Sum(r => r.Violations);

    public RuleResult Rule(string rule) =>
        Rules.SingleOrDefault(r => r.Rule == rule)
        ?? throw new KeyNotFoundException($"Invariant {Name} has no rule '{rule}'; it has: {string.Join(", ", Rules.Select(r => r.Rule))}.");

    public long Count(string name) =>
        Counts.SingleOrDefault(c => c.Name == name)?.Value
        ?? throw new KeyNotFoundException($"Invariant {Name} has no count '{name}'; it has: {string.Join(", ", Counts.Select(c => c.Name))}.");
}

/// <summary>Every invariant's verdict, as of one consistent snapshot of the database.</summary>
public sealed record InvariantReport(DateTimeOffset CheckedAt, IReadOnlyList<InvariantResult> Invariants)
{
    public bool Passed => Invariants.All(i => i.Status != InvariantStatus.Fail);

    public InvariantResult this[string name] =>
        Invariants.SingleOrDefault(i => i.Name == name)
        ?? throw new KeyNotFoundException($"No invariant '{name}'; the report has: {string.Join(", ", Invariants.Select(i => i.Name))}.");
}
