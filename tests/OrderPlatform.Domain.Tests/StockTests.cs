using OrderPlatform.Domain.Inventory;

namespace OrderPlatform.Domain.Tests;

public class StockTests
{
    private static readonly Guid OrderA = Guid.Parse("00000000-0000-0000-0000-00000000000a");
    private static readonly Guid OrderB = Guid.Parse("00000000-0000-0000-0000-00000000000b");
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Due = Now.AddMinutes(2);

    private static Stock Given(params StockEvent[] events) => events.Aggregate(Stock.Initial, (s, e) => s.Apply(e));

    [Fact]
    public void Reserving_available_stock_records_a_reservation()
    {
        var stock = Given(new StockRestocked(5));

        var events = stock.Reserve(OrderA, 3, Due, Now);

        Assert.Equal([new StockReserved(OrderA, 3, Due, Now)], events);
        var after = events.Aggregate(stock, (s, e) => s.Apply(e));
        Assert.Equal((5, 2, 3, 0), (after.OnHand, after.Available, after.Reserved, after.Sold));
    }

    [Fact]
    public void Reserving_more_than_available_is_refused_and_changes_no_quantity()
    {
        var stock = Given(new StockRestocked(5), new StockReserved(OrderA, 4));

        var events = stock.Reserve(OrderB, 2, Due, Now);

        Assert.Equal([new StockReservationRejected(OrderB, 2, 1, Due, Now)], events);
        var after = events.Aggregate(stock, (s, e) => s.Apply(e));
        Assert.Equal(1, after.Available);
        Assert.Equal(ReservationStatus.Rejected, after.ReservationOf(OrderB).Status);
    }

    [Fact]
    public void A_second_reservation_for_the_same_order_is_a_no_op()
    {
        var stock = Given(new StockRestocked(5), new StockReserved(OrderA, 2));

        Assert.Empty(stock.Reserve(OrderA, 2, Due, Now));
        Assert.Empty(stock.Reserve(OrderA, 3, Due, Now));
    }

    [Fact]
    public void Releasing_returns_the_quantity_and_a_late_reservation_is_then_refused()
    {
        var stock = Given(new StockRestocked(5), new StockReserved(OrderA, 2));

        var events = stock.Release(OrderA, Due);
        var after = events.Aggregate(stock, (s, e) => s.Apply(e));

        Assert.Equal([new StockReleased(OrderA, 2, Due)], events);
        Assert.Equal(5, after.Available);
        Assert.Empty(after.Reserve(OrderA, 2, Due, Now));
        Assert.Equal(ReservationStatus.Released, after.ReservationOf(OrderA).Status);
    }

    [Fact]
    public void Releasing_an_order_that_never_reserved_closes_it_against_a_late_reservation()
    {
        var stock = Given(new StockRestocked(5));

        var after = stock.Release(OrderA, Due).Aggregate(stock, (s, e) => s.Apply(e));

        Assert.Empty(after.Reserve(OrderA, 1, Due, Now));
        Assert.Equal(5, after.Available);
    }

    [Fact]
    public void Committing_turns_a_reservation_into_a_sale_once()
    {
        var stock = Given(new StockRestocked(5), new StockReserved(OrderA, 2));

        var after = stock.Commit(OrderA, Due).Aggregate(stock, (s, e) => s.Apply(e));

        Assert.Equal((5, 3, 0, 2), (after.OnHand, after.Available, after.Reserved, after.Sold));
        Assert.Empty(after.Commit(OrderA, Due));
        Assert.Throws<InvalidTransitionException>(() => after.Release(OrderA, Due));
    }

