using Npgsql;
using OrderPlatform.Domain;
using OrderPlatform.Grains.Payments;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// The payment simulator's ledger against a real PostgreSQL: one answer per idempotency key, however the calls arrive.
/// Its ledger in memory (a benchmark's) answers as the one in PostgreSQL does.
/// </summary>
public sealed class PaymentSimulatorTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly Money Amount = new(12.50m, "EUR");

    [Fact]
    public async Task Concurrent_calls_share_transactions_and_every_repeat_of_a_key_gets_the_first_answer()
    {
        var ledger = new PostgresSimulatorLedger(db.DataSource, TimeProvider.System);
        var gateway = new SimulatedPaymentGateway(ledger, TimeProvider.System);
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
        var timed = await WriteTimingsTests.CountedAsync(ledger.AnswerTimings, t => t.Requests >= pending.Length);

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
    public async Task Concurrent_captures_share_their_look_up_and_each_gets_its_own_authorizations_answer()
    {
        var ledger = new PostgresSimulatorLedger(db.DataSource, TimeProvider.System);
        var gateway = new SimulatedPaymentGateway(ledger, TimeProvider.System);
        var authorizations = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ =>
            gateway.AuthorizeAsync($"auth-{Guid.NewGuid()}", Guid.NewGuid(), Amount, "tok_approve", CancellationToken.None)));
        var voided = authorizations[30..];
        foreach (var authorization in voided)
        {
            await gateway.VoidAsync($"void-{Guid.NewGuid()}", authorization.ProviderReference, CancellationToken.None);
        }

        // All at once: a capture of each authorization, four more under the first one's key, and one of no authorization.
        var firstKey = $"capture-{Guid.NewGuid()}";
        var keys = authorizations.Select((_, i) => i == 0 ? firstKey : $"capture-{Guid.NewGuid()}").ToArray();
        var pending = authorizations.Zip(keys, (a, k) => gateway.CaptureAsync(k, a.ProviderReference, Amount, CancellationToken.None))
            .Concat(Enumerable.Range(0, 4).Select(_ => gateway.CaptureAsync(firstKey, authorizations[0].ProviderReference, Amount, CancellationToken.None)))
            .Append(gateway.CaptureAsync($"capture-{Guid.NewGuid()}", "sim_unknown", Amount, CancellationToken.None))
            .ToArray();
        var answers = await Task.WhenAll(pending);

        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(new GatewayResult(GatewayOutcome.Approved, authorizations[i].ProviderReference, null), answers[i]);
        }

        for (var i = 30; i < 40; i++)
        {
            Assert.Equal(new GatewayResult(GatewayOutcome.Declined, authorizations[i].ProviderReference, "The authorization was voided."), answers[i]);
        }

        Assert.All(answers[40..44], a => Assert.Equal(answers[0], a));
        Assert.Equal(new GatewayResult(GatewayOutcome.Declined, "sim_unknown", "No such authorization."), answers[44]);

        // Each capture looked up its authorization through the grouping, in fewer statements than captures.
        var looked = await WriteTimingsTests.CountedAsync(ledger.CaptureLookTimings, t => t.Requests >= pending.Length);
        Assert.Equal(pending.Length, looked.Requests);
        Assert.InRange(looked.Groups, 1, pending.Length - 1);

        // A later capture under a key already answered gets that answer from the look-up.
        Assert.Equal(answers[0], await gateway.CaptureAsync(firstKey, authorizations[0].ProviderReference, Amount, CancellationToken.None));
        Assert.Equal(answers[30], await gateway.CaptureAsync(keys[30], voided[0].ProviderReference, Amount, CancellationToken.None));
    }

    [Theory]
    [InlineData(SimulatorLedgers.Postgres)]
    [InlineData(SimulatorLedgers.Memory)]
    public async Task A_capture_is_recorded_once_and_a_repeat_or_a_second_key_cannot_capture_again(string ledger)
    {
        var gateway = Gateway(ledger);
        var authorization = await gateway.AuthorizeAsync($"auth-{Guid.NewGuid()}", Guid.NewGuid(), Amount, "tok_approve", CancellationToken.None);
        var captureKey = $"capture-{Guid.NewGuid()}";

        var captures = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => gateway.CaptureAsync(captureKey, authorization.ProviderReference, Amount, CancellationToken.None)));

        Assert.All(captures, c => Assert.Equal(new GatewayResult(GatewayOutcome.Approved, authorization.ProviderReference, null), c));
        var second = await gateway.CaptureAsync($"capture-{Guid.NewGuid()}", authorization.ProviderReference, Amount, CancellationToken.None);
        Assert.Equal(new GatewayResult(GatewayOutcome.Declined, authorization.ProviderReference, "Already captured."), second);
        var refund = await gateway.RefundAsync($"refund-{Guid.NewGuid()}", authorization.ProviderReference, Amount, CancellationToken.None);
        Assert.Equal(GatewayOutcome.Approved, refund.Outcome);
    }

    [Theory]
    [InlineData(SimulatorLedgers.Postgres)]
    [InlineData(SimulatorLedgers.Memory)]
    public async Task Either_ledger_gives_the_same_answers_to_failures_voids_refunds_and_unknown_keys(string ledger)
    {
        var gateway = Gateway(ledger);
        Assert.Equal(ledger, gateway.LedgerKind);
        Assert.Equal(ledger == SimulatorLedgers.Postgres, gateway.AnswerTimings is not null);

        // tok_fail_2: two attempts under the key fail, the third is approved, and a repeat gets that answer.
        var key = $"auth-{Guid.NewGuid()}";
        for (var attempt = 0; attempt < 2; attempt++)
        {
            await Assert.ThrowsAsync<PaymentGatewayUnavailableException>(() => gateway.AuthorizeAsync(key, Guid.NewGuid(), Amount, "tok_fail_2", CancellationToken.None));
        }

        var approved = await gateway.AuthorizeAsync(key, Guid.NewGuid(), Amount, "tok_fail_2", CancellationToken.None);
        Assert.Equal(GatewayOutcome.Approved, approved.Outcome);
        Assert.Equal(approved, await gateway.AuthorizeAsync(key, Guid.NewGuid(), Amount, "tok_fail_2", CancellationToken.None));

        // A voided authorization cannot be captured, and a refund finds nothing captured.
        var voided = await gateway.VoidAsync($"void-{Guid.NewGuid()}", approved.ProviderReference, CancellationToken.None);
        Assert.Equal(GatewayOutcome.Approved, voided.Outcome);
        Assert.Equal(
            new GatewayResult(GatewayOutcome.Declined, approved.ProviderReference, "The authorization was voided."),
            await gateway.CaptureAsync($"capture-{Guid.NewGuid()}", approved.ProviderReference, Amount, CancellationToken.None));
        Assert.Equal(
            new GatewayResult(GatewayOutcome.Declined, approved.ProviderReference, "Nothing was captured."),
            await gateway.RefundAsync($"refund-{Guid.NewGuid()}", approved.ProviderReference, Amount, CancellationToken.None));

        // tok_capture_fail_1: the capture fails once, then goes through; a void after it is declined.
        var second = await gateway.AuthorizeAsync($"auth-{Guid.NewGuid()}", Guid.NewGuid(), Amount, "tok_capture_fail_1", CancellationToken.None);
        var captureKey = $"capture-{Guid.NewGuid()}";
        await Assert.ThrowsAsync<PaymentGatewayUnavailableException>(() => gateway.CaptureAsync(captureKey, second.ProviderReference, Amount, CancellationToken.None));
        Assert.Equal(GatewayOutcome.Approved, (await gateway.CaptureAsync(captureKey, second.ProviderReference, Amount, CancellationToken.None)).Outcome);
        Assert.Equal(
            new GatewayResult(GatewayOutcome.Declined, second.ProviderReference, "Already captured; refund instead."),
            await gateway.VoidAsync($"void-{Guid.NewGuid()}", second.ProviderReference, CancellationToken.None));

        // A declined card, a reference the provider never issued, and a key it never saw.
        var declined = await gateway.AuthorizeAsync($"auth-{Guid.NewGuid()}", Guid.NewGuid(), Amount, "tok_decline", CancellationToken.None);
        Assert.Equal(GatewayOutcome.Declined, declined.Outcome);
        Assert.Equal(
            new GatewayResult(GatewayOutcome.Declined, declined.ProviderReference, "No such authorization."),
            await gateway.CaptureAsync($"capture-{Guid.NewGuid()}", declined.ProviderReference, Amount, CancellationToken.None));
        Assert.Equal(
            new GatewayResult(GatewayOutcome.Declined, "sim_unknown", "No such authorization."),
            await gateway.CaptureAsync($"capture-{Guid.NewGuid()}", "sim_unknown", Amount, CancellationToken.None));
        Assert.Null(await gateway.LookupAsync($"never-{Guid.NewGuid()}", CancellationToken.None));
    }

    [Fact]
    public async Task The_ledger_in_memory_writes_nothing_to_the_database()
    {
        var before = await OperationRowsAsync();
        var gateway = Gateway(SimulatorLedgers.Memory);
        var authorization = await gateway.AuthorizeAsync($"auth-{Guid.NewGuid()}", Guid.NewGuid(), Amount, "tok_approve", CancellationToken.None);
        await gateway.CaptureAsync($"capture-{Guid.NewGuid()}", authorization.ProviderReference, Amount, CancellationToken.None);

        Assert.Equal(before, await OperationRowsAsync());
    }

    private SimulatedPaymentGateway Gateway(string ledger) => new(
        ledger == SimulatorLedgers.Memory ? new MemorySimulatorLedger() : new PostgresSimulatorLedger(db.DataSource, TimeProvider.System),
        TimeProvider.System);

    private async Task<long> OperationRowsAsync()
    {
        await using var command = db.DataSource.CreateCommand("select (select count(*) from psp_simulator.operations) + (select count(*) from psp_simulator.attempts)");
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
