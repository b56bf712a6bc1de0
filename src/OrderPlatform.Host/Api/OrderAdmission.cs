using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using OrderPlatform.Grains.Checkout;

namespace OrderPlatform.Host.Api;

public sealed class AdmissionOptions : IValidatableObject
{
    public const string Section = "Admission";

    /// <summary>
    /// The most sagas running on this silo (<see cref="RunningSagas"/>) and orders being started through its API together
    /// at which it still takes a new order; beyond, <c>POST /orders</c> answers 503 with Retry-After and writes nothing.
    /// 0 takes every order.
    /// </summary>
    [Range(0, 1_000_000)]
    public int MaxRunningSagas { get; set; } = 1000;

    /// <summary>
    /// The Retry-After of a refused order, in seconds, while the silo refuses fewer orders a second than sagas stop running
    /// on it; the least it says (<see cref="RetryAfterPacing"/>).
    /// </summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>
    /// The most Retry-After, in seconds, that a silo refusing more orders than it makes room for works up to, doubling each
    /// second at most. Equal to <see cref="RetryAfterSeconds"/> for a fixed Retry-After.
    /// </summary>
    [Range(1, 3600)]
    public int MaxRetryAfterSeconds { get; set; } = 30;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxRetryAfterSeconds < RetryAfterSeconds)
        {
            yield return new ValidationResult(
                $"The field MaxRetryAfterSeconds ({MaxRetryAfterSeconds}) must be at least RetryAfterSeconds ({RetryAfterSeconds}).",
                [nameof(MaxRetryAfterSeconds)]);
        }
    }
}

/// <summary>
/// Admission of new orders: a silo that has more sagas under way than it finishes in good time refuses new ones at once,
/// cheaply, instead of taking them all and finishing every one of them late (or past its deadline, cancelled). The sagas
/// it runs keep their pace, the refused clients come back after Retry-After with the same key, and once the silo catches
/// up it takes orders again. Counted per silo: the sagas running on it (each silo's API admits against its own count).
/// The Retry-After grows while the refused clients come back faster than the silo makes room (<see cref="RetryAfterPacing"/>).
/// </summary>
public sealed class OrderAdmission(RunningSagas running, IOptions<AdmissionOptions> options, TimeProvider time)
{
    private readonly RetryAfterPacing _pacing = new(options.Value.RetryAfterSeconds, options.Value.MaxRetryAfterSeconds, time);
    private long _starting;
    private long _refused;

    public int Limit { get; } = options.Value.MaxRunningSagas;

    /// <summary>The Retry-After, in seconds, that the latest refusal gave.</summary>
    public int LatestRetryAfterSeconds => _pacing.Latest;

    /// <summary>Sagas running on this silo now.</summary>
    public long Running => running.Count;

    /// <summary>Orders refused since the silo started.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>
    /// True when the order may start, counting it until <see cref="Leave"/> (its saga counts itself once it runs); false
    /// when the silo is full, counted as refused, with the Retry-After to answer in <paramref name="retryAfterSeconds"/>.
    /// </summary>
    public bool TryEnter(out int retryAfterSeconds)
    {
        var starting = Interlocked.Increment(ref _starting);
        if (Limit == 0 || running.Count + starting <= Limit)
        {
            retryAfterSeconds = 0;
            return true;
        }

        Interlocked.Decrement(ref _starting);
        retryAfterSeconds = _pacing.Refused(Interlocked.Increment(ref _refused), running.Stopped);
        return false;
    }

    public void Leave() => Interlocked.Decrement(ref _starting);
}
