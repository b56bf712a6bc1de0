using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using OrderPlatform.Contracts;
using OrderPlatform.KafkaMock;

namespace OrderPlatform.IntegrationTests.Infrastructure;

/// <summary>A database, librdkafka's mock Kafka cluster (3 brokers, real protocol over TCP), a silo with the relay, and the consumer.</summary>
public sealed class KafkaPlatformFixture : IAsyncLifetime
{
    public const string Schema = "projections";

    public MockKafkaCluster Kafka { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public SiloProcess Silo { get; private set; } = null!;

    public ConsumerProcess Consumer { get; set; } = null!;

    public string ConsumerGroup { get; } = $"projections-{Guid.NewGuid():N}";

    public KafkaTopics Topics { get; } = new();

    /// <summary>How far the silo's relay counts its backlog: small, so that a broker outage in a test goes past it.</summary>
    public const int BacklogCountLimit = 5;

    public Platform Api => new(Silo.Http, ConnectionString);

    /// <summary>The silo's <c>GET /relay/status</c>.</summary>
    public async Task<JsonElement> RelayStatusAsync() =>
        JsonDocument.Parse(await Silo.Http.GetStringAsync(new Uri("/relay/status", UriKind.Relative))).RootElement.Clone();

    public async Task InitializeAsync()
    {
        Kafka = MockKafkaCluster.Create(brokers: 3);
        foreach (var topic in Topics.EventTopics.Append(Topics.DeadLetter))
        {
            Kafka.CreateTopic(topic, partitions: 6);
        }

        ConnectionString = await (await PostgresServer.InstanceAsync()).CreateDatabaseAsync("kafka");
        Silo = await SiloProcess.StartAsync(ConnectionString, $"kafka-{Guid.NewGuid():N}"[..16], new Dictionary<string, string>
        {
            ["Kafka__BootstrapServers"] = Kafka.BootstrapServers,
            ["Relay__PollInterval"] = "00:00:00.200",
            ["Relay__DeliveryTimeout"] = "00:01:00",
            ["Relay__BacklogCountLimit"] = BacklogCountLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        Consumer = ConsumerProcess.Start(ConnectionString, Kafka.BootstrapServers, Schema, ConsumerGroup);
    }

    public async Task DisposeAsync()
    {
        await Consumer.DisposeAsync();
        await Silo.DisposeAsync();
        Kafka.Dispose();
    }

    /// <summary>Waits until the outbox holds no unpublished row.</summary>
    public async Task WaitForEmptyOutboxAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var clock = Stopwatch.StartNew();
        long backlog = -1;
        while (clock.Elapsed < limit)
        {
            backlog = await Api.ScalarAsync<long>("select count(*) from outbox where published_at is null");
            if (backlog == 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The outbox still had {backlog} unpublished rows after {limit}.");
    }

    /// <summary>Waits until the consumer's inbox holds every given event id.</summary>
    public async Task WaitForConsumerAsync(IReadOnlyCollection<Guid> eventIds, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var clock = Stopwatch.StartNew();
        long applied = 0;
        while (clock.Elapsed < limit)
        {
            applied = await ConsumerCountAsync($"select count(*) from {Schema}.inbox where event_id = any($1)", (object)eventIds.ToArray());
            if (applied == eventIds.Count)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The consumer applied {applied} of {eventIds.Count} events within {limit}.");
    }

    /// <summary>
    /// A count from the consumer's tables, 0 while they do not exist: the consumer creates them when its process has
    /// started, which on a busy machine can take longer than a test takes to get here.
    /// </summary>
    private async Task<long> ConsumerCountAsync(string sql, params object[] parameters)
    {
        try
        {
            return await Api.ScalarAsync<long>(sql, parameters);
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == Npgsql.PostgresErrorCodes.UndefinedTable)
        {
            return 0;
        }
    }

    /// <summary>Every message now on the given topics, read from the beginning with a plain consumer.</summary>
    public List<KafkaRecord> ReadAll(params string[] topics) => new KafkaTopicReader(Kafka.BootstrapServers).ReadAll(topics);

    /// <summary>
    /// Waits until the consumer has recorded a message of <paramref name="topic"/> as parked, which it does after the
    /// dead-letter topic acknowledged it. A poison message's partition is consumed apart from the others, so events
    /// consumed after it say nothing about when it is parked.
    /// </summary>
    public async Task WaitForDeadLetterAsync(string topic, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (await ConsumerCountAsync($"select count(*) from {Schema}.dead_letters where kafka_topic = $1", topic) > 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The consumer parked no message of {topic} within {limit}.");
    }
}

public sealed record KafkaRecord(string Topic, int Partition, long Offset, string? Key, byte[] Value, IReadOnlyDictionary<string, string> Headers)
{
    public EventEnvelope Envelope => EventEnvelope.Parse(Value);

    /// <summary>The envelope, or null for a message that is not one (the poison message a test planted).</summary>
    public EventEnvelope? TryEnvelope()
    {
        try
        {
            return EventEnvelope.Parse(Value);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}

/// <summary>Reads whole topics from the beginning to their current end.</summary>
public sealed class KafkaTopicReader(string bootstrapServers)
{
    /// <summary>Every message now on the given topics, read from the beginning with a plain consumer.</summary>
    public List<KafkaRecord> ReadAll(params string[] topics)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
        using var consumer = new ConsumerBuilder<string?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"reader-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
        }).Build();
        var partitions = metadata.Topics.Where(t => topics.Contains(t.Topic))
            .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p.PartitionId))).ToList();
        var ends = partitions.ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).High.Value);
        var remaining = ends.Where(e => e.Value > 0).Select(e => e.Key).ToHashSet();
        consumer.Assign(remaining.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        var records = new List<KafkaRecord>();
        while (remaining.Count > 0)
        {
            var result = consumer.Consume(TimeSpan.FromSeconds(30)) ?? throw new TimeoutException($"Reading topics stalled with {remaining.Count} partitions left.");
            records.Add(new KafkaRecord(
                result.Topic,
                result.Partition.Value,
                result.Offset.Value,
                result.Message.Key,
                result.Message.Value ?? [],
                (result.Message.Headers ?? []).ToDictionary(h => h.Key, h => Encoding.UTF8.GetString(h.GetValueBytes()))));
            if (result.Offset.Value + 1 >= ends[result.TopicPartition])
            {
                remaining.Remove(result.TopicPartition);
            }
        }

        consumer.Close();
        return records;
    }
}
