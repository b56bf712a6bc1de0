using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using OrderPlatform.KafkaMock.Interop;

namespace OrderPlatform.KafkaMock;

/// <summary>
/// librdkafka's built-in mock Kafka cluster, reached through P/Invoke: real Kafka protocol over TCP on
/// 127.0.0.1, so ordinary Confluent.Kafka producers, consumers and admin clients talk to it as to a broker.
/// For tests and local runs only; production uses a real Kafka and must not reference this project.
/// </summary>
/// <remarks>
/// <para>
/// The cluster lives in this process, on librdkafka threads, until <see cref="Dispose"/>. Dispose the clients
/// that use it first, or they log connection errors while they retry. All members are thread-safe; calls after
/// Dispose throw <see cref="ObjectDisposedException"/>, and a failed request to the mock throws
/// <see cref="KafkaException"/> with librdkafka's error.
/// </para>
/// <para>Known limitations of the mock (librdkafka 2.16), not worked around here:</para>
/// <list type="bullet">
/// <item>
/// The admin call ListConsumerGroups crashes the mock cluster: once a group exists, librdkafka aborts the
/// process hosting it ("double free"); with no group the call only fails.
/// </item>
/// <item>Read-committed isolation is not emulated: consumers see the messages of aborted transactions.</item>
/// <item>
/// Idempotence is only half emulated: the mock checks producer sequence numbers only for producers with a
/// <c>transactional.id</c>. When an idempotent producer without one retries a Produce request whose answer
/// was lost or late (see <see cref="SetBrokerRoundTripTime"/>), the retry is appended again, where a real
/// broker would drop it. Errors from <see cref="PushRequestErrors"/> fail a request before it appends anything,
/// so their retries never duplicate.
/// </item>
/// <item>
/// A partition keeps at most 100,000 message sets (and 5 MiB); older ones are dropped as if by retention,
/// so a consumer that starts late may miss the beginning of a long run.
/// </item>
/// <item>
/// No leader election: a broker taken down keeps leading its partitions, which wait for it; move them with
/// <see cref="SetPartitionLeader"/> if a test needs a failover.
/// </item>
/// <item>
/// A call that changes the cluster (creating a topic, moving a leader, a broker down or up, a round-trip time,
/// Dispose) now and then takes about a second: the mock thread can miss the wake-up for a command that arrives
/// while it finishes the previous one, and then runs it at its 1 s poll timeout. Calls here take turns, which
/// keeps that to a few percent of back-to-back calls; callers from several threads would hit it most of the time.
/// </item>
/// </list>
/// </remarks>
public sealed class MockKafkaCluster : IDisposable
{
    private const int ErrorBufferSize = 512;

    private readonly MockClusterHandle _handle;

    // Commands through the mock thread's queue take turns: its wake-up pipe is drained after the queue is
    // served, so a command queued in between waits for the next 1 s poll timeout (see the remarks), and
    // concurrent callers land in that window far more often than one caller at a time.
    private readonly Lock _commands = new();

    private MockKafkaCluster(MockClusterHandle handle, int brokerCount, string bootstrapServers)
    {
        _handle = handle;
        BrokerCount = brokerCount;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>Comma-separated <c>127.0.0.1:port</c> of every broker, for <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; their ids are 1 to <see cref="BrokerCount"/>.</summary>
    public int BrokerCount { get; }

    /// <summary>The librdkafka file the cluster runs in: the one Confluent.Kafka loaded in this process.</summary>
    public static string NativeLibraryPath => LibrdkafkaLibrary.Path;

    /// <summary>The version of that librdkafka, e.g. <c>2.16.0</c>.</summary>
    public static string NativeLibraryVersion => Marshal.PtrToStringUTF8(Librdkafka.rd_kafka_version_str()) ?? "unknown";

    /// <summary>
    /// Starts a cluster of <paramref name="brokers"/> brokers, each listening on its own free port on
    /// 127.0.0.1. Consumer groups rebalance without the initial delay (see <see cref="SetGroupInitialRebalanceDelay"/>).
    /// Topics are created on first use with 4 partitions, or explicitly with <see cref="CreateTopic"/>.
    /// </summary>
    public static unsafe MockKafkaCluster Create(int brokers = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);

        var errors = stackalloc byte[ErrorBufferSize];
        var conf = Librdkafka.rd_kafka_conf_new();

        // The instance only hosts the cluster and never connects anywhere; notices such as "no bootstrap.servers
        // configured" would only confuse. Warnings and errors of the mock brokers still reach stderr.
        if (Librdkafka.rd_kafka_conf_set(conf, "client.id", "orderplatform-kafka-mock", errors, ErrorBufferSize) != Librdkafka.ConfOk
            || Librdkafka.rd_kafka_conf_set(conf, "log_level", "4", errors, ErrorBufferSize) != Librdkafka.ConfOk)
        {
            Librdkafka.rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"rd_kafka_conf_set failed: {Marshal.PtrToStringUTF8((IntPtr)errors)}");
        }

