using OrderPlatform.Grains.Inventory;

namespace OrderPlatform.Contracts.Tests;

/// <summary>
/// A saga on a silo of a build before deadlines calls a SKU's reserve, commit and release without one: the argument
/// arrives as its default, which the SKU takes as no deadline (decision record 0027).
/// </summary>
public sealed class StockCommandCompatibilityTests
{
    [Fact]
    public void The_default_deadline_is_none_and_any_other_is_itself()
    {
        var due = new DateTimeOffset(2026, 12, 3, 12, 2, 0, TimeSpan.Zero);

        Assert.Null(InventoryGrain.Given(default));
        Assert.Equal(due, InventoryGrain.Given(due));
    }
}
