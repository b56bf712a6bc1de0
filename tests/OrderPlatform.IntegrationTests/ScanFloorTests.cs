using OrderPlatform.Relay;

namespace OrderPlatform.IntegrationTests;

/// <summary>The rules by which the relay's read floor moves: only past rows published, and only once no writer of a lower id can still commit.</summary>
public sealed class ScanFloorTests
{
    private const int Limit = 500;

    private static OutboxRead Read(long xmin, long maxVisibleId, params long[] ids) =>
        new([.. ids.Select(id => new OutboxRow(id, $"order-{id}", 1, "order", Guid.NewGuid(), "order.placed", 1, "{}", null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch))],
            xmin, maxVisibleId);

    [Fact]
    public void The_floor_waits_for_a_later_read_whose_snapshot_has_every_earlier_writer_ended()
    {
        var floor = new ScanFloor();
        floor.Advance(Read(xmin: 90, maxVisibleId: 12, 10, 11, 12), acknowledged: 3, Limit, markXid: 100);
        Assert.Equal(0, floor.Value);

        // Transaction 99 (which may hold an id up to 12) is still running: xmin 99 is below the mark's 100.
        floor.Advance(Read(xmin: 99, maxVisibleId: 14, 13, 14), acknowledged: 2, Limit, markXid: 105);
        Assert.Equal(0, floor.Value);

        // Every transaction below the mark has ended: this read saw all rows up to 12, and published them.
        floor.Advance(Read(xmin: 100, maxVisibleId: 15, 15), acknowledged: 1, Limit, markXid: 110);
        Assert.Equal(13, floor.Value);

        // The next candidate (up to 15, mark 110) is taken from that read.
        floor.Advance(Read(xmin: 110, maxVisibleId: 15), acknowledged: 0, Limit, markXid: null);
        Assert.Equal(16, floor.Value);
    }

    [Fact]
    public void The_floor_stops_at_the_first_row_the_broker_did_not_acknowledge()
    {
        var floor = new ScanFloor();
        floor.Advance(Read(xmin: 1, maxVisibleId: 20, 20), acknowledged: 1, Limit, markXid: 50);
        floor.Advance(Read(xmin: 60, maxVisibleId: 30, 7, 21, 25), acknowledged: 1, Limit, markXid: 61);
        Assert.Equal(21, floor.Value);

        // The candidate up to 20 is used up at 21; a read that published nothing moves nothing further.
        floor.Advance(Read(xmin: 60, maxVisibleId: 30, 21, 25), acknowledged: 0, Limit, markXid: null);
        Assert.Equal(21, floor.Value);
    }

    [Fact]
    public void A_full_read_moves_the_floor_only_past_its_last_row()
    {
        var floor = new ScanFloor();
        floor.Advance(Read(xmin: 1, maxVisibleId: 1000, 1), acknowledged: 1, Limit, markXid: 10);
        floor.Advance(Read(xmin: 11, maxVisibleId: 1000, 2, 3, 4), acknowledged: 3, limit: 3, markXid: 12);
        Assert.Equal(5, floor.Value);

        // The candidate up to 1000 stays until a read that was not cut short reaches it.
        floor.Advance(Read(xmin: 13, maxVisibleId: 1000, 5, 6), acknowledged: 2, Limit, markXid: 14);
        Assert.Equal(1001, floor.Value);
    }

    [Fact]
    public void A_reset_goes_back_to_a_full_read_and_forgets_the_candidate()
    {
        var floor = new ScanFloor();
        floor.Advance(Read(xmin: 1, maxVisibleId: 5, 5), acknowledged: 1, Limit, markXid: 10);
        floor.Advance(Read(xmin: 11, maxVisibleId: 5), acknowledged: 0, Limit, markXid: null);
        Assert.Equal(6, floor.Value);

        floor.Reset();
        Assert.Equal(0, floor.Value);
        floor.Advance(Read(xmin: 100, maxVisibleId: 8, 8), acknowledged: 0, Limit, markXid: null);
        Assert.Equal(0, floor.Value);
    }

    [Fact]
    public void More_acknowledged_rows_than_were_read_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScanFloor().Advance(Read(xmin: 1, maxVisibleId: 1, 1), acknowledged: 2, Limit, markXid: 5));
    }
}
