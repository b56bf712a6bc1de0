using Microsoft.Win32.SafeHandles;

namespace OrderPlatform.KafkaMock.Interop;

/// <summary>
/// Owns an <c>rd_kafka_mock_cluster_t*</c> and the <c>rd_kafka_t*</c> it was created on. As a SafeHandle it
/// is reference-counted across P/Invokes, so a Dispose racing a call frees the cluster only after the call
/// returns, and calls after that throw <see cref="ObjectDisposedException"/>.
/// </summary>
internal sealed class MockClusterHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private readonly IntPtr _kafka;

    internal MockClusterHandle(IntPtr cluster, IntPtr kafka)
        : base(ownsHandle: true)
    {
        SetHandle(cluster);
        _kafka = kafka;
    }

    protected override bool ReleaseHandle()
    {
        // Reverse order of creation: the cluster runs on the client instance's resources.
        Librdkafka.rd_kafka_mock_cluster_destroy(handle);
        Librdkafka.rd_kafka_destroy(_kafka);
        return true;
    }
}
