using OrderPlatform.Commands;

namespace OrderPlatform.LoadGen.Tests;

/// <summary>How long the load generator and the chaos runner wait before sending a refused or failed request again.</summary>
public sealed class RetryDelayTests
{
    [Theory]
    [InlineData(1, 50)]
    [InlineData(2, 100)]
    [InlineData(5, 800)]
    [InlineData(6, 1000)]
    [InlineData(40, 1000)]
    public void Without_a_Retry_After_the_backoff_doubles_from_50_ms_to_1_s(int retries, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), RequestRetries.Delay(retries, null, 0.7));

    [Theory]
    [InlineData(0.0, 2000)]
    [InlineData(0.5, 2500)]
    [InlineData(1.0, 3000)]
    public void A_Retry_After_longer_than_the_backoff_is_waited_for_and_spread_by_up_to_half_of_it(double jitter, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), RequestRetries.Delay(1, TimeSpan.FromSeconds(2), jitter));

    [Fact]
    public void A_Retry_After_shorter_than_the_backoff_leaves_the_backoff() =>
        Assert.Equal(TimeSpan.FromSeconds(1), RequestRetries.Delay(8, TimeSpan.FromMilliseconds(300), 1.0));

    [Fact]
    public void An_answers_Retry_After_is_read_in_seconds_or_as_a_date_and_is_absent_without_one()
    {
        using var seconds = new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable);
        seconds.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(3), RequestRetries.RetryAfter(seconds));

        using var date = new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable);
        date.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(DateTimeOffset.UtcNow.AddSeconds(20));
        Assert.InRange(RequestRetries.RetryAfter(date)!.Value, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(20));

        using var none = new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable);
        Assert.Null(RequestRetries.RetryAfter(none));
    }
}
