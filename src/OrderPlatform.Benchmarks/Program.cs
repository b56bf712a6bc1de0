using System.Globalization;
using OrderPlatform.Benchmarks;

// dotnet OrderPlatform.Benchmarks.dll relay [--events N] [--rate EVENTS_PER_S] [--seconds S]
//   The PostgreSQL to use comes from ConnectionStrings__Postgres (a server where databases may be created).
// dotnet OrderPlatform.Benchmarks.dll stock [--orders N] [--rate ORDERS_PER_S] [--rounds N]
//   In process: a busy SKU's stream replayed, with and without each order's deadline for reserving.
// dotnet OrderPlatform.Benchmarks.dll saga [--sagas N] [--rounds N]
//   In process: a happy saga's decisions and state, CPU time and allocation per saga.
// dotnet OrderPlatform.Benchmarks.dll envelope [--events N] [--rounds N]
//   In process: the relay's message value per stored event, written from the stored text or parsed and serialized.
const string Usage = """
    usage: ConnectionStrings__Postgres=... OrderPlatform.Benchmarks relay [--events N] [--rate N] [--seconds N]
           OrderPlatform.Benchmarks stock [--orders N] [--rate N] [--rounds N]
           OrderPlatform.Benchmarks envelope [--events N] [--rounds N]
           OrderPlatform.Benchmarks saga [--sagas N] [--rounds N]
    """;
var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres");
if (args is ["stock", ..])
{
    return StockMemoryBenchmark.Run(Option("--orders", 1_000_000), Option("--rate", 200), Option("--rounds", 3));
}

if (args is ["saga", ..])
{
    return SagaBenchmark.Run(Option("--sagas", 100_000), Option("--rounds", 5));
}

if (args is ["envelope", ..])
{
    return EnvelopeBenchmark.Run(Option("--events", 300_000), Option("--rounds", 5));
}

if (args is not ["relay", ..] || string.IsNullOrWhiteSpace(connectionString))
{
    Console.Error.WriteLine(Usage);
    return 2;
}

int Option(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    if (at < 0)
    {
        return fallback;
    }

    if (at + 1 < args.Length && int.TryParse(args[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
    {
        return value;
    }

    Console.Error.WriteLine($"{name} needs a positive whole number.");
    Environment.Exit(2);
    return 0;
}

return await RelayBenchmark.RunAsync(connectionString, Option("--events", 50_000), Option("--rate", 1_000), TimeSpan.FromSeconds(Option("--seconds", 15)));
