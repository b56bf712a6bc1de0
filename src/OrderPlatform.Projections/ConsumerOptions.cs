using System.ComponentModel.DataAnnotations;
using OrderPlatform.Contracts;

namespace OrderPlatform.Projections;

/// <summary>Section "Consumer" (plus "Kafka:BootstrapServers" and "Kafka:Topics").</summary>
public sealed class ConsumerOptions
{
    public const string Section = "Consumer";

    [Required]
    public string GroupId { get; set; } = "orderplatform-projections";

    /// <summary>The PostgreSQL schema of the read models and the inbox.</summary>
    [Required, RegularExpression("^[a-z_][a-z0-9_]{0,62}$")]
    public string Schema { get; set; } = "projections";

    /// <summary>Attempts at a message that keeps failing before it is parked on the dead-letter topic.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 3;

    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long the group waits for a consumer that stopped answering (killed) before its partitions move.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

public sealed class ConsumerKafkaOptions
{
    public const string Section = "Kafka";

    [Required]
    public string BootstrapServers { get; set; } = "";

    public KafkaTopics Topics { get; set; } = new();
}
