using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderPlatform.EventStore.Events;
using OrderPlatform.EventStore.Idempotency;
using OrderPlatform.EventStore.Migrations;
using OrderPlatform.EventStore.Sagas;
using OrderPlatform.EventStore.Snapshots;
using OrderPlatform.Grains.Checkout;
using OrderPlatform.Grains.EventSourcing;
using OrderPlatform.Grains.Payments;
using OrderPlatform.Host.Api;
using OrderPlatform.Host.Hosting;
using OrderPlatform.Relay;
using Orleans.Configuration;

var started = Stopwatch.StartNew();
// Settings files sit next to the binary, wherever the process is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

var connectionString = builder.Configuration.GetConnectionString("Postgres");
if (string.IsNullOrWhiteSpace(connectionString))
{
    Console.Error.WriteLine("No database configured: set ConnectionStrings__Postgres (or run ./run.sh, which provisions a local PostgreSQL).");
    return 2;
}

// Two pools. The hot one (appends, stream reads, idempotency, the payment simulator, the relay's reads, marks and deletes) leaves no session state
// behind, so its connections go back to the pool without a reset (seven statements each time otherwise), and
// its statements are parsed and planned once per connection. The other serves what does hold session state
// (the relay's advisory-lock leases, the migration lock) and resets every connection it gets back.
var dataSourceBuilder = new NpgsqlDataSourceBuilder(connectionString) { Name = "order-platform" };
dataSourceBuilder.ConnectionStringBuilder.NoResetOnClose = true;
if (dataSourceBuilder.ConnectionStringBuilder.MaxAutoPrepare == 0)
{
    dataSourceBuilder.ConnectionStringBuilder.MaxAutoPrepare = 64;
}

// A bounded hot pool: what one silo asks of PostgreSQL stays bounded (several silos at Npgsql's default of 100 could
// take every connection the server has), without starving it (decision record 0013). Requests beyond it wait.
if (WholeNumberSetting(builder.Configuration, "Database:HotPoolSize", 16, 2, 1000) is not { } hotPoolSize)
{
    return 2;
}

dataSourceBuilder.ConnectionStringBuilder.MaxPoolSize = hotPoolSize;

// Connections the hot pool keeps once it has opened them. Npgsql closes idle connections above this every five minutes
// (Connection Idle Lifetime): under steady load that closed most of the pool at once, and the next busy moment waited
// for new server processes and planned its statements again, a stall of up to a second (decision record 0034).
if (WholeNumberSetting(builder.Configuration, "Database:HotPoolKeep", hotPoolSize, 0, hotPoolSize) is not { } hotPoolKeep)
{
    return 2;
}

dataSourceBuilder.ConnectionStringBuilder.MinPoolSize = hotPoolKeep;

// Optionally, commands from every caller share the hot pool's connections: Npgsql writes the ones waiting together and
// reads their answers in order (multiplexing), instead of each command holding a connection to itself until answered.
// It took about an eighth off PostgreSQL's CPU an order at 200 orders/s on a 2-core machine, but a multiplexed command
// can no longer be cancelled or timed out once sent, and Npgsql's next major version drops it: off unless asked for
// (decision record 0039). The hot pool holds no session state and starts no transactions, which multiplexing requires.
if (BooleanSetting(builder.Configuration, "Database:HotPoolMultiplexing", false) is not { } multiplexing)
{
    return 2;
}

// Npgsql does not send its own keepalive queries on multiplexed connections (it would fail at the first connection).
if (multiplexing && dataSourceBuilder.ConnectionStringBuilder.KeepAlive > 0)
{
    Console.Error.WriteLine("The connection string's Keepalive cannot be used with Database:HotPoolMultiplexing: use Tcp Keepalive Time "
        + "instead, or set Database:HotPoolMultiplexing to false.");
    return 2;
}

dataSourceBuilder.ConnectionStringBuilder.Multiplexing = multiplexing;

// Each pool's connections name it in pg_stat_activity, unless the connection string names an application itself.
dataSourceBuilder.ConnectionStringBuilder.ApplicationName ??= "orderplatform-hot";

// How long a starting silo waits for a database it cannot reach (a server still starting, or restarting) before it gives up.
if (DurationSetting(builder.Configuration, "Database:StartupWait", TimeSpan.FromSeconds(60), null, "00:01:00") is not { } startupWait)
{
    return 2;
}

