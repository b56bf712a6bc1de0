using OrderPlatform.Domain.Orders;

namespace OrderPlatform.Domain.Checkout;

public enum SagaPhase
{
    NotStarted,
    Forward,
    Compensating,
    Finished,
}

public enum StepStatus
{
    Running,
    Succeeded,
    Failed,
}

public sealed record StepProgress(
    StepStatus Status, int Attempts, DateTimeOffset? RetryAt, string? LastMessage, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt);

/// <summary>One attempt at one step.</summary>
public sealed record StepAttempt(SagaStep Step, int Attempt);

/// <summary>The outcome of one attempt at one step.</summary>
public sealed record StepOutcome(SagaStep Step, int Attempt, StepResult Result);

/// <summary>What the saga should do next, decided from its recorded state and the clock alone.</summary>
public abstract record SagaDecision
{
    private SagaDecision()
    {
    }

    /// <summary>Run these steps, all at once: they depend on nothing but what the saga has already recorded.</summary>
    public sealed record Run(IReadOnlyList<StepAttempt> Steps) : SagaDecision
    {
        public bool Equals(Run? other) => other is not null && Steps.SequenceEqual(other.Steps);

        public override int GetHashCode() => Steps.Aggregate(0, (hash, step) => HashCode.Combine(hash, step));
    }

    public sealed record Wait(DateTimeOffset Until) : SagaDecision;

    public sealed record Record(IReadOnlyList<SagaEvent> Events) : SagaDecision;

    public sealed record Idle : SagaDecision;
}

/// <summary>
/// The order saga: place the order and reserve stock, authorize payment, confirm, capture, commit stock, complete;
/// on a refusal, a cancellation or the deadline, compensate what was started, in reverse. It only maps recorded
/// outcomes to the next commands; running them is the grain's job. Steps that do not depend on each other form one
/// stage and run together (placing the order and each SKU's reservation; each SKU's commit; each SKU's release);
/// a stage starts when the one before it has succeeded whole.
/// </summary>
public sealed record OrderSaga
{
    public static readonly OrderSaga Initial = new();

    public SagaStarted? Start { get; private init; }

    public SagaPhase Phase { get; init; }

    public SagaOutcome? Outcome { get; init; }

    public string? Reason { get; init; }

    public string? CancellationReason { get; init; }

    public StepDictionary Steps { get; init; } = StepDictionary.Empty;

    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The order's lines by SKU, worked out once when the saga starts (every decision looks at them).</summary>
    public IReadOnlyList<StockLine> StockLines { get; private init; } = [];

    /// <summary>The forward stages, worked out with <see cref="StockLines"/>: they depend on the start alone.</summary>
    private IReadOnlyList<IReadOnlyList<SagaStep>> Forward { get; init; } = [];

    /// <summary>Whether <paramref name="attempt"/> of <paramref name="step"/> is the one running, its outcome not yet recorded.</summary>
    public bool IsRunning(SagaStep step, int attempt) =>
        Steps.TryGetValue(step, out var progress) && progress.Status == StepStatus.Running && progress.Attempts == attempt;

    /// <summary>Once capture has begun the money may have moved: the saga only goes forward from there.</summary>
    public bool PastPointOfNoReturn => Steps.ContainsKey(CapturePayment);

    // The steps that name no SKU, one instance each: decisions look them up many times per order.
    private static readonly SagaStep PlaceOrder = new(SagaStepKind.PlaceOrder);
    private static readonly SagaStep AuthorizePayment = new(SagaStepKind.AuthorizePayment);
    private static readonly SagaStep ConfirmOrder = new(SagaStepKind.ConfirmOrder);
    private static readonly SagaStep CapturePayment = new(SagaStepKind.CapturePayment);
    private static readonly SagaStep CompleteOrder = new(SagaStepKind.CompleteOrder);
    private static readonly SagaStep VoidPayment = new(SagaStepKind.VoidPayment);
    private static readonly SagaStep RejectOrder = new(SagaStepKind.RejectOrder);
    private static readonly SagaStep CancelOrder = new(SagaStepKind.CancelOrder);

