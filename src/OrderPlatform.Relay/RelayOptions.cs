using System.ComponentModel.DataAnnotations;
using OrderPlatform.Contracts;

namespace OrderPlatform.Relay;

/// <summary>Section "Kafka": where the platform publishes and how its topics are created.</summary>
public sealed class KafkaOptions
{
    public const string Section = "Kafka";

    /// <summary>Comma-separated host:port list. Empty disables the relay (the outbox then only fills up).</summary>
    public string? BootstrapServers { get; set; }

    public KafkaTopics Topics { get; set; } = new();

    /// <summary>Partitions of each topic created at start-up when missing.</summary>
    [Range(1, 1000)]
    public int TopicPartitions { get; set; } = 6;

    /// <summary>1 for a single broker or the test cluster; 3 in production.</summary>
    [Range(1, 10)]
    public short ReplicationFactor { get; set; } = 1;

    public string ClientId { get; set; } = "orderplatform";
}

/// <summary>Section "Relay".</summary>
public sealed class RelayOptions
{
    public const string Section = "Relay";

    /// <summary>
    /// The outbox is split by stream into this many shares; each share is published by one relay at a time
    /// (a PostgreSQL advisory lock), so one stream's events never leave out of order. Must be the same on every silo.
    /// </summary>
    [Range(1, 256)]
    public int Shares { get; set; } = 8;

    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>How often shares are rebalanced, the whole backlog is read again, and the backlog metrics are taken.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a relay that read less than a full batch waits before it reads its shares again: the longest an event
    /// waits in the outbox before its relay looks, on top of the publish itself. Each look is one indexed read.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan IdleWait { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Delete each row in the statement that records its publication (the default), instead of marking it published and
    /// purging it after <see cref="Retention"/>. A mark is an update of indexed columns, so a second row version with
    /// index entries of its own, and the purge a third write, all at once every <see cref="PurgeInterval"/>; a deleted row
    /// is one write and leaves vacuum one dead version (decision record 0033). Events are sent again by inserting their
    /// outbox rows from the event store (README), in either mode.
    /// </summary>
    public bool DeleteOnPublish { get; set; } = true;

    /// <summary>
    /// The backlog metric counts unpublished rows up to this many, from the oldest; a longer backlog is reported as this
    /// number, flagged as capped. Every silo's relay counts every <see cref="PollInterval"/>: bounded, the count costs the
    /// same during a broker outage of hours as at rest, where counting every row would read the whole backlog each time.
    /// </summary>
    [Range(1, 10_000_000)]
    public int BacklogCountLimit { get; set; } = 10_000;

    /// <summary>Published rows are deleted after this long (rows marked published; see <see cref="DeleteOnPublish"/>).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(1);

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long one produce request waits for a broker's answer before librdkafka retries it (a broker that went silent).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a batch may wait for the broker's acknowledgements before it is retried.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromMinutes(2);
}