        var kafka = Librdkafka.rd_kafka_new(Librdkafka.ProducerType, conf, errors, ErrorBufferSize);
        if (kafka == IntPtr.Zero)
        {
            Librdkafka.rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"rd_kafka_new failed, so no mock cluster: {Marshal.PtrToStringUTF8((IntPtr)errors)}");
        }

        var cluster = Librdkafka.rd_kafka_mock_cluster_new(kafka, brokers);
        if (cluster == IntPtr.Zero)
        {
            Librdkafka.rd_kafka_destroy(kafka);
            throw new InvalidOperationException(
                $"rd_kafka_mock_cluster_new could not start {brokers} mock broker(s); librdkafka logged why on stderr.");
        }

        var handle = new MockClusterHandle(cluster, kafka);
        try
        {
            var bootstraps = Marshal.PtrToStringUTF8(Librdkafka.rd_kafka_mock_cluster_bootstraps(handle));
            if (string.IsNullOrEmpty(bootstraps))
            {
                throw new InvalidOperationException("The mock cluster reported no bootstrap servers.");
            }

            var created = new MockKafkaCluster(handle, brokers, bootstraps);
            created.SetGroupInitialRebalanceDelay(TimeSpan.Zero);
            return created;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Creates a topic; <see cref="KafkaException"/> with <see cref="ErrorCode.TopicAlreadyExists"/> if it exists.</summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        ValidateTopicName(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, BrokerCount);

        lock (_commands)
        {
            Check(Librdkafka.rd_kafka_mock_topic_create(Handle, topic, partitions, replicationFactor),
                $"create topic '{topic}' with {partitions} partition(s) and replication factor {replicationFactor}");
        }
    }

    /// <summary>
    /// Makes <paramref name="brokerId"/> the leader of a partition, as a leader election would; clients learn
    /// it from their next metadata refresh (prompted by NotLeaderForPartition answers from the old leader).
    /// </summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId)
    {
        ValidateTopicName(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ValidateBrokerId(brokerId);

        lock (_commands)
        {
            Check(Librdkafka.rd_kafka_mock_partition_set_leader(Handle, topic, partition, brokerId),
                $"make broker {brokerId} the leader of {topic} [{partition}]");
        }
    }

    /// <summary>
    /// Takes a broker down: its connections are closed, new ones refused, and it leaves the metadata. Its
    /// partitions keep it as their leader, so requests for them wait until <see cref="SetBrokerUp"/>.
    /// </summary>
    public void SetBrokerDown(int brokerId)
    {
        ValidateBrokerId(brokerId);
        lock (_commands)
        {
            Check(Librdkafka.rd_kafka_mock_broker_set_down(Handle, brokerId), $"take broker {brokerId} down");
        }
    }

    /// <summary>Brings a broker taken down by <see cref="SetBrokerDown"/> back, on the same port.</summary>
    public void SetBrokerUp(int brokerId)
    {
        ValidateBrokerId(brokerId);
        lock (_commands)
        {
            Check(Librdkafka.rd_kafka_mock_broker_set_up(Handle, brokerId), $"bring broker {brokerId} up");
        }
    }

    /// <summary>
    /// Delays every response of a broker by <paramref name="roundTripTime"/> (the request is handled at once,
    /// only the answer is late). <see cref="TimeSpan.Zero"/> removes the delay.
    /// </summary>
    public void SetBrokerRoundTripTime(int brokerId, TimeSpan roundTripTime)
    {
        ValidateBrokerId(brokerId);
        var milliseconds = ToMilliseconds(roundTripTime);
        lock (_commands)
        {
            Check(Librdkafka.rd_kafka_mock_broker_set_rtt(Handle, brokerId, milliseconds),
                $"set the round-trip time of broker {brokerId} to {roundTripTime}");
        }
    }

    /// <summary>
    /// Makes the next requests with <paramref name="apiKey"/> (see <see cref="KafkaApiKey"/>), to any broker,
    /// fail with <paramref name="errors"/>, one error per request in the given order, before the request is
    /// handled (a failed Produce appends nothing). <see cref="ErrorCode.NoError"/> lets one request through.
    /// </summary>
    public unsafe void PushRequestErrors(short apiKey, params ErrorCode[] errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ArgumentOutOfRangeException.ThrowIfNegative(apiKey);
        if (errors.Length == 0)
        {
            throw new ArgumentException("Push at least one error.", nameof(errors));
        }

        fixed (ErrorCode* first = errors)
        {
            Librdkafka.rd_kafka_mock_push_request_errors_array(Handle, apiKey, (nuint)errors.Length, first);
        }
    }

    /// <summary>Drops the errors pushed for <paramref name="apiKey"/> that no request has taken yet.</summary>
    public void ClearRequestErrors(short apiKey)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(apiKey);
        Librdkafka.rd_kafka_mock_clear_request_errors(Handle, apiKey);
    }

    /// <summary>
    /// Starts recording every request the brokers receive (see <see cref="GetTrackedRequests"/>), forgetting
    /// those recorded before. Recording has a cost per request; leave it off in long runs.
    /// </summary>
    public void StartRequestTracking() => Librdkafka.rd_kafka_mock_start_request_tracking(Handle);

    /// <summary>Stops recording requests and forgets those recorded.</summary>
    public void StopRequestTracking() => Librdkafka.rd_kafka_mock_stop_request_tracking(Handle);

    /// <summary>The requests received since <see cref="StartRequestTracking"/>, in the order they arrived.</summary>
    public unsafe IReadOnlyList<MockKafkaRequest> GetTrackedRequests()
    {
        var requests = Librdkafka.rd_kafka_mock_get_requests(Handle, out var count);
        if (requests is null)
        {
            return [];
        }

        try
        {
            var tracked = new MockKafkaRequest[(int)count];
            for (var i = 0; i < tracked.Length; i++)
            {
                tracked[i] = new MockKafkaRequest(Librdkafka.rd_kafka_mock_request_id(requests[i]), Librdkafka.rd_kafka_mock_request_api_key(requests[i]));
            }

            return tracked;
        }
        finally
        {
            Librdkafka.rd_kafka_mock_request_destroy_array(requests, count);
        }
    }

    /// <summary>
    /// How long a new consumer group waits for more members before its first rebalance (Kafka's
    /// <c>group.initial.rebalance.delay.ms</c>; the mock's default is 3 s). <see cref="Create"/> sets it to zero.
    /// </summary>
    public void SetGroupInitialRebalanceDelay(TimeSpan delay) =>
        Librdkafka.rd_kafka_mock_group_initial_rebalance_delay_ms(Handle, ToMilliseconds(delay));

    /// <summary>Stops every broker and frees the cluster. Safe to call more than once and from any thread.</summary>
    public void Dispose() => _handle.Dispose();

    public override string ToString() =>
        $"mock Kafka cluster ({BrokerCount} broker{(BrokerCount == 1 ? "" : "s")}) at {BootstrapServers}";

    private MockClusterHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle;
        }
    }

    private void ValidateBrokerId(int brokerId, [CallerArgumentExpression(nameof(brokerId))] string? name = null)
    {
        if (brokerId < 1 || brokerId > BrokerCount)
        {
            throw new ArgumentOutOfRangeException(name, brokerId, $"Broker ids of this cluster are 1 to {BrokerCount}.");
        }
    }

    /// <summary>Kafka's rule for topic names; the mock would accept any name, and real clients then refuse it.</summary>
    internal static bool IsValidTopicName(string topic) =>
        topic.Length is > 0 and <= 249 && topic is not ("." or "..") && topic.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static void ValidateTopicName(string topic)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        if (!IsValidTopicName(topic))
        {
            throw new ArgumentException(
                $"'{topic}' is not a Kafka topic name: use up to 249 ASCII letters, digits, '.', '_' and '-'.", nameof(topic));
        }
    }

    private static int ToMilliseconds(TimeSpan value, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (value < TimeSpan.Zero || value.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(name, value, "Use a duration from zero to int.MaxValue milliseconds.");
        }

        return (int)value.TotalMilliseconds;
    }

    private static void Check(ErrorCode error, string what)
    {
        if (error != ErrorCode.NoError)
        {
            throw new KafkaException(new Error(error, $"Mock Kafka cluster could not {what}: {Librdkafka.ErrorString(error)} ({error})."));
        }
    }
}
