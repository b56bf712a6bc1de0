namespace OrderPlatform.Domain.Checkout;

public enum StepResultKind
{
    Succeeded,
    /// <summary>A business refusal (out of stock, declined): retrying cannot change it.</summary>
    Refused,
    /// <summary>The step could not be done now (provider unreachable, outcome unknown): retry later with the same command id.</summary>
    Transient,
}

public sealed record StepResult(StepResultKind Kind, string? Detail)
{
    public static StepResult Succeeded(string? detail = null) => new(StepResultKind.Succeeded, detail);

    public static StepResult Refused(string reason) => new(StepResultKind.Refused, reason);

    public static StepResult Transient(string reason) => new(StepResultKind.Transient, reason);
}
