using OrderPlatform.KafkaMock.Command;

namespace OrderPlatform.KafkaMock.Tests;

/// <summary>The command's arguments, parsed without starting anything.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public void Defaults_to_three_brokers_no_topics_and_no_file()
    {
        Assert.True(CommandLine.TryParse([], out var parsed, out _));

        Assert.Equal(new CommandLine(3, [], null, ShowHelp: false), parsed with { Topics = [] });
        Assert.Empty(parsed.Topics);
    }

    [Fact]
    public void Takes_repeated_topics_with_optional_replication_and_both_option_spellings()
    {
        var file = Path.Combine(Path.GetTempPath(), "bootstrap");

        Assert.True(CommandLine.TryParse(
            ["--brokers=2", "--topic", "orders:6", "--topic=payments:3:2", "--bootstrap-file", file], out var parsed, out var error), error);

        Assert.Equal(2, parsed.Brokers);
        Assert.Equal([new TopicSpec("orders", 6, 1), new TopicSpec("payments", 3, 2)], parsed.Topics);
        Assert.Equal(file, parsed.BootstrapFile);
    }

    [Theory]
    [InlineData("given twice", "--topic", "orders:1", "--topic", "orders:2")]
    [InlineData("only 1 broker(s)", "--brokers", "1", "--topic", "orders:1:2")]
    [InlineData("1 to 64", "--brokers", "65")]
    [InlineData("needs a value", "--bootstrap-file", "--brokers", "1")]
    [InlineData("Unknown argument", "orders:1")]
    public void Refuses_with_a_message_that_names_the_problem(string expected, params string[] args)
    {
        Assert.False(CommandLine.TryParse(args, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
