namespace OrderPlatform.LoadGen.Command;

/// <summary>What a load generator invocation does, validated. Either a fixed <see cref="Rate"/> or a <see cref="Ramp"/>.</summary>
internal sealed record LoadOptions
{
    public required IReadOnlyList<Uri> Targets { get; init; }

    public double? Rate { get; init; }

    public RampPlan? Ramp { get; init; }

    /// <summary>The measured window of a fixed-rate run, or of each step of a ramp.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Before each measured window; what happens in it is not reported.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(5);

    public int Skus { get; init; } = 100;

    public string SkuPrefix { get; init; } = "loadgen-sku";

    /// <summary>Stock every SKU with this quantity before the first run.</summary>
    public int? Restock { get; init; }

    /// <summary>Payment tokens, used in turn: order n gets token n mod count.</summary>
    public IReadOnlyList<string> Tokens { get; init; } = ["tok_approve"];

    /// <summary>From an order's intended start to its terminal state; later is an error.</summary>
    public TimeSpan CompletionTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public int MaxInFlight { get; init; } = 5000;

    /// <summary>Before the first re-read of an order when the server does not hold reads (no <c>Preference-Applied</c>); doubles up to 8 times.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>The latency a ramp step must keep its p99 under to count as sustained.</summary>
    public TimeSpan MaxP99 { get; init; } = TimeSpan.FromSeconds(1);

    public string? JsonPath { get; init; }
}

/// <summary>Rates from <see cref="From"/> to <see cref="To"/> by <see cref="Step"/> orders per second.</summary>
internal sealed record RampPlan(double From, double To, double Step)
{
    public const int MaxSteps = 100;

    public IReadOnlyList<double> Rates()
    {
        var rates = new List<double>();
        for (var i = 0; ; i++)
        {
            var rate = Math.Round(From + (i * Step), 6);
            if (rate > To + 1e-9)
            {
                return rates;
            }

            rates.Add(rate);
        }
    }
}
