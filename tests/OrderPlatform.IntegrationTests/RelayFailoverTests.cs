using System.Diagnostics;
using System.Text.Json;
using OrderPlatform.Contracts;
using OrderPlatform.IntegrationTests.Infrastructure;
using OrderPlatform.KafkaMock;

namespace OrderPlatform.IntegrationTests;

/// <summary>Relays in several silos share the outbox, and a killed silo's share is taken over without anyone stepping in.</summary>
public sealed class RelayFailoverTests : IAsyncLifetime
{
    private readonly KafkaTopics _topics = new();
    private MockKafkaCluster _kafka = null!;
    private string _connectionString = "";

    public async Task InitializeAsync()
    {
        _kafka = MockKafkaCluster.Create(brokers: 1);
        foreach (var topic in _topics.EventTopics.Append(_topics.DeadLetter))
        {
            _kafka.CreateTopic(topic, partitions: 4);
        }

        _connectionString = await (await PostgresServer.InstanceAsync()).CreateDatabaseAsync("relay");
    }

    public Task DisposeAsync()
    {
        _kafka.Dispose();
        return Task.CompletedTask;
    }

    private Task<SiloProcess> StartSiloAsync(string clusterId) =>
        SiloProcess.StartAsync(_connectionString, clusterId, new Dictionary<string, string>
        {
            ["Kafka__BootstrapServers"] = _kafka.BootstrapServers,
            ["Relay__PollInterval"] = "00:00:00.200",
            ["Relay__Retention"] = "00:00:00",
            ["Relay__PurgeInterval"] = "00:00:01",
        });

    private static async Task<JsonElement> RelayStatusAsync(SiloProcess silo) =>
        JsonDocument.Parse(await silo.Http.GetStringAsync("/relay/status")).RootElement.Clone();

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"{what} did not happen within {limit}.");
            }

            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Two_relays_split_the_shares_and_the_survivor_of_a_kill_takes_them_all_in_order_and_purges_published_rows()
    {
        var clusterId = $"relay-{Guid.NewGuid():N}"[..16];
        var a = await StartSiloAsync(clusterId);
        await using var b = await StartSiloAsync(clusterId);
        var api = new Platform(b.Http, _connectionString);

        // The shares are split between the two relays.
        await WaitAsync(async () =>
        {
            var (sa, sb) = ((await RelayStatusAsync(a)).GetProperty("sharesHeld").GetInt32(), (await RelayStatusAsync(b)).GetProperty("sharesHeld").GetInt32());
            return sa == 4 && sb == 4;
        }, "an even split of the 8 shares");

        await api.RestockAsync("RELAY-1", 1000);
        var orders = new List<Guid>();
        for (var i = 0; i < 10; i++)
        {
            orders.Add(await new Platform(i % 2 == 0 ? a.Http : b.Http, _connectionString).PlaceOrderAsync("tok_approve", Platform.Line("RELAY-1", 1)));
        }

        a.Kill();
        await a.DisposeAsync();
        await WaitAsync(async () => (await RelayStatusAsync(b)).GetProperty("sharesHeld").GetInt32() == 8, "the surviving relay taking all 8 shares");

        for (var i = 0; i < 10; i++)
        {
            orders.Add(await api.PlaceOrderAsync("tok_approve", Platform.Line("RELAY-1", 1)));
        }

        foreach (var order in orders)
        {
            await api.WaitUntilFinishedAsync(order);
        }

        await WaitAsync(async () => await api.ScalarAsync<long>("select count(*) from outbox where published_at is null") == 0, "an empty outbox backlog");
        // The status endpoint reports the backlog as last sampled (every poll interval).
        Assert.True((await RelayStatusAsync(b)).GetProperty("enabled").GetBoolean());
        await WaitAsync(async () => (await RelayStatusAsync(b)).GetProperty("backlog").GetInt64() == 0, "the reported backlog to reach 0");

        // Every event of every stream is on Kafka, its first sightings in version order.
        var stored = await api.ScalarAsync<long>("select count(*) from events where stream_id not like 'saga-%'");
        var records = new KafkaTopicReader(_kafka.BootstrapServers).ReadAll([.. _topics.EventTopics]);
        var envelopes = records.Select(r => (r, e: r.Envelope)).ToList();
        Assert.Equal(stored, envelopes.Select(x => x.e.EventId).Distinct().LongCount());
        foreach (var stream in envelopes.GroupBy(x => x.e.StreamId))
        {
            var firstSightings = stream.OrderBy(x => x.r.Offset).Select(x => x.e.Version).Distinct().ToList();
            Assert.Equal(Enumerable.Range(1, firstSightings.Count), firstSightings);
        }

        // Published rows are purged after the (zero) retention.
        await WaitAsync(async () => await api.ScalarAsync<long>("select count(*) from outbox") == 0, "the purge of published outbox rows");
    }
}
