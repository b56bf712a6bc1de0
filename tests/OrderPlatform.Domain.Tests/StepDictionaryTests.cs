using OrderPlatform.Domain.Checkout;

namespace OrderPlatform.Domain.Tests;

public class StepDictionaryTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    private static StepProgress Progress(StepStatus status, int attempts) => new(status, attempts, null, null, At, null);

    [Fact]
    public void Setting_a_step_adds_it_after_the_others_or_replaces_it_in_place_and_leaves_the_original_as_it_was()
    {
        var place = new SagaStep(SagaStepKind.PlaceOrder);
        var reserve = new SagaStep(SagaStepKind.ReserveStock, "SKU-1");
        var empty = StepDictionary.Empty;

        var two = empty.SetItem(place, Progress(StepStatus.Running, 1)).SetItem(reserve, Progress(StepStatus.Running, 1));
        var moved = two.SetItem(new SagaStep(SagaStepKind.PlaceOrder), Progress(StepStatus.Succeeded, 1));

        Assert.Empty(empty);
        Assert.Equal([place, reserve], two.Keys);
        Assert.Equal(StepStatus.Running, two[place].Status);
        Assert.Equal([place, reserve], moved.Keys);
        Assert.Equal(StepStatus.Succeeded, moved[place].Status);
        Assert.Equal(2, moved.Count);
    }

    [Fact]
    public void Steps_are_found_by_value_and_a_missing_one_is_not()
    {
        var steps = StepDictionary.Empty.SetItem(new SagaStep(SagaStepKind.ReserveStock, "SKU-1"), Progress(StepStatus.Failed, 3));

        Assert.True(steps.TryGetValue(new SagaStep(SagaStepKind.ReserveStock, "SKU-1"), out var progress));
        Assert.Equal(3, progress.Attempts);
        Assert.False(steps.ContainsKey(new SagaStep(SagaStepKind.ReserveStock, "SKU-2")));
        Assert.False(steps.TryGetValue(new SagaStep(SagaStepKind.CommitStock, "SKU-1"), out _));
        Assert.Throws<KeyNotFoundException>(() => steps[new SagaStep(SagaStepKind.PlaceOrder)]);
    }
}
