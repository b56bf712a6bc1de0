using System.Diagnostics;

namespace OrderPlatform.Testing;

/// <summary>
/// Waits on something that changes by itself (a silo's status, rows a background loop writes, a client's log): samples
/// it until it holds, within a deadline, and when the deadline passes says what it waited for and what it saw last.
/// Also bounds the wait for a task, naming what it waited for.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Samples <paramref name="sample"/> every <paramref name="interval"/> (100 ms) until <paramref name="holds"/> is true
    /// of it and returns that sample; after <paramref name="timeout"/> (30 s) throws a <see cref="TimeoutException"/>
    /// naming <paramref name="what"/> and the last sample (as <paramref name="describe"/> writes it, or its ToString).
    /// </summary>
    public static async Task<T> HoldsAsync<T>(
        Func<Task<T>> sample, Func<T, bool> holds, string what, TimeSpan? timeout = null, TimeSpan? interval = null, Func<T, string>? describe = null)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(holds);
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var last = await sample();
            if (holds(last))
            {
                return last;
            }

            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"Waited {limit.TotalSeconds:0.#} s for {what}; last saw {(describe is null ? last?.ToString() : describe(last))}.");
            }

            await Task.Delay(interval ?? DefaultInterval);
        }
    }

    /// <summary>As <see cref="HoldsAsync{T}"/>, for a condition that is only true or false.</summary>
    public static Task HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, TimeSpan? interval = null) =>
        HoldsAsync(condition, held => held, what, timeout, interval);

    /// <summary>As <see cref="HoldsAsync{T}"/>, for a condition on what this process holds (looked at without waiting).</summary>
    public static Task HoldsAsync(Func<bool> condition, string what, TimeSpan? timeout = null, TimeSpan? interval = null) =>
        HoldsAsync(() => Task.FromResult(condition()), held => held, what, timeout, interval);

    /// <summary>Waits for <paramref name="task"/> at most <paramref name="timeout"/>; past it, a <see cref="TimeoutException"/> names <paramref name="what"/>.</summary>
    public static async Task CompletesAsync(Task task, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(task);
        try
        {
            await task.WaitAsync(timeout);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            throw new TimeoutException($"Waited {timeout.TotalSeconds:0.#} s for {what}.");
        }
    }

    /// <summary>As <see cref="CompletesAsync(Task, TimeSpan, string)"/>, returning the task's result.</summary>
    public static async Task<T> CompletesAsync<T>(Task<T> task, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(task);
        try
        {
            return await task.WaitAsync(timeout);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            throw new TimeoutException($"Waited {timeout.TotalSeconds:0.#} s for {what}.");
        }
    }
}
