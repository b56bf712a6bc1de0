using Confluent.Kafka;
using OrderPlatform.KafkaMock.Tests.Infrastructure;

namespace OrderPlatform.KafkaMock.Tests;

/// <summary>The wrapper itself: what Create starts, what each call changes as clients see it, and its guards.</summary>
public sealed class MockKafkaClusterTests
{
    [Fact]
    public void Create_starts_the_requested_brokers_on_loopback_with_ids_from_one()
    {
        using var cluster = MockKafkaCluster.Create(brokers: 3);
        using var admin = Clients.Admin(cluster.BootstrapServers);

        var metadata = admin.GetMetadata(Clients.Generous);

        Assert.Equal([1, 2, 3], metadata.Brokers.Select(b => b.BrokerId).Order());
        Assert.All(metadata.Brokers, b => Assert.Equal("127.0.0.1", b.Host));
        Assert.Equal(
            metadata.Brokers.Select(b => $"127.0.0.1:{b.Port}").Order(),
            cluster.BootstrapServers.Split(',').Order());
        Assert.Equal(3, cluster.BrokerCount);
    }

    [Fact]
    public void The_cluster_runs_in_the_librdkafka_that_Confluent_Kafka_loaded()
    {
        using var cluster = MockKafkaCluster.Create(brokers: 1);

        Assert.True(File.Exists(MockKafkaCluster.NativeLibraryPath), MockKafkaCluster.NativeLibraryPath);
        Assert.Equal(Library.VersionString, MockKafkaCluster.NativeLibraryVersion);
        if (OperatingSystem.IsLinux())
        {
            var mapped = File.ReadLines("/proc/self/maps").Where(l => l.Contains("librdkafka", StringComparison.Ordinal))
                .Select(l => l[l.IndexOf('/', StringComparison.Ordinal)..]).Distinct().ToList();
            Assert.Equal([MockKafkaCluster.NativeLibraryPath], mapped);
        }
    }

    [Fact]
    public void CreateTopic_creates_the_requested_partitions_and_replicas()
    {
        using var cluster = MockKafkaCluster.Create(brokers: 3);
        cluster.CreateTopic("orders", partitions: 6, replicationFactor: 2);
        using var admin = Clients.Admin(cluster.BootstrapServers);

        var topic = Clients.Topic(admin, "orders");

        Assert.Equal([0, 1, 2, 3, 4, 5], topic.Partitions.Select(p => p.PartitionId).Order());
        Assert.All(topic.Partitions, p => Assert.Equal(2, p.Replicas.Length));
    }

