using OrderPlatform.LoadGen.Orders;

namespace OrderPlatform.LoadGen.Tests;

/// <summary>How long the generator waits before sending a refused or failed order again.</summary>
public sealed class RetryDelayTests
{
    [Theory]
    [InlineData(1, 50)]
    [InlineData(2, 100)]
    [InlineData(5, 800)]
    [InlineData(6, 1000)]
    [InlineData(40, 1000)]
    public void Without_a_Retry_After_the_backoff_doubles_from_50_ms_to_1_s(int retries, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), HttpOrderDriver.RetryDelay(retries, null, 0.7));

    [Theory]
    [InlineData(0.0, 2000)]
    [InlineData(0.5, 2500)]
    [InlineData(1.0, 3000)]
    public void A_Retry_After_longer_than_the_backoff_is_waited_for_and_spread_by_up_to_half_of_it(double jitter, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), HttpOrderDriver.RetryDelay(1, TimeSpan.FromSeconds(2), jitter));

    [Fact]
    public void A_Retry_After_shorter_than_the_backoff_leaves_the_backoff() =>
        Assert.Equal(TimeSpan.FromSeconds(1), HttpOrderDriver.RetryDelay(8, TimeSpan.FromMilliseconds(300), 1.0));
}
