using OrderPlatform.InvariantChecker.Reporting;
using OrderPlatform.InvariantChecker.Tests.Infrastructure;

namespace OrderPlatform.InvariantChecker.Tests;

[Collection(SharedPlatform.Name)]
public sealed class HealthyPlatformTests(HealthyPlatform platform)
{
    [Fact]
    public async Task A_healthy_platform_passes_every_invariant_with_the_counts_of_its_data()
    {
        var run = await Checks.RunAsync(await platform.CopyAsync());

        Checks.AssertPasses(run);
        var orders = run["orders-terminal"];
        Assert.Equal<(string, long)>(
            [("sagas", 4L), ("completed", 1L), ("rejected", 1L), ("cancelled", 2L), ("in flight (skipped)", 0L), ("orders", 4L)],
            orders.Counts.Select(c => (c.Name, c.Value)));

        // SKU-A: 10 on hand, 2 sold, 3 reserved then released. SKU-B: 5 on hand, 1 sold, 2 reserved then released.
        var stock = run["stock-conserved"];
        Assert.Equal<(string, long)>(
            [("skus", 2L), ("stock events", 11L), ("on hand", 15L), ("available", 12L), ("reserved", 0L), ("sold", 3L), ("confirmed orders", 1L), ("completed orders", 1L)],
            stock.Counts.Select(c => (c.Name, c.Value)));

        var money = run["money"];
        Assert.Equal<(string, long)>(
            [("payments", 3L), ("authorized", 2L), ("declined", 1L), ("captured", 1L), ("voided", 1L), ("refunded", 0L), ("provider operations", 5L)],
            money.Counts.Select(c => (c.Name, c.Value)));

        // 25 order, stock and payment events; the two restocks' outbox rows were deleted after publication.
        var published = run["events-published"];
        Assert.Equal(25, published.Count("events"));
        Assert.Equal(23, published.Count("published, row marked"));
        Assert.Equal(2, published.Count("published, row deleted"));
        Assert.Equal(0, published.Count("unpublished"));
        Assert.Equal(25, published.Count("inbox"));
        Assert.Equal(0, published.Rule("missing from inbox").Violations);

        // A cancellation's stored 202 also names the order; it is not a second key for it.
        var idempotency = run["idempotency"];
        Assert.Equal(5, idempotency.Count("keys"));
        Assert.Equal(4, idempotency.Count("accepted orders"));
        Assert.Equal(1, idempotency.Count("accepted cancellations"));
        // The only note says what the data cannot show; nothing about the orders themselves.
        Assert.StartsWith("same key with another body", Assert.Single(idempotency.Notes), StringComparison.Ordinal);

        var streams = run["streams-contiguous"];
        Assert.Equal(13, streams.Count("streams"));
        Assert.Equal(39, streams.Count("events"));

        Assert.Equal(InvariantStatus.Skipped, run[InvariantChecker.BadInputName].Status);
        Assert.Equal<int>([1, 2, 3, 4, 5, 6, 7], run.Report.Invariants.Select(i => i.Number));
    }

    [Fact]
    public async Task The_executable_prints_one_line_per_invariant_and_exits_with_0()
    {
        var (exitCode, output, errors) = await CheckerProcess.RunAsync(["--postgres", await platform.CopyAsync()]);

        Assert.True(exitCode == 0, errors + output);
        var lines = output.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("1 orders-terminal", StringComparison.Ordinal) && l.Contains(" PASS  sagas 4, completed 1, rejected 1, cancelled 2", StringComparison.Ordinal)
            && l.Contains("saga not finished 0", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("2 stock-conserved", StringComparison.Ordinal) && l.Contains(" PASS ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("7 bad-input-writes-nothing", StringComparison.Ordinal) && l.EndsWith(" SKIP", StringComparison.Ordinal));
        Assert.Contains("PASS: 6 passed, 0 failed, 1 skipped", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_executable_exits_with_1_and_shows_examples_when_an_invariant_is_broken()
    {
        var connectionString = await platform.CopyAsync();
        await using (var writer = PlatformWriter.Open(connectionString))
        {
            await writer.ExecuteAsync("update sagas set finished = false where order_id = $1", HealthyPlatform.Completed);
        }

        var (exitCode, output, _) = await CheckerProcess.RunAsync(["--postgres", connectionString]);

        Assert.True(exitCode == 1, output);
        Assert.Contains(output.Split('\n'), l => l.StartsWith("1 orders-terminal ", StringComparison.Ordinal) && l.Contains(" FAIL ", StringComparison.Ordinal));
        Assert.Contains($"{HealthyPlatform.Completed}: stream says Completed, sagas row says unfinished", output, StringComparison.Ordinal);
        Assert.Contains("FAIL: 5 passed, 1 failed, 1 skipped", output, StringComparison.Ordinal);
    }
}
