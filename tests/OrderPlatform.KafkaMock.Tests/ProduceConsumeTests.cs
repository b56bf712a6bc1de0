using System.Diagnostics;
using Confluent.Kafka;
using OrderPlatform.KafkaMock.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrderPlatform.KafkaMock.Tests;

/// <summary>The happy path the outbox relay and the consumers rely on, over TCP against the mock.</summary>
public sealed class ProduceConsumeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Messages_from_an_idempotent_producer_come_back_to_a_group_once_each_and_in_order_per_key()
    {
        const int keys = 20;
        const int perKey = 100;
        using var cluster = MockKafkaCluster.Create();
        cluster.CreateTopic("order-events", partitions: 4, replicationFactor: 3);

        using (var producer = Clients.IdempotentProducer(cluster.BootstrapServers))
        {
            var deliveries = new List<Task<DeliveryResult<string, string>>>();
            for (var version = 0; version < perKey; version++)
            {
                for (var key = 0; key < keys; key++)
                {
                    deliveries.Add(producer.ProduceAsync("order-events", Clients.Message($"order-{key}", $"{version}")));
                }
            }

            var delivered = await Eventually.CompletesAsync(Task.WhenAll(deliveries), Clients.Generous, $"{deliveries.Count} deliveries");
            Assert.All(delivered, d => Assert.Equal(PersistenceStatus.Persisted, d.Status));
        }

        using var consumer = Clients.GroupConsumer(cluster.BootstrapServers, "read-model");
        consumer.Subscribe("order-events");
        var received = Clients.ConsumeAndCommit(consumer, keys * perKey, Clients.Generous);

        // Per key: every version once, in the order produced; per partition: offsets only go up.
        Assert.All(received.GroupBy(r => r.Message.Key), stream =>
            Assert.Equal(Enumerable.Range(0, perKey), stream.Select(r => int.Parse(r.Message.Value, System.Globalization.CultureInfo.InvariantCulture))));
        Assert.All(received.GroupBy(r => r.Partition.Value), partition =>
            Assert.Equal(partition.Select(r => r.Offset.Value).Order(), partition.Select(r => r.Offset.Value)));
        Assert.Equal(keys * perKey, Clients.MessagesInLog(consumer, "order-events", partitions: 4));

        // The manual commit reached the group coordinator: the committed offsets are the ends of the partitions.
        var committed = consumer.Committed(consumer.Assignment, Clients.Generous);
        Assert.All(committed, c => Assert.Equal(
            consumer.QueryWatermarkOffsets(c.TopicPartition, Clients.Generous).High, c.Offset));
        consumer.Close();
    }

    [Fact]
    public async Task A_consumer_group_gets_its_assignment_and_first_message_without_the_rebalance_delay()
    {
        using var cluster = MockKafkaCluster.Create();
        cluster.CreateTopic("payments", partitions: 2);
        using (var producer = Clients.IdempotentProducer(cluster.BootstrapServers))
        {
            await Eventually.CompletesAsync(producer.ProduceAsync("payments", Clients.Message("payment-1", "authorized")), Clients.Generous, "the delivery of one message");
        }

        using var consumer = Clients.GroupConsumer(cluster.BootstrapServers, "payments-projection");
        var joining = Stopwatch.StartNew();
        consumer.Subscribe("payments");
        var first = Clients.ConsumeAndCommit(consumer, 1, Clients.Generous).Single();
        output.WriteLine($"Joined the group and consumed the first message in {joining.ElapsedMilliseconds} ms.");

        Assert.Equal(("payment-1", "authorized"), (first.Message.Key, first.Message.Value));
        Assert.Equal(2, consumer.Assignment.Count);
        consumer.Close();
    }
    [Fact]
    public async Task The_initial_rebalance_delay_holds_back_a_new_groups_first_assignment()
    {
        var delay = TimeSpan.FromSeconds(1.5);
        using var cluster = MockKafkaCluster.Create();
        cluster.SetGroupInitialRebalanceDelay(delay);
        using (var producer = Clients.IdempotentProducer(cluster.BootstrapServers))
        {
            await Eventually.CompletesAsync(producer.ProduceAsync("payments", Clients.Message("payment-1", "authorized")), Clients.Generous, "the delivery of one message");
        }

        using var consumer = Clients.GroupConsumer(cluster.BootstrapServers, "delayed-projection");
        var joining = Stopwatch.StartNew();
        consumer.Subscribe("payments");
        Clients.ConsumeAndCommit(consumer, 1, Clients.Generous);

        // Only a lower bound: the delay is the mock's doing, so nothing can make the join come sooner.
        Assert.True(joining.Elapsed >= delay, $"The group was assigned after {joining.ElapsedMilliseconds} ms, within the {delay} delay.");
        consumer.Close();
    }
}
