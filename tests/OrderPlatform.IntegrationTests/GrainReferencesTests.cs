using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrderPlatform.Grains;
using OrderPlatform.Grains.Checkout;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// <see cref="GrainReferences"/> makes references without Orleans' per-call type resolution. They must name the same
/// grain, through the same interface, as Orleans' own references: on the first call for an interface (which learns
/// its grain type) and on later ones (which use it), for guid and string keys. The grain factory is a real silo's,
/// in this process; no grain is activated.
/// </summary>
public sealed class GrainReferencesTests
{
    [Fact]
    public async Task References_name_the_same_grains_as_those_of_the_grain_factory()
    {
        // The grain classes' assembly is loaded, so the silo finds the grain types behind the interfaces.
        Assert.NotNull(typeof(OrderSagaGrain).Assembly);
        using var host = new HostBuilder()
            .UseOrleans(silo => silo.UseLocalhostClustering(PostgresServer.FreePort(), PostgresServer.FreePort(), serviceId: "grain-references", clusterId: "grain-references"))
            .Build();
        await host.StartAsync();
        try
        {
            var grains = host.Services.GetRequiredService<IGrainFactory>();
            foreach (var orderId in new[] { Guid.NewGuid(), Guid.NewGuid(), Guid.Empty })
            {
                AssertSame(grains.GetGrain<IOrderSagaGrain>(orderId), grains.Get<IOrderSagaGrain>(orderId));
                AssertSame(grains.GetGrain<IOrderGrain>(orderId), grains.Get<IOrderGrain>(orderId));
                AssertSame(grains.GetGrain<IPaymentGrain>(orderId), grains.Get<IPaymentGrain>(orderId));

                // One key, three grain types: three different grains.
                Assert.Equal(3, new[] { Id(grains.Get<IOrderSagaGrain>(orderId)), Id(grains.Get<IOrderGrain>(orderId)), Id(grains.Get<IPaymentGrain>(orderId)) }.Distinct().Count());
            }

            foreach (var sku in new[] { "sku-a", "sku-b", "SKU-A" })
            {
                AssertSame(grains.GetGrain<IInventoryGrain>(sku), grains.Get<IInventoryGrain>(sku));
            }

            Assert.NotEqual(Id(grains.Get<IInventoryGrain>("sku-a")), Id(grains.Get<IInventoryGrain>("SKU-A")));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static GrainId Id(object reference) => ((GrainReference)reference).GrainId;

    private static void AssertSame(object expected, object actual)
    {
        var (e, a) = ((GrainReference)expected, (GrainReference)actual);
        Assert.Equal(e.GrainId, a.GrainId);
        Assert.Equal(e.InterfaceType, a.InterfaceType);
        Assert.Equal(expected.GetType(), actual.GetType());
        Assert.Equal(e, a);
    }
}
