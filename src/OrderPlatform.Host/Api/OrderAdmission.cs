using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using OrderPlatform.Grains.Checkout;

namespace OrderPlatform.Host.Api;

public sealed class AdmissionOptions
{
    public const string Section = "Admission";

    /// <summary>
    /// The most sagas running on this silo (<see cref="RunningSagas"/>) and orders being started through its API together
    /// at which it still takes a new order; beyond, <c>POST /orders</c> answers 503 with Retry-After and writes nothing.
    /// 0 takes every order.
    /// </summary>
    [Range(0, 1_000_000)]
    public int MaxRunningSagas { get; set; } = 1000;

    /// <summary>The Retry-After of a refused order, in seconds.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 1;
}

/// <summary>
/// Admission of new orders: a silo that has more sagas under way than it finishes in good time refuses new ones at once,
/// cheaply, instead of taking them all and finishing every one of them late (or past its deadline, cancelled). The sagas
/// it runs keep their pace, the refused clients come back after Retry-After with the same key, and once the silo catches
/// up it takes orders again. Counted per silo: the sagas running on it (each silo's API admits against its own count).
/// </summary>
public sealed class OrderAdmission(RunningSagas running, IOptions<AdmissionOptions> options)
{
    private long _starting;
    private long _refused;

    public int Limit { get; } = options.Value.MaxRunningSagas;

    public int RetryAfterSeconds { get; } = options.Value.RetryAfterSeconds;

    /// <summary>Sagas running on this silo now.</summary>
    public long Running => running.Count;

    /// <summary>Orders refused since the silo started.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>
    /// True when the order may start, counting it until <see cref="Leave"/> (its saga counts itself once it runs); false
    /// when the silo is full, counted as refused.
    /// </summary>
    public bool TryEnter()
    {
        var starting = Interlocked.Increment(ref _starting);
        if (Limit == 0 || running.Count + starting <= Limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _starting);
        Interlocked.Increment(ref _refused);
        return false;
    }

    public void Leave() => Interlocked.Decrement(ref _starting);
}
