using System.Diagnostics;
using Confluent.Kafka;

namespace OrderPlatform.KafkaMock.Tests.Infrastructure;

/// <summary>Real Confluent.Kafka clients, configured the way the outbox relay and the consumers use Kafka.</summary>
internal static class Clients
{
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    /// <summary>How often a wait looks at what the clients hold in memory (their logs, counters).</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    public static IProducer<string, string> IdempotentProducer(
        string bootstrapServers,
        Action<ProducerConfig>? config = null,
        Action<ProducerBuilder<string, string>>? builder = null)
    {
        var producerConfig = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,

            // Fails a test in seconds, not after the five-minute default, when a message cannot be delivered.
            MessageTimeoutMs = 45_000,
        };
        config?.Invoke(producerConfig);
        var producerBuilder = new ProducerBuilder<string, string>(producerConfig);
        builder?.Invoke(producerBuilder);
        return producerBuilder.Build();
    }

    public static IConsumer<string, string> GroupConsumer(string bootstrapServers, string groupId) =>
        new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = groupId,
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();

    public static IAdminClient Admin(string bootstrapServers) =>
        new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();

    public static TopicMetadata Topic(IAdminClient admin, string topic)
    {
        var metadata = admin.GetMetadata(topic, Generous).Topics.Single();
        Assert.Equal(ErrorCode.NoError, metadata.Error.Code);
        return metadata;
    }

    /// <summary>Consumes until <paramref name="count"/> messages arrived, then commits them.</summary>
    public static List<ConsumeResult<string, string>> ConsumeAndCommit(IConsumer<string, string> consumer, int count, TimeSpan timeout)
    {
        var received = new List<ConsumeResult<string, string>>(count);
        var waited = Stopwatch.StartNew();
        while (received.Count < count)
        {
            var left = timeout - waited.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds:0.#} s for {count} messages from {string.Join(", ", consumer.Subscription)}, got {received.Count}.");
            }

            if (consumer.Consume(left) is { } result)
            {
                received.Add(result);
            }
        }

        consumer.Commit();
        return received;
    }

    /// <summary>How many messages the partitions of <paramref name="topic"/> hold: duplicates would show here.</summary>
    public static long MessagesInLog(IConsumer<string, string> consumer, string topic, int partitions) =>
        Enumerable.Range(0, partitions)
            .Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), Generous))
            .Sum(w => w.High.Value - w.Low.Value);

    public static Message<string, string> Message(string key, string value) => new() { Key = key, Value = value };
}
