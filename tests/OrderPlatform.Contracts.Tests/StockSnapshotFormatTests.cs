using System.Text.Json;
using OrderPlatform.Domain.Inventory;
using OrderPlatform.Grains.Inventory;

namespace OrderPlatform.Contracts.Tests;

/// <summary>A SKU's snapshot (decision record 0028) brings back the stock it was written from, field for field.</summary>
public sealed class StockSnapshotFormatTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_snapshot_reads_back_as_the_stock_it_was_written_from()
    {
        var stock = Stock.Initial.Apply(new StockRestocked(Stock.MaxRestockQuantity));
        for (var i = 0; i < 3_000; i++)
        {
            var (order, at) = (new Guid(i + 1, 3, 3, new byte[8]), Now.AddSeconds(i));
            stock = stock.Reserve(order, 1 + (i % 3), at.AddMinutes(2), at).Aggregate(stock, (s, e) => s.Apply(e));
            stock = (i % 4) switch
            {
                0 => stock,
                1 => stock.Release(order, at.AddMinutes(2)).Aggregate(stock, (s, e) => s.Apply(e)),
                _ => stock.Commit(order, at.AddMinutes(2)).Aggregate(stock, (s, e) => s.Apply(e)),
            };
        }

        stock = stock.Apply(new StockReserved(Guid.NewGuid(), 2)).Apply(new StockReservationRejected(Guid.NewGuid(), 5, 1));
        Assert.True(stock.ForgottenThrough > DateTimeOffset.MinValue && stock.Closed.Count < 2_000, "the stock never swept");

        var read = StockSnapshotFormat.Read(StockSnapshotFormat.Write(stock));

        Assert.Equal(
            (stock.OnHand, stock.Reserved, stock.Sold, stock.Available, stock.ForgottenThrough, stock.NextSweepAt),
            (read.OnHand, read.Reserved, read.Sold, read.Available, read.ForgottenThrough, read.NextSweepAt));
        Assert.Equal(stock.Reservations.OrderBy(r => r.Key), read.Reservations.OrderBy(r => r.Key));
        Assert.Equal(stock.Closed.OrderBy(c => c.Key), read.Closed.OrderBy(c => c.Key));
    }

    [Theory]
    [InlineData("null")]
    [InlineData("""{"onHand":1,"reserved":0,"sold":0,"forgottenThrough":"2026-12-03T12:00:00+00:00","nextSweepAt":1024,"closed":{}}""")]
    [InlineData("[]")]
    public void An_unreadable_snapshot_is_refused(string json)
    {
        Assert.ThrowsAny<JsonException>(() => StockSnapshotFormat.Read(json));
    }
}
