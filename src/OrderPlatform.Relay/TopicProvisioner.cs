using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;

namespace OrderPlatform.Relay;

/// <summary>Creates the platform's topics at start-up when they are missing (existing topics are left as they are).</summary>
public static class TopicProvisioner
{
    public static async Task EnsureTopicsAsync(KafkaOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var topics = options.Topics.EventTopics.Append(options.Topics.DeadLetter).Distinct(StringComparer.Ordinal).ToList();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = options.BootstrapServers, ClientId = options.ClientId + "-admin" }).Build();

                // Ask first: creating needs the controller, and existing topics need nothing.
                var existing = admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics
                    .Where(t => t.Error.Code == ErrorCode.NoError && t.Partitions.Count > 0)
                    .Select(t => t.Topic)
                    .ToHashSet(StringComparer.Ordinal);
                var missing = topics.Where(t => !existing.Contains(t)).ToList();
                if (missing.Count == 0)
                {
                    return;
                }

                await admin.CreateTopicsAsync(
                    missing.Select(t => new TopicSpecification { Name = t, NumPartitions = options.TopicPartitions, ReplicationFactor = options.ReplicationFactor }),
                    new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(10) });
                logger.LogInformation("Created Kafka topics {Topics}.", string.Join(", ", missing));
                return;
            }
            catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
            {
                return;
            }
            catch (KafkaException e) when (!cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning("Kafka topics could not be checked yet (attempt {Attempt}): {Message}", attempt, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 10)), cancellationToken);
            }
        }
    }
}
