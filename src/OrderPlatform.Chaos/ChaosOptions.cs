using System.Globalization;

namespace OrderPlatform.Chaos;

/// <summary>What the run does, from the command line. Durations are in seconds; 0 turns a kind of fault off.</summary>
public sealed record ChaosOptions
{
    public int Silos { get; init; } = 3;
    public double Rate { get; init; } = 20;

    /// <summary>How many SKUs the orders spread over; the first runs out early. Few SKUs make many orders share each stock grain.</summary>
    public int Skus { get; init; } = 10;
    public int DurationSeconds { get; init; } = 60;
    public int? MaxOrders { get; init; }
    public int KillEverySeconds { get; init; } = 20;
    public int RestartAfterSeconds { get; init; } = 5;
    public int TerminateBackendsEverySeconds { get; init; }
    public int BrokerDownEverySeconds { get; init; }
    public int BrokerDownForSeconds { get; init; } = 10;
    public int KillConsumerEverySeconds { get; init; }
    public int PauseEverySeconds { get; init; }
    public double PauseForSeconds { get; init; } = 2;
    public int QuiesceTimeoutSeconds { get; init; } = 180;
    public int Seed { get; init; } = Environment.TickCount;
    public string? JsonReport { get; init; }
    public string? LogDirectory { get; init; }

    /// <summary>Settings added to every silo's environment (<c>--silo-env KEY=VALUE</c>, repeatable), after the runner's own.</summary>
    public IReadOnlyDictionary<string, string> SiloEnvironment { get; init; } = new Dictionary<string, string>();

    public const string Usage = """
        Usage: OrderPlatform.Chaos [options]   (PostgreSQL: ConnectionStrings__Postgres, a server where databases may be created)
          --silos N                  silo processes (default 3)
          --rate R                   orders per second, open loop (default 20)
          --skus N                   SKUs the orders spread over, 1 to 1000 (default 10; the first runs out early)
          --duration S | --orders N  run for S seconds (default 60) or until N orders were accepted
          --kill-every S             SIGKILL a random silo every S seconds (default 20; 0 = never)
          --restart-after S          restart a killed silo on its ports after S seconds (default 5)
          --terminate-backends-every S   pg_terminate_backend every client of the database every S seconds
          --broker-down-every S      take a random Kafka broker down every S seconds ...
          --broker-down-for S        ... for S seconds (default 10)
          --kill-consumer-every S    SIGKILL the downstream consumer every S seconds (restarted at once)
          --pause-every S            stop a random silo with SIGSTOP every S seconds ...
          --pause-for S              ... for S seconds, then SIGCONT (default 2; fractions allowed, up to 60)
          --quiesce-timeout S        how long to wait for every saga, the relay and the consumer to finish (default 180)
          --seed N                   random seed, printed so a run can be repeated
          --json PATH                also write the report as JSON
          --logs DIR                 process logs (default TestResults/chaos-logs)
          --silo-env KEY=VALUE       a setting for every silo, as an environment variable (repeatable), e.g. Saga__StalledAfter=00:00:10
        A silo that exits without the runner ending it (one the cluster declared dead, for example) is reported and restarted.
        Exit codes: 0 no violation, 1 a violation, the system did not quiesce, or a silo did not come up, 2 bad arguments.
        """;

    public static bool TryParse(string[] args, out ChaosOptions options, out string error)
    {
        options = new ChaosOptions();
        error = "";
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "-h" or "--help")
            {
                error = "";
                return false;
            }

            if (i + 1 >= args.Length)
            {
                error = $"{name} needs a value.";
                return false;
            }

            var value = args[++i];
            bool Int(out int n) => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out n);
            switch (name)
            {
                case "--silos" when Int(out var n) && n is >= 1 and <= 9: options = options with { Silos = n }; break;
                case "--rate" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && r is > 0 and <= 5000: options = options with { Rate = r }; break;
                case "--skus" when Int(out var n) && n is >= 1 and <= 1000: options = options with { Skus = n }; break;
                case "--duration" when Int(out var n) && n > 0: options = options with { DurationSeconds = n }; break;
                case "--orders" when Int(out var n) && n > 0: options = options with { MaxOrders = n, DurationSeconds = int.MaxValue }; break;
                case "--kill-every" when Int(out var n): options = options with { KillEverySeconds = n }; break;
                case "--restart-after" when Int(out var n): options = options with { RestartAfterSeconds = n }; break;
                case "--terminate-backends-every" when Int(out var n): options = options with { TerminateBackendsEverySeconds = n }; break;
                case "--broker-down-every" when Int(out var n): options = options with { BrokerDownEverySeconds = n }; break;
                case "--broker-down-for" when Int(out var n) && n > 0: options = options with { BrokerDownForSeconds = n }; break;
                case "--kill-consumer-every" when Int(out var n): options = options with { KillConsumerEverySeconds = n }; break;
                case "--pause-every" when Int(out var n): options = options with { PauseEverySeconds = n }; break;
                case "--pause-for" when double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 60:
                    options = options with { PauseForSeconds = p };
                    break;
                case "--quiesce-timeout" when Int(out var n) && n > 0: options = options with { QuiesceTimeoutSeconds = n }; break;
                case "--seed" when Int(out var n): options = options with { Seed = n }; break;
                case "--json": options = options with { JsonReport = value }; break;
                case "--logs": options = options with { LogDirectory = value }; break;
                case "--silo-env" when value.IndexOf('=', StringComparison.Ordinal) is var separator && separator > 0:
                    options = options with { SiloEnvironment = new Dictionary<string, string>(options.SiloEnvironment) { [value[..separator]] = value[(separator + 1)..] } };
                    break;
                default:
                    error = $"Unknown option or bad value: {name} {value}";
                    return false;
            }
        }

        return true;
    }
}
