using Confluent.Kafka;
using OrderPlatform.Contracts;

namespace OrderPlatform.Projections;

/// <summary>
/// Rebuilds the read models from scratch: empties them and the inbox, then reads every topic from its
/// beginning up to the end it has now, applying each event as the live consumer would. Commits no offsets,
/// so it never disturbs the consumer group.
/// </summary>
public sealed class Rebuild(ReadModelProjector projector, ConsumerKafkaOptions kafka, ILogger<Rebuild> logger)
{
    public async Task<long> RunAsync(string schema, CancellationToken cancellationToken)
    {
        await projector.EnsureSchemaAsync(schema, cancellationToken);
        await projector.ResetAsync(schema, cancellationToken);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
        var partitions = metadata.Topics
            .Where(t => kafka.Topics.EventTopics.Contains(t.Topic))
            .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p.PartitionId)))
            .ToList();

        using var consumer = new ConsumerBuilder<string?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = $"rebuild-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
        }).Build();

        var watermarks = partitions.ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)));
        var ends = watermarks.ToDictionary(w => w.Key, w => w.Value.High.Value);

        // A partition whose messages retention already removed (low = high) has nothing to read.
        var remaining = watermarks.Where(w => w.Value.High.Value > w.Value.Low.Value).Select(w => w.Key).ToHashSet();
        consumer.Assign(remaining.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));

        long applied = 0;
        while (remaining.Count > 0)
        {
            var result = consumer.Consume(TimeSpan.FromSeconds(30)) ?? throw new TimeoutException("No message within 30 s while rebuilding; is the cluster up?");
            if (result.Message?.Value is { } value)
            {
                try
                {
                    var outcome = await projector.ApplyAsync(schema, EventEnvelope.Parse(value), new MessageSource(result.Topic, result.Partition.Value, result.Offset.Value), cancellationToken);
                    applied += outcome == ApplyOutcome.Applied ? 1 : 0;
                }
                catch (System.Text.Json.JsonException e)
                {
                    logger.LogWarning("Skipping unreadable message {Topic}/{Partition}@{Offset}: {Message}", result.Topic, result.Partition.Value, result.Offset.Value, e.Message);
                }
            }

            if (result.Offset.Value + 1 >= ends[result.TopicPartition])
            {
                remaining.Remove(result.TopicPartition);
                consumer.IncrementalUnassign([result.TopicPartition]);
            }
        }

        consumer.Close();
        return applied;
    }
}
