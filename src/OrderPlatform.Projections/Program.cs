using Microsoft.Extensions.Options;
using Npgsql;
using OrderPlatform.Projections;

// The downstream consumer. Runs the consumer group until stopped, or with --rebuild [schema] rebuilds the
// read models from the topics and exits.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
var connectionString = builder.Configuration.GetConnectionString("Postgres");
if (string.IsNullOrWhiteSpace(connectionString))
{
    Console.Error.WriteLine("Set ConnectionStrings__Postgres to the database of the read models.");
    return 2;
}

if (string.IsNullOrWhiteSpace(builder.Configuration["Kafka:BootstrapServers"]))
{
    Console.Error.WriteLine("Set Kafka__BootstrapServers to the Kafka cluster to consume from.");
    return 2;
}

builder.Services.AddSingleton(NpgsqlDataSource.Create(connectionString));
builder.Services.AddSingleton<ReadModelProjector>();
builder.Services.AddOptions<ConsumerOptions>().BindConfiguration(ConsumerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<ConsumerKafkaOptions>().BindConfiguration(ConsumerKafkaOptions.Section).ValidateDataAnnotations().ValidateOnStart();

var rebuildAt = Array.IndexOf(args, "--rebuild");
if (rebuildAt >= 0)
{
    using var host = builder.Build();
    var options = host.Services.GetRequiredService<IOptions<ConsumerOptions>>().Value;
    var schema = rebuildAt + 1 < args.Length && !args[rebuildAt + 1].StartsWith('-') ? args[rebuildAt + 1] : options.Schema;
    var rebuild = new Rebuild(
        host.Services.GetRequiredService<ReadModelProjector>(),
        host.Services.GetRequiredService<IOptions<ConsumerKafkaOptions>>().Value,
        host.Services.GetRequiredService<ILogger<Rebuild>>());
    var applied = await rebuild.RunAsync(schema, CancellationToken.None);
    Console.WriteLine($"rebuilt schema {schema}: {applied} events applied");
    return 0;
}

builder.Services.AddHostedService<ProjectionConsumer>();
await builder.Build().RunAsync();
return 0;
