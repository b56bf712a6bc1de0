using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace OrderPlatform.KafkaMock.Interop;

/// <summary>
/// The librdkafka functions the mock cluster needs, with the signatures of <c>rdkafka.h</c> and
/// <c>rdkafka_mock.h</c>. <c>rd_kafka_resp_err_t</c> is a C enum, the same values as <see cref="ErrorCode"/>.
/// </summary>
internal static unsafe partial class Librdkafka
{
    internal const int ProducerType = 0; // RD_KAFKA_PRODUCER
    internal const int ConfOk = 0; // RD_KAFKA_CONF_OK

    // An explicit static constructor runs before the first call into this class, so the resolver is in place
    // before any import is bound. All imports of this assembly live here.
    static Librdkafka() =>
        NativeLibrary.SetDllImportResolver(typeof(Librdkafka).Assembly, LibrdkafkaLibrary.Resolve);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial IntPtr rd_kafka_conf_new();

    [LibraryImport(LibrdkafkaLibrary.ImportName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, byte* errstr, nuint errstrSize);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial void rd_kafka_conf_destroy(IntPtr conf);

    /// <remarks>Takes ownership of <paramref name="conf"/> only when it succeeds.</remarks>
    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial IntPtr rd_kafka_new(int type, IntPtr conf, byte* errstr, nuint errstrSize);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial void rd_kafka_destroy(IntPtr rk);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial IntPtr rd_kafka_err2str(ErrorCode err);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial IntPtr rd_kafka_version_str();

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial void rd_kafka_mock_cluster_destroy(IntPtr mcluster);

    /// <remarks>The string belongs to the cluster.</remarks>
    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial IntPtr rd_kafka_mock_cluster_bootstraps(MockClusterHandle mcluster);

    [LibraryImport(LibrdkafkaLibrary.ImportName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ErrorCode rd_kafka_mock_topic_create(MockClusterHandle mcluster, string topic, int partitionCount, int replicationFactor);

    [LibraryImport(LibrdkafkaLibrary.ImportName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ErrorCode rd_kafka_mock_partition_set_leader(MockClusterHandle mcluster, string topic, int partition, int brokerId);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial ErrorCode rd_kafka_mock_broker_set_down(MockClusterHandle mcluster, int brokerId);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial ErrorCode rd_kafka_mock_broker_set_up(MockClusterHandle mcluster, int brokerId);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial ErrorCode rd_kafka_mock_broker_set_rtt(MockClusterHandle mcluster, int brokerId, int rttMs);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial void rd_kafka_mock_push_request_errors_array(MockClusterHandle mcluster, short apiKey, nuint count, ErrorCode* errors);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial void rd_kafka_mock_clear_request_errors(MockClusterHandle mcluster, short apiKey);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial void rd_kafka_mock_group_initial_rebalance_delay_ms(MockClusterHandle mcluster, int delayMs);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial void rd_kafka_mock_start_request_tracking(MockClusterHandle mcluster);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial void rd_kafka_mock_stop_request_tracking(MockClusterHandle mcluster);

    /// <remarks>Returns copies (or NULL when there are none) that the caller frees with <see cref="rd_kafka_mock_request_destroy_array"/>.</remarks>
    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial IntPtr* rd_kafka_mock_get_requests(MockClusterHandle mcluster, out nuint count);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial void rd_kafka_mock_request_destroy_array(IntPtr* requests, nuint count);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial int rd_kafka_mock_request_id(IntPtr request);

    [LibraryImport(LibrdkafkaLibrary.ImportName)]
    internal static partial short rd_kafka_mock_request_api_key(IntPtr request);

    internal static string ErrorString(ErrorCode error) =>
        Marshal.PtrToStringUTF8(rd_kafka_err2str(error)) ?? error.ToString();
}