// How long a small group of writes waits for company (decision record 0019): a wait beyond a second would hold every
// quiet write that long, so it is refused rather than taken. Only checked here: the event store's options bind both.
var eventStoreDefaults = new EventStoreOptions();
if (DurationSetting(builder.Configuration, "EventStore:GroupWait", eventStoreDefaults.GroupWait, TimeSpan.FromSeconds(1), "00:00:00.002") is null
    || WholeNumberSetting(builder.Configuration, "EventStore:GroupWaitWhileFewerThan", eventStoreDefaults.GroupWaitWhileFewerThan, 1, 256) is null)
{
    return 2;
}

// How long a finished saga, order or payment stays in memory for the reads that follow its end (decision record 0025).
if (DurationSetting(builder.Configuration, $"{RestingOptions.Section}:{nameof(RestingOptions.RestingLinger)}", RestingOptions.DefaultLinger, RestingOptions.MaxLinger, "00:00:01") is not { } restingLinger)
{
    return 2;
}

// Events between snapshots of a SKU's stock (decision record 0028); 0 for none.
if (WholeNumberSetting(builder.Configuration, $"{SnapshotOptions.Section}:{nameof(SnapshotOptions.SnapshotEvery)}", SnapshotOptions.DefaultEvery, 0, SnapshotOptions.MaxEvery) is not { } snapshotEvery)
{
    return 2;
}

// How quickly the cluster declares a silo dead (decision record 0051): each silo probes the others, a silo that misses
// this many probes in a row (the last also tried through another silo) is suspected, and this many votes declare it
// dead, whereupon it ends its own process. Orleans waits for a silo that answered anything lately on a connection still
// open, so a stalled silo (a long GC pause, a starved machine) is not taken for dead this quickly; a SIGKILLed one is.
if (DurationSetting(builder.Configuration, "Orleans:ProbeTimeout", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), "00:00:01", TimeSpan.FromMilliseconds(100)) is not { } probeTimeout
    || WholeNumberSetting(builder.Configuration, "Orleans:MissedProbesLimit", 2, 1, 10) is not { } missedProbesLimit
    || WholeNumberSetting(builder.Configuration, "Orleans:VotesForDeathDeclaration", 1, 1, 10) is not { } votesForDeath)
{
    return 2;
}

var dataSource = dataSourceBuilder.Build();
var sessionDataSourceBuilder = new NpgsqlDataSourceBuilder(connectionString) { Name = "order-platform-sessions" };
sessionDataSourceBuilder.ConnectionStringBuilder.ApplicationName ??= "orderplatform-sessions";

// Session state (advisory locks) needs a connection of its own: never multiplexed, whatever the connection string says.
sessionDataSourceBuilder.ConnectionStringBuilder.Multiplexing = false;
var sessionDataSource = sessionDataSourceBuilder.Build();
builder.Services.AddSingleton(dataSource);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton(builder.Configuration.GetSection(EventStoreOptions.Section).Get<EventStoreOptions>() ?? new EventStoreOptions());
builder.Services.AddSingleton<PostgresEventStore>();
builder.Services.AddSingleton(new RestingOptions { RestingLinger = restingLinger });
builder.Services.AddSingleton(new SnapshotOptions { SnapshotEvery = snapshotEvery });
builder.Services.AddSingleton<SnapshotStore>();
builder.Services.AddSingleton<SagaIndex>();
builder.Services.AddSingleton<IdempotencyStore>();
builder.Services.AddSingleton<IdempotentRequests>();
builder.Services.AddSingleton<IPaymentGateway>(services => new SimulatedPaymentGateway(
    services.GetRequiredService<IOptions<PaymentGatewayOptions>>().Value.SimulatorLedger == SimulatorLedgers.Memory
        ? new MemorySimulatorLedger()
        : new PostgresSimulatorLedger(dataSource, TimeProvider.System, services.GetRequiredService<EventStoreOptions>()),
    TimeProvider.System));