    [Fact]
    public void Committing_without_a_reservation_is_refused()
    {
        Assert.Throws<InvalidTransitionException>(() => Given(new StockRestocked(5)).Commit(OrderA, Due));
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
                0 => stock.Reserve(order, random.Next(1, 8), Due, Now),
                1 when stock.ReservationOf(order).Status != ReservationStatus.Committed => stock.Release(order, Due),
                2 when stock.Reservations.ContainsKey(order) => stock.Commit(order, Due),
                _ => stock.Restock(random.Next(1, 3)),
            };
            stock = events.Aggregate(stock, (s, e) => s.Apply(e));
            Assert.True(stock.Available >= 0, "available went below zero");
            Assert.Equal(stock.OnHand, stock.Available + stock.Reserved + stock.Sold);
            Assert.Equal(stock.Reservations.Values.Sum(), stock.Reserved);
        }
    }

    /// <summary>Order i reserves and buys one unit at Now + i / rate seconds, with the saga deadline 2 minutes later.</summary>
    private static IEnumerable<(Guid Order, DateTimeOffset At)> Orders(int count, int perSecond) =>
        Enumerable.Range(0, count).Select(i => (new Guid(i + 1, 7, 7, new byte[8]), Now.AddSeconds((double)i / perSecond)));

    private static Stock Sell(Stock stock, Guid order, DateTimeOffset at)
    {
        var due = at.AddMinutes(2);
        stock = stock.Reserve(order, 1, due, at).Aggregate(stock, (s, e) => s.Apply(e));
        return stock.Commit(order, due).Aggregate(stock, (s, e) => s.Apply(e));
    }

    [Fact]
    public void Closed_orders_are_forgotten_so_memory_follows_the_recent_rate_not_every_order_ever_sold()
    {
        // 20,000 orders at 10 a second: 2,000 s, far past the 2-minute deadline plus the 5 minutes of tolerance.
        var stock = Given(new StockRestocked(Stock.MaxRestockQuantity));
        var largest = 0;
        foreach (var (order, at) in Orders(20_000, 10))
        {
            stock = Sell(stock, order, at);
            largest = Math.Max(largest, stock.Closed.Count);
        }

        // Kept: orders whose deadline is within 5 minutes of the last decision, i.e. started in the last 7 minutes
        // (4,200 at 10 a second, 4,201 counting both ends); a sweep runs when twice as many as the last one kept have piled up.
        Assert.InRange(largest, 4_000, 2 * 4_201);
        Assert.Equal(20_000, stock.Sold);
        Assert.Equal(0, stock.Reserved);
        var last = Orders(20_000, 10).Last().At;
        Assert.Equal(last - Stock.ForgetClosedAfter, stock.ForgottenThrough);
    }

    [Fact]
    public void A_forgotten_order_can_reserve_nothing_and_its_repeated_commit_or_release_changes_nothing()
    {
        var stock = Given(new StockRestocked(Stock.MaxRestockQuantity));
        var orders = Orders(3_000, 1).ToList();
        foreach (var (order, at) in orders)
        {
            stock = Sell(stock, order, at);
        }

        var (first, firstAt) = orders[0];
        Assert.False(stock.Closed.ContainsKey(first));
        var due = firstAt.AddMinutes(2);
        var late = Assert.Throws<DomainException>(() => stock.Reserve(first, 1, due, orders[^1].At));
        Assert.Contains("no longer takes reservations", late.Message, StringComparison.Ordinal);
        Assert.Throws<DomainException>(() => stock.Reserve(Guid.NewGuid(), 1, due, orders[^1].At));
        Assert.Empty(stock.Commit(first, due));
        Assert.Empty(stock.Release(first, due));
        Assert.Empty(stock.Release(Guid.NewGuid(), due));

        // An order still inside the window is remembered: its late reservation is a no-op, a release is refused.
        var (recent, recentAt) = orders[^10];
        Assert.Equal(ReservationStatus.Committed, stock.Closed[recent].Status);
        Assert.Empty(stock.Reserve(recent, 1, recentAt.AddMinutes(2), orders[^1].At));
        Assert.Throws<InvalidTransitionException>(() => stock.Release(recent, recentAt.AddMinutes(2)));

        // A new order with a current deadline reserves as before.
        var fresh = Guid.NewGuid();
        Assert.Equal([new StockReserved(fresh, 1, orders[^1].At.AddMinutes(2), orders[^1].At)], stock.Reserve(fresh, 1, orders[^1].At.AddMinutes(2), orders[^1].At));
    }

    [Fact]
    public void A_held_reservation_is_never_forgotten_however_old()
    {
        var stock = Given(new StockRestocked(Stock.MaxRestockQuantity), new StockReserved(OrderA, 3, Due, Now));
        foreach (var (order, at) in Orders(3_000, 1).Select(o => (o.Order, o.At.AddHours(1))))
        {
            stock = Sell(stock, order, at);
        }

        Assert.True(stock.ForgottenThrough > Due);
        Assert.Equal(3, stock.Reserved);
        Assert.Equal([new StockCommitted(OrderA, 3, Due)], stock.Commit(OrderA, Due));
    }

    [Fact]
    public void Orders_recorded_without_a_deadline_are_kept()
    {
        var legacy = Enumerable.Range(0, 1_500).Select(i => new Guid(i + 1, 9, 9, new byte[8])).ToList();
        var stock = Given([new StockRestocked(Stock.MaxRestockQuantity), .. legacy.SelectMany(o => new StockEvent[] { new StockReserved(o, 1), new StockCommitted(o, 1) })]);
        foreach (var (order, at) in Orders(3_000, 1))
        {
            stock = Sell(stock, order, at);
        }

        Assert.All(legacy, o => Assert.Equal(ReservationStatus.Committed, stock.Closed[o].Status));
        Assert.True(stock.Closed.Count < legacy.Count + 3_000, "orders with a deadline were forgotten");
    }

    [Fact]
    public void One_clock_running_ahead_does_not_move_the_horizon_of_forgetting()
    {
        // The SKU's silo an hour ahead: the order's deadline bounds the horizon.
        var skuAhead = Given(new StockReserved(OrderA, 1, Due, Now.AddHours(1)));
        Assert.Equal(Due - Stock.ForgetClosedAfter, skuAhead.ForgottenThrough);
        Assert.Single(skuAhead.Reserve(OrderB, 1, Due, Now));

        // The saga's silo an hour ahead: the SKU's decision time bounds it.
        var sagaAhead = Given(new StockReserved(OrderA, 1, Now.AddHours(1), Now));
        Assert.Equal(Now - Stock.ForgetClosedAfter, sagaAhead.ForgottenThrough);
        Assert.Single(sagaAhead.Reserve(OrderB, 1, Due, Now));
    }

    [Fact]
    public void Commands_without_a_deadline_work_as_before_deadlines_and_are_never_forgotten()
    {
        // A SKU that already forgets (its horizon is past), asked by a saga of an older build.
        var stock = Given(new StockRestocked(5), new StockReserved(OrderB, 1, Due, Now.AddHours(1)));
        Assert.True(stock.ForgottenThrough > DateTimeOffset.MinValue);

        var reserved = stock.Reserve(OrderA, 2, null, Now);
        Assert.Equal([new StockReserved(OrderA, 2, null, Now)], reserved);
        var after = reserved.Aggregate(stock, (s, e) => s.Apply(e));
        Assert.Equal(stock.ForgottenThrough, after.ForgottenThrough);
        Assert.Equal([new StockCommitted(OrderA, 2, null)], after.Commit(OrderA, null));
        Assert.Throws<InvalidTransitionException>(() => after.Commit(Guid.NewGuid(), null));
        Assert.Equal([new StockReleased(OrderB, 0, null)], Given(new StockRestocked(5)).Release(OrderB, null));
    }
}
