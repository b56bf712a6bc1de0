using OrderPlatform.Domain.Orders;
using OrderPlatform.Domain.Payments;

namespace OrderPlatform.Domain.Tests;

public class OrderAndPaymentTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private static readonly Guid OrderId = Guid.Parse("00000000-0000-0000-0000-000000000001");

    [Fact]
    public void Placing_an_order_totals_its_lines_in_decimal()
    {
        var events = Order.Initial.Place(OrderId, "c-1", [new OrderLine("A", 3, 0.1m), new OrderLine("B", 1, 19.99m)], "EUR", Now);

        var placed = Assert.IsType<OrderPlaced>(Assert.Single(events));
        Assert.Equal(new Money(20.29m, "EUR"), placed.Total);
    }

    [Fact]
    public void Placing_twice_is_a_no_op_and_a_cancelled_order_cannot_be_placed_later()
    {
        var placed = Order.Initial.Apply(new OrderPlaced(OrderId, "c", [new OrderLine("A", 1, 1m)], new Money(1m, "EUR"), Now));
        Assert.Empty(placed.Place(OrderId, "c", [new OrderLine("A", 1, 1m)], "EUR", Now));

        var cancelledBeforePlacing = Order.Initial.Cancel("changed my mind", Now).Aggregate(Order.Initial, (o, e) => o.Apply(e));
        Assert.Empty(cancelledBeforePlacing.Place(OrderId, "c", [new OrderLine("A", 1, 1m)], "EUR", Now));
        Assert.Equal(OrderStatus.Cancelled, cancelledBeforePlacing.Status);
    }

    [Fact]
    public void A_rejection_before_the_placement_landed_is_recorded_and_a_late_placement_cannot_revive_the_order()
    {
        var rejected = Order.Initial.Reject("out of stock", Now).Aggregate(Order.Initial, (o, e) => o.Apply(e));

        Assert.Equal(OrderStatus.Rejected, rejected.Status);
        Assert.Empty(rejected.Place(OrderId, "c", [new OrderLine("A", 1, 1m)], "EUR", Now));
        Assert.Empty(rejected.Reject("again", Now));
        Assert.Throws<InvalidTransitionException>(() => rejected.Confirm(Now));
    }

    [Fact]
    public void An_order_moves_placed_confirmed_completed_and_terminal_states_ignore_repeats()
    {
        var order = Order.Initial.Apply(new OrderPlaced(OrderId, "c", [new OrderLine("A", 1, 1m)], new Money(1m, "EUR"), Now));
        order = order.Confirm(Now).Aggregate(order, (o, e) => o.Apply(e));
        Assert.Empty(order.Confirm(Now));
        order = order.Complete(Now).Aggregate(order, (o, e) => o.Apply(e));

        Assert.Equal(OrderStatus.Completed, order.Status);
        Assert.Empty(order.Complete(Now));
        Assert.Throws<InvalidTransitionException>(() => order.Cancel("late", Now));
        Assert.Throws<InvalidTransitionException>(() => order.Reject("late", Now));
    }

    [Fact]
    public void Money_refuses_mixed_currencies_and_non_iso_codes()
    {
        Assert.Throws<DomainException>(() => new Money(1m, "EUR").Add(new Money(1m, "USD")));
        Assert.Throws<DomainException>(() => new Money(1m, "eur"));
        Assert.Throws<DomainException>(() => new Money(1m, "EURO"));
    }

    [Fact]
    public void A_payment_is_authorized_once_captured_once_and_refunded_to_zero_net()
    {
        var payment = Payment.Initial;
        Assert.True(payment.NeedsAuthorization);
        payment = payment.RecordAuthorized(OrderId, new Money(10m, "EUR"), "ref", Now).Aggregate(payment, (p, e) => p.Apply(e));
        Assert.False(payment.NeedsAuthorization);
        Assert.Empty(payment.RecordAuthorized(OrderId, new Money(10m, "EUR"), "other", Now));

        Assert.True(payment.NeedsCapture);
        payment = payment.RecordCaptured(Now).Aggregate(payment, (p, e) => p.Apply(e));
        Assert.False(payment.NeedsCapture);
        Assert.Equal(10m, payment.NetCharged);
        Assert.Throws<InvalidTransitionException>(() => payment.NeedsVoid);

        payment = payment.RecordRefunded(Now).Aggregate(payment, (p, e) => p.Apply(e));
        Assert.Equal(0m, payment.NetCharged);
        Assert.False(payment.NeedsRefund);
    }

    [Fact]
    public void Voiding_before_any_authorization_closes_the_payment()
    {
        var payment = Payment.Initial.RecordVoided("cancelled", Now).Aggregate(Payment.Initial, (p, e) => p.Apply(e));

        Assert.Equal(PaymentStatus.Voided, payment.Status);
        Assert.False(payment.NeedsAuthorization);
        Assert.Throws<InvalidTransitionException>(() => payment.NeedsCapture);
    }
}
