using System.Globalization;
using OrderPlatform.Benchmarks;

// dotnet OrderPlatform.Benchmarks.dll relay [--events N] [--rate EVENTS_PER_S] [--seconds S]
// The PostgreSQL to use comes from ConnectionStrings__Postgres (a server where databases may be created).
var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres");
if (args.Length == 0 || args[0] != "relay" || string.IsNullOrWhiteSpace(connectionString))
{
    Console.Error.WriteLine("usage: ConnectionStrings__Postgres=... OrderPlatform.Benchmarks relay [--events N] [--rate N] [--seconds N]");
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
