using System.Diagnostics;

namespace OrderPlatform.KafkaMock.Tests.Infrastructure;

/// <summary>Explicit waits: every one has a deadline and says what it waited for when it runs out.</summary>
internal static class Eventually
{
    public static async Task HoldsAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds:0.#} s for {what}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    public static async Task CompletesAsync(Task task, TimeSpan timeout, string what)
    {
        try
        {
            await task.WaitAsync(timeout);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            throw new TimeoutException($"Waited {timeout.TotalSeconds:0.#} s for {what}.");
        }
    }

    public static async Task<T> CompletesAsync<T>(Task<T> task, TimeSpan timeout, string what)
    {
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
