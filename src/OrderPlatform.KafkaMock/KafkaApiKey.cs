namespace OrderPlatform.KafkaMock;

/// <summary>
/// Kafka protocol request keys, for <see cref="MockKafkaCluster.PushRequestErrors"/>. Only the ones tests of
/// producers and consumer groups usually need; any other key from the Kafka protocol guide works as a number.
/// </summary>
public static class KafkaApiKey
{
    public const short Produce = 0;
    public const short Fetch = 1;
    public const short ListOffsets = 2;
    public const short Metadata = 3;
    public const short OffsetCommit = 8;
    public const short OffsetFetch = 9;
    public const short FindCoordinator = 10;
    public const short JoinGroup = 11;
    public const short Heartbeat = 12;
    public const short LeaveGroup = 13;
    public const short SyncGroup = 14;
    public const short InitProducerId = 22;
}
