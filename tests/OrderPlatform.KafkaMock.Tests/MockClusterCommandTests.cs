using OrderPlatform.KafkaMock.Tests.Infrastructure;

namespace OrderPlatform.KafkaMock.Tests;

/// <summary>The command that runs the mock cluster as its own process, for silos and tools in other processes.</summary>
public sealed class MockClusterCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("kafka-mock-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task The_command_serves_clients_in_other_processes_and_exits_cleanly_on_SIGTERM()
    {
        var bootstrapFile = Path.Combine(_directory, "bootstrap");
        await using var mock = await MockClusterProcess.StartAsync("--brokers", "2", "--topic", "order-events:3", "--bootstrap-file", bootstrapFile);

        Assert.Matches(@"^127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$", mock.BootstrapServers);
        Assert.Equal(mock.BootstrapServers, await File.ReadAllTextAsync(bootstrapFile));
        Assert.Equal([bootstrapFile], Directory.GetFiles(_directory));

        using (var admin = Clients.Admin(mock.BootstrapServers))
        {
            Assert.Equal(3, Clients.Topic(admin, "order-events").Partitions.Count);
        }

        using (var producer = Clients.IdempotentProducer(mock.BootstrapServers))
        {
            var deliveries = Enumerable.Range(0, 10).Select(i => producer.ProduceAsync("order-events", Clients.Message("order-1", $"{i}"))).ToList();
            await Eventually.CompletesAsync(Task.WhenAll(deliveries), Clients.Generous, "10 deliveries to the mock cluster process");
        }

        using (var consumer = Clients.GroupConsumer(mock.BootstrapServers, "other-process"))
        {
            consumer.Subscribe("order-events");
            Assert.Equal(Enumerable.Range(0, 10).Select(i => $"{i}"), Clients.ConsumeAndCommit(consumer, 10, Clients.Generous).Select(r => r.Message.Value));
            consumer.Close();
        }

        Assert.Equal(0, await mock.TerminateAsync());
        Assert.False(File.Exists(bootstrapFile), "the bootstrap file outlived the cluster");
    }

    [Theory]
    [InlineData("--brokers", "0")]
    [InlineData("--brokers", "three")]
    [InlineData("--brokers")]
    [InlineData("--topic", "order-events")]
    [InlineData("--topic", "order-events:0")]
    [InlineData("--topic", "order/events:3")]
    [InlineData("--topic", "order-events:3:4")]
    [InlineData("--bootstrap-file", "/no/such/directory/bootstrap")]
    [InlineData("--partitions", "3")]
    public async Task Bad_arguments_exit_with_2_and_say_why_on_stderr(params string[] args)
    {
        var (exitCode, stdout, stderr) = await MockClusterProcess.RunToExitAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Empty(stdout);
        Assert.Contains("--help", stderr, StringComparison.Ordinal);
    }
}
