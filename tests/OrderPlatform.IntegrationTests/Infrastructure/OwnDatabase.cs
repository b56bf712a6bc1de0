namespace OrderPlatform.IntegrationTests.Infrastructure;

/// <summary>For tests that start and stop silo processes themselves: a new database for each test, on the shared server.</summary>
/// <param name="name">The start of the database's name, to tell it apart when looking at the server.</param>
public abstract class OwnDatabase(string name) : IAsyncLifetime
{
    protected string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync() =>
        ConnectionString = await (await PostgresServer.InstanceAsync()).CreateDatabaseAsync(name);

    public Task DisposeAsync() => Task.CompletedTask;
}
