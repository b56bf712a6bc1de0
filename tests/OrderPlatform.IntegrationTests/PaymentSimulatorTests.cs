using Npgsql;
using OrderPlatform.Domain;
using OrderPlatform.Grains.Payments;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>The payment simulator's ledger against a real PostgreSQL: one answer per idempotency key, however the calls arrive.</summary>
public sealed class PaymentSimulatorTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly Money Amount = new(12.50m, "EUR");

    [Fact]
    public async Task Concurrent_calls_share_transactions_and_every_repeat_of_a_key_gets_the_first_answer()
    {
        var gateway = new SimulatedPaymentGateway(db.DataSource, TimeProvider.System);
        var approved = Enumerable.Range(0, 60).Select(_ => $"auth-{Guid.NewGuid()}").ToArray();
        var declined = Enumerable.Range(0, 20).Select(_ => $"auth-{Guid.NewGuid()}").ToArray();
        var repeated = $"auth-{Guid.NewGuid()}";

        // Approvals, declines (whose reason is recorded) and ten calls under one key, all at once.
        var pending = approved.Select(k => gateway.AuthorizeAsync(k, Guid.NewGuid(), Amount, "tok_approve", CancellationToken.None))
            .Concat(declined.Select(k => gateway.AuthorizeAsync(k, Guid.NewGuid(), Amount, "tok_decline", CancellationToken.None)))
            .Concat(Enumerable.Range(0, 10).Select(_ => gateway.AuthorizeAsync(repeated, Guid.NewGuid(), Amount, "tok_approve", CancellationToken.None)))
            .ToArray();
        var answers = await Task.WhenAll(pending);
        var calls = answers[..(approved.Length + declined.Length)];
        var repeats = answers[calls.Length..];

        Assert.All(calls[..approved.Length], c => Assert.Equal(GatewayOutcome.Approved, c.Outcome));
        Assert.All(calls[approved.Length..], c => Assert.Equal(new GatewayResult(GatewayOutcome.Declined, c.ProviderReference, "Card declined (simulated)."), c));
        Assert.Equal(calls.Length, calls.Select(c => c.ProviderReference).Distinct().Count());
        Assert.Single(repeats.Distinct());

        // Every call's answer was recorded through the grouping and timed there, in fewer statements than answers.
        var timed = await WriteTimingsTests.CountedAsync(gateway.AnswerTimings, t => t.Requests >= pending.Length);

        Assert.Equal(pending.Length, timed.Requests);
        Assert.Equal(pending.Length, timed.Writes.Sum());
        Assert.InRange(timed.Groups, 1, pending.Length - 1);

        // What the calls answered is what the ledger keeps, one row a key, and a later lookup finds it.
        foreach (var (key, call) in approved.Concat(declined).Zip(calls))
        {
            Assert.Equal(call, await gateway.LookupAsync(key, CancellationToken.None));
        }

        Assert.Equal(repeats[0], await gateway.LookupAsync(repeated, CancellationToken.None));
        await using var command = db.DataSource.CreateCommand(
            "select count(*), count(distinct xmin::text) from psp_simulator.operations where idempotency_key = any($1)");
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. approved, .. declined, repeated] });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(approved.Length + declined.Length + 1, reader.GetInt64(0));
        Assert.True(reader.GetInt64(1) < (approved.Length + declined.Length) / 2, $"{reader.GetInt64(1)} transactions for {approved.Length + declined.Length + 1} recorded answers");
    }

    [Fact]
    public async Task A_capture_is_recorded_once_and_a_repeat_or_a_second_key_cannot_capture_again()
    {
        var gateway = new SimulatedPaymentGateway(db.DataSource, TimeProvider.System);
        var authorization = await gateway.AuthorizeAsync($"auth-{Guid.NewGuid()}", Guid.NewGuid(), Amount, "tok_approve", CancellationToken.None);
        var captureKey = $"capture-{Guid.NewGuid()}";

        var captures = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => gateway.CaptureAsync(captureKey, authorization.ProviderReference, Amount, CancellationToken.None)));

        Assert.All(captures, c => Assert.Equal(new GatewayResult(GatewayOutcome.Approved, authorization.ProviderReference, null), c));
        var second = await gateway.CaptureAsync($"capture-{Guid.NewGuid()}", authorization.ProviderReference, Amount, CancellationToken.None);
        Assert.Equal(new GatewayResult(GatewayOutcome.Declined, authorization.ProviderReference, "Already captured."), second);
        var refund = await gateway.RefundAsync($"refund-{Guid.NewGuid()}", authorization.ProviderReference, Amount, CancellationToken.None);
        Assert.Equal(GatewayOutcome.Approved, refund.Outcome);
    }
}
