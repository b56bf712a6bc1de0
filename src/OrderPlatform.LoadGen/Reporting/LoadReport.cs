using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace OrderPlatform.LoadGen.Reporting;

/// <summary>Everything one invocation measured, as written with --json.</summary>
internal sealed record LoadReport(
    DateTimeOffset StartedAt,
    IReadOnlyList<string> Targets,
    LoadSettings Settings,
    IReadOnlyList<RunResult> Runs,
    RampSummary? Ramp)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}

/// <summary>The settings every run of the report shared.</summary>
internal sealed record LoadSettings(
    double WarmupSeconds,
    double DurationSeconds,
    int Skus,
    string SkuPrefix,
    int? Restock,
    IReadOnlyList<string> Tokens,
    double CompletionTimeoutSeconds,
    int MaxInFlight,
    double PollIntervalMs,
    string WaitIn,
    double StepDurationSeconds,
    double? CommitCeilingTps);

/// <summary>What a ramp found: the highest rate whose step had no error and a p99 under the limit, before the first that failed.</summary>
internal sealed record RampSummary(double From, double To, double Step, double MaxP99Ms, double? HighestSustainedRate, double? FirstFailedRate);
