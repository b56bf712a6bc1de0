namespace OrderPlatform.Relay;

/// <summary>
/// Where the relay's read of unpublished rows starts: every row of the held shares below <see cref="Value"/> is published.
/// Published rows leave dead entries at the front of the partial index <c>outbox_unpublished</c> until vacuum removes
/// them, and a read from id 0 walks them all (thousands under load); a read from the floor skips them.
/// <para>
/// Outbox ids are handed out in insert order but committed in any order, so an id below those already published may
/// still belong to a transaction in flight. The floor passes an id only once every transaction that could have written
/// it has ended:
/// an outbox id is taken after its transaction got its own id (the events insert comes first), so every row up to the
/// highest id a read sees belongs to a transaction that got its id before that read. The relay's next mark transaction
/// (its update or delete of the rows it published) gets its id after the read, so all of those have lower ids than the
/// mark's. Once a later read's snapshot has an xmin at or above the mark's id, they have all ended and that read saw
/// each of their rows; the floor may then pass every row that read returned and the relay published, up to that
/// highest id.
/// </para>
/// </summary>
public sealed class ScanFloor
{
    private (long MaxId, long MarkXid)? _pending;

    public long Value { get; private set; }

    /// <summary>Back to a full read: when the held shares change, and now and then so rows marked unpublished by hand are found.</summary>
    public void Reset()
    {
        Value = 0;
        _pending = null;
    }

    /// <summary>After a read from <see cref="Value"/> whose first <paramref name="acknowledged"/> rows were published.</summary>
    /// <param name="read">The read.</param>
    /// <param name="acknowledged">How many of its rows, a prefix, the broker acknowledged and the relay marked.</param>
    /// <param name="limit">The most rows the read could return: a full read may have left rows out after its last.</param>
    /// <param name="markXid">The id of the transaction that marked them, null when none was marked.</param>
    public void Advance(OutboxRead read, int acknowledged, int limit, long? markXid)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(acknowledged);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(acknowledged, read.Rows.Count);
        if (_pending is { } pending && read.SnapshotXmin >= pending.MarkXid)
        {
            var upTo = pending.MaxId + 1;
            if (read.Rows.Count >= limit)
            {
                upTo = Math.Min(upTo, read.Rows[^1].Id + 1);
            }

            if (acknowledged < read.Rows.Count)
            {
                upTo = Math.Min(upTo, read.Rows[acknowledged].Id);
            }

            Value = Math.Max(Value, upTo);
            if (upTo > pending.MaxId)
            {
                _pending = null;
            }
        }

        if (_pending is null && markXid is { } xid)
        {
            _pending = (read.MaxVisibleId, xid);
        }
    }
}
