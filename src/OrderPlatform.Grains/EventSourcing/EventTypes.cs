using OrderPlatform.Domain.Checkout;
using OrderPlatform.Domain.Inventory;
using OrderPlatform.Domain.Orders;
using OrderPlatform.Domain.Payments;

namespace OrderPlatform.Grains.EventSourcing;

/// <summary>The registry of every stored event: name and schema version. Names are part of the public contract.</summary>
public static class EventTypes
{
    public static readonly EventTypeRegistry<OrderEvent> Orders = new EventTypeRegistry<OrderEvent>()
        .Register<OrderPlaced>("order.placed", 1)
        .Register<OrderConfirmed>("order.confirmed", 1)
        .Register<OrderRejected>("order.rejected", 1)
        .Register<OrderCancelled>("order.cancelled", 1)
        .Register<OrderCompleted>("order.completed", 1);

    public static readonly EventTypeRegistry<StockEvent> Stock = new EventTypeRegistry<StockEvent>()
        .Register<StockRestocked>("stock.restocked", 1)
        .Register<StockReserved>("stock.reserved", 1)
        .Register<StockReservationRejected>("stock.reservation-rejected", 1)
        .Register<StockReleased>("stock.released", 1)
        .Register<StockCommitted>("stock.committed", 1);

    public static readonly EventTypeRegistry<PaymentEvent> Payments = new EventTypeRegistry<PaymentEvent>()
        .Register<PaymentAuthorized>("payment.authorized", 1)
        .Register<PaymentDeclined>("payment.declined", 1)
        .Register<PaymentCaptured>("payment.captured", 1)
        .Register<PaymentVoided>("payment.voided", 1)
        .Register<PaymentRefunded>("payment.refunded", 1);

    public static readonly EventTypeRegistry<SagaEvent> Sagas = new EventTypeRegistry<SagaEvent>()
        .Register<SagaStarted>("saga.started", 1)
        .Register<SagaStepStarted>("saga.step-started", 1)
        .Register<SagaStepSucceeded>("saga.step-succeeded", 1)
        .Register<SagaStepFailed>("saga.step-failed", 1)
        .Register<SagaCancellationRequested>("saga.cancellation-requested", 1)
        .Register<SagaCompensationStarted>("saga.compensation-started", 1)
        .Register<SagaFinished>("saga.finished", 1)
        .Packs("saga.steps", 1, e => e is SagaStepStarted or SagaStepSucceeded or SagaStepFailed);
}
