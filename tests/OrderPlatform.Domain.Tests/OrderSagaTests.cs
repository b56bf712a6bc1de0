using OrderPlatform.Domain.Checkout;
using OrderPlatform.Domain.Orders;

namespace OrderPlatform.Domain.Tests;

public class OrderSagaTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private static readonly Guid OrderId = Guid.Parse("00000000-0000-0000-0000-000000000042");
    private static readonly SagaPolicy Policy = new(TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10));

    private static readonly SagaStep Place = new(SagaStepKind.PlaceOrder);
    private static readonly SagaStep ReserveA = new(SagaStepKind.ReserveStock, "A");
    private static readonly SagaStep ReserveB = new(SagaStepKind.ReserveStock, "B");
    private static readonly SagaStep Authorize = new(SagaStepKind.AuthorizePayment);
    private static readonly SagaStep Confirm = new(SagaStepKind.ConfirmOrder);
    private static readonly SagaStep Capture = new(SagaStepKind.CapturePayment);

    private static OrderSaga Started() =>
        Apply(OrderSaga.Initial, OrderSaga.Initial.Begin(OrderId, "c", [new OrderLine("A", 1, 5m), new OrderLine("B", 2, 1m), new OrderLine("A", 2, 5m)], "EUR", "tok", T0, Policy));

    private static OrderSaga Apply(OrderSaga saga, IEnumerable<SagaEvent> events) => events.Aggregate(saga, (s, e) => s.Apply(e));

    /// <summary>
    /// Plays the saga as the grain would, answering each step with <paramref name="answer"/>: the steps of a stage
    /// are started in one record, run, and their outcomes recorded together. <c>Ran</c> lists the steps in the order
    /// the saga started them; <c>Stages</c> groups those started together.
    /// </summary>
    private static (OrderSaga Saga, List<SagaStep> Ran, List<string> Stages) Drive(OrderSaga saga, Func<SagaStep, int, StepResult> answer, DateTimeOffset? at = null)
    {
        var now = at ?? T0;
        var ran = new List<SagaStep>();
        var stages = new List<string>();
        for (var i = 0; i < 200; i++)
        {
            switch (saga.Decide(now))
            {
                case SagaDecision.Idle:
                    return (saga, ran, stages);
                case SagaDecision.Record r:
                    saga = Apply(saga, r.Events);
                    break;
                case SagaDecision.Wait w:
                    now = w.Until;
                    break;
                case SagaDecision.Run run:
                    ran.AddRange(run.Steps.Select(s => s.Step));
                    stages.Add(string.Join(" + ", run.Steps.Select(s => s.Step)));
                    saga = Apply(saga, run.Steps.Select(s => new SagaStepStarted(s.Step, s.Attempt, now)));
                    var outcomes = run.Steps.Select(s => new StepOutcome(s.Step, s.Attempt, answer(s.Step, s.Attempt))).ToList();
                    saga = Apply(saga, saga.RecordResults(outcomes, now, Policy, 0.5));
                    break;
            }
        }

        throw new InvalidOperationException("The saga did not finish in 200 decisions.");
    }

    [Fact]
    public void Happy_path_runs_independent_steps_together_and_dependent_ones_in_order_with_lines_of_one_sku_reserved_together()
    {
        var (saga, _, stages) = Drive(Started(), (_, _) => StepResult.Succeeded());

        Assert.Equal(
            ["PlaceOrder + ReserveStock:A + ReserveStock:B", "AuthorizePayment", "ConfirmOrder", "CapturePayment", "CommitStock:A + CommitStock:B", "CompleteOrder"],
            stages);
        Assert.Equal(SagaPhase.Finished, saga.Phase);
        Assert.Equal(SagaOutcome.Completed, saga.Outcome);
        Assert.Equal(new StockLine("A", 3), saga.StockLines[0]);
    }

    [Fact]
    public void An_order_placed_with_the_start_leaves_the_first_stage_to_the_reservations_and_is_compensated_like_one_placed_by_a_step()
    {
        var placed = Started();
        placed = Apply(placed, placed.PlacedWithStart("Placed", T0));
        Assert.Equal(StepStatus.Succeeded, placed.Steps[Place].Status);
        Assert.Equal(1, placed.Steps[Place].Attempts);

        var (completed, _, stages) = Drive(placed, (_, _) => StepResult.Succeeded());
        Assert.Equal(
            ["ReserveStock:A + ReserveStock:B", "AuthorizePayment", "ConfirmOrder", "CapturePayment", "CommitStock:A + CommitStock:B", "CompleteOrder"],
            stages);
        Assert.Equal(SagaOutcome.Completed, completed.Outcome);

        // Out of stock: the order it placed is rejected, as when a step placed it.
        var (rejected, _, rejectedStages) = Drive(placed, (step, _) => step == ReserveB ? StepResult.Refused("requested 2, available 0") : StepResult.Succeeded());
        Assert.Equal(["ReserveStock:A + ReserveStock:B", "ReleaseStock:B + ReleaseStock:A", "RejectOrder"], rejectedStages);
        Assert.Equal(SagaOutcome.Rejected, rejected.Outcome);
    }

    [Fact]
    public void Only_the_start_places_the_order_with_it()
    {
        Assert.Throws<InvalidTransitionException>(() => OrderSaga.Initial.PlacedWithStart("Placed", T0));
        var placed = Started();
        placed = Apply(placed, placed.PlacedWithStart("Placed", T0));
        Assert.Throws<InvalidTransitionException>(() => placed.PlacedWithStart("Placed", T0));
        var running = Started();
        running = Apply(running, [new SagaStepStarted(ReserveA, 1, T0)]);
        Assert.Throws<InvalidTransitionException>(() => running.PlacedWithStart("Placed", T0));
    }

    [Fact]
    public void Out_of_stock_releases_what_was_started_in_reverse_and_rejects_the_order()
    {
        var (saga, ran, stages) = Drive(Started(), (step, _) => step == ReserveB ? StepResult.Refused("requested 2, available 0") : StepResult.Succeeded());

        Assert.Equal(["PlaceOrder + ReserveStock:A + ReserveStock:B", "ReleaseStock:B + ReleaseStock:A", "RejectOrder"], stages);
        Assert.DoesNotContain(Authorize, ran);
        Assert.Equal(SagaOutcome.Rejected, saga.Outcome);
        Assert.Contains("Out of stock for B", saga.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_declined_payment_voids_releases_stock_and_cancels_the_order()
    {
        var (saga, ran, stages) = Drive(Started(), (step, _) => step == Authorize ? StepResult.Refused("card declined") : StepResult.Succeeded());

        Assert.Equal(
            ["PlaceOrder + ReserveStock:A + ReserveStock:B", "AuthorizePayment", "VoidPayment", "ReleaseStock:B + ReleaseStock:A", "CancelOrder"],
            stages);
        Assert.Equal(SagaOutcome.Cancelled, saga.Outcome);
        Assert.DoesNotContain(Capture, ran);
    }

    [Fact]
    public void Transient_failures_are_retried_with_growing_backoff_under_the_same_step()
    {
        var attempts = new List<int>();
        var (saga, ran, _) = Drive(Started(), (step, attempt) =>
        {
            if (step != Authorize)
            {
                return StepResult.Succeeded();
            }

            attempts.Add(attempt);
            return attempt <= 3 ? StepResult.Transient("provider unavailable") : StepResult.Succeeded();
        });

        Assert.Equal([1, 2, 3, 4], attempts);
        Assert.Equal(SagaOutcome.Completed, saga.Outcome);
        Assert.Equal(4, saga.Steps[Authorize].Attempts);
        Assert.Equal(4, ran.Count(s => s == Authorize));
    }

    [Fact]
    public void Backoff_doubles_per_attempt_and_stays_under_the_cap()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(150), Policy.RetryDelay(1, 0.5));
        Assert.Equal(TimeSpan.FromMilliseconds(300), Policy.RetryDelay(2, 0.5));
        Assert.Equal(TimeSpan.FromMilliseconds(200), Policy.RetryDelay(1, 1.0));
        Assert.Equal(TimeSpan.FromSeconds(10), Policy.RetryDelay(30, 1.0));
        Assert.True(Policy.RetryDelay(30, 0) >= TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void A_step_cut_off_by_a_crash_runs_again_as_the_next_attempt()
    {
        var saga = Apply(Started(), [new SagaStepStarted(Place, 1, T0), new SagaStepSucceeded(Place, 1, null, T0), new SagaStepStarted(ReserveA, 1, T0)]);

        Assert.Equal(new SagaDecision.Run([new StepAttempt(ReserveA, 2), new StepAttempt(ReserveB, 1)]), saga.Decide(T0));
    }

    [Fact]
    public void In_a_stage_only_the_step_that_failed_is_retried_and_the_next_stage_waits_for_it()
    {
        var saga = Apply(Started(), [new SagaStepStarted(Place, 1, T0), new SagaStepStarted(ReserveA, 1, T0), new SagaStepStarted(ReserveB, 1, T0)]);
        saga = Apply(saga, saga.RecordResults(
            [
                new StepOutcome(Place, 1, StepResult.Succeeded()),
                new StepOutcome(ReserveA, 1, StepResult.Transient("timeout")),
                new StepOutcome(ReserveB, 1, StepResult.Succeeded()),
            ], T0, Policy, 0.5));

        var retryAt = saga.Steps[ReserveA].RetryAt!.Value;
        Assert.Equal(new SagaDecision.Wait(retryAt), saga.Decide(T0));
        Assert.Equal(new SagaDecision.Run([new StepAttempt(ReserveA, 2)]), saga.Decide(retryAt));
    }

    [Fact]
    public void An_outcome_of_an_attempt_no_longer_running_records_nothing()
    {
        // The authorization's success and the confirmation's start were carried by the payment's append, and the
        // reply was lost: the saga's transient failure for that attempt arrives after the stream moved on.
        var saga = Apply(Started(), [new SagaStepStarted(Authorize, 1, T0), new SagaStepSucceeded(Authorize, 1, null, T0), new SagaStepStarted(Confirm, 1, T0)]);
        Assert.Empty(saga.RecordResults([new StepOutcome(Authorize, 1, StepResult.Transient("silo lost"))], T0, Policy, 0.5));

        // An older attempt's late answer is ignored too; the attempt that runs now is recorded.
        var retried = Apply(Started(), [new SagaStepStarted(Authorize, 1, T0), new SagaStepFailed(Authorize, 1, "timeout", true, T0, T0), new SagaStepStarted(Authorize, 2, T0)]);
        Assert.Empty(retried.RecordResults([new StepOutcome(Authorize, 1, StepResult.Refused("declined"))], T0, Policy, 0.5));
        var recorded = Assert.Single(retried.RecordResults([new StepOutcome(Authorize, 2, StepResult.Succeeded("ref"))], T0, Policy, 0.5));
        Assert.Equal(new SagaStepSucceeded(Authorize, 2, "ref", T0), recorded);
        Assert.True(retried.IsRunning(Authorize, 2));
        Assert.False(retried.IsRunning(Authorize, 1));
        Assert.False(saga.IsRunning(Authorize, 1));
    }

    [Fact]
    public void Two_refusals_in_one_stage_start_compensation_once_with_the_first_in_plan_order_as_the_reason()
    {
        var saga = Apply(Started(), [new SagaStepStarted(Place, 1, T0), new SagaStepStarted(ReserveA, 1, T0), new SagaStepStarted(ReserveB, 1, T0)]);
        var events = saga.RecordResults(
            [
                new StepOutcome(Place, 1, StepResult.Succeeded()),
                new StepOutcome(ReserveA, 1, StepResult.Refused("available 0")),
                new StepOutcome(ReserveB, 1, StepResult.Refused("available 1")),
            ], T0, Policy, 0.5);

        Assert.Single(events.OfType<SagaCompensationStarted>());
        Assert.All(events.OfType<SagaStepFailed>(), failed => Assert.False(failed.Transient));
        saga = Apply(saga, events);
        Assert.Equal(SagaOutcome.Rejected, saga.Outcome);
        Assert.StartsWith("Out of stock for A", saga.Reason, StringComparison.Ordinal);
        Assert.Equal(new SagaDecision.Run([new StepAttempt(new SagaStep(SagaStepKind.ReleaseStock, "B"), 1), new StepAttempt(new SagaStep(SagaStepKind.ReleaseStock, "A"), 1)]), saga.Decide(T0));
    }

    [Fact]
    public void A_refused_reservation_beside_a_placement_that_failed_rejects_the_order_without_waiting_for_the_placement()
    {
        var (saga, ran, stages) = Drive(Started(), (step, _) => step switch
        {
            _ when step == Place => StepResult.Transient("silo lost"),
            _ when step == ReserveB => StepResult.Refused("available 0"),
            _ => StepResult.Succeeded(),
        });

        Assert.Equal(["PlaceOrder + ReserveStock:A + ReserveStock:B", "ReleaseStock:B + ReleaseStock:A", "RejectOrder"], stages);
        Assert.Equal(1, ran.Count(s => s == Place));
        Assert.Equal(SagaOutcome.Rejected, saga.Outcome);
    }

    [Fact]
    public void Cancellation_before_capture_compensates_every_started_step_even_one_whose_outcome_is_unknown()
    {
        var saga = Apply(Started(),
        [
            new SagaStepStarted(Place, 1, T0), new SagaStepSucceeded(Place, 1, null, T0),
            new SagaStepStarted(ReserveA, 1, T0), new SagaStepSucceeded(ReserveA, 1, null, T0),
            new SagaStepStarted(ReserveB, 1, T0), new SagaStepSucceeded(ReserveB, 1, null, T0),
            new SagaStepStarted(Authorize, 1, T0),
        ]);
        saga = Apply(saga, saga.RequestCancellation("customer changed their mind", T0));

        var (finished, _, stages) = Drive(saga, (_, _) => StepResult.Succeeded());

        Assert.Equal(["VoidPayment", "ReleaseStock:B + ReleaseStock:A", "CancelOrder"], stages);
        Assert.Equal(SagaOutcome.Cancelled, finished.Outcome);
        Assert.Equal("customer changed their mind", finished.Reason);
    }

    [Fact]
    public void Cancellation_is_refused_once_capture_began_and_after_completion()
    {
        var (completed, _, _) = Drive(Started(), (_, _) => StepResult.Succeeded());
        Assert.Throws<InvalidTransitionException>(() => completed.RequestCancellation("late", T0));

        var capturing = Apply(Started(), [new SagaStepStarted(Capture, 1, T0)]);
        Assert.Throws<InvalidTransitionException>(() => capturing.RequestCancellation("late", T0));
    }

    [Fact]
    public void A_repeated_cancellation_request_is_a_no_op()
    {
        var saga = Started();
        saga = Apply(saga, saga.RequestCancellation("first", T0));

        Assert.Empty(saga.RequestCancellation("second", T0));
        var (finished, _, _) = Drive(saga, (_, _) => StepResult.Succeeded());
        Assert.Empty(finished.RequestCancellation("again", T0));
    }

    [Fact]
    public void Past_the_deadline_before_capture_the_saga_cancels_and_compensates()
    {
        var saga = Apply(Started(), [new SagaStepStarted(Place, 1, T0), new SagaStepSucceeded(Place, 1, null, T0)]);

        var (finished, ran, _) = Drive(saga, (_, _) => StepResult.Succeeded(), T0 + Policy.Deadline);

        Assert.Equal(["CancelOrder"], ran.Select(s => s.ToString()));
        Assert.Equal(SagaOutcome.Cancelled, finished.Outcome);
        Assert.Contains("deadline", finished.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_provider_that_never_recovers_ends_in_cancellation_at_the_deadline_not_in_endless_retries()
    {
        var (saga, ran, _) = Drive(Started(), (step, _) => step == Authorize ? StepResult.Transient("down") : StepResult.Succeeded());

        Assert.Equal(SagaOutcome.Cancelled, saga.Outcome);
        Assert.Contains(new SagaStep(SagaStepKind.VoidPayment), ran);
        Assert.DoesNotContain(Confirm, ran);
    }

    [Fact]
    public void Compensations_are_retried_until_they_succeed_even_when_refused()
    {
        var voidAttempts = 0;
        var (saga, _, _) = Drive(Started(), (step, _) => step.Kind switch
        {
            SagaStepKind.AuthorizePayment => StepResult.Refused("declined"),
            SagaStepKind.VoidPayment => ++voidAttempts < 4 ? StepResult.Refused("provider said no") : StepResult.Succeeded(),
            _ => StepResult.Succeeded(),
        });

        Assert.Equal(4, voidAttempts);
        Assert.Equal(SagaOutcome.Cancelled, saga.Outcome);
    }

    [Fact]
    public void After_capture_a_refused_step_is_retried_and_never_compensated()
    {
        var commitAttempts = 0;
        var (saga, ran, _) = Drive(Started(), (step, _) =>
            step.Kind == SagaStepKind.CommitStock && ++commitAttempts < 3 ? StepResult.Refused("not yet") : StepResult.Succeeded());

        Assert.Equal(SagaOutcome.Completed, saga.Outcome);
        Assert.DoesNotContain(ran, s => s.Kind is SagaStepKind.VoidPayment or SagaStepKind.ReleaseStock);
    }

    [Fact]
    public void Starting_twice_is_a_no_op()
    {
        var saga = Started();

        Assert.Empty(saga.Begin(OrderId, "c", [new OrderLine("A", 1, 5m)], "EUR", "tok", T0, Policy));
        Assert.Equal(T0 + Policy.Deadline, saga.Start!.Deadline);
    }
}
