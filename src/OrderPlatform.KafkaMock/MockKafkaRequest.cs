namespace OrderPlatform.KafkaMock;

/// <summary>A request a mock broker received, as recorded by <see cref="MockKafkaCluster.StartRequestTracking"/>.</summary>
/// <param name="BrokerId">The broker that received it.</param>
/// <param name="ApiKey">Its Kafka protocol request key (see <see cref="KafkaApiKey"/>).</param>
public readonly record struct MockKafkaRequest(int BrokerId, short ApiKey);