    public static IReadOnlyList<StockLine> StockLinesOf(IEnumerable<OrderLine> lines) =>
        [.. lines.GroupBy(l => l.Sku, StringComparer.Ordinal).Select(g => new StockLine(g.Key, g.Sum(l => l.Quantity)))];

    public OrderSaga Apply(SagaEvent @event) => @event switch
    {
        SagaStarted e => Started(e),
        SagaStepStarted e => WithStep(e.Step, Progress(e.Step, e.StartedAt) with { Status = StepStatus.Running, Attempts = e.Attempt, RetryAt = null }),
        SagaStepSucceeded e => WithStep(e.Step, Progress(e.Step, e.SucceededAt) with { Status = StepStatus.Succeeded, RetryAt = null, LastMessage = e.Detail, FinishedAt = e.SucceededAt }),
        SagaStepFailed e => WithStep(e.Step, Progress(e.Step, e.FailedAt) with { Status = StepStatus.Failed, RetryAt = e.RetryAt, LastMessage = e.Reason, FinishedAt = e.FailedAt }),
        SagaCancellationRequested e => this with { CancellationReason = e.Reason },
        SagaCompensationStarted e => this with { Phase = SagaPhase.Compensating, Outcome = e.Outcome, Reason = e.Reason },
        SagaFinished e => this with { Phase = SagaPhase.Finished, Outcome = e.Outcome, Reason = e.Reason ?? Reason, FinishedAt = e.FinishedAt },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "Unknown saga event."),
    };

    private OrderSaga Started(SagaStarted started)
    {
        var stock = StockLinesOf(started.Lines);
        IReadOnlyList<IReadOnlyList<SagaStep>> forward =
        [
            [PlaceOrder, .. stock.Select(l => new SagaStep(SagaStepKind.ReserveStock, l.Sku))],
            [AuthorizePayment],
            [ConfirmOrder],
            [CapturePayment],
            [.. stock.Select(l => new SagaStep(SagaStepKind.CommitStock, l.Sku))],
            [CompleteOrder],
        ];
        return this with { Start = started, Phase = SagaPhase.Forward, StockLines = stock, Forward = forward };
    }

    /// <summary>The step's progress so far, or a fresh one that starts at <paramref name="at"/>.</summary>
    private StepProgress Progress(SagaStep step, DateTimeOffset at) =>
        Steps.TryGetValue(step, out var progress) ? progress : new StepProgress(StepStatus.Running, 0, null, null, at, null);

    private OrderSaga WithStep(SagaStep step, StepProgress progress) => this with { Steps = Steps.SetItem(step, progress) };

    public IReadOnlyList<SagaEvent> Begin(
        Guid orderId,
        string customerId,
        IReadOnlyList<OrderLine> lines,
        string currency,
        string paymentToken,
        DateTimeOffset now,
        SagaPolicy policy,
        string? correlationId = null)
    {
        if (Phase != SagaPhase.NotStarted)
        {
            return [];
        }

        if (lines.Count == 0)
        {
            throw new DomainException("An order needs at least one line.");
        }

        return [new SagaStarted(orderId, customerId, lines, currency, paymentToken, now, now + policy.Deadline, correlationId)];
    }

    /// <summary>
    /// The order was placed by the transaction that starts the saga (its first events committed with the saga's): the
    /// first attempt at placing it started and succeeded at once, and the first stage runs only what is left of it.
    /// </summary>
    public IReadOnlyList<SagaEvent> PlacedWithStart(string? detail, DateTimeOffset now)
    {
        if (Phase != SagaPhase.Forward || Steps.Count > 0)
        {
            throw new InvalidTransitionException("An order is placed with its saga's start only by the append that starts the saga.");
        }

        return [new SagaStepStarted(PlaceOrder, 1, now), new SagaStepSucceeded(PlaceOrder, 1, detail, now)];
    }

    public IReadOnlyList<SagaEvent> RequestCancellation(string reason, DateTimeOffset now)
    {
        if (Phase == SagaPhase.NotStarted)
        {
            throw new InvalidTransitionException("There is no such order to cancel.");
        }

        if (Phase == SagaPhase.Finished)
        {
            return Outcome == SagaOutcome.Cancelled
                ? []
                : throw new InvalidTransitionException($"The order is already {Outcome}.");
        }

        if (CancellationReason is not null || Phase == SagaPhase.Compensating)
        {
            return [];
        }

        return PastPointOfNoReturn
            ? throw new InvalidTransitionException("Payment capture has begun; the order can no longer be cancelled.")
            : [new SagaCancellationRequested(reason, now)];
    }

    /// <summary>
    /// The forward steps in stages. Payment is authorized only once every line is reserved, so a customer's card
    /// is never held for an order that cannot ship; the order completes only after its stock is committed, so an
    /// order that has ended holds no stock.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<SagaStep>> ForwardPlan() => Forward;

    /// <summary>
    /// Compensations for every forward step that was started, whether or not its outcome was recorded: a step
    /// cut off by a crash may have taken effect, and each compensation is a no-op when it did not. In reverse:
    /// the payment is voided, then every line released together, then the order rejected or cancelled.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<SagaStep>> CompensationPlan()
    {
        var plan = new List<IReadOnlyList<SagaStep>>();
        if (Steps.ContainsKey(AuthorizePayment))
        {
            plan.Add([VoidPayment]);
        }

        var releases = StockLines.Reverse()
            .Where(line => Steps.ContainsKey(new SagaStep(SagaStepKind.ReserveStock, line.Sku)))
            .Select(line => new SagaStep(SagaStepKind.ReleaseStock, line.Sku))
            .ToList();
        if (releases.Count > 0)
        {
            plan.Add(releases);
        }

        plan.Add([Outcome == SagaOutcome.Rejected ? RejectOrder : CancelOrder]);
        return plan;
    }

    public SagaDecision Decide(DateTimeOffset now)
    {
        switch (Phase)
        {
            case SagaPhase.NotStarted or SagaPhase.Finished:
                return new SagaDecision.Idle();
            case SagaPhase.Forward when !PastPointOfNoReturn && CancellationReason is not null:
                return new SagaDecision.Record([new SagaCompensationStarted(SagaOutcome.Cancelled, CancellationReason, now)]);
            case SagaPhase.Forward when !PastPointOfNoReturn && now >= Start!.Deadline:
                return new SagaDecision.Record([new SagaCompensationStarted(SagaOutcome.Cancelled, "The order did not complete before its deadline.", now)]);
            case SagaPhase.Forward:
                return Next(ForwardPlan(), now, SagaOutcome.Completed, canWaitPastDeadline: PastPointOfNoReturn);
            default:
                return Next(CompensationPlan(), now, Outcome!.Value, canWaitPastDeadline: true);
        }
    }

    private SagaDecision Next(IReadOnlyList<IReadOnlyList<SagaStep>> plan, DateTimeOffset now, SagaOutcome outcomeWhenDone, bool canWaitPastDeadline)
    {
        for (var s = 0; s < plan.Count; s++)
        {
            var stage = plan[s];
            List<StepAttempt>? runnable = null;
            DateTimeOffset? earliestRetry = null;
            for (var i = 0; i < stage.Count; i++)
            {
                var step = stage[i];
                if (!Steps.TryGetValue(step, out var progress))
                {
                    (runnable ??= []).Add(new StepAttempt(step, 1));
                }
                else if (progress.Status == StepStatus.Succeeded)
                {
                    continue;
                }
                else if (progress.RetryAt is { } retryAt && retryAt > now)
                {
                    earliestRetry = earliestRetry is { } earliest && earliest < retryAt ? earliest : retryAt;
                }
                else
                {
                    // Running (cut off by a crash) or failed transiently: run again under the same command id.
                    (runnable ??= []).Add(new StepAttempt(step, progress.Attempts + 1));
                }
            }

            if (runnable is not null)
            {
                return new SagaDecision.Run(runnable);
            }

            if (earliestRetry is { } until)
            {
                return new SagaDecision.Wait(canWaitPastDeadline || until < Start!.Deadline ? until : Start!.Deadline);
            }
        }

        return new SagaDecision.Record([new SagaFinished(outcomeWhenDone, outcomeWhenDone == SagaOutcome.Completed ? null : Reason, now)]);
    }

    /// <summary>
    /// Turns the outcomes of the attempts of one stage into events, in the plan's order: each is recorded against
    /// the state the ones before it left, so the first refusal starts compensation and later ones only note theirs.
    /// An outcome of an attempt that is no longer running records nothing: its outcome was recorded already (by the
    /// participant that carried it, when the reply was lost).
    /// </summary>
    public IReadOnlyList<SagaEvent> RecordResults(IReadOnlyList<StepOutcome> outcomes, DateTimeOffset now, SagaPolicy policy, double jitter)
    {
        var events = new List<SagaEvent>();
        var state = this;
        foreach (var outcome in outcomes)
        {
            if (!state.IsRunning(outcome.Step, outcome.Attempt))
            {
                continue;
            }

            var recorded = state.RecordResult(outcome.Step, outcome.Attempt, outcome.Result, now, policy, jitter);
            events.AddRange(recorded);
            state = recorded.Aggregate(state, (s, e) => s.Apply(e));
        }

        return events;
    }

    /// <summary>Turns the outcome of one attempt into events: success, a retry later, or the start of compensation.</summary>
    private IReadOnlyList<SagaEvent> RecordResult(SagaStep step, int attempt, StepResult result, DateTimeOffset now, SagaPolicy policy, double jitter)
    {
        switch (result.Kind)
        {
            case StepResultKind.Succeeded:
                return [new SagaStepSucceeded(step, attempt, result.Detail, now)];
            case StepResultKind.Refused when Phase == SagaPhase.Forward && CanBeRefused(step.Kind):
                var reason = step.Kind switch
                {
                    SagaStepKind.ReserveStock => $"Out of stock for {step.Sku}: {result.Detail}",
                    SagaStepKind.AuthorizePayment => $"Payment declined: {result.Detail}",
                    _ => $"{step} was refused: {result.Detail}",
                };
                var outcome = step.Kind == SagaStepKind.ReserveStock ? SagaOutcome.Rejected : SagaOutcome.Cancelled;
                return
                [
                    new SagaStepFailed(step, attempt, result.Detail ?? "refused", false, null, now),
                    new SagaCompensationStarted(outcome, reason, now),
                ];
            case StepResultKind.Refused when Phase == SagaPhase.Compensating && CanBeRefused(step.Kind):
                // A forward step of the stage whose other step turned the saga around: nothing to retry, it is compensated.
                return [new SagaStepFailed(step, attempt, result.Detail ?? "refused", false, null, now)];
            default:
                // Transient failures, and refusals of compensations (which must succeed eventually), retry with backoff.
                var retryAt = now + policy.RetryDelay(attempt, jitter);
                return [new SagaStepFailed(step, attempt, result.Detail ?? "failed", true, retryAt, now)];
        }
    }

    /// <summary>How the ids of the commands a saga sends begin.</summary>
    public const string CommandIdPrefix = "saga:";

    public static string CommandId(Guid orderId, SagaStep step) => $"{CommandIdPrefix}{orderId:N}:{step}";

    /// <summary>
    /// Forward steps up to capture may be refused and turn the saga to compensation. Steps after a successful
    /// capture, and compensations, must eventually succeed, so a refusal there is retried like a transient failure.
    /// </summary>
    private static bool CanBeRefused(SagaStepKind kind) =>
        kind is SagaStepKind.PlaceOrder or SagaStepKind.ReserveStock or SagaStepKind.AuthorizePayment
            or SagaStepKind.ConfirmOrder or SagaStepKind.CapturePayment;
}
