using System.ComponentModel.DataAnnotations;
using OrderPlatform.Domain.Checkout;

namespace OrderPlatform.Grains.Checkout;

public sealed class SagaOptions
{
    public const string Section = "Saga";

    /// <summary>An order not past payment capture by then is cancelled and compensated.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Deadline { get; set; } = SagaPolicy.Default.Deadline;

    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan RetryBaseDelay { get; set; } = SagaPolicy.Default.RetryBaseDelay;

    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = SagaPolicy.Default.RetryMaxDelay;

    /// <summary>How often each silo looks for unfinished sagas that nobody is running (after a crash).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan RecoveryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A saga with nothing recorded for this long, and no retry planned, is presumed orphaned and resumed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan StalledAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Whether a stage of one step offers the saga's record of its success (and of the next stage's start) to the
    /// participant, to commit with the participant's events instead of in a transaction of its own.
    /// </summary>
    public bool CarryOutcomes { get; set; } = true;

    /// <summary>
    /// How long after the saga sent a step its offered record may still be carried: the record was decided, and is
    /// dated, when the step was sent. A slower step's outcome is recorded by the saga itself, when the reply comes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan CarriedOutcomeWindow { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Whether the step events of one append share a stored row, <c>saga.steps</c> (decision record 0020). A silo reads
    /// such rows either way; one built before them cannot. Roll a cluster onto this version with false, then turn it on
    /// once every silo runs it.
    /// </summary>
    public bool PackStepEvents { get; set; } = true;

    /// <summary>
    /// Whether the append that starts a saga also places its order (the order's first event, with the saga's first
    /// attempt at placing it recorded as succeeded), instead of the first stage sending the order's grain a command
    /// (decision record 0024). A silo built before it reads such a saga as one whose order was placed.
    /// </summary>
    public bool PlaceOrderWithStart { get; set; } = true;

    /// <summary>
    /// Whether the order's confirmation and completion ride on the appends before them (the payment's authorization, a
    /// one-SKU order's stock commit), when the saga knows the order's stream (its start placed the order): the saga
    /// decides the order's event as the order's grain would and offers it with its record of the step before, so a happy
    /// order commits twice less (decision records 0031, 0032). A silo built before it would carry the saga's record without the
    /// order's event: roll a cluster onto this version with false, then turn it on once every silo runs it.
    /// </summary>
    public bool CarryOrderEvents { get; set; } = true;

    public SagaPolicy ToPolicy() => new(Deadline, RetryBaseDelay, RetryMaxDelay);
}
