using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;
using OrderPlatform.Domain;
using OrderPlatform.Domain.Inventory;
using OrderPlatform.EventStore.Events;
using OrderPlatform.Grains.EventSourcing;

namespace OrderPlatform.Grains.Inventory;

/// <summary>
/// A SKU's stock, which every order for the SKU calls (twice: reserve, then commit or release). It is reentrant so that
/// commands arriving while an append is under way queue inside the grain and are decided and appended together when
/// it lands (<see cref="MaxCommandsPerAppend"/>): a popular SKU then takes as many orders a second as its batches
/// carry, not one commit's worth at a time. Decisions still happen one at a time, in arrival order, under the append gate.
/// </summary>
[Reentrant]
public sealed class InventoryGrain(PostgresEventStore store, TimeProvider time)
    : EventSourcedGrain<Stock, StockEvent>(store, EventTypes.Stock, time), IInventoryGrain
{
    private string Sku => this.GetPrimaryKeyString();

    protected override string StreamId => StreamIds.Stock(Sku);

    protected override string AggregateType => "stock";

    protected override Stock InitialState => Stock.Initial;

    protected override int MaxCommandsPerAppend => 64;

    protected override Stock Apply(Stock state, StockEvent recorded) => state.Apply(recorded);

    /// <summary>
    /// A SKU sees every order for it: remembering each saga command would grow without end. Stock answers a
    /// repeated reserve, commit or release from the order's reservation instead; restocks are remembered.
    /// </summary>
    protected override bool RemembersCommand(string commandId) => !commandId.StartsWith(OrderPlatform.Domain.Checkout.OrderSaga.CommandIdPrefix, StringComparison.Ordinal);

    /// <summary>A SKU's stream takes two events an order for as long as it sells: a reactivation starts from a snapshot.</summary>
    protected override int SnapshotEvery => ServiceProvider.GetService<SnapshotOptions>()?.SnapshotEvery ?? SnapshotOptions.DefaultEvery;

    /// <summary>The orders it holds or remembers: a SKU selling 500 a second keeps some 200,000, and is snapshotted that rarely.</summary>
    protected override int SnapshotWeight(Stock state) => state.Reservations.Count + state.Closed.Count;

    protected override int SnapshotSchemaVersion => StockSnapshotFormat.SchemaVersion;

    protected override string SnapshotOf(Stock state) => StockSnapshotFormat.Write(state);

    protected override Stock FromSnapshot(string json) => StockSnapshotFormat.Read(json);

    /// <summary>A refused reservation is recorded, but it is a refusal.</summary>
    protected override bool Succeeded(IReadOnlyList<StockEvent> events) => events[0] is not StockReservationRejected;

    public async Task<StockView> RestockAsync(string commandId, int quantity)
    {
        await HandleAsync(commandId, stock => stock.Restock(quantity));
        return ToView();
    }

    public async Task<CommandReply> ReserveAsync(string commandId, Guid orderId, int quantity, DateTimeOffset reserveBy)
    {
        try
        {
            var events = await HandleAsync(commandId, stock => stock.Reserve(orderId, quantity, Given(reserveBy), Time.GetUtcNow()));
            // The events of the first handling decide the reply, so a repeated command id gets the first outcome.
            return (events.Count > 0 ? events[0] : null) switch
            {
                StockReserved reserved => CommandReply.Done($"reserved {reserved.Quantity}"),
                StockReservationRejected rejected => CommandReply.Refused($"requested {rejected.Requested}, available {rejected.Available}"),
                _ => ReplyFor(State.ReservationOf(orderId)),
            };
        }
        catch (DomainException e)
        {
            return CommandReply.Refused(e.Message);
        }
    }

    public Task<CommandReply> ReleaseAsync(string commandId, Guid orderId, DateTimeOffset reserveBy) =>
        RunAsync(commandId, stock => stock.Release(orderId, Given(reserveBy)));

    public Task<CommandReply> CommitAsync(string commandId, Guid orderId, DateTimeOffset reserveBy) =>
        RunAsync(commandId, stock => stock.Commit(orderId, Given(reserveBy)));

    public Task<StockView> GetAsync() => Task.FromResult(ToView());

    /// <summary>
    /// A saga on a silo of a build before deadlines (a rolling upgrade) calls these methods without one, and the call
    /// arrives with the default: that is no deadline, not one that passed two thousand years ago.
    /// </summary>
    public static DateTimeOffset? Given(DateTimeOffset reserveBy) => reserveBy == default ? null : reserveBy;

    private async Task<CommandReply> RunAsync(string commandId, Func<Stock, IReadOnlyList<StockEvent>> decide)
    {
        try
        {
            await HandleAsync(commandId, decide);
            return CommandReply.Done();
        }
        catch (DomainException e)
        {
            return CommandReply.Refused(e.Message);
        }
    }

    private static CommandReply ReplyFor(ReservationOutcome outcome) => outcome.Status switch
    {
        ReservationStatus.Reserved => CommandReply.Done($"reserved {outcome.Quantity}"),
        ReservationStatus.Rejected => CommandReply.Refused("the reservation was refused earlier"),
        _ => CommandReply.Refused($"the reservation is already {outcome.Status.ToString().ToLowerInvariant()}"),
    };

    private StockView ToView() => new(Sku, State.OnHand, State.Available, State.Reserved, State.Sold, Version);
}
