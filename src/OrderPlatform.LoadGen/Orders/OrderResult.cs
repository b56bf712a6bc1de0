namespace OrderPlatform.LoadGen.Orders;

/// <summary>How one order of a run ended, with its moments as offsets from the run's start.</summary>
/// <param name="Outcome">The saga's outcome (Completed, Cancelled, Rejected) when it finished; null on an error.</param>
/// <param name="Error">What went wrong (one of <see cref="ErrorKinds"/>); null when the saga finished.</param>
/// <param name="AcceptedAt">When the POST was answered with a 2xx, if it was.</param>
/// <param name="FinishedAt">When the client saw the saga finished, if it did.</param>
/// <param name="Retries">Requests sent again after a 5xx, a 409 or a lost connection.</param>
internal sealed record OrderResult(string? Outcome, string? Error, TimeSpan? AcceptedAt, TimeSpan? FinishedAt, int Retries)
{
    /// <summary>The order's id, once the POST answered with it.</summary>
    public Guid? OrderId { get; init; }

    /// <summary>Whether the POST's own answer said the order had finished (201 to <c>Prefer: wait</c>), with no read after it.</summary>
    public bool EndedWithPost { get; init; }

    public static OrderResult Finished(string outcome, TimeSpan acceptedAt, TimeSpan finishedAt, int retries) =>
        new(outcome, null, acceptedAt, finishedAt, retries);

    public static OrderResult Failed(string error, TimeSpan? acceptedAt, int retries) => new(null, error, acceptedAt, null, retries);
}

/// <summary>The kinds of error a run counts, as they appear in the report.</summary>
internal static class ErrorKinds
{
    /// <summary>Not sent: the bound on orders in flight was reached when the order was due.</summary>
    public const string Overload = "overload";

    /// <summary>The POST never got an answer (connection refused or lost, request timed out) before the deadline.</summary>
    public const string Transport = "transport";

    /// <summary>Accepted, but the saga was not seen finished within the completion timeout.</summary>
    public const string Timeout = "timeout";

    /// <summary>The POST's last answer was this non-2xx status (a 4xx at once, a 5xx after retries until the deadline).</summary>
    public static string Http(int status) => $"http-{status}";

    /// <summary>Reading the order back answered a status that will not change by asking again (404, 4xx).</summary>
    public static string Poll(int status) => $"poll-http-{status}";

    /// <summary>A 2xx answer the client could not read (not the documented JSON).</summary>
    public const string BadResponse = "bad-response";
}
