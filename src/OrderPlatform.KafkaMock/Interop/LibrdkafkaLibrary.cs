using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace OrderPlatform.KafkaMock.Interop;

/// <summary>
/// Finds the librdkafka that Confluent.Kafka loaded, so our P/Invokes bind to the very same file. Which file
/// that is depends on the machine: on Debian, the plain <c>librdkafka.so</c> of librdkafka.redist needs
/// libsasl2.so.3, fails to load, and Confluent.Kafka falls back to <c>centos8-librdkafka.so</c>.
/// </summary>
internal static class LibrdkafkaLibrary
{
    /// <summary>The name our imports use; only <see cref="Resolve"/> knows what it stands for.</summary>
    internal const string ImportName = "orderplatform-librdkafka";

    // Confluent.Kafka's own order of preference (its NativeMethods types), used to pick among several loaded
    // copies and, where the process' mappings cannot be read, to load by name from Confluent.Kafka's probing paths.
    private static readonly string[] ConfluentLibraryNames = ["librdkafka", "centos8-librdkafka", "alpine-librdkafka"];

    private static readonly Lazy<(IntPtr Handle, string Path)> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The file our imports resolved to: the librdkafka Confluent.Kafka uses in this process.</summary>
    internal static string Path => Loaded.Value.Path;

    internal static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == ImportName ? Loaded.Value.Handle : IntPtr.Zero;

    private static (IntPtr Handle, string Path) Load()
    {
        try
        {
            // Makes Confluent.Kafka pick and load its native library, with whatever logic its version has.
            _ = Library.Version;
        }
        catch (Exception e) when (e is DllNotFoundException or FileLoadException or InvalidOperationException)
        {
            throw new DllNotFoundException($"Confluent.Kafka could not load librdkafka, so the mock cluster cannot either: {e.Message}", e);
        }

        if (FindMappedLibrary() is { } path)
        {
            // The file is already mapped: this only takes another reference on the same image.
            return (NativeLibrary.Load(path), path);
        }

        var confluent = typeof(Library).Assembly;
        foreach (var name in ConfluentLibraryNames)
        {
            if (NativeLibrary.TryLoad(name, confluent, null, out var handle))
            {
                return (handle, name);
            }
        }

        throw new DllNotFoundException(
            $"Confluent.Kafka loaded librdkafka {Library.VersionString}, but its file could not be found " +
            $"(tried /proc/self/maps and the names {string.Join(", ", ConfluentLibraryNames)}).");
    }

    private static string? FindMappedLibrary()
    {
        const string maps = "/proc/self/maps";
        if (!OperatingSystem.IsLinux() || !File.Exists(maps))
        {
            return null;
        }

        // Lines read "address perms offset dev inode path"; only the path contains a '/'.
        var loaded = File.ReadLines(maps)
            .Select(line => line.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? line[slash..] : null)
            .OfType<string>()
            .Where(path => System.IO.Path.GetFileName(path).Contains("librdkafka", StringComparison.Ordinal) && File.Exists(path))
            .Distinct(StringComparer.Ordinal)
            .ToList();

        return loaded
            .OrderBy(path => Array.FindIndex(ConfluentLibraryNames, name => System.IO.Path.GetFileName(path).StartsWith(name + ".", StringComparison.Ordinal)) is var i and >= 0 ? i : int.MaxValue)
            .FirstOrDefault();
    }
}
