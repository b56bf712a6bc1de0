using OrderPlatform.EventStore.Events;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// <see cref="EventIds"/>: version 7 UUIDs laid out as RFC 9562 and <see cref="Guid.CreateVersion7(DateTimeOffset)"/>
/// lay them out (the event's millisecond first, then the version and variant), distinct, and sorted by time.
/// </summary>
public sealed class EventIdsTests
{
    [Fact]
    public void An_id_carries_the_millisecond_the_version_and_the_variant_where_the_runtimes_own_does()
    {
        var at = DateTimeOffset.Parse("2026-12-04T19:05:17.123Z", System.Globalization.CultureInfo.InvariantCulture);

        var ours = EventIds.New(at).ToByteArray(bigEndian: true);
        var runtimes = Guid.CreateVersion7(at).ToByteArray(bigEndian: true);

        Assert.Equal(runtimes[..6], ours[..6]);
        Assert.Equal(at.ToUnixTimeMilliseconds(), ours[..6].Aggregate(0L, (value, b) => (value << 8) | b));
        Assert.Equal(7, EventIds.New(at).Version);
        Assert.Equal(0x80, ours[8] & 0xC0);
        Assert.Equal(runtimes[6] >> 4, ours[6] >> 4);
    }

    [Fact]
    public void Ids_of_the_same_millisecond_differ_and_later_milliseconds_sort_after()
    {
        var at = DateTimeOffset.UnixEpoch.AddYears(57);
        var sameMillisecond = Enumerable.Range(0, 100_000).Select(_ => EventIds.New(at)).ToHashSet();
        Assert.Equal(100_000, sameMillisecond.Count);

        var earlier = EventIds.New(at).ToString();
        var later = EventIds.New(at.AddMilliseconds(1)).ToString();
        Assert.True(string.CompareOrdinal(earlier, later) < 0, $"{earlier} should sort before {later}");
    }

    [Fact]
    public void Ids_made_on_many_threads_at_once_are_distinct()
    {
        var at = DateTimeOffset.UnixEpoch.AddYears(57);
        var ids = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                ids.Add(EventIds.New(at));
            }
        });

        Assert.Equal(160_000, ids.Distinct().Count());
    }

    [Fact]
    public void A_time_before_1970_is_refused_as_by_the_runtime()
    {
        var before = DateTimeOffset.UnixEpoch.AddMilliseconds(-1);

        Assert.Throws<ArgumentOutOfRangeException>(() => Guid.CreateVersion7(before));
        var refusal = Assert.Throws<ArgumentOutOfRangeException>(() => EventIds.New(before));
        Assert.Equal("at", refusal.ParamName);
    }
}
