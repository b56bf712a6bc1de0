using Npgsql;
using OrderPlatform.EventStore.Migrations;

namespace OrderPlatform.IntegrationTests.Infrastructure;

/// <summary>A migrated database of its own, for tests that talk to the stores directly (no silo).</summary>
public sealed class DatabaseFixture : IAsyncLifetime
{
    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public IReadOnlyList<int> AppliedAtStart { get; private set; } = [];

    public async Task InitializeAsync()
    {
        var server = await PostgresServer.InstanceAsync();
        ConnectionString = await server.CreateDatabaseAsync("store");
        DataSource = NpgsqlDataSource.Create(ConnectionString);
        AppliedAtStart = await new MigrationRunner(DataSource).ApplyAsync();
    }

    public async Task DisposeAsync() => await DataSource.DisposeAsync();
}
