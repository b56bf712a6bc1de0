using OrderPlatform.InvariantChecker.Command;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

return await CheckCommand.RunAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable, stop.Token);
