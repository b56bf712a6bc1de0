using System.Diagnostics;
using System.Reflection;

namespace OrderPlatform.InvariantChecker.Tests.Infrastructure;

/// <summary>The checker as an operator runs it: <c>dotnet OrderPlatform.InvariantChecker.dll …</c> from its own build output.</summary>
internal static class CheckerProcess
{
    private static readonly string[] Settings =
    [
        "ConnectionStrings__Postgres", "Kafka__BootstrapServers", "Consumer__Schema",
        "Kafka__Topics__Orders", "Kafka__Topics__Inventory", "Kafka__Topics__Payments",
    ];

    public static string AssemblyPath
    {
        get
        {
            var configuration = typeof(CheckerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
            var path = Path.Combine(RepositoryRoot.Path, "src", "OrderPlatform.InvariantChecker", "bin", configuration, "net10.0", "OrderPlatform.InvariantChecker.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("Build src/OrderPlatform.InvariantChecker first.", path);
        }
    }

    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(AssemblyPath);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Only what the test passes: a developer's own settings must not leak into the child.
        foreach (var setting in Settings)
        {
            start.Environment.Remove(setting);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return await ProcessControl.RunToExitAsync(start, "The checker", TimeSpan.FromSeconds(60));
    }
}
