using System.Collections.Concurrent;
using OrderPlatform.EventStore.Events;

namespace OrderPlatform.IntegrationTests;

/// <summary>The grouping under appends, stream reads and stored responses, on its own (no database).</summary>
public sealed class StatementGroupsTests
{
    private sealed class Request(string name) : IGroupedRequest
    {
        public string Name => name;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail(Exception error) => Done.TrySetException(error);
    }

    [Fact]
    public async Task A_writer_that_throws_fails_its_group_and_the_groups_behind_it_are_still_written()
    {
        var holdFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var written = new ConcurrentQueue<string>();
        var calls = 0;

        // One writer at a time: had the throw cost the drainer its slot, nothing behind the first group would be written.
        var groups = new StatementGroups<Request>(async group =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                firstStarted.SetResult();
                await holdFirst.Task;
                throw new InvalidOperationException("the statement could not be sent");
            }

            foreach (var request in group)
            {
                written.Enqueue(request.Name);
                request.Done.SetResult();
            }
        }, maxRunning: 1, maxPerGroup: 10);

        var first = new Request("first");
        groups.Add(first);
        await firstStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var behind = new[] { new Request("second"), new Request("third") };
        foreach (var request in behind)
        {
            groups.Add(request);
        }

        holdFirst.SetResult();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => first.Done.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("the statement could not be sent", error.Message);
        await Task.WhenAll(behind.Select(r => r.Done.Task)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["second", "third"], written);
        Assert.Equal(2, calls);

        // The drainer went idle afterwards and a later request starts a new one.
        var later = new Request("later");
        groups.Add(later);
        await later.Done.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["second", "third", "later"], written);
    }
}
