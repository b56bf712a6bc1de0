using System.Text.Json.Serialization;
using OrderPlatform.LoadGen.Server;

namespace OrderPlatform.LoadGen.Reporting;

/// <summary>
/// One run at one rate. Everything but <see cref="SagasPerSecond"/> and <see cref="MaxInFlight"/> is about the
/// orders whose intended start lies in the measured window (after the warm-up): <see cref="Sent"/> of them were
/// due, <see cref="Finished"/> reached a terminal state (by outcome in <see cref="Outcomes"/>), the rest are
/// <see cref="Errors"/>. Latencies are measured from each order's intended start, not from when it was sent:
/// <see cref="Latency"/> to the terminal state (its count equals <see cref="Finished"/>), <see cref="PostLatency"/>
/// to the POST's 2xx answer. <see cref="SagasPerSecond"/> counts sagas seen finished during the measured window
/// (warm-up orders too) per second of the window; <see cref="MaxInFlight"/> covers the whole run. <see cref="Server"/>
/// is what the platform looked like during the window, when the command watched it, and
/// <see cref="ShareOfCommitCeiling"/> is sagas/s divided by the commit ceiling (pgbench tps) when one was given.
/// </summary>
internal sealed record RunResult(
    double OfferedRate,
    double WarmupSeconds,
    double DurationSeconds,
    long Sent,
    long Finished,
    double SagasPerSecond,
    LatencySummary Latency,
    LatencySummary PostLatency,
    long Errors,
    IReadOnlyDictionary<string, long> ErrorsByKind,
    IReadOnlyDictionary<string, long> Outcomes,
    long Retries,
    int MaxInFlight)
{
    /// <summary>"ramp" for a step of a ramp, "fixed" for a run at a rate given with --rate.</summary>
    public string Phase { get; init; } = "fixed";

    public ServerMetrics? Server { get; init; }

    public double? ShareOfCommitCeiling { get; init; }

    /// <summary>Of <see cref="Finished"/>, the orders whose end came with their POST's answer (<c>--wait-in post</c>), read by no GET.</summary>
    public long EndedWithPost { get; init; }

    /// <summary>
    /// The measured window second by second (by intended start): how many orders finished and the slowest of them. A
    /// stall shows as a few seconds whose slowest order is far above the run's p99.
    /// </summary>
    public IReadOnlyList<SecondOfRun> Timeline { get; init; } = [];

    /// <summary>The ids of the measured orders that completed, for <see cref="Stages"/>; not written to the report.</summary>
    [JsonIgnore]
    public IReadOnlyList<Guid> CompletedOrders { get; init; } = [];

    /// <summary>Where the completed orders' time went, stage by stage, when the command could read the platform's database.</summary>
    public IReadOnlyList<StageLatency>? Stages { get; init; }

    /// <summary>Whether the run meets a service level: no error, and a p99 under the limit.</summary>
    public bool Sustains(TimeSpan maxP99) => Errors == 0 && Finished == Sent && Latency.P99 is { } p99 && p99 < maxP99.TotalMilliseconds;
}

/// <summary>One second of a run's measured window, counted from its start: orders that finished and the slowest one's latency.</summary>
internal sealed record SecondOfRun(int Second, long Finished, double MaxMs);

/// <summary>One stage of the completed orders of a run: its latency percentiles over those orders, in milliseconds.</summary>
internal sealed record StageLatency(string Stage, LatencySummary Latency);
