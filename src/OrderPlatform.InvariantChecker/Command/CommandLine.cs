using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using OrderPlatform.Contracts;

namespace OrderPlatform.InvariantChecker.Command;

/// <summary>The checker's arguments (and their environment fallbacks), validated before anything connects.</summary>
internal sealed partial record CommandLine(CheckerOptions Options, string? JsonPath)
{
    public const string Usage =
        """
        Usage: dotnet OrderPlatform.InvariantChecker.dll --postgres "<connection string>" [options]

        Checks the invariants of ARCHITECTURE.md against a deployment and prints one line per invariant with its
        counts, then examples of every violation. Read only: one repeatable-read snapshot of PostgreSQL, then
        Kafka read from the beginning to its current end without a consumer group.

          --postgres CS            PostgreSQL connection string (env ConnectionStrings__Postgres)
          --kafka SERVERS          Kafka bootstrap servers; without it Kafka is not read (env Kafka__BootstrapServers)
          --orders-topic NAME      topic names, as the platform's Kafka:Topics:* settings
          --inventory-topic NAME     (env Kafka__Topics__Orders, __Inventory, __Payments;
          --payments-topic NAME       defaults orderplatform.orders, .inventory, .payments)
          --consumer-schema NAME   schema of the downstream consumer's inbox (env Consumer__Schema; default
                                   projections, whose inbox is skipped when absent; a schema given explicitly must exist)
          --in-flight-grace SEC    leave sagas started and events recorded in the last SEC seconds alone (default 0)
          --outbox-grace SEC       how long an outbox row may stay unpublished (default: the in-flight grace)
          --kafka-timeout SEC      limit for reading the topics to their end (default 60)
          --provider-ledger WHERE  postgres (default): the payment simulator's ledger is read from psp_simulator and the
                                   provider's side of money checked; memory: the silo kept it (a one-silo benchmark),
                                   the provider's side is not checked
          --max-examples N         examples printed per violated rule (default 10)
          --json PATH              also write the report as JSON to PATH
          -h, --help               show this text

        Exit codes: 0 every invariant holds, 1 a violation was found, 2 bad arguments,
                    3 the check could not complete (database or Kafka unreachable, Kafka read timed out).
        """;

    private static readonly string[] ValueOptions =
    [
        "--postgres", "--kafka", "--orders-topic", "--inventory-topic", "--payments-topic", "--consumer-schema",
        "--in-flight-grace", "--outbox-grace", "--kafka-timeout", "--max-examples", "--json", "--provider-ledger",
    ];

    /// <returns>Null with <paramref name="error"/> set when the arguments are wrong; null without an error for --help.</returns>
    public static CommandLine? Parse(IReadOnlyList<string> args, Func<string, string?> environment, out string? error)
    {
        if (OrderPlatform.Commands.OptionValues.Read(args, ValueOptions, out error) is not { } values)
        {
            return null;
        }

        string? Value(string option, string? variable = null) =>
            values.TryGetValue(option, out var value) ? value : variable is null ? null : NullIfBlank(environment(variable));

        var postgres = Value("--postgres", "ConnectionStrings__Postgres");
        if (string.IsNullOrWhiteSpace(postgres))
        {
            return Fail("No database: pass --postgres \"<connection string>\" or set ConnectionStrings__Postgres.", out error);
        }

        NpgsqlConnectionStringBuilder connection;
        try
        {
            connection = new NpgsqlConnectionStringBuilder(postgres);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            return Fail($"--postgres is not a valid PostgreSQL connection string: {e.Message}", out error);
        }

        if (string.IsNullOrWhiteSpace(connection.Host))
        {
            return Fail("--postgres names no Host.", out error);
        }

        // A check is a long read: a few minutes per query is normal on a big store, and a DBA should see who runs it.
        connection.ApplicationName ??= "orderplatform-invariant-checker";
        if (connection.CommandTimeout == 30)
        {
            connection.CommandTimeout = 600;
        }

        var schema = Value("--consumer-schema", "Consumer__Schema");
        if (schema is not null && !SchemaName().IsMatch(schema))
        {
            return Fail($"--consumer-schema '{schema}' is not a schema name (lower-case letters, digits and '_', up to 63).", out error);
        }

        var topics = new KafkaTopics();
        topics.Orders = Value("--orders-topic", "Kafka__Topics__Orders") ?? topics.Orders;
        topics.Inventory = Value("--inventory-topic", "Kafka__Topics__Inventory") ?? topics.Inventory;
        topics.Payments = Value("--payments-topic", "Kafka__Topics__Payments") ?? topics.Payments;
        if (topics.EventTopics.FirstOrDefault(t => !TopicName().IsMatch(t)) is { } badTopic)
        {
            return Fail($"'{badTopic}' is not a Kafka topic name.", out error);
        }

        if (!TrySeconds(Value("--in-flight-grace"), "--in-flight-grace", TimeSpan.Zero, out var inFlight, out error)
            || !TrySeconds(Value("--outbox-grace"), "--outbox-grace", inFlight, out var outbox, out error)
            || !TrySeconds(Value("--kafka-timeout"), "--kafka-timeout", TimeSpan.FromSeconds(60), out var kafkaTimeout, out error))
        {
            return null;
        }

        if (kafkaTimeout <= TimeSpan.Zero)
        {
            return Fail("--kafka-timeout must be more than 0 seconds.", out error);
        }

        var maxExamples = 10;
        if (Value("--max-examples") is { } examples
            && (!int.TryParse(examples, NumberStyles.None, CultureInfo.InvariantCulture, out maxExamples) || maxExamples is < 1 or > 10_000))
        {
            return Fail($"--max-examples takes a number from 1 to 10000, not '{examples}'.", out error);
        }

        var ledger = Value("--provider-ledger");
        if (ledger is not null and not "postgres" and not "memory")
        {
            return Fail($"--provider-ledger takes postgres or memory, not '{ledger}'.", out error);
        }

        var json = Value("--json");
        if (json is not null && (json.Length == 0 || json.EndsWith('/') || !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(json)))))
        {
            return Fail($"--json '{json}' is not a file in an existing directory.", out error);
        }

        error = null;
        return new CommandLine(
            new CheckerOptions
            {
                PostgresConnectionString = connection.ConnectionString,
                KafkaBootstrapServers = Value("--kafka", "Kafka__BootstrapServers"),
                Topics = topics,
                ConsumerSchema = schema ?? CheckerOptions.DefaultConsumerSchema,
                ConsumerSchemaRequired = schema is not null,
                InFlightGrace = inFlight,
                OutboxGrace = outbox,
                KafkaTimeout = kafkaTimeout,
                MaxExamples = maxExamples,
                ReadProviderLedger = ledger != "memory",
            },
            json);
    }

    private static bool TrySeconds(string? value, string option, TimeSpan fallback, out TimeSpan seconds, out string? error)
    {
        seconds = fallback;
        error = null;
        if (value is null)
        {
            return true;
        }

        if (!double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number) || number > 315_360_000)
        {
            error = $"{option} takes a number of seconds (0 or more), not '{value}'.";
            return false;
        }

        seconds = TimeSpan.FromSeconds(number);
        return true;
    }

    private static CommandLine? Fail(string message, out string? error)
    {
        error = message;
        return null;
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,249}$")]
    private static partial Regex TopicName();
}
