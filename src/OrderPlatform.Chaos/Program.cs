using System.Reflection;
using OrderPlatform.Chaos;

if (!ChaosOptions.TryParse(args, out var options, out var error))
{
    await Console.Error.WriteLineAsync(error.Length > 0 ? error + Environment.NewLine + ChaosOptions.Usage : ChaosOptions.Usage);
    return error.Length > 0 ? 2 : 0;
}

var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres");
if (string.IsNullOrWhiteSpace(connectionString))
{
    await Console.Error.WriteLineAsync("Set ConnectionStrings__Postgres to a PostgreSQL server where the run may create its database (scripts/chaos.sh does).");
    return 2;
}

var root = AppContext.BaseDirectory;
while (!File.Exists(Path.Combine(root, "OrderPlatform.sln")))
{
    root = Path.GetDirectoryName(root.TrimEnd('/')) ?? throw new InvalidOperationException("Run the chaos runner from the repository's build output.");
}

var configuration = typeof(ChaosRun).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
ChaosReport report;
try
{
    using var run = new ChaosRun(options, connectionString, root, configuration);
    report = await run.RunAsync();
}
catch (SiloDidNotStartException e)
{
    await Console.Error.WriteLineAsync($"The chaos run stopped: {e.Message}");
    return 1;
}

Console.WriteLine();
Console.WriteLine($"orders: {report.OrdersSent} sent, {report.OrdersAccepted} accepted, {report.ClientRetries} client retries, {report.ClientGaveUp} given up");
Console.WriteLine($"faults: {report.Kills.Count} silo kills, {report.Pauses.Count} silo pauses, {report.Restarts} restarts, {report.BackendTerminations} backend terminations, {report.BrokerOutages} broker outages, {report.ConsumerKills} consumer kills");
foreach (var kill in report.Kills)
{
    Console.WriteLine($"  {kill.At:HH:mm:ss} {kill.Silo}: {kill.SagasInFlight} sagas in flight; the last of them finished {kill.LastAffectedFinishedAfterSeconds:0.0} s after the kill");
}

foreach (var pause in report.Pauses)
{
    Console.WriteLine($"  {pause.At:HH:mm:ss} {pause.Silo}: paused for {pause.Seconds:0.0} s");
}

Console.WriteLine($"silos that exited on their own: {report.UnexpectedExits.Count}");
foreach (var exit in report.UnexpectedExits)
{
    Console.WriteLine($"  {exit.At:HH:mm:ss} {exit.Silo}: exit code {exit.ExitCode}");
}

Console.WriteLine($"recovery of sagas in flight at a kill (s): p50 {report.RecoveryP50Seconds:0.00}, p99 {report.RecoveryP99Seconds:0.00}, max {report.RecoveryMaxSeconds:0.00}");
Console.WriteLine($"quiesced: {report.Quiesced}; invariant checker exit code: {report.CheckerExitCode}");
if (options.JsonReport is { } path)
{
    await File.WriteAllTextAsync(path, ChaosRun.Describe(report));
}

return report.Quiesced && report.CheckerExitCode == 0 ? 0 : 1;
