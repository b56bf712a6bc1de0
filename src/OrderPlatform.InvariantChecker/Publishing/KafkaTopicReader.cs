using System.Diagnostics;
using Confluent.Kafka;

namespace OrderPlatform.InvariantChecker.Publishing;

/// <summary>What reading the topics found besides the messages.</summary>
internal sealed record KafkaReadSummary(int Partitions, long Messages, IReadOnlyList<string> MissingTopics, int TruncatedPartitions);

/// <summary>
/// Reads topics from their beginning to the end they have when the read starts, with a plain consumer: the
/// partitions are assigned, not subscribed, and no offset is committed, so no consumer group is disturbed.
/// </summary>
internal static class KafkaTopicReader
{
    /// <exception cref="KafkaException">The cluster could not be reached.</exception>
    /// <exception cref="TimeoutException">The topics were not read to their end within <paramref name="timeout"/>.</exception>
    public static KafkaReadSummary Read(
        string bootstrapServers, IReadOnlyList<string> topics, TimeSpan timeout, Action<ConsumeResult<string?, byte[]?>> onMessage, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan Left() => timeout - clock.Elapsed > TimeSpan.Zero ? timeout - clock.Elapsed : TimeSpan.Zero;

        // All topics' metadata: asking for one topic by name can make a broker create it.
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers, ClientId = "orderplatform-invariant-checker" }).Build();
        var metadata = admin.GetMetadata(Left());
        var partitions = new List<TopicPartition>();
        var missing = new List<string>();
        foreach (var topic in topics.Distinct(StringComparer.Ordinal))
        {
            var found = metadata.Topics.FirstOrDefault(t => t.Topic == topic && t.Error.Code == ErrorCode.NoError);
            if (found is null || found.Partitions.Count == 0)
            {
                missing.Add(topic);
                continue;
            }

            partitions.AddRange(found.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)));
        }

        using var consumer = new ConsumerBuilder<string?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            ClientId = "orderplatform-invariant-checker",
            GroupId = $"orderplatform-invariant-checker-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = true,
        }).Build();

        var ends = new Dictionary<TopicPartition, long>();
        var truncated = 0;
        foreach (var partition in partitions)
        {
            var watermarks = consumer.QueryWatermarkOffsets(partition, Left());
            truncated += watermarks.Low.Value > 0 ? 1 : 0;
            if (watermarks.High.Value > watermarks.Low.Value)
            {
                ends.Add(partition, watermarks.High.Value);
            }
        }

        long messages = 0;
        consumer.Assign(ends.Keys.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        while (ends.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var left = Left();
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException(
                    $"Kafka: not read to the end within {timeout.TotalSeconds:0} s; still waiting on {string.Join(", ", ends.Keys.Take(5).Select(p => $"{p.Topic}/{p.Partition.Value}"))}.");
            }

            // Short polls, so a cancellation is seen within half a second.
            var result = consumer.Consume(left < TimeSpan.FromMilliseconds(500) ? left : TimeSpan.FromMilliseconds(500));
            if (result is null)
            {
                continue;
            }

            if (!ends.TryGetValue(result.TopicPartition, out var end))
            {
                continue;
            }

            if (!result.IsPartitionEOF && result.Offset.Value < end)
            {
                messages++;
                onMessage(result);
            }

            // Past the end of the read (messages produced since it started, or the end reached): this partition is done.
            if (result.Offset.Value + (result.IsPartitionEOF ? 0 : 1) >= end)
            {
                ends.Remove(result.TopicPartition);
                consumer.IncrementalUnassign([result.TopicPartition]);
            }
        }

        consumer.Close();
        return new KafkaReadSummary(partitions.Count, messages, missing, truncated);
    }
}