builder.Services.AddOptions<SagaOptions>().BindConfiguration(SagaOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<PaymentGatewayOptions>().BindConfiguration(PaymentGatewayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<IdempotencyOptions>().BindConfiguration(IdempotencyOptions.Section).ValidateOnStart();
builder.Services.AddOptions<AdmissionOptions>().BindConfiguration(AdmissionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<RunningSagas>();
builder.Services.AddSingleton<OrderAdmission>();
builder.Services.AddOptions<OrleansOptions>().BindConfiguration(OrleansOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton(sp => sp.GetRequiredService<IConfiguration>().GetSection(IdempotencyOptions.Section).Get<IdempotencyStoreOptions>() ?? new IdempotencyStoreOptions());

var orleans = builder.Configuration.GetSection(OrleansOptions.Section).Get<OrleansOptions>() ?? new OrleansOptions();

// Orleans opens its own connections for the membership and reminder tables (a third pool, Npgsql's, keyed by this
// string): named too, so pg_stat_activity tells them from the platform's.
var orleansConnection = new NpgsqlConnectionStringBuilder(connectionString);
orleansConnection.ApplicationName ??= "orderplatform-orleans";
orleansConnection.Multiplexing = false;
var orleansConnectionString = orleansConnection.ConnectionString;
builder.UseOrleans(silo =>
{
    silo.Configure<ClusterOptions>(o =>
    {
        o.ClusterId = orleans.ClusterId;
        o.ServiceId = orleans.ServiceId;
    });
    silo.ConfigureEndpoints(IPAddress.Parse(orleans.AdvertisedAddress), orleans.SiloPort, orleans.GatewayPort, listenOnAnyHostAddress: false);
    silo.UseAdoNetClustering(o =>
    {
        o.Invariant = "Npgsql";
        o.ConnectionString = orleansConnectionString;
    });
    silo.UseAdoNetReminderService(o =>
    {
        o.Invariant = "Npgsql";
        o.ConnectionString = orleansConnectionString;
    });

    // Detect a killed silo in seconds rather than Orleans' default of a quarter minute, so its grains move quickly.
    silo.Configure<ClusterMembershipOptions>(o =>
    {
        o.ProbeTimeout = probeTimeout;
        o.NumMissedProbesLimit = missedProbesLimit;
        o.NumVotesForDeathDeclaration = votesForDeath;
        // A joining silo waits for silent rows of killed silos to go stale: a short heartbeat keeps that wait short.
        o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
        o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
        o.DefunctSiloExpiration = TimeSpan.FromHours(1);
    });

    // Completed orders should not keep grains in memory.
    silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromMinutes(2));
    silo.Configure<GrainDirectoryOptions>(o => o.CacheSize = orleans.DirectoryCacheSize);
});

builder.Services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<RelayOptions>().BindConfiguration(RelayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<RelayMetrics>();
// The relay's leases hold session state; its reads and marks do not, and use the hot pool's prepared statements.
builder.Services.AddHostedService(sp => new OutboxRelay(
    sessionDataSource,
    dataSource,
    sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<KafkaOptions>>(),
    sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<RelayOptions>>(),
    sp.GetRequiredService<RelayMetrics>(),
    sp.GetRequiredService<TimeProvider>(),
    sp.GetRequiredService<ILogger<OutboxRelay>>()));

builder.Services.AddHostedService<SagaRecoveryService>();
builder.Services.AddHostedService<IdempotencyPurgeService>();

builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<TransientFailures>();
builder.Services.AddOpenApi();
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));
builder.WebHost.ConfigureKestrel(o => o.Limits.MaxRequestBodySize = 8 * 1024 * 1024);

// The schema must exist before the silo joins the cluster through the membership table.
IReadOnlyList<int> applied;
try
{
    applied = await new MigrationRunner(sessionDataSource).ApplyWhenReachableAsync(startupWait, TimeProvider.System, (error, pause) =>
        Console.Error.WriteLine($"The database is not reachable yet ({error.Message}); trying again in {pause.TotalSeconds:0.##} s."));
}
catch (Exception e) when (MigrationRunner.IsConnectionLoss(e))
{
    Console.Error.WriteLine($"The database could not be reached within Database:StartupWait ({startupWait}): {e.Message}");
    return 1;
}

var app = builder.Build();
app.UseExceptionHandler(new ExceptionHandlerOptions
{
    StatusCodeSelector = e => e is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
});
app.UseStatusCodePages();

app.MapOpenApi();
app.MapGet("/health", () => TypedResults.Ok(new { status = "ok" })).ExcludeFromDescription();
app.MapGet("/relay/status", (RelayMetrics relay, Microsoft.Extensions.Options.IOptions<KafkaOptions> kafka, Microsoft.Extensions.Options.IOptions<RelayOptions> options) =>
{
    // One reading: its count, whether the count stopped at its limit, and the oldest row's age were taken together.
    var backlog = relay.Backlog;
    return TypedResults.Ok(new
    {
        enabled = !string.IsNullOrWhiteSpace(kafka.Value.BootstrapServers),
        // What this silo's relay does with a row once the broker has it: deletes it, or marks it and purges it after the retention.
        publishedRows = options.Value.DeleteOnPublish ? "deleted" : "marked",
        backlog = backlog.Backlog,
        // Whether the backlog is longer than the count goes (Relay:BacklogCountLimit): then it is at least that.
        backlogCapped = backlog.Capped,
        oldestUnpublishedAgeSeconds = backlog.OldestAgeSeconds,
        sharesHeld = relay.SharesHeld,
        publishedBySilo = relay.PublishedTotal,
        scanFloor = relay.ScanFloor,
    });
}).WithTags("Operations").WithSummary("Outbox backlog (counted up to a limit), age of the oldest unpublished event, this silo's share of the relay, whether it deletes or marks published rows, and the outbox id its reads start from.");
app.MapGet("/silo/status", async (IGrainFactory grains, ILocalSiloDetails silo, PostgresEventStore store, IdempotencyStore idempotency, IPaymentGateway gateway, OrderAdmission admission, bool? collect) =>
{
    if (collect == true)
    {
        // For memory reports at a quiet moment: a full, compacting collection first, so the heap is what is live.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    // This silo only: its grain activations by type, and its memory.
    var statistics = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics([silo.SiloAddress]);
    using var process = Process.GetCurrentProcess();
    var gc = GC.GetGCMemoryInfo();
    var simulator = gateway as SimulatedPaymentGateway;
    return TypedResults.Ok(new
    {
        silo = silo.SiloAddress.ToString(),
        activations = statistics.Where(s => s.GrainType.StartsWith("OrderPlatform.", StringComparison.Ordinal))
            .GroupBy(s => s.GrainType.Split(',')[0].Split('.')[^1], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount), StringComparer.Ordinal),
        // Sagas running on this silo now, the most it admits new orders beside (Admission:MaxRunningSagas, 0 for no
        // limit), the orders refused since start, and the Retry-After the latest refusal gave.
        sagas = new { running = admission.Running, admissionLimit = admission.Limit, refusedOrders = admission.Refused, latestRetryAfterSeconds = admission.LatestRetryAfterSeconds },
        workingSetBytes = process.WorkingSet64,
        gcHeapBytes = GC.GetTotalMemory(forceFullCollection: false),
        gcCommittedBytes = gc.TotalCommittedBytes,

        // What survived the last full collection: the live objects, without the garbage that GC heap counts.
        gcHeapAfterLastFullCollectionBytes = LastFullCollection().HeapSizeBytes,
        gen0Collections = GC.CollectionCount(0),
        gen1Collections = GC.CollectionCount(1),
        gen2Collections = GC.CollectionCount(2),

        // Counters since start: sample twice and divide the differences by the time between, for rates and shares.
        gcPauseSeconds = GC.GetTotalPauseDuration().TotalSeconds,
        gcAllocatedBytes = GC.GetTotalAllocatedBytes(),
        cpuSeconds = process.TotalProcessorTime.TotalSeconds,
        lockContentions = Monitor.LockContentionCount,
        threadPool = new
        {
            threads = ThreadPool.ThreadCount,
            queued = ThreadPool.PendingWorkItemCount,
            completed = ThreadPool.CompletedWorkItemCount,
        },

        // Appends, stream reads, idempotency claims and stored responses, and the statements that carried them: concurrent ones share one.
        eventStore = store.Counters,

        // Grouped appends by duration (DurationBuckets: bucket i under 2^((i + 1) / 4) µs): waiting for their group's
        // statement to begin, and that statement with its commit. Difference two samples for the appends between.
        appendTimings = store.AppendTimings.Snapshot(),

        // The same for the simulated payment provider's answers, recorded in its ledger (two on an order's way; none when it
        // keeps its ledger in memory), and where it keeps it.
        providerAnswerTimings = simulator?.AnswerTimings?.Snapshot(),

        // And its captures' look-ups of their authorizations (one on an order's way), which share statements the same way.
        providerCaptureLookTimings = simulator?.CaptureLookTimings?.Snapshot(),
        providerLedger = simulator?.LedgerKind,
        idempotency = idempotency.Counters,
    });
}).WithTags("Operations").WithSummary("This silo's grain activations by type, the sagas running on it against its admission limit with the orders refused, its memory (working set, GC heap), and running counters "
    + "(GC pause, CPU, lock contentions, thread pool work items, event store appends and reads, idempotency claims and stored responses, and their statements; grouped appends and the payment simulator's answers and capture look-ups by time waiting for their statement and time in it) to sample and difference. "
    + "?collect=true first forces a full garbage collection (a pause: for memory reports, not for monitoring).");
app.MapOrdersApi();
app.MapInventoryApi();

// A whole-number setting from min to max: its value, the default when it is not set, or null (after saying why) when
// the silo cannot use it.
static int? WholeNumberSetting(IConfiguration configuration, string key, int fallback, int min, int max)
{
    var setting = configuration[key];
    if (setting is null)
    {
        return fallback;
    }

    if (int.TryParse(setting, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
        && value >= min && value <= max)
    {
        return value;
    }

    Console.Error.WriteLine($"{key} must be a whole number from {min} to {max}, not '{setting}'.");
    return null;
}

// A true or false setting: its value, the default when it is not set, or null (after saying why) when the silo cannot use it.
static bool? BooleanSetting(IConfiguration configuration, string key, bool fallback)
{
    var setting = configuration[key];
    if (setting is null)
    {
        return fallback;
    }

    if (bool.TryParse(setting, out var value))
    {
        return value;
    }

    Console.Error.WriteLine($"{key} must be true or false, not '{setting}'.");
    return null;
}

// A duration setting of min (zero unless given) or more, up to max when there is one: its value, the default when it is
// not set, or null (after saying why, with an example) when the silo cannot use it.
static TimeSpan? DurationSetting(IConfiguration configuration, string key, TimeSpan fallback, TimeSpan? max, string example, TimeSpan min = default)
{
    var setting = configuration[key];
    if (setting is null)
    {
        return fallback;
    }

    if (TimeSpan.TryParse(setting, System.Globalization.CultureInfo.InvariantCulture, out var value)
        && value >= min && (max is null || value <= max))
    {
        return value;
    }

    // The least allowed, without a fraction's trailing zeros (00:00:00.1, not 00:00:00.1000000).
    var least = min.ToString(min.Ticks % TimeSpan.TicksPerSecond == 0 ? @"hh\:mm\:ss" : @"hh\:mm\:ss\.FFFFFFF", System.Globalization.CultureInfo.InvariantCulture);
    Console.Error.WriteLine(max is null
        ? $"{key} must be a duration such as {example} ({(min == TimeSpan.Zero ? "zero" : least)} or more), not '{setting}'."
        : $"{key} must be a duration from {least} to {max}, such as {example}, not '{setting}'.");
    return null;
}

static GCMemoryInfo LastFullCollection()
{
    var blocking = GC.GetGCMemoryInfo(GCKind.FullBlocking);
    var background = GC.GetGCMemoryInfo(GCKind.Background);
    return blocking.Index >= background.Index ? blocking : background;
}

app.Lifetime.ApplicationStarted.Register(() =>
{
    var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("OrderPlatform");
    log.LogInformation(
        "OrderPlatform silo {SiloPort}/{GatewayPort} ready in {Elapsed} ms (migrations applied now: {Applied}); API on {Urls}",
        orleans.SiloPort, orleans.GatewayPort, started.ElapsedMilliseconds, applied.Count == 0 ? "none" : string.Join(", ", applied), string.Join(", ", app.Urls));
    if (app.Services.GetRequiredService<IOptions<PaymentGatewayOptions>>().Value.SimulatorLedger == SimulatorLedgers.Memory)
    {
        log.LogWarning(
            "The payment simulator keeps its ledger in this silo's memory (PaymentGateway:SimulatorLedger=memory): for a one-silo benchmark only; a retry on another silo or after a restart would be answered twice");
    }
});

// What app.RunAsync() does (start, wait for the signal to stop, stop, dispose), with a failed start told apart.
try
{
    await app.StartAsync();
}
catch (Exception e)
{
    // Sections checked by their attributes at start (Relay, Kafka, Saga, ...) are refused before the silo joins its
    // cluster or serves a request; anything else (a port already taken, for example) the host has logged with its stack.
    // One line says which, before the host is disposed: with other silos up, Orleans may fail fast while it tears down
    // (exit code 134, decision record 0051), and the line should be there first.
    var invalid = e as Microsoft.Extensions.Options.OptionsValidationException;
    Console.Error.WriteLine(invalid is not null ? $"A setting cannot be used: {string.Join(" ", invalid.Failures)}" : $"The silo could not start: {e.Message}");
    await app.DisposeAsync();
    return invalid is not null ? 2 : 1;
}

await app.WaitForShutdownAsync();
await app.DisposeAsync();
return 0;