    [Fact]
    public void CreateTopic_for_an_existing_topic_reports_librdkafkas_error()
    {
        using var cluster = MockKafkaCluster.Create(brokers: 1);
        cluster.CreateTopic("orders", partitions: 1);

        var error = Assert.Throws<KafkaException>(() => cluster.CreateTopic("orders", partitions: 1));

        Assert.Equal(ErrorCode.TopicAlreadyExists, error.Error.Code);
        Assert.Contains("create topic 'orders'", error.Message, StringComparison.Ordinal);
        Assert.Contains("already exists", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SetPartitionLeader_moves_leadership_as_metadata_shows()
    {
        using var cluster = MockKafkaCluster.Create(brokers: 3);
        cluster.CreateTopic("orders", partitions: 3, replicationFactor: 3);
        using var admin = Clients.Admin(cluster.BootstrapServers);

        for (var partition = 0; partition < 3; partition++)
        {
            cluster.SetPartitionLeader("orders", partition, brokerId: 3 - partition);
        }

        Assert.Equal([3, 2, 1], Clients.Topic(admin, "orders").Partitions.OrderBy(p => p.PartitionId).Select(p => p.Leader));
    }

    [Fact]
    public void A_broker_taken_down_leaves_the_metadata_and_comes_back_on_the_same_port()
    {
        using var cluster = MockKafkaCluster.Create(brokers: 3);
        using var admin = Clients.Admin(cluster.BootstrapServers);
        var before = admin.GetMetadata(Clients.Generous).Brokers.Single(b => b.BrokerId == 2);

        cluster.SetBrokerDown(2);
        Assert.DoesNotContain(2, admin.GetMetadata(Clients.Generous).Brokers.Select(b => b.BrokerId));

        cluster.SetBrokerUp(2);
        Assert.Equal(before.Port, admin.GetMetadata(Clients.Generous).Brokers.Single(b => b.BrokerId == 2).Port);
    }

    [Fact]
    public void Arguments_outside_the_cluster_are_refused_before_they_reach_librdkafka()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MockKafkaCluster.Create(brokers: 0));
        using var cluster = MockKafkaCluster.Create(brokers: 2);

        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.SetBrokerDown(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.SetBrokerUp(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.CreateTopic("orders", partitions: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.CreateTopic("orders", partitions: 1, replicationFactor: 3));
        Assert.Throws<ArgumentException>(() => cluster.CreateTopic("orders/eu", partitions: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.SetBrokerRoundTripTime(1, TimeSpan.FromDays(30)));
        Assert.Throws<ArgumentException>(() => cluster.PushRequestErrors(KafkaApiKey.Produce));
    }

    [Fact]
    public void Dispose_is_idempotent_and_later_calls_throw_ObjectDisposedException()
    {
        var cluster = MockKafkaCluster.Create(brokers: 1);

        cluster.Dispose();
        cluster.Dispose();

        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic("orders", partitions: 1));
        Assert.Throws<ObjectDisposedException>(() => cluster.SetBrokerDown(1));
        Assert.Throws<ObjectDisposedException>(() => cluster.PushRequestErrors(KafkaApiKey.Produce, ErrorCode.RequestTimedOut));
        Assert.Throws<ObjectDisposedException>(() => cluster.GetTrackedRequests());
    }

    [Fact]
    public async Task Calls_racing_Dispose_either_complete_or_throw_ObjectDisposedException()
    {
        for (var round = 0; round < 5; round++)
        {
            var cluster = MockKafkaCluster.Create(brokers: 2);
            var calls = 0;
            var callers = Enumerable.Range(0, 4).Select(caller => Task.Factory.StartNew(() =>
            {
                try
                {
                    // One command through the mock thread's queue, then calls that only take the cluster's lock.
                    cluster.SetBrokerRoundTripTime(1 + (caller % 2), TimeSpan.Zero);
                    while (true)
                    {
                        cluster.PushRequestErrors(KafkaApiKey.Heartbeat, ErrorCode.NoError);
                        cluster.ClearRequestErrors(KafkaApiKey.Heartbeat);
                        _ = cluster.GetTrackedRequests();
                        Interlocked.Increment(ref calls);
                    }
                }
                catch (ObjectDisposedException)
                {
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToList();

            await Eventually.HoldsAsync(() => Volatile.Read(ref calls) >= 100, "callers to be busy with the cluster", Clients.Generous, Clients.Poll);
            var disposers = Enumerable.Range(0, 2).Select(_ => Task.Run(cluster.Dispose)).ToList();

            await Eventually.CompletesAsync(Task.WhenAll(disposers), Clients.Generous, "two threads disposing one cluster");
            await Eventually.CompletesAsync(Task.WhenAll(callers), Clients.Generous, "every caller to see the cluster disposed");
        }
    }

    [Fact]
    public void Request_tracking_records_each_request_with_its_broker_and_api_key()
    {
        using var cluster = MockKafkaCluster.Create(brokers: 1);
        using var admin = Clients.Admin(cluster.BootstrapServers);
        Assert.Empty(cluster.GetTrackedRequests());

        cluster.StartRequestTracking();
        admin.GetMetadata(Clients.Generous);
        var tracked = cluster.GetTrackedRequests();
        cluster.StopRequestTracking();

        Assert.Contains(new MockKafkaRequest(BrokerId: 1, KafkaApiKey.Metadata), tracked);
        Assert.Empty(cluster.GetTrackedRequests());
    }
}
