using System.Text.Json;
using OrderPlatform.Domain.Checkout;
using OrderPlatform.Domain.Orders;
using OrderPlatform.Grains.EventSourcing;

namespace OrderPlatform.Contracts.Tests;

/// <summary>
/// How a saga's step log is stored (decision record 0020): each run of two or more step events recorded together is
/// one 'saga.steps' row, every other event a row of its own, and reading the rows gives back the same events in order.
/// </summary>
public sealed class StoredSagaStepsTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly SagaStep Authorize = new(SagaStepKind.AuthorizePayment);
    private static readonly SagaStep Confirm = new(SagaStepKind.ConfirmOrder);
    private static readonly SagaStep Reserve = new(SagaStepKind.ReserveStock, "SKU-1");

    public static TheoryData<string, SagaEvent[], string[]> Appends => new()
    {
        {
            "a start with its first stage",
            [new SagaStarted(Guid.Parse("0193a1b2-0000-7000-8000-000000000001"), "customer-1", [new OrderLine("SKU-1", 1, 9.99m)], "EUR", "tok_approve", At, At.AddMinutes(5)),
             new SagaStepStarted(new SagaStep(SagaStepKind.PlaceOrder), 1, At), new SagaStepStarted(Reserve, 1, At)],
            ["saga.started", "saga.steps"]
        },
        { "an outcome with the next stage's start", [new SagaStepSucceeded(Authorize, 1, null, At), new SagaStepStarted(Confirm, 1, At)], ["saga.steps"] },
        { "one step event alone", [new SagaStepStarted(Confirm, 2, At)], ["saga.step-started"] },
        { "the last outcome and the finish", [new SagaStepSucceeded(Confirm, 1, "Confirmed", At), new SagaFinished(SagaOutcome.Completed, null, At)], ["saga.step-succeeded", "saga.finished"] },
        {
            "a refusal, the turn to compensation and its first step",
            [new SagaStepFailed(Authorize, 1, "declined", false, null, At), new SagaCompensationStarted(SagaOutcome.Rejected, "declined", At), new SagaStepStarted(Reserve, 1, At)],
            ["saga.step-failed", "saga.compensation-started", "saga.step-started"]
        },
        {
            "two runs around a cancellation",
            [new SagaStepFailed(Authorize, 1, "timeout", true, At.AddSeconds(1), At), new SagaStepStarted(Authorize, 2, At), new SagaCancellationRequested("Too slow.", At),
             new SagaStepSucceeded(Authorize, 2, null, At), new SagaStepStarted(Confirm, 1, At)],
            ["saga.steps", "saga.cancellation-requested", "saga.steps"]
        },
    };

    [Theory]
    [MemberData(nameof(Appends))]
    public void Runs_of_step_events_share_a_row_and_read_back_as_the_same_events_in_order(string append, SagaEvent[] events, string[] rows)
    {
        var stored = EventTypes.Sagas.ForStorage(events);

        Assert.True(rows.SequenceEqual(stored.Select(r => r.Name)), $"{append}: {string.Join(", ", stored.Select(r => r.Name))}");
        var read = stored.SelectMany(r => EventTypes.Sagas.FromStorage(r.Name, r.SchemaVersion, r.Data)).ToList();
        Assert.Equal(events.Select(e => e.GetType()), read.Select(e => e.GetType()));
        Assert.Equal(events.Select(EventTypes.Sagas.Serialize), read.Select(EventTypes.Sagas.Serialize));
    }

    [Fact]
    public void Without_packing_every_event_keeps_a_row_of_its_own()
    {
        SagaEvent[] events = [new SagaStepSucceeded(Authorize, 1, null, At), new SagaStepStarted(Confirm, 1, At), new SagaStepStarted(Reserve, 1, At)];

        var stored = EventTypes.Sagas.ForStorage(events, pack: false);

        Assert.Equal(["saga.step-succeeded", "saga.step-started", "saga.step-started"], stored.Select(r => r.Name));
        Assert.Equal(events.Select(EventTypes.Sagas.Serialize), stored.Select(r => r.Data));
    }

    [Fact]
    public void A_packed_row_lists_each_events_stored_name_schema_version_and_data()
    {
        var (name, schemaVersion, data) = Assert.Single(EventTypes.Sagas.ForStorage([new SagaStepSucceeded(Authorize, 1, null, At), new SagaStepStarted(Confirm, 1, At)]));

        Assert.Equal(("saga.steps", 1), (name, schemaVersion));
        var events = JsonDocument.Parse(data).RootElement.GetProperty("events");
        Assert.Equal(2, events.GetArrayLength());
        Assert.Equal(("saga.step-succeeded", 1, "AuthorizePayment"), (events[0].GetProperty("type").GetString(), events[0].GetProperty("schemaVersion").GetInt32(), events[0].GetProperty("data").GetProperty("step").GetProperty("kind").GetString()));
        Assert.Equal(("saga.step-started", 1, "ConfirmOrder"), (events[1].GetProperty("type").GetString(), events[1].GetProperty("schemaVersion").GetInt32(), events[1].GetProperty("data").GetProperty("step").GetProperty("kind").GetString()));
    }

    [Theory]
    [InlineData(2, """{"events":[{"type":"saga.step-started","schemaVersion":1,"data":{"step":{"kind":"ConfirmOrder"},"attempt":1,"startedAt":"2026-12-02T12:00:00+00:00"}}]}""", "Stored event 'saga.steps' has schema version 2; this build reads up to 1.")]
    [InlineData(1, """{"events":[]}""", "Stored event 'saga.steps' holds no events.")]
    [InlineData(1, """{}""", "Stored event 'saga.steps' has no 'events' array.")]
    [InlineData(1, """{"events":{}}""", "Stored event 'saga.steps' has no 'events' array.")]
    [InlineData(1, """[]""", "Stored event 'saga.steps' has no 'events' array.")]
    [InlineData(1, """{"events":[{"schemaVersion":1,"data":{}}]}""", "Stored event 'saga.steps' has an entry without a type, a schema version or data.")]
    [InlineData(1, """{"events":[{"type":"saga.step-started","schemaVersion":"1","data":{}}]}""", "Stored event 'saga.steps' has an entry without a type, a schema version or data.")]
    [InlineData(1, """{"events":[{"type":"saga.step-started","schemaVersion":1}]}""", "Stored event 'saga.steps' has an entry without a type, a schema version or data.")]
    [InlineData(1, """{"events":[7]}""", "Stored event 'saga.steps' has an entry without a type, a schema version or data.")]
    [InlineData(1, """{"events":[{"type":"saga.step-skipped","schemaVersion":1,"data":{}}]}""", "Stored event type 'saga.step-skipped' is not registered.")]
    [InlineData(1, """{"events":[{"type":"saga.step-started","schemaVersion":3,"data":{}}]}""", "Stored event 'saga.step-started' has schema version 3; this build reads up to 1.")]
    public void A_packed_row_this_build_cannot_read_fails_with_the_reason(int schemaVersion, string data, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(() => EventTypes.Sagas.FromStorage("saga.steps", schemaVersion, data));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void A_pack_and_an_event_cannot_share_a_name()
    {
        var registry = new EventTypeRegistry<SagaEvent>().Register<SagaFinished>("saga.finished", 1);

        var error = Assert.Throws<InvalidOperationException>(() => registry.Packs("saga.finished", 1, e => e is SagaStepStarted));
        Assert.Contains("'saga.finished' is registered already", error.Message, StringComparison.Ordinal);
        registry.Packs("saga.steps", 1, e => e is SagaStepStarted);
        error = Assert.Throws<InvalidOperationException>(() => registry.Register<SagaStepStarted>("saga.steps", 1));
        Assert.Equal("'saga.steps' names this registry's packed rows.", error.Message);
    }
}
