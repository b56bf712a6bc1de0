namespace OrderPlatform.InvariantChecker.Reporting;

/// <summary>The report for a terminal: one line per invariant with its counts, then the examples of what failed.</summary>
public static class ReportText
{
    public static void Write(InvariantReport report, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);

        output.WriteLine($"OrderPlatform invariants (ARCHITECTURE.md), database snapshot of {report.CheckedAt:yyyy-MM-dd HH:mm:ss.fff}Z");
        foreach (var invariant in report.Invariants)
        {
            var status = invariant.Status switch
            {
                InvariantStatus.Pass => "PASS",
                InvariantStatus.Fail => "FAIL",
                _ => "SKIP",
            };
            var counts = string.Join(", ", invariant.Counts.Select(c => $"{c.Name} {c.Value}"));
            var rules = string.Join(", ", invariant.Rules.Select(r => $"{r.Rule} {r.Violations}"));
            var details = string.Join(" | ", new[] { counts, rules }.Where(s => s.Length > 0));
            output.WriteLine($"{invariant.Number} {invariant.Name,-24} {status}  {details}".TrimEnd());

            foreach (var rule in invariant.Rules.Where(r => r.Violations > 0))
            {
                var more = rule.Violations > rule.Examples.Count ? $" (first {rule.Examples.Count} shown)" : "";
                output.WriteLine($"    {rule.Rule}: {rule.Violations}{more}");
                foreach (var example in rule.Examples)
                {
                    output.WriteLine($"      {example}");
                }
            }

            foreach (var note in invariant.Notes)
            {
                output.WriteLine($"    note: {note}");
            }
        }

        var failed = report.Invariants.Count(i => i.Status == InvariantStatus.Fail);
        var skipped = report.Invariants.Count(i => i.Status == InvariantStatus.Skipped);
        var passed = report.Invariants.Count - failed - skipped;
        output.WriteLine($"{(report.Passed ? "PASS" : "FAIL")}: {passed} passed, {failed} failed, {skipped} skipped");
    }
}
