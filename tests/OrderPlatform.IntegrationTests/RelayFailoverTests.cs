using System.Text.Json;
using Npgsql;
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

    private Task<SiloProcess> StartSiloAsync(string clusterId, string pollInterval = "00:00:00.200", bool deleteOnPublish = false) =>
        SiloProcess.StartAsync(_connectionString, clusterId, new Dictionary<string, string>
        {
            ["Kafka__BootstrapServers"] = _kafka.BootstrapServers,
            ["Relay__PollInterval"] = pollInterval,
            ["Relay__Retention"] = "00:00:00",
            ["Relay__PurgeInterval"] = "00:00:01",
            ["Relay__DeleteOnPublish"] = deleteOnPublish ? "true" : "false",
        });

    private static async Task<JsonElement> RelayStatusAsync(SiloProcess silo) =>
        JsonDocument.Parse(await silo.Http.GetStringAsync("/relay/status")).RootElement.Clone();

    private static Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null) =>
        Eventually.HoldsAsync(condition, what, timeout);

    [Fact]
    public async Task Two_relays_split_the_shares_and_the_survivor_of_a_kill_takes_them_all_in_order_and_purges_published_rows()
    {
        var clusterId = $"relay-{Guid.NewGuid():N}"[..16];
        await using var a = await StartSiloAsync(clusterId);
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_relay_reads_from_a_floor_that_never_passes_a_row_still_being_written(bool deleteOnPublish)
    {
        // A long poll interval: only the relay's own reads find rows, and the once-per-interval full read cannot hide a
        // floor that skipped a row.
        await using var silo = await StartSiloAsync($"floor-{Guid.NewGuid():N}"[..16], pollInterval: "00:01:00", deleteOnPublish);
        var api = new Platform(silo.Http, _connectionString);
        await WaitAsync(async () => (await RelayStatusAsync(silo)).GetProperty("sharesHeld").GetInt32() == 8, "the relay holding all 8 shares");
        Assert.Equal(deleteOnPublish ? "deleted" : "marked", (await RelayStatusAsync(silo)).GetProperty("publishedRows").GetString());
        await api.RestockAsync("FLOOR-1", 1000);
        async Task OrderAndPublishAsync()
        {
            await api.WaitUntilFinishedAsync(await api.PlaceOrderAsync("tok_approve", Platform.Line("FLOOR-1", 1)));
            await WaitAsync(async () => await api.ScalarAsync<long>("select count(*) from outbox where published_at is null") == 0, "an empty outbox backlog");
        }

        for (var i = 0; i < 3; i++)
        {
            await OrderAndPublishAsync();
        }

        await WaitAsync(async () => ScanFloor(await RelayStatusAsync(silo)) > 0, "the relay's reads to start past the published rows");

        // A writer takes an outbox id and has not committed yet; later rows are committed and published meanwhile.
        await using var held = new NpgsqlConnection(_connectionString);
        await held.OpenAsync();
        await using var transaction = await held.BeginTransactionAsync();
        var heldStream = $"order-{Guid.NewGuid()}";
        await using (var insert = new NpgsqlCommand(
            """
            with e as (insert into events (stream_id, version, event_id, event_type, schema_version, data, recorded_at)
                       values ($1, 1, gen_random_uuid(), 'order.placed', 1, '{}', now()) returning global_position)
            insert into outbox (global_position, stream_id, version, aggregate_type, created_at)
            select global_position, $1, 1, 'order', now() from e returning id
            """, held, transaction))
        {
            insert.Parameters.AddWithValue(heldStream);
            var heldId = (long)(await insert.ExecuteScalarAsync())!;
            for (var i = 0; i < 2; i++)
            {
                await OrderAndPublishAsync();
            }

            // Rows above the held one were published: marked (and kept until the purge), or deleted.
            var keptAbove = await api.ScalarAsync<long>("select count(*) from outbox where id > $1", heldId);
            Assert.True(deleteOnPublish ? keptAbove == 0 : keptAbove > 0, $"{keptAbove} rows above the held one");
            Assert.True(await api.ScalarAsync<long>("select last_value from outbox_id_seq") > heldId);
            Assert.InRange(ScanFloor(await RelayStatusAsync(silo)), 0, heldId);

            // Committed late, below ids already published: the relay's next read still finds it.
            await transaction.CommitAsync();
            await WaitAsync(
                async () => await api.ScalarAsync<long>("select count(*) from outbox where id = $1 and published_at is null", heldId) == 0,
                "the late row's publication", TimeSpan.FromSeconds(20));
            Assert.Equal(deleteOnPublish ? 0 : 1, await api.ScalarAsync<long>("select count(*) from outbox where id = $1", heldId));

            // And the floor moves past it once the relay has published more.
            await OrderAndPublishAsync();
            await WaitAsync(async () => ScanFloor(await RelayStatusAsync(silo)) > heldId, "the floor to pass the late row");
        }

        var records = new KafkaTopicReader(_kafka.BootstrapServers).ReadAll([_topics.Orders]);
        Assert.Single(records, r => r.Key == heldStream);
    }

    private static long ScanFloor(JsonElement status) => status.GetProperty("scanFloor").GetInt64();
}
