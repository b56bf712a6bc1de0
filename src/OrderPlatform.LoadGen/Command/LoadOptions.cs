namespace OrderPlatform.LoadGen.Command;

/// <summary>What a load generator invocation does, validated: a <see cref="Ramp"/>, fixed <see cref="Rates"/>, or both (the ramp first).</summary>
internal sealed record LoadOptions
{
    public required IReadOnlyList<Uri> Targets { get; init; }

    public IReadOnlyList<double> Rates { get; init; } = [];

    public RampPlan? Ramp { get; init; }

    /// <summary>The measured window of each fixed-rate run.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The measured window of each step of a ramp.</summary>
    public TimeSpan StepDuration { get; init; } = TimeSpan.FromSeconds(30);

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

    /// <summary>
    /// Whether an order's POST asks to be answered at the order's end (<c>Prefer: wait</c>, answered 201 with the finished
    /// order): one request an order. Otherwise, or when the POST is answered 202 (the wait over first, or a server that
    /// does not hold POSTs), the order is read with GET until it has finished.
    /// </summary>
    public bool WaitInPost { get; init; } = true;

    /// <summary>Before the first re-read of an order when the server does not hold reads (no <c>Preference-Applied</c>); doubles up to 8 times.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>The latency a ramp step must keep its p99 under to count as sustained.</summary>
    public TimeSpan MaxP99 { get; init; } = TimeSpan.FromSeconds(1);

    public string? JsonPath { get; init; }

    /// <summary>Silo processes on this machine whose CPU and memory are sampled during each measured window.</summary>
    public IReadOnlyList<int> SiloPids { get; init; } = [];

    /// <summary>PostgreSQL's postmaster on this machine, whose CPU with its backends' is sampled during each measured window.</summary>
    public int? PostgresPid { get; init; }

    /// <summary>The platform's database: commits per saga during each window, and no run starts before its sagas are done.</summary>
    public string? Postgres { get; init; }

    /// <summary>The machine's commit ceiling (pgbench tps), to report sagas/s as a share of it.</summary>
    public double? CommitCeiling { get; init; }

    /// <summary>How long to wait before a run for the platform's unfinished sagas (with <see cref="Postgres"/>).</summary>
    public TimeSpan QuietWait { get; init; } = TimeSpan.FromSeconds(120);

    public bool WatchesServer => SiloPids.Count > 0 || PostgresPid is not null || Postgres is not null;
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
