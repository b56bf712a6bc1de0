using System.Text.Json;
using Confluent.Kafka;
using OrderPlatform.Contracts;
using OrderPlatform.InvariantChecker.Reporting;

namespace OrderPlatform.InvariantChecker.Publishing;

/// <summary>
/// What the event topics hold, message by message in partition order: each event id's first sighting, and per
/// stream (the message key) whether the versions' first sightings only go up. Duplicates are information: the
/// relay publishes at least once (docs/events.md).
/// </summary>
internal sealed class KafkaSightings(KafkaTopics topics, Rule outOfOrder, Rule misrouted)
{
    private readonly Dictionary<Guid, (string StreamId, int Version, string Type)> _byEventId = [];
    private readonly Dictionary<string, StreamProgress> _byStream = new(StringComparer.Ordinal);

    public long Duplicates { get; private set; }

    public long Unreadable { get; private set; }

    public int DistinctEvents => _byEventId.Count;

    public bool TryGet(Guid eventId, out (string StreamId, int Version, string Type) sighting) => _byEventId.TryGetValue(eventId, out sighting);

    public void Observe(ConsumeResult<string?, byte[]?> message)
    {
        var where = $"{message.Topic}/{message.Partition.Value}@{message.Offset.Value}";
        EventEnvelope envelope;
        try
        {
            envelope = message.Message.Value is { } value ? EventEnvelope.Parse(value) : throw new JsonException("no value");
        }
        catch (JsonException)
        {
            // A consumer parks such a message on the dead-letter topic; it is no platform event.
            Unreadable++;
            return;
        }

        var expectedTopic = envelope.StreamId.Split('-', 2)[0] switch
        {
            "order" => topics.Orders,
            "stock" => topics.Inventory,
            "payment" => topics.Payments,
            _ => null,
        };
        if (message.Message.Key != envelope.StreamId || expectedTopic != message.Topic)
        {
            misrouted.Add($"{where}: {envelope.StreamId} v{envelope.Version} keyed '{message.Message.Key}' on {message.Topic}, expected key {envelope.StreamId} on {expectedTopic ?? "(no topic for this stream kind)"}");
        }

        if (!_byEventId.TryAdd(envelope.EventId, (envelope.StreamId, envelope.Version, envelope.Type)))
        {
            Duplicates++;
            return;
        }

        var partition = (message.Topic, message.Partition.Value);
        if (!_byStream.TryGetValue(envelope.StreamId, out var progress))
        {
            _byStream.Add(envelope.StreamId, new StreamProgress(partition, envelope.Version));
            return;
        }

        if (progress.Partition != partition && !progress.SplitReported)
        {
            // Order holds per partition only: a stream spread over partitions has none.
            progress.SplitReported = true;
            outOfOrder.Add($"{envelope.StreamId}: on {progress.Partition.Topic}/{progress.Partition.Partition} and {where}");
        }

        if (envelope.Version <= progress.MaxVersion)
        {
            outOfOrder.Add($"{envelope.StreamId}: v{envelope.Version} first seen at {where}, after v{progress.MaxVersion}");
        }
        else
        {
            progress.MaxVersion = envelope.Version;
        }
    }

    private sealed class StreamProgress((string Topic, int Partition) partition, int maxVersion)
    {
        public (string Topic, int Partition) Partition => partition;

        public int MaxVersion { get; set; } = maxVersion;

        public bool SplitReported { get; set; }
    }
}
