namespace OrderPlatform.InvariantChecker.Reporting;

/// <summary>
/// Collects what one invariant's check found. Rules are declared before the data is looked at, so the report
/// shows every rule with its count, zero included: a reader sees what was checked, not only what failed.
/// </summary>
internal sealed class InvariantResultBuilder(int number, string name, string statement, int maxExamples)
{
    private readonly List<ReportCount> _counts = [];
    private readonly List<Rule> _rules = [];
    private readonly List<string> _notes = [];

    public void Count(string countName, long value) => _counts.Add(new ReportCount(countName, value));

    public Rule Rule(string rule)
    {
        var created = new Rule(rule, maxExamples);
        _rules.Add(created);
        return created;
    }

    public void Note(string note) => _notes.Add(note);

    public InvariantResult Build() => new(
        number,
        name,
        statement,
        _rules.Any(r => r.Violations > 0) ? InvariantStatus.Fail : InvariantStatus.Pass,
        [.. _counts],
        [.. _rules.Select(r => r.ToResult())],
        [.. _notes]);

    public InvariantResult Skip(string reason) => new(number, name, statement, InvariantStatus.Skipped, [.. _counts], [], [.. _notes, reason]);
}

/// <summary>One rule of an invariant: counts every case that breaks it and keeps the first few as examples.</summary>
internal sealed class Rule(string name, int maxExamples)
{
    private readonly List<string> _examples = [];

    public long Violations { get; private set; }

    public void Add(string example)
    {
        Violations++;
        if (_examples.Count < maxExamples)
        {
            _examples.Add(example);
        }
    }

    /// <summary>For counts taken in SQL: the total and the examples the query returned.</summary>
    public void Add(long violations, IEnumerable<string> examples)
    {
        Violations += violations;
        foreach (var example in examples)
        {
            if (_examples.Count >= maxExamples)
            {
                break;
            }

            _examples.Add(example);
        }
    }

    public RuleResult ToResult() => new(name, Violations, [.. _examples]);
}
