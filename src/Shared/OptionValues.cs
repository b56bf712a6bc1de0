namespace OrderPlatform.Commands;

/// <summary>
/// Reads the arguments of a command whose options all take a value, as <c>--option value</c> or
/// <c>--option=value</c>. Compiled into each command that uses it (a linked source file), so the commands keep
/// no project reference to one another.
/// </summary>
internal static class OptionValues
{
    /// <returns>
    /// The value of each option given. Null with <paramref name="error"/> set when an argument is unknown, repeated or
    /// lacks its value; null without an error when help was asked for (<c>-h</c>, <c>--help</c>).
    /// </returns>
    public static Dictionary<string, string>? Read(IReadOnlyList<string> args, IReadOnlyCollection<string> valueOptions, out string? error)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        error = null;
        for (var i = 0; i < args.Count; i++)
        {
            var equals = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i].IndexOf('=', StringComparison.Ordinal) : -1;
            var (option, inline) = equals < 0 ? (args[i], null) : (args[i][..equals], args[i][(equals + 1)..]);
            if (option is "-h" or "--help")
            {
                return null;
            }

            if (!valueOptions.Contains(option))
            {
                error = $"Unknown argument '{args[i]}'.";
                return null;
            }

            if (values.ContainsKey(option))
            {
                error = $"{option} is given twice.";
                return null;
            }

            if (inline is null && (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal)))
            {
                error = $"{option} needs a value.";
                return null;
            }

            values[option] = inline ?? args[++i];
        }

        return values;
    }
}
