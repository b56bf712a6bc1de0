using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace OrderPlatform.Domain.Checkout;

/// <summary>
/// A saga's steps and the progress of each, in the order they were first recorded. An order has a handful of steps
/// (seven for a one-SKU order that completes), so an array copied when a step moves on costs less than a tree of nodes
/// and lookups by hash; every step event replaces one entry.
/// </summary>
public sealed class StepDictionary : IReadOnlyDictionary<SagaStep, StepProgress>
{
    public static readonly StepDictionary Empty = new([]);

    private readonly KeyValuePair<SagaStep, StepProgress>[] _entries;

    private StepDictionary(KeyValuePair<SagaStep, StepProgress>[] entries) => _entries = entries;

    public int Count => _entries.Length;

    public IEnumerable<SagaStep> Keys => _entries.Select(e => e.Key);

    public IEnumerable<StepProgress> Values => _entries.Select(e => e.Value);

    public StepProgress this[SagaStep key] => TryGetValue(key, out var progress) ? progress : throw new KeyNotFoundException($"The saga has no step {key}.");

    /// <summary>These steps with <paramref name="step"/>'s progress set (replaced, or added after the others).</summary>
    public StepDictionary SetItem(SagaStep step, StepProgress progress)
    {
        var at = IndexOf(step);
        var entries = new KeyValuePair<SagaStep, StepProgress>[at < 0 ? _entries.Length + 1 : _entries.Length];
        Array.Copy(_entries, entries, _entries.Length);
        entries[at < 0 ? _entries.Length : at] = new(step, progress);
        return new StepDictionary(entries);
    }

    public bool ContainsKey(SagaStep key) => IndexOf(key) >= 0;

    public bool TryGetValue(SagaStep key, [MaybeNullWhen(false)] out StepProgress value)
    {
        var at = IndexOf(key);
        value = at < 0 ? null : _entries[at].Value;
        return at >= 0;
    }

    public IEnumerator<KeyValuePair<SagaStep, StepProgress>> GetEnumerator() => ((IEnumerable<KeyValuePair<SagaStep, StepProgress>>)_entries).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private int IndexOf(SagaStep step)
    {
        for (var i = 0; i < _entries.Length; i++)
        {
            if (ReferenceEquals(_entries[i].Key, step) || _entries[i].Key.Equals(step))
            {
                return i;
            }
        }

        return -1;
    }
}
