using Confluent.Kafka;
using OrderPlatform.Contracts;
using OrderPlatform.Grains.EventSourcing;
using OrderPlatform.InvariantChecker.Tests.Infrastructure;
using OrderPlatform.KafkaMock;

namespace OrderPlatform.InvariantChecker.Tests;

/// <summary>Invariant 4 against the topics: librdkafka's mock cluster holds what a relay would have published.</summary>
[Collection(SharedPlatform.Name)]
public sealed class KafkaTests : IDisposable
{
    private readonly HealthyPlatform _platform;
    private readonly MockKafkaCluster _cluster = MockKafkaCluster.Create(brokers: 1);
    private readonly KafkaTopics _topics = new();

    public KafkaTests(HealthyPlatform platform)
    {
        _platform = platform;
        foreach (var topic in _topics.EventTopics)
        {
            _cluster.CreateTopic(topic, partitions: 3);
        }
    }

    [Fact]
    public async Task Every_event_on_its_topic_in_order_passes_and_duplicates_are_counted_not_failed()
    {
        var (connectionString, events) = await PlatformAsync();

        // The relay publishes at least once: a row republished after a crash shows up again later.
        await ProduceAsync([.. events, events[3]]);
        var run = await Checks.RunAsync(connectionString, "--kafka", _cluster.BootstrapServers);

        Checks.AssertPasses(run);
        var published = run["events-published"];
        Assert.Equal(9, published.Count("partitions read"));
        Assert.Equal(26, published.Count("messages"));
        Assert.Equal(25, published.Count("due on Kafka"));
        Assert.Equal(1, published.Count("duplicates on Kafka"));
        Assert.Equal(0, published.Rule("missing on Kafka").Violations);
    }

    [Fact]
    public async Task An_event_that_never_reached_Kafka_breaks_publication()
    {
        var (connectionString, events) = await PlatformAsync();
        var lost = events.Single(e => e.StreamId == StreamIds.Payment(HealthyPlatform.Completed) && e.Version == 2);

        await ProduceAsync([.. events.Where(e => e != lost)]);
        var run = await Checks.RunAsync(connectionString, "--kafka", _cluster.BootstrapServers);

        var violation = Checks.AssertOnlyViolation(run, "events-published", "missing on Kafka");
        Assert.Equal([$"{lost.StreamId} v2 payment.captured ({lost.EventId})"], violation.Examples);
    }

    [Fact]
    public async Task A_stream_whose_versions_go_back_on_Kafka_breaks_publication()
    {
        var (connectionString, events) = await PlatformAsync();
        var stream = StreamIds.Order(HealthyPlatform.Completed);
        var first = events.Single(e => e.StreamId == stream && e.Version == 1);
        var second = events.Single(e => e.StreamId == stream && e.Version == 2);

        await ProduceAsync([.. events.Select(e => e == first ? second : e == second ? first : e)]);
        var run = await Checks.RunAsync(connectionString, "--kafka", _cluster.BootstrapServers);

        var violation = Checks.AssertOnlyViolation(run, "events-published", "out of version order on Kafka");
        Assert.Single(violation.Examples);
        Assert.StartsWith($"{stream}: v1 first seen at {_topics.Orders}/", violation.Examples[0], StringComparison.Ordinal);
        Assert.EndsWith(", after v2", violation.Examples[0], StringComparison.Ordinal);
    }

    public void Dispose() => _cluster.Dispose();

    private async Task<(string ConnectionString, IReadOnlyList<EventEnvelope> Events)> PlatformAsync()
    {
        var connectionString = await _platform.CopyAsync();
        await using var writer = PlatformWriter.Open(connectionString);
        return (connectionString, [.. (await writer.PublishedEventsAsync()).Select(e => e.Envelope)]);
    }

    /// <summary>Produces envelopes as the relay does: on the aggregate's topic, keyed by stream id, one after the other.</summary>
    private async Task ProduceAsync(IReadOnlyList<EventEnvelope> envelopes)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = _cluster.BootstrapServers,
            Acks = Acks.All,
            MessageTimeoutMs = 30_000,
        }).Build();
        foreach (var envelope in envelopes)
        {
            var topic = _topics.ForAggregate(envelope.StreamId.Split('-', 2)[0])!;
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = envelope.StreamId, Value = envelope.ToUtf8() });
        }
    }
}
