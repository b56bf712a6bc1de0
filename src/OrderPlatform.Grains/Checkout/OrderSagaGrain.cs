using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderPlatform.Domain;
using OrderPlatform.Domain.Checkout;
using OrderPlatform.Domain.Orders;
using OrderPlatform.EventStore.Events;
using OrderPlatform.EventStore.Idempotency;
using OrderPlatform.EventStore.Sagas;
using OrderPlatform.Grains.EventSourcing;
using OrderPlatform.Grains.Orders;

namespace OrderPlatform.Grains.Checkout;

/// <summary>
/// Drives one order through checkout. Every step is recorded before it runs and after it answers, so an
/// activation that starts after a crash picks up where the last one stopped; commands carry ids derived
/// from the order and the step, so a step run twice takes effect once. The steps of one stage run at the same
/// time: one append records their starts, one their outcomes. The run loop happens in the background of the
/// activation, which stays free to answer reads and cancellation requests meanwhile.
/// </summary>
public sealed class OrderSagaGrain(
    PostgresEventStore store,
    TimeProvider time,
    IOptions<SagaOptions> options,
    RunningSagas running,
    ILogger<OrderSagaGrain> logger)
    : EventSourcedGrain<OrderSaga, SagaEvent>(store, EventTypes.Sagas, time), IOrderSagaGrain, IRemindable
{
    private const string BackstopReminder = "saga-backstop";

    private readonly SagaPolicy _policy = options.Value.ToPolicy();
    private readonly SagaOptions _options = options.Value;
    private Task? _run;
    private SagaDecision.Run? _startedSteps;
    private IOrderGrain? _order;
    private IPaymentGrain? _payment;
    private Dictionary<string, IInventoryGrain>? _stock;
    private IGrainTimer? _wakeUp;
    private bool _backstopRegistered;

    // What this activation last wrote to the saga index, and what the append under way writes.
    private IndexedAs? _indexed;
    private IndexedAs? _pendingIndex;

    private sealed record IndexedAs(DateTimeOffset? WakeAt, OrderSaga State);

    // The response a start was given to store, the state its append would leave, and whether that append landed.
    private ResponseToStore? _responseToStore;
    private OrderSaga? _pendingResponse;
    private bool _responseStored;

    // The order's first events, placed by the append that starts the saga (see CreatedAlongside), with the order's state
    // they leave; once it landed, the order's stream as the saga knows it (also its confirmation and completion, when the
    // steps before them carried them), told to the order's grain with the saga's first command to it, if any.
    private (CarriedAppend Append, Order State)? _orderToPlace;
    private KnownOrder? _placedOrder;

    // The placement an append under way carries, and the saga's state that append leaves: it is known to have landed
    // only when that state becomes current (a repeated start answered from the stream's record appends nothing).
    private (KnownOrder Order, OrderSaga StateAfter)? _pendingPlacement;

    /// <summary>The order's stream as this saga wrote it, and the order's state after it.</summary>
    private sealed record KnownOrder(KnownStart Stream, Order State);

    // Completed when the saga finishes; readers that wait for the finish (ReadAsync) await it.
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Guid OrderId => this.GetPrimaryKey();

    protected override string StreamId => StreamIds.Saga(OrderId);

    protected override string AggregateType => "saga";

    protected override OrderSaga InitialState => OrderSaga.Initial;

    protected override OrderSaga Apply(OrderSaga state, SagaEvent recorded) => state.Apply(recorded);

    /// <summary>The step log is the saga's own bookkeeping, not a public contract: it stays out of the outbox.</summary>
    protected override bool Published => false;

    protected override bool PacksEvents => _options.PackStepEvents;

    /// <summary>
    /// The saga index row changes when the recovery scan needs to know: an activation's first append (the saga is
    /// alive again), a change of the time it waits for, and the finish. Appends in between leave the row alone: a
    /// healthy saga's steps take milliseconds, and one that is quiet longer than the scan's window only gets a
    /// harmless nudge. The append that starts the saga also stores the response of the request that started it.
    /// </summary>
    protected override IReadOnlyList<IRowAlongside> Alongside(OrderSaga stateAfter)
    {
        var alongside = new List<IRowAlongside>(2);
        _pendingResponse = null;
        if (_responseToStore is { } response && State.Phase == SagaPhase.NotStarted)
        {
            // The append that starts the saga also stores the answer to the request that started it, and claims its key
            // when the request has not claimed it before.
            var stored = new StoredResponse(response.StatusCode, response.ContentType, response.Location, response.Body);
            alongside.Add(response.RequestHash is { } hash
                ? IdempotencyStore.ClaimCompletedCommand(response.IdempotencyKey, hash, stored, Time.GetUtcNow(), response.ExpiresAt)
                : IdempotencyStore.CompleteCommand(response.IdempotencyKey, stored));
            _pendingResponse = stateAfter;
        }

        _pendingIndex = null;
        if (IndexRowFor(stateAfter, Time.GetUtcNow()) is { } row)
        {
            _pendingIndex = new IndexedAs(row.WakeAt, stateAfter);
            alongside.Add(SagaIndex.Upsert(row.OrderId, row.Finished, row.Outcome, row.WakeAt, row.UpdatedAt));
        }

        return alongside;
    }

    /// <summary>The append that starts the saga places its order too, when the start decided so.</summary>
    protected override IReadOnlyList<CarriedAppend> CreatedAlongside(OrderSaga stateAfter)
    {
        _pendingPlacement = null;
        if (_orderToPlace is not { } order || State.Phase != SagaPhase.NotStarted)
        {
            return [];
        }

        _pendingPlacement = (new KnownOrder(new KnownStart(order.Append.StreamId, CarriedEvent.From(order.Append.Events)), order.State), stateAfter);
        return [order.Append];
    }

    /// <summary>The saga index row an append that leaves <paramref name="stateAfter"/> writes, if it needs to write one.</summary>
    private SagaIndexRow? IndexRowFor(OrderSaga stateAfter, DateTimeOffset now)
    {
        var wakeAt = stateAfter.Decide(now) is SagaDecision.Wait wait ? wait.Until : (DateTimeOffset?)null;
        var finished = stateAfter.Phase == SagaPhase.Finished;
        return _indexed is { } indexed && indexed.WakeAt == wakeAt && !finished
            ? null
            : new SagaIndexRow(OrderId, finished, stateAfter.Outcome?.ToString(), wakeAt, now);
    }

    /// <summary>An activation that finds an unfinished saga in its stream (after a crash, a recovery nudge) runs it on.</summary>
    protected override void OnLoaded() => EnsureRunning();

    public async Task<SagaStartReply> StartAsync(CheckoutRequest request, ResponseToStore? response)
    {
        IReadOnlyList<SagaEvent> recorded;
        bool stored;
        _responseToStore = response;
        try
        {
            recorded = await StartOnceAsync(request);
        }
        catch (Exception e) when (response?.RequestHash is not null && IdempotencyStore.IsKeyInUse(e))
        {
            // The key this start was to claim is in use: the append was refused whole, so the saga has not started. The
            // caller looks the key up.
            return new SagaStartReply(ToView(), ResponseStored: false);
        }
        finally
        {
            stored = _responseStored;
            _responseToStore = null;
            _orderToPlace = null;
            _pendingPlacement = null;
            _pendingResponse = null;
            _responseStored = false;
        }

        if (_run is not { IsCompleted: false })
        {
            // A repeated start while the loop runs leaves the loop to decide: it may be running those steps now.
            RememberStartedSteps(recorded);
        }

        EnsureRunning();
        return new SagaStartReply(ToView(), stored);
    }

    private Task<IReadOnlyList<SagaEvent>> StartOnceAsync(CheckoutRequest request)
    {
        var tries = 0;
        return HandleAsync("start", saga =>
        {
            var now = Time.GetUtcNow();
            var lines = request.Lines.Select(l => new OrderLine(l.Sku, l.Quantity, l.UnitPrice)).ToList();
            var begun = saga.Begin(request.OrderId, request.CustomerId, lines, request.Currency, request.PaymentToken, now, _policy, request.CorrelationId);

            // The start places the order in its own append. Decided a second time while the saga has still not started,
            // the first append was refused for the order's stream (it has events already): the order's grain is then sent
            // the command, as a step, and answers from what its stream holds.
            _orderToPlace = null;
            if (begun.Count > 0 && _options.PlaceOrderWithStart && tries++ == 0 && PlaceOrder(request, lines, now) is { } placed)
            {
                _orderToPlace = (placed.Append, placed.State);
                var started = begun.Aggregate(saga, (state, e) => state.Apply(e));
                begun = [.. begun, .. started.PlacedWithStart(placed.Detail, now)];
            }

            return AndStartNext(saga, begun, now);
        }, request.CorrelationId);
    }

    /// <summary>
    /// The order's first events as its grain would append them for the saga's first attempt at placing it (same command
    /// id, so a repeat of that command finds them), and the detail of its answer; null when the order refuses them (the
    /// step then goes to the order's grain, which refuses it, and the saga is rejected as for any refused step).
    /// </summary>
    private (CarriedAppend Append, string Detail, Order State)? PlaceOrder(CheckoutRequest request, IReadOnlyList<OrderLine> lines, DateTimeOffset now)
    {
        IReadOnlyList<OrderEvent> events;
        try
        {
            events = Order.Initial.Place(request.OrderId, request.CustomerId, lines, request.Currency, now);
        }
        catch (DomainException)
        {
            return null;
        }

        var placed = events.Aggregate(Order.Initial, (order, e) => order.Apply(e));
        var commandId = OrderSaga.CommandId(OrderId, new SagaStep(SagaStepKind.PlaceOrder));
        var append = new CarriedAppend(StreamIds.Order(OrderId), 0, EventTypes.Orders.ToAppend(events, commandId, request.CorrelationId, now), OrderGrain.Aggregate);
        return (append, placed.Status.ToString(), placed);
    }

    public async Task<CommandReply> RequestCancellationAsync(string reason)
    {
        try
        {
            await HandleAsync(null, saga => saga.RequestCancellation(reason, Time.GetUtcNow()));
        }
        catch (DomainException e)
        {
            return CommandReply.Refused(e.Message);
        }

        // Wake a saga that sleeps until a retry: the cancellation should not wait for the backoff.
        _wakeUp?.Dispose();
        _wakeUp = null;
        EnsureRunning();
        return CommandReply.Done();
    }

    public Task ResumeAsync()
    {
        EnsureRunning();
        return Task.CompletedTask;
    }

    public Task<SagaView?> GetAsync() => Task.FromResult(State.Phase == SagaPhase.NotStarted ? null : ToView());

    public async Task<SagaReading?> ReadAsync(TimeSpan timeout)
    {
        if (State.Phase == SagaPhase.NotStarted)
        {
            return null;
        }

        if (State.Phase != SagaPhase.Finished && timeout > TimeSpan.Zero)
        {
            // A wait that times out is not an error: the caller gets the saga as it is.
            await _finished.Task.WaitAsync(timeout, Time).ContinueWith(_ => { }, TaskScheduler.Current);
        }

        // Finished, nothing of the order's is in flight; while the saga knows the stream, the order's grain has done no
        // command (TellingPlacedOrderAsync forgets it on the first) and every event on it is one the saga committed. A
        // finished saga's order is at rest: one the saga knows otherwise is not the stream's end, and its grain answers.
        var order = State.Phase == SagaPhase.Finished && _placedOrder is { } known && OrderGrain.IsClosed(known.State)
            ? OrderGrain.ViewOf(OrderId, known.State, known.Stream.Events.Count)
            : null;
        return new SagaReading(ToView(), order);
    }

    protected override bool IsAtRest(OrderSaga state) => state.Phase is SagaPhase.NotStarted or SagaPhase.Finished;

    protected override void OnStateChanged()
    {
        if (_pendingIndex is { } written && ReferenceEquals(written.State, State))
        {
            // The append that carried the index row landed (a failed one never makes its state current).
            _indexed = written;
        }

        _pendingIndex = null;
        if (_pendingResponse is { } withResponse && ReferenceEquals(withResponse, State))
        {
            _responseStored = true;
        }

        _pendingResponse = null;
        if (_pendingPlacement is { } placement && ReferenceEquals(placement.StateAfter, State))
        {
            // The start's append landed with the order's first events: the order's grain need not read them.
            _placedOrder = placement.Order;
        }

        _pendingPlacement = null;

        if (State.Phase == SagaPhase.Finished)
        {
            _finished.TrySetResult();
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (State.Phase is SagaPhase.Finished or SagaPhase.NotStarted)
        {
            // Left over from an activation that died before dropping it.
            _backstopRegistered = true;
            await DropBackstopAsync();
            return;
        }

        _backstopRegistered = true;
        EnsureRunning();
    }

    private void EnsureRunning()
    {
        if (_run is { IsCompleted: false } || State.Phase is SagaPhase.NotStarted || (State.Phase is SagaPhase.Finished && !_backstopRegistered))
        {
            return;
        }

        // Started from a grain turn, the loop's continuations run on this activation's scheduler.
        _run = RunAsync();
    }

    private async Task RunAsync()
    {
        // Every event the steps cause carries the correlation id of the request that placed the order.
        if (State.Start?.CorrelationId is { } correlationId)
        {
            RequestContext.Set(CorrelationKey, correlationId);
        }

        running.Started();
        try
        {
            while (true)
            {
                if (_startedSteps is { } started)
                {
                    // Their start was recorded with the events before it: run them without recording it again.
                    _startedSteps = null;
                    await RunStepsAsync(started, startRecorded: true);
                    continue;
                }

                var decision = State.Decide(Time.GetUtcNow());
                switch (decision)
                {
                    case SagaDecision.Idle:
                        await DropBackstopAsync();
                        return;
                    case SagaDecision.Record:
                        // Decided again inside the append gate: a cancellation may have landed meanwhile.
                        RememberStartedSteps(await HandleAsync(null, saga => saga.Decide(Time.GetUtcNow()) is SagaDecision.Record r ? AndStartNext(saga, r.Events) : []));
                        break;
                    case SagaDecision.Wait wait:
                        await SleepUntilAsync(wait.Until);
                        return;
                    case SagaDecision.Run run:
                        await RunStepsAsync(run, startRecorded: false);
                        break;
                }
            }
        }
        catch (Exception e)
        {
            // The store or a silo is unavailable: try again later; the recovery scan is a further backstop.
            logger.LogWarning(e, "Saga {OrderId} stopped on an error; retrying shortly.", OrderId);
            await CatchUpQuietlyAsync();
            ScheduleWakeUp(_policy.RetryDelay(3, Random.Shared.NextDouble()));
        }
        finally
        {
            running.Stop();
        }
    }

    private async Task RunStepsAsync(SagaDecision.Run run, bool startRecorded)
    {
        if (!startRecorded)
        {
            var started = await HandleAsync(null, saga =>
                saga.Decide(Time.GetUtcNow()) is SagaDecision.Run again && again == run
                    ? [.. run.Steps.Select(s => new SagaStepStarted(s.Step, s.Attempt, Time.GetUtcNow()))]
                    : []);
            if (started.Count == 0)
            {
                return;
            }
        }

        // A stage of one step offers the participant the saga's record of its success, to commit with its events.
        var offer = run.Steps.Count == 1 ? OfferFor(run.Steps[0]) : null;

        // The commands go out together; each result is awaited on this activation, in the plan's order.
        var calls = run.Steps.Select(s => RunOneAsync(s.Step, s.Attempt, offer)).ToList();
        var outcomes = new List<StepOutcome>(calls.Count);
        for (var i = 0; i < calls.Count; i++)
        {
            var (step, attempt) = (run.Steps[i].Step, run.Steps[i].Attempt);
            var (result, carried) = await calls[i];
            if (carried && offer is not null)
            {
                // The participant committed the outcome and the next stage's start with its own events (and the order's
                // event, when offered).
                if (offer.OrderAfter is { } orderAfter)
                {
                    _placedOrder = orderAfter;
                }

                if (await AcceptCarriedAsync(offer.Record, offer.Events) && offer.Index is not null)
                {
                    _indexed = new IndexedAs(offer.Index.WakeAt, State);
                }

                RememberStartedSteps(offer.Events);
                return;
            }

            if (result.Kind != StepResultKind.Succeeded)
            {
                logger.LogInformation("Saga {OrderId} step {Step} attempt {Attempt}: {Kind} {Detail}", OrderId, step, attempt, result.Kind, result.Detail);
            }

            outcomes.Add(new StepOutcome(step, attempt, result));
        }

        // Decided against the state inside the append gate: an attempt whose reply was lost may have been carried after
        // all (the append is refused, the stream read), and then its outcome records nothing.
        RememberStartedSteps(await HandleAsync(null, saga => AndStartNext(saga, saga.RecordResults(outcomes, Time.GetUtcNow(), _policy, Random.Shared.NextDouble()))));
    }

    /// <summary>The saga's record of a step's success, offered to the participant, and what it holds.</summary>
    private sealed record OfferedRecord(CarriedRecord Record, IReadOnlyList<SagaEvent> Events, SagaIndexRow? Index, KnownOrder? OrderAfter = null);

    /// <summary>
    /// What this saga would record if <paramref name="attempt"/> succeeded now: its success and what follows without
    /// waiting (the next stage's start, or the finish). The participant commits it with its events when the step
    /// succeeds within <see cref="SagaOptions.CarriedOutcomeWindow"/> (and before the deadline, while it counts).
    /// </summary>
    private OfferedRecord? OfferFor(StepAttempt attempt)
    {
        if (!_options.CarryOutcomes || CarrierStream(attempt.Step) is not { } carrier)
        {
            return null;
        }

        var now = Time.GetUtcNow();
        var events = AndStartNext(State, State.RecordResults(
            [new StepOutcome(attempt.Step, attempt.Attempt, StepResult.Succeeded(null))], now, _policy, Random.Shared.NextDouble()), now);
        var after = events.Aggregate(State, (state, e) => state.Apply(e));
        var orderStep = OrderStepAfter(after, events, now);
        if (orderStep is not null)
        {
            events = [.. events, .. orderStep.Value.Events];
            after = orderStep.Value.Events.Aggregate(after, (state, e) => state.Apply(e));
        }

        var index = IndexRowFor(after, now);
        var validUntil = now + _options.CarriedOutcomeWindow;
        if (State.Phase == SagaPhase.Forward && !State.PastPointOfNoReturn && State.Start!.Deadline < validUntil)
        {
            validUntil = State.Start.Deadline;
        }

        return new OfferedRecord(
            CarriedRecordFor(carrier, events, index, validUntil, orderStep?.Order), events, index, orderStep?.OrderAfter);
    }

    /// <summary>
    /// The order's confirmation or completion, to commit with the step before it (the payment's authorization, a one-SKU
    /// order's stock commit), when <paramref name="events"/> (the saga's record of that step) start its first attempt and
    /// this saga knows the order's stream (its start placed the order, and no command to the order's grain was done
    /// since): the order's event as its grain would append it (same command id, decided by <see cref="Order.Confirm"/>
    /// or <see cref="Order.Complete"/>), at the version the saga knows the stream at, and the saga's record of that
    /// attempt's start, success and what follows (the capture's start, or the finish).
    /// </summary>
    private (IReadOnlyList<SagaEvent> Events, CarriedStreamEvents Order, KnownOrder OrderAfter)? OrderStepAfter(
        OrderSaga after, IReadOnlyList<SagaEvent> events, DateTimeOffset now)
    {
        if (!_options.CarryOrderEvents || _placedOrder is not { } known || events.Count == 0
            || events[^1] is not SagaStepStarted { Attempt: 1, Step.Kind: SagaStepKind.ConfirmOrder or SagaStepKind.CompleteOrder } next)
        {
            return null;
        }

        IReadOnlyList<OrderEvent> decided;
        try
        {
            decided = next.Step.Kind == SagaStepKind.ConfirmOrder ? known.State.Confirm(now) : known.State.Complete(now);
        }
        catch (DomainException)
        {
            return null;
        }

        if (decided.Count == 0)
        {
            return null;
        }

        var state = decided.Aggregate(known.State, (order, e) => order.Apply(e));
        var commandId = OrderSaga.CommandId(OrderId, next.Step);
        var rows = CarriedEvent.From(EventTypes.Orders.ToAppend(decided, commandId, after.Start?.CorrelationId, now));
        var recorded = AndStartNext(after, after.RecordResults(
            [new StepOutcome(next.Step, next.Attempt, StepResult.Succeeded(state.Status.ToString()))], now, _policy, Random.Shared.NextDouble()), now);
        var order = new CarriedStreamEvents(known.Stream.StreamId, known.Stream.Events.Count, rows, OrderGrain.Aggregate);
        return (recorded, order, new KnownOrder(known.Stream with { Events = [.. known.Stream.Events, .. rows] }, state));
    }

    /// <summary>The stream of the grain that serves a step's command.</summary>
    private string? CarrierStream(SagaStep step) => step.Kind switch
    {
        SagaStepKind.PlaceOrder or SagaStepKind.ConfirmOrder or SagaStepKind.CompleteOrder or SagaStepKind.RejectOrder or SagaStepKind.CancelOrder
            => StreamIds.Order(OrderId),
        SagaStepKind.AuthorizePayment or SagaStepKind.CapturePayment or SagaStepKind.VoidPayment => StreamIds.Payment(OrderId),
        SagaStepKind.ReserveStock or SagaStepKind.CommitStock or SagaStepKind.ReleaseStock => StreamIds.Stock(step.Sku!),
        _ => null,
    };

    private async Task<(StepResult Result, bool Carried)> RunOneAsync(SagaStep step, int attempt, OfferedRecord? offer)
    {
        try
        {
            var reply = offer is null
                ? await ExecuteAsync(step, attempt)
                : await CarriedRecords.Offering(offer.Record, () => ExecuteAsync(step, attempt));
            return (ToStepResult(reply), reply.CallerRecordCarried);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A grain call that failed (silo lost, timeout): the command may or may not have run; it is retried with the same id.
            if (offer?.OrderAfter is not null)
            {
                // The order's event may have committed with it: the saga no longer knows the order's stream, and its
                // grain reads it.
                _placedOrder = null;
            }

            return (StepResult.Transient($"{e.GetType().Name}: {e.Message}"), false);
        }
    }

    /// <summary>
    /// <paramref name="events"/>, followed by what the saga decides right after them without waiting: further
    /// bookkeeping (the start of compensation, the finish) and the start of the next stage. One append then
    /// records a stage's outcomes and the next stage's start, instead of two. The starts are dated <paramref name="at"/>
    /// when given (the events' own time), or now.
    /// </summary>
    private IReadOnlyList<SagaEvent> AndStartNext(OrderSaga before, IReadOnlyList<SagaEvent> events, DateTimeOffset? at = null)
    {
        if (events.Count == 0)
        {
            return events;
        }

        var all = new List<SagaEvent>(events);
        var after = events.Aggregate(before, (state, e) => state.Apply(e));
        var now = at ?? Time.GetUtcNow();
        for (var guard = 0; guard < 4; guard++)
        {
            switch (after.Decide(now))
            {
                case SagaDecision.Record record:
                    all.AddRange(record.Events);
                    after = record.Events.Aggregate(after, (state, e) => state.Apply(e));
                    continue;
                case SagaDecision.Run run:
                    all.AddRange(run.Steps.Select(s => new SagaStepStarted(s.Step, s.Attempt, now)));
                    return all;
                default:
                    return all;
            }
        }

        return all;
    }

    /// <summary>Notes the steps whose start the last append recorded, for the run loop to run next.</summary>
    private void RememberStartedSteps(IReadOnlyList<SagaEvent> recorded)
    {
        // A repeated start gets the events of the first one back: its steps may have run since.
        var started = new List<StepAttempt>();
        for (var i = recorded.Count - 1; i >= 0 && recorded[i] is SagaStepStarted step; i--)
        {
            if (!State.IsRunning(step.Step, step.Attempt))
            {
                return;
            }

            started.Insert(0, new StepAttempt(step.Step, step.Attempt));
        }

        if (started.Count > 0)
        {
            _startedSteps = new SagaDecision.Run(started);
        }
    }

    /// <summary>
    /// Sends a step's command. The first attempt at placing the order or authorizing the payment creates that
    /// aggregate (only this saga does, once: its start was recorded before), so the call says so (<see
    /// cref="NewStreams"/>) and the callee's activation need not read its stream.
    /// </summary>
    private Task<CommandReply> ExecuteAsync(SagaStep step, int attempt)
    {
        var creates = attempt == 1 ? step.Kind switch
        {
            SagaStepKind.PlaceOrder => StreamIds.Order(OrderId),
            SagaStepKind.AuthorizePayment => StreamIds.Payment(OrderId),
            _ => null,
        } : null;
        if (_placedOrder is { } known && CarrierStream(step) == known.Stream.StreamId)
        {
            return TellingPlacedOrderAsync(known.Stream, step);
        }

        return creates is null ? SendAsync(step) : NewStreams.Creating(creates, () => SendAsync(step));
    }

    /// <summary>
    /// Sends the order's grain a command with the events the saga's start wrote to its stream, until one is done: an
    /// activation that has not read its stream starts from them (<see cref="KnownStreams"/>).
    /// </summary>
    private async Task<CommandReply> TellingPlacedOrderAsync(KnownStart known, SagaStep step)
    {
        var reply = await KnownStreams.Telling(known, () => SendAsync(step));
        if (reply.Status == ReplyStatus.Done)
        {
            _placedOrder = null;
        }

        return reply;
    }

    private Task<CommandReply> SendAsync(SagaStep step)
    {
        var start = State.Start!;
        var commandId = OrderSaga.CommandId(OrderId, step);

        // References are kept for the activation: one object per grain instead of one per step.
        var order = _order ??= GrainFactory.Get<IOrderGrain>(OrderId);
        var payment = _payment ??= GrainFactory.Get<IPaymentGrain>(OrderId);
        var quantity = step.Sku is null ? 0 : State.StockLines.First(l => l.Sku == step.Sku).Quantity;
        return step.Kind switch
        {
            SagaStepKind.PlaceOrder => order.PlaceAsync(commandId, new CheckoutRequest(
                OrderId, start.CustomerId, [.. start.Lines.Select(l => new OrderLineData(l.Sku, l.Quantity, l.UnitPrice))], start.Currency, start.PaymentToken, start.CorrelationId)),
            SagaStepKind.ReserveStock => Stock(step.Sku!).ReserveAsync(commandId, OrderId, quantity, start.Deadline),
            SagaStepKind.AuthorizePayment => payment.AuthorizeAsync(commandId, Total(start), start.Currency, start.PaymentToken),
            SagaStepKind.ConfirmOrder => order.ConfirmAsync(commandId),
            SagaStepKind.CapturePayment => payment.CaptureAsync(commandId),
            SagaStepKind.CommitStock => Stock(step.Sku!).CommitAsync(commandId, OrderId, start.Deadline),
            SagaStepKind.CompleteOrder => order.CompleteAsync(commandId),
            SagaStepKind.VoidPayment => payment.VoidAsync(commandId, State.Reason ?? "order cancelled"),
            SagaStepKind.ReleaseStock => Stock(step.Sku!).ReleaseAsync(commandId, OrderId, start.Deadline),
            SagaStepKind.RejectOrder => order.RejectAsync(commandId, State.Reason ?? "rejected"),
            SagaStepKind.CancelOrder => order.CancelAsync(commandId, State.Reason ?? "cancelled"),
            _ => throw new InvalidOperationException($"Unknown saga step {step}."),
        };
    }

    private IInventoryGrain Stock(string sku)
    {
        _stock ??= new Dictionary<string, IInventoryGrain>(StringComparer.Ordinal);
        if (!_stock.TryGetValue(sku, out var grain))
        {
            _stock[sku] = grain = GrainFactory.Get<IInventoryGrain>(sku);
        }

        return grain;
    }

    private static decimal Total(SagaStarted start) => start.Lines.Sum(l => l.UnitPrice * l.Quantity);

    private static StepResult ToStepResult(CommandReply reply) => reply.Status switch
    {
        ReplyStatus.Done => StepResult.Succeeded(reply.Detail),
        ReplyStatus.Refused => StepResult.Refused(reply.Detail ?? "refused"),
        _ => StepResult.Transient(reply.Detail ?? "try again"),
    };

    private async Task SleepUntilAsync(DateTimeOffset until)
    {
        var delay = until - Time.GetUtcNow();
        ScheduleWakeUp(delay < TimeSpan.Zero ? TimeSpan.Zero : delay);

        // A long wait may outlive this activation or silo: a reminder (durable, coarse) is the backstop.
        if (delay > TimeSpan.FromSeconds(30) && !_backstopRegistered)
        {
            await this.RegisterOrUpdateReminder(BackstopReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            _backstopRegistered = true;
        }
    }

    private void ScheduleWakeUp(TimeSpan delay)
    {
        _wakeUp?.Dispose();
        _wakeUp = this.RegisterGrainTimer(() =>
        {
            EnsureRunning();
            return Task.CompletedTask;
        }, delay, Timeout.InfiniteTimeSpan);
    }

    private async Task DropBackstopAsync()
    {
        if (!_backstopRegistered)
        {
            return;
        }

        if (await this.GetReminder(BackstopReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        _backstopRegistered = false;
    }

    private async Task CatchUpQuietlyAsync()
    {
        try
        {
            await CatchUpAsync();
        }
        catch (NpgsqlException)
        {
            // The next run catches up instead.
        }
    }

    private SagaView ToView() => new(
        OrderId,
        State.Phase.ToString(),
        State.Outcome?.ToString(),
        State.Reason,
        State.Start?.StartedAt,
        State.Start?.Deadline,
        State.FinishedAt,
        [.. State.Steps.OrderBy(s => s.Value.StartedAt).ThenBy(s => s.Key.Kind).ThenBy(s => s.Key.Sku, StringComparer.Ordinal).Select(s => new SagaStepView(
            s.Key.ToString(),
            s.Value.Status.ToString(),
            s.Value.Attempts,
            s.Value.LastMessage,
            s.Value.StartedAt,
            s.Value.FinishedAt,
            s.Value.RetryAt))]);
}
