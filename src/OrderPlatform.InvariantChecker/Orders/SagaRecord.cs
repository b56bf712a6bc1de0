namespace OrderPlatform.InvariantChecker.Orders;

/// <summary>One saga as seen from its <c>saga-{id}</c> stream and from its row in the <c>sagas</c> index.</summary>
internal sealed class SagaRecord(Guid orderId)
{
    public Guid OrderId => orderId;

    // From the stream.
    public bool Started { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? Deadline { get; set; }

    public string? FinishedOutcome { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    // From the index.
    public bool Indexed { get; set; }

    public bool IndexFinished { get; set; }

    public string? IndexOutcome { get; set; }

    public DateTimeOffset? IndexStartedAt { get; set; }

    public bool Finished => FinishedOutcome is not null || IndexFinished;

    public string? Outcome => FinishedOutcome ?? IndexOutcome;

    public DateTimeOffset? StartTime => StartedAt ?? IndexStartedAt;
}
