using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using OrderPlatform.EventStore.Events;

namespace OrderPlatform.IntegrationTests;

/// <summary>The grouping under appends, stream reads and stored responses, on its own (no database).</summary>
public sealed class StatementGroupsTests
{
    private sealed class Request(string name) : IGroupedRequest
    {
        public string Name => name;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail(Exception exception) => Done.TrySetException(exception);
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
        await AddWrittenAsync(groups, "later");
        Assert.Equal(["second", "third", "later"], written);
    }

    [Fact]
    public async Task A_second_group_starts_beside_a_running_one_only_once_enough_requests_wait()
    {
        var holdFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondStarted = new TaskCompletionSource<string[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var groups = new StatementGroups<Request>(async group =>
        {
            switch (Interlocked.Increment(ref calls))
            {
                case 1:
                    firstStarted.SetResult();
                    await holdFirst.Task;
                    break;
                case 2:
                    secondStarted.SetResult([.. group.Select(r => r.Name)]);
                    break;
            }

            foreach (var request in group)
            {
                request.Done.SetResult();
            }
        }, maxRunning: 2, maxPerGroup: 10, waitingForAnother: 3);

        var first = new Request("first");
        groups.Add(first);
        await firstStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Two waiting behind the running group: they wait for it.
        var waiting = new[] { new Request("a"), new Request("b") };
        foreach (var request in waiting)
        {
            groups.Add(request);
        }

        await Task.Delay(200);
        Assert.Equal(1, Volatile.Read(ref calls));

        // The third makes the queue long enough: a second group takes all three while the first is still running.
        var third = new Request("c");
        groups.Add(third);
        Assert.Equal(["a", "b", "c"], await secondStarted.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(first.Done.Task.IsCompleted);
        holdFirst.SetResult();
        await Task.WhenAll(new[] { first, third }.Concat(waiting).Select(r => r.Done.Task)).WaitAsync(TimeSpan.FromSeconds(10));

        // Idle again, a single request gets a group at once.
        await AddWrittenAsync(groups, "later");
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task While_requests_come_close_together_a_small_group_waits_for_company_and_leaves_with_it()
    {
        var clock = new FakeTimeProvider();
        var written = new ConcurrentQueue<string[]>();
        var groups = new StatementGroups<Request>(group =>
        {
            written.Enqueue([.. group.Select(r => r.Name)]);
            foreach (var request in group)
            {
                request.Done.SetResult();
            }

            return Task.CompletedTask;
        }, maxRunning: 1, maxPerGroup: 10, linger: new GroupLinger(TimeSpan.FromMilliseconds(10), WhileFewerThan: 8, clock));

        // The first request knows of no others: it leaves at once.
        await AddWrittenAsync(groups, "first");

        // One millisecond later another: requests now come closer together than the wait, so its group waits.
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var second = new Request("second");
        groups.Add(second);
        await Task.Delay(200);
        Assert.False(second.Done.Task.IsCompleted);

        // Those arriving meanwhile leave with it once the wait is over.
        var company = new[] { new Request("third"), new Request("fourth") };
        foreach (var request in company)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            groups.Add(request);
        }

        await AdvanceUntilAsync(clock, Task.WhenAll(company.Append(second).Select(r => r.Done.Task)));
        Assert.Equal("first | second third fourth", Groups(written));
    }

    [Fact]
    public async Task A_group_leaves_without_waiting_when_requests_come_further_apart_than_the_wait_or_enough_wait_already()
    {
        var clock = new FakeTimeProvider();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var written = new ConcurrentQueue<string[]>();
        async Task WriteAsync(IReadOnlyList<Request> group)
        {
            if (group[0].Name == "held")
            {
                holding.SetResult();
                await hold.Task;
            }

            written.Enqueue([.. group.Select(r => r.Name)]);
            foreach (var request in group)
            {
                request.Done.SetResult();
            }
        }

        var linger = new GroupLinger(TimeSpan.FromMilliseconds(10), WhileFewerThan: 2, clock);
        var groups = new StatementGroups<Request>(WriteAsync, maxRunning: 1, maxPerGroup: 10, linger: linger);

        // A second apart: no company is to be expected, and the clock never moves while the test waits for the write.
        foreach (var name in new[] { "a", "b", "c" })
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await AddWrittenAsync(groups, name);
        }

        // Close together now: "held" waits for company (the clock is moved until it is written), and while its write is
        // held two more arrive. When the writer comes back two wait, enough to leave at once: the clock no longer moves.
        var close = new StatementGroups<Request>(WriteAsync, maxRunning: 1, maxPerGroup: 10, linger: linger);
        await AddWrittenAsync(close, "close");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var held = new Request("held");
        close.Add(held);
        await Task.Delay(200);
        Assert.False(holding.Task.IsCompleted);
        await AdvanceUntilAsync(clock, holding.Task);

        Request[] behind = [new("d"), new("e")];
        foreach (var request in behind)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            close.Add(request);
        }

        hold.SetResult();
        await Task.WhenAll(behind.Append(held).Select(r => r.Done.Task)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("a | b | c | close | held | d e", Groups(written));
    }

    /// <summary>Adds a request named <paramref name="name"/> and waits until its group is written, for at most 10 s.</summary>
    private static async Task AddWrittenAsync(StatementGroups<Request> groups, string name)
    {
        var request = new Request(name);
        groups.Add(request);
        await request.Done.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Moves the fake clock on in steps of 10 ms until <paramref name="task"/> completes, for at most 10 s of real time.</summary>
    private static async Task AdvanceUntilAsync(FakeTimeProvider clock, Task task)
    {
        for (var step = 0; step < 200 && !task.IsCompleted; step++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(10));
            await Task.WhenAny(task, Task.Delay(50));
        }

        await task.WaitAsync(TimeSpan.Zero);
    }

    /// <summary>The groups written, in order: names within a group by spaces, groups by bars.</summary>
    private static string Groups(IEnumerable<string[]> written) => string.Join(" | ", written.Select(g => string.Join(' ', g)));

    [Fact]
    public async Task A_keyed_group_writes_each_key_once_in_sorted_order_and_settles_repeats_after_the_write()
    {
        var written = new List<string[]>();
        Request[] requests = [new("b"), new("a"), new("b"), new("c"), new("a")];

        await KeyedGroups.WriteAsync(
            requests,
            r => r.Name,
            repeat =>
            {
                // A repeat looks for the row its key's first request wrote: it must not look before that was written.
                Assert.Single(written);
                repeat.Done.SetResult();
            },
            batch =>
            {
                written.Add([.. batch.Select(r => r.Name)]);
                foreach (var request in batch)
                {
                    request.Done.SetResult();
                }

                return Task.CompletedTask;
            });

        Assert.Equal("a b c", string.Join(" | ", written.Select(b => string.Join(' ', b))));
        Assert.All(requests, r => Assert.True(r.Done.Task.IsCompletedSuccessfully, r.Name));
    }

    [Fact]
    public async Task A_keyed_group_the_database_refuses_is_written_again_request_by_request_and_only_the_bad_one_fails()
    {
        var written = new List<string[]>();
        Request[] requests = [new("good-1"), new("bad"), new("good-2")];

        await KeyedGroups.WriteAsync(
            requests,
            r => r.Name,
            repeat => repeat.Done.SetResult(),
            batch =>
            {
                written.Add([.. batch.Select(r => r.Name)]);
                if (batch.Any(r => r.Name == "bad"))
                {
                    throw new Npgsql.PostgresException("new row violates check constraint", "ERROR", "ERROR", "23514");
                }

                foreach (var request in batch)
                {
                    request.Done.SetResult();
                }

                return Task.CompletedTask;
            });

        Assert.Equal("bad good-1 good-2 | bad | good-1 | good-2", string.Join(" | ", written.Select(b => string.Join(' ', b))));
        Assert.True(requests[0].Done.Task.IsCompletedSuccessfully);
        Assert.True(requests[2].Done.Task.IsCompletedSuccessfully);
        var error = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => requests[1].Done.Task);
        Assert.Equal("23514", error.SqlState);
    }
}
