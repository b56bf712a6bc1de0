using OrderPlatform.Domain.Inventory;

namespace OrderPlatform.Domain.Tests;

public class StockTests
{
    private static readonly Guid OrderA = Guid.Parse("00000000-0000-0000-0000-00000000000a");
    private static readonly Guid OrderB = Guid.Parse("00000000-0000-0000-0000-00000000000b");

    private static Stock Given(params StockEvent[] events) => events.Aggregate(Stock.Initial, (s, e) => s.Apply(e));

    [Fact]
    public void Reserving_available_stock_records_a_reservation()
    {
        var stock = Given(new StockRestocked(5));

        var events = stock.Reserve(OrderA, 3);

        Assert.Equal([new StockReserved(OrderA, 3)], events);
        var after = events.Aggregate(stock, (s, e) => s.Apply(e));
        Assert.Equal((5, 2, 3, 0), (after.OnHand, after.Available, after.Reserved, after.Sold));
    }

    [Fact]
    public void Reserving_more_than_available_is_refused_and_changes_no_quantity()
    {
        var stock = Given(new StockRestocked(5), new StockReserved(OrderA, 4));

        var events = stock.Reserve(OrderB, 2);

        Assert.Equal([new StockReservationRejected(OrderB, 2, 1)], events);
        var after = events.Aggregate(stock, (s, e) => s.Apply(e));
        Assert.Equal(1, after.Available);
        Assert.Equal(ReservationStatus.Rejected, after.ReservationOf(OrderB).Status);
    }

    [Fact]
    public void A_second_reservation_for_the_same_order_is_a_no_op()
    {
        var stock = Given(new StockRestocked(5), new StockReserved(OrderA, 2));

        Assert.Empty(stock.Reserve(OrderA, 2));
        Assert.Empty(stock.Reserve(OrderA, 3));
    }

    [Fact]
    public void Releasing_returns_the_quantity_and_a_late_reservation_is_then_refused()
    {
        var stock = Given(new StockRestocked(5), new StockReserved(OrderA, 2));

        var events = stock.Release(OrderA);
        var after = events.Aggregate(stock, (s, e) => s.Apply(e));

        Assert.Equal([new StockReleased(OrderA, 2)], events);
        Assert.Equal(5, after.Available);
        Assert.Empty(after.Reserve(OrderA, 2));
        Assert.Equal(ReservationStatus.Released, after.ReservationOf(OrderA).Status);
    }

    [Fact]
    public void Releasing_an_order_that_never_reserved_closes_it_against_a_late_reservation()
    {
        var stock = Given(new StockRestocked(5));

        var after = stock.Release(OrderA).Aggregate(stock, (s, e) => s.Apply(e));

        Assert.Empty(after.Reserve(OrderA, 1));
        Assert.Equal(5, after.Available);
    }

    [Fact]
    public void Committing_turns_a_reservation_into_a_sale_once()
    {
        var stock = Given(new StockRestocked(5), new StockReserved(OrderA, 2));

        var after = stock.Commit(OrderA).Aggregate(stock, (s, e) => s.Apply(e));

        Assert.Equal((5, 3, 0, 2), (after.OnHand, after.Available, after.Reserved, after.Sold));
        Assert.Empty(after.Commit(OrderA));
        Assert.Throws<InvalidTransitionException>(() => after.Release(OrderA));
    }

    [Fact]
    public void Committing_without_a_reservation_is_refused()
    {
        Assert.Throws<InvalidTransitionException>(() => Given(new StockRestocked(5)).Commit(OrderA));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(Stock.MaxRestockQuantity + 1)]
    public void Restocking_needs_a_sane_positive_quantity(int quantity)
    {
        Assert.Throws<DomainException>(() => Stock.Initial.Restock(quantity));
    }

    [Fact]
    public void On_hand_is_always_available_plus_reserved_plus_sold()
    {
        var random = new Random(7);
        var stock = Given(new StockRestocked(50));
        var orders = Enumerable.Range(0, 40).Select(i => new Guid(i + 1, 0, 0, new byte[8])).ToArray();
        for (var i = 0; i < 500; i++)
        {
            var order = orders[random.Next(orders.Length)];
            IReadOnlyList<StockEvent> events = random.Next(4) switch
            {
                0 => stock.Reserve(order, random.Next(1, 8)),
                1 when stock.ReservationOf(order).Status != ReservationStatus.Committed => stock.Release(order),
                2 when stock.Reservations.ContainsKey(order) => stock.Commit(order),
                _ => stock.Restock(random.Next(1, 3)),
            };
            stock = events.Aggregate(stock, (s, e) => s.Apply(e));
            Assert.True(stock.Available >= 0, "available went below zero");
            Assert.Equal(stock.OnHand, stock.Available + stock.Reserved + stock.Sold);
            Assert.Equal(stock.Reservations.Values.Sum(), stock.Reserved);
        }
    }
}
