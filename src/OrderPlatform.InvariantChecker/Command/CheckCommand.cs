using System.Text.Json;
using System.Text.Json.Serialization;
using Confluent.Kafka;
using Npgsql;
using OrderPlatform.InvariantChecker.Reporting;

namespace OrderPlatform.InvariantChecker.Command;

/// <summary>The command: arguments in, report out, and an exit code a script can branch on.</summary>
public static class CheckCommand
{
    public const int Clean = 0;
    public const int Violations = 1;
    public const int BadArguments = 2;
    public const int CouldNotCheck = 3;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
    };

    public static async Task<int> RunAsync(
        IReadOnlyList<string> args, TextWriter output, TextWriter errors, Func<string, string?> environment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(errors);

        var command = CommandLine.Parse(args, environment, out var error);
        if (command is null)
        {
            if (error is null)
            {
                await output.WriteLineAsync(CommandLine.Usage).ConfigureAwait(false);
                return Clean;
            }

            await errors.WriteLineAsync($"{error}\n\n{CommandLine.Usage}").ConfigureAwait(false);
            return BadArguments;
        }

        InvariantReport report;
        try
        {
            report = await new InvariantChecker(command.Options).RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or KafkaException or TimeoutException)
        {
            await errors.WriteLineAsync($"The check could not complete: {e.Message}").ConfigureAwait(false);
            return CouldNotCheck;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await errors.WriteLineAsync("The check was cancelled.").ConfigureAwait(false);
            return CouldNotCheck;
        }

        ReportText.Write(report, output);
        if (command.JsonPath is { } path)
        {
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, Json), cancellationToken).ConfigureAwait(false);
        }

        return report.Passed ? Clean : Violations;
    }
}
