using Microsoft.Extensions.Time.Testing;
using OrderPlatform.Grains.Checkout;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// <see cref="RetryAfterPacing"/>: the Retry-After of a full silo doubles each second in which it refused more orders than
/// sagas stopped running on it, holds when they match, halves when fewer came and for each second without a refusal,
/// and stays between the least and the most.
/// </summary>
public sealed class RetryAfterPacingTests
{
    private readonly FakeTimeProvider _time = new();
    private long _refused;
    private long _stopped;

    [Fact]
    public void Refusals_faster_than_sagas_stop_double_it_each_second_up_to_the_most()
    {
        var pacing = new RetryAfterPacing(1, 12, _time);

        var given = new List<int> { Refuse(pacing, 100) };
        for (var second = 0; second < 5; second++)
        {
            _stopped += 10;
            _time.Advance(TimeSpan.FromSeconds(1));
            given.Add(Refuse(pacing, 100));
        }

        Assert.Equal([1, 2, 4, 8, 12, 12], given);
        Assert.Equal(12, pacing.Latest);
    }

    [Fact]
    public void Refusals_at_the_pace_sagas_stop_hold_it_and_fewer_halve_it_down_to_the_least()
    {
        var pacing = new RetryAfterPacing(1, 30, _time);
        Refuse(pacing, 50);
        _time.Advance(TimeSpan.FromSeconds(1));
        Refuse(pacing, 50);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(4, Refuse(pacing, 50));

        // As many refusals as stopped sagas a second: the clients come back as fast as there is room for them.
        for (var second = 0; second < 3; second++)
        {
            _stopped += 50;
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(4, Refuse(pacing, 50));
        }

        // Far fewer refusals than stopped sagas: halved each second, never below the least. Each period is judged by the
        // refusal that ends it, so the first answer still holds for the second of 50 refusals before it.
        var given = new List<int>();
        for (var second = 0; second < 4; second++)
        {
            _stopped += 50;
            _time.Advance(TimeSpan.FromSeconds(1));
            given.Add(Refuse(pacing, 1));
        }

        Assert.Equal([4, 2, 1, 1], given);
    }

    [Fact]
    public void With_no_saga_stopping_each_second_of_refusals_doubles_it()
    {
        // A payment provider that stalls holds every running saga: nothing makes room, and the refused wait longer.
        var pacing = new RetryAfterPacing(2, 3600, _time);
        var given = new List<int> { Refuse(pacing, 2) };
        for (var second = 0; second < 3; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1.5));
            given.Add(Refuse(pacing, 2));
        }

        Assert.Equal([2, 4, 8, 16], given);
    }

    [Fact]
    public void Each_second_without_a_refusal_halves_it()
    {
        var pacing = new RetryAfterPacing(1, 64, _time);
        Refuse(pacing, 10);
        for (var second = 0; second < 6; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            Refuse(pacing, 10);
        }

        Assert.Equal(64, pacing.Latest);

        // The refusals came in the first second, then three seconds passed without one: doubled once, halved three times.
        _time.Advance(TimeSpan.FromSeconds(4.2));
        Assert.Equal(16, Refuse(pacing, 1));

        // A long quiet spell brings the next refusal back to the least.
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, Refuse(pacing, 1));
    }

    [Fact]
    public void A_fixed_retry_after_is_the_least_equal_to_the_most()
    {
        var pacing = new RetryAfterPacing(5, 5, _time);
        Assert.Equal(5, Refuse(pacing, 1000));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(5, Refuse(pacing, 1000));
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(5, 4)]
    public void A_least_below_one_second_or_above_the_most_is_refused(int least, int most) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryAfterPacing(least, most, _time));

    /// <summary>Refuses <paramref name="count"/> orders at this instant; the Retry-After the last of them got.</summary>
    private int Refuse(RetryAfterPacing pacing, int count)
    {
        var seconds = 0;
        for (var i = 0; i < count; i++)
        {
            seconds = pacing.Refused(++_refused, _stopped);
        }

        return seconds;
    }
}
