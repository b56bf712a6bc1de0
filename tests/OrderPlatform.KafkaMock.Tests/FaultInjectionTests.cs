using System.Collections.Concurrent;
using System.Globalization;
using Confluent.Kafka;
using OrderPlatform.KafkaMock.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrderPlatform.KafkaMock.Tests;

/// <summary>Brokers that go away and requests that fail: what the idempotent producer must survive.</summary>
public sealed class FaultInjectionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_broker_down_for_a_while_delays_its_partition_but_loses_and_reorders_nothing()
    {
        const int partitions = 3;
        const int before = 50, during = 20, after = 50;
        using var cluster = MockKafkaCluster.Create(brokers: 3);
        cluster.CreateTopic("order-events", partitions, replicationFactor: 3);

        // One leader per broker, so taking broker 1 down stalls exactly partition 0.
        for (var partition = 0; partition < partitions; partition++)
        {
            cluster.SetPartitionLeader("order-events", partition, brokerId: partition + 1);
        }

        var producerLog = new ConcurrentQueue<LogMessage>();
        using var producer = Clients.IdempotentProducer(cluster.BootstrapServers, builder: b => b.SetLogHandler((_, m) => producerLog.Enqueue(m)));
        var sequence = new int[partitions];
        List<Task<DeliveryResult<string, string>>> ProduceToEachPartition(int rounds) =>
            Enumerable.Range(0, rounds).SelectMany(_ => Enumerable.Range(0, partitions).Select(p =>
                producer.ProduceAsync(new TopicPartition("order-events", p), Clients.Message($"partition-{p}", $"{sequence[p]++}")))).ToList();

        await Eventually.CompletesAsync(Task.WhenAll(ProduceToEachPartition(before)), Clients.Generous, "the deliveries before the broker goes down");
        string brokerOne;
        using (var admin = Clients.Admin(cluster.BootstrapServers))
        {
            var broker = admin.GetMetadata(Clients.Generous).Brokers.Single(b => b.BrokerId == 1);
            brokerOne = $"{broker.Host}:{broker.Port}/1";
        }

        // The outage spans two seconds of steady production, one message per partition every 100 ms.
        cluster.SetBrokerDown(1);
        var whileDown = new List<Task<DeliveryResult<string, string>>>();
        using (var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(100)))
        {
            for (var tick = 0; tick < during; tick++)
            {
                whileDown.AddRange(ProduceToEachPartition(1));
                await pace.WaitForNextTickAsync();
            }
        }

        await Eventually.CompletesAsync(Task.WhenAll(whileDown.Where(d => PartitionOf(d) != 0).ToList()), Clients.Generous,
            "the partitions of the brokers still up to take the messages produced while broker 1 is down");
        await Eventually.HoldsAsync(() => producerLog.Any(m => m.Facility == "FAIL" && m.Message.Contains(brokerOne, StringComparison.Ordinal)),
            $"the producer to log that it lost its connection to {brokerOne}", Clients.Generous, Clients.Poll);
        Assert.All(whileDown.Where(d => PartitionOf(d) == 0), d => Assert.False(d.IsCompleted, "partition 0 delivered while its leader was down"));

        cluster.SetBrokerUp(1);
        var afterUp = ProduceToEachPartition(after);
        await Eventually.CompletesAsync(Task.WhenAll(whileDown.Concat(afterUp)), Clients.Generous, "every delivery after broker 1 came back");
        output.WriteLine(string.Join(Environment.NewLine, producerLog.Select(m => $"{m.Level} {m.Facility} {m.Message}")));

        using var consumer = Clients.GroupConsumer(cluster.BootstrapServers, "after-outage");
        consumer.Subscribe("order-events");
        const int perPartition = before + during + after;
        var received = Clients.ConsumeAndCommit(consumer, partitions * perPartition, Clients.Generous);

        Assert.All(received.GroupBy(r => r.Partition.Value), partition => Assert.Equal(
            Enumerable.Range(0, perPartition).Select(i => i.ToString(CultureInfo.InvariantCulture)),
            partition.Select(r => r.Message.Value)));
        Assert.Equal(partitions * perPartition, Clients.MessagesInLog(consumer, "order-events", partitions));
        consumer.Close();

        int PartitionOf(Task<DeliveryResult<string, string>> delivery) => whileDown.IndexOf(delivery) % partitions;
    }

    [Theory]
    [InlineData(ErrorCode.NotLeaderForPartition)]
    [InlineData(ErrorCode.RequestTimedOut)]
    public async Task Injected_retriable_produce_errors_are_retried_without_duplicates_or_reordering(ErrorCode error)
    {
        const int messages = 500;
        using var cluster = MockKafkaCluster.Create(brokers: 3);
        cluster.CreateTopic("payment-events", partitions: 2, replicationFactor: 3);
        using var producer = Clients.IdempotentProducer(cluster.BootstrapServers);
        await Eventually.CompletesAsync(producer.ProduceAsync("payment-events", Clients.Message("warm-up", "0")), Clients.Generous,
            "a first delivery, so the producer id and metadata are in place");

        // One message against three failures: exactly four Produce requests, three of them retries.
        cluster.StartRequestTracking();
        cluster.PushRequestErrors(KafkaApiKey.Produce, error, error, error);
        var single = await Eventually.CompletesAsync(producer.ProduceAsync("payment-events", Clients.Message("payment-retried", "0")), Clients.Generous,
            $"a message whose first three Produce requests fail with {error}");
        Assert.Equal(PersistenceStatus.Persisted, single.Status);
        Assert.Equal(4, cluster.GetTrackedRequests().Count(r => r.ApiKey == KafkaApiKey.Produce));

        // A burst with failures between successes, so retries overlap with requests in flight.
        cluster.PushRequestErrors(KafkaApiKey.Produce, ErrorCode.NoError, error, ErrorCode.NoError, ErrorCode.NoError, error, error);
        var produced = Enumerable.Range(1, messages).Select(i => Clients.Message($"payment-{i % 10}", $"{i / 10}")).ToList();
        var burst = produced.Select(m => producer.ProduceAsync("payment-events", m)).ToList();
        await Eventually.CompletesAsync(Task.WhenAll(burst), Clients.Generous, $"{messages} deliveries with {error} injected");
        cluster.StopRequestTracking();

        using var consumer = Clients.GroupConsumer(cluster.BootstrapServers, "payments-read-model");
        consumer.Subscribe("payment-events");
        var received = Clients.ConsumeAndCommit(consumer, messages + 2, Clients.Generous);

        Assert.Equal(messages + 2, Clients.MessagesInLog(consumer, "payment-events", partitions: 2));
        Assert.All(produced.GroupBy(m => m.Key), stream => Assert.Equal(
            stream.Select(m => m.Value),
            received.Where(r => r.Message.Key == stream.Key).Select(r => r.Message.Value)));
        consumer.Close();
    }

    [Fact]
    public async Task A_late_produce_response_is_retried_and_the_mock_keeps_both_copies_a_known_limitation()
    {
        using var cluster = MockKafkaCluster.Create(brokers: 1);
        cluster.CreateTopic("order-events", partitions: 1);
        var producerLog = new ConcurrentQueue<LogMessage>();

        // socket.timeout.ms bounds how long a Produce request may wait for its answer.
        using var impatient = Clients.IdempotentProducer(cluster.BootstrapServers,
            config => config.SocketTimeoutMs = 500, builder => builder.SetLogHandler((_, m) => producerLog.Enqueue(m)));
        await Eventually.CompletesAsync(impatient.ProduceAsync("order-events", Clients.Message("order-1", "placed")), Clients.Generous, "the first delivery");

        // The broker appends at once but answers after 5 s, long after the producer gave up on the request.
        cluster.SetBrokerRoundTripTime(1, TimeSpan.FromSeconds(5));
        var late = impatient.ProduceAsync("order-events", Clients.Message("order-1", "confirmed"));
        await Eventually.HoldsAsync(() => producerLog.Any(m => m.Facility == "REQTMOUT"), "the Produce request to time out at the producer", Clients.Generous, Clients.Poll);
        cluster.SetBrokerRoundTripTime(1, TimeSpan.Zero);
        var delivered = await Eventually.CompletesAsync(late, Clients.Generous, "the retried delivery");
        Assert.Equal(PersistenceStatus.Persisted, delivered.Status);

        using var consumer = Clients.GroupConsumer(cluster.BootstrapServers, "duplicates");

        // A real broker drops the retry by its producer sequence number; the mock checks sequences only for
        // transactional producers. If this starts failing, librdkafka fixed it: update MockKafkaCluster's remarks.
        Assert.Equal(3, Clients.MessagesInLog(consumer, "order-events", partitions: 1));
        consumer.Subscribe("order-events");
        Assert.Equal(["placed", "confirmed", "confirmed"], Clients.ConsumeAndCommit(consumer, 3, Clients.Generous).Select(r => r.Message.Value));
        consumer.Close();
    }
}
