using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderPlatform.Contracts;

namespace OrderPlatform.Relay;

/// <summary>
/// Publishes outbox rows to Kafka with an idempotent producer (acks=all), keyed by stream id, and marks them
/// published (or deletes them, <see cref="RelayOptions.DeleteOnPublish"/>) only after the broker acknowledged them.
/// Runs in every silo: each relay publishes the outbox shares it holds a lease on, in outbox order, so one stream's
/// events leave in version order. A crash between publish and mark publishes the row again; consumers apply each
/// event id once.
/// </summary>
/// <remarks>
/// <c>dataSource</c> serves what holds session state (the share leases' advisory locks); <c>statements</c>
/// the reads, marks and purges, which leave none behind.
/// </remarks>
public sealed class OutboxRelay(
    NpgsqlDataSource dataSource,
    NpgsqlDataSource statements,
    IOptions<KafkaOptions> kafkaOptions,
    IOptions<RelayOptions> relayOptions,
    RelayMetrics metrics,
    TimeProvider time,
    ILogger<OutboxRelay> logger) : BackgroundService
{
    /// <summary>A relay whose statements share the connections of its leases.</summary>
    public OutboxRelay(
        NpgsqlDataSource dataSource,
        IOptions<KafkaOptions> kafkaOptions,
        IOptions<RelayOptions> relayOptions,
        RelayMetrics metrics,
        TimeProvider time,
        ILogger<OutboxRelay> logger)
        : this(dataSource, dataSource, kafkaOptions, relayOptions, metrics, time, logger)
    {
    }

    private readonly OutboxStore _outbox = new(statements);
    private readonly KafkaOptions _kafka = kafkaOptions.Value;
    private readonly RelayOptions _options = relayOptions.Value;
    private readonly ScanFloor _floor = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (string.IsNullOrWhiteSpace(_kafka.BootstrapServers))
        {
            logger.LogWarning("Kafka:BootstrapServers is not set: the outbox relay is off and events stay in the outbox.");
            return;
        }

        await TopicProvisioner.EnsureTopicsAsync(_kafka, logger, stoppingToken);
        using var producer = BuildProducer();
        _ = HousekeepAsync(stoppingToken);

        await using var leases = new ShareLeases(dataSource, _options.Shares);
        var lastRebalance = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (time.GetUtcNow() - lastRebalance >= _options.PollInterval)
                {
                    if (leases.Held.Count == 0)
                    {
                        await leases.OpenAsync(stoppingToken);
                    }

                    await leases.RebalanceAsync(stoppingToken);
                    metrics.Holding(leases.Held.Count);
                    lastRebalance = time.GetUtcNow();

                    // Shares may have changed hands, and an operator may have marked rows unpublished to send them
                    // again: once per poll interval the relay reads the whole backlog.
                    _floor.Reset();
                }

                var published = leases.Held.Count == 0 ? 0 : await PublishBatchAsync(producer, leases.Held, stoppingToken);
                if (published < _options.BatchSize)
                {
                    await WaitForWorkAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The database or the broker is away: give the shares back (others may be healthier) and retry.
                logger.LogWarning(e, "Outbox relay iteration failed; retrying.");
                await leases.CloseAsync();
                metrics.Holding(0);
                _floor.Reset();
                lastRebalance = DateTimeOffset.MinValue;
                await Task.Delay(_options.PollInterval, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        producer.Flush(TimeSpan.FromSeconds(5));
    }

    /// <summary>Publishes one batch and returns how many rows it read.</summary>
    private async Task<int> PublishBatchAsync(IProducer<string, byte[]> producer, IReadOnlyCollection<int> shares, CancellationToken cancellationToken)
    {
        var read = await _outbox.ReadUnpublishedAsync(_options.Shares, shares, _floor.Value, _options.BatchSize, cancellationToken);
        var rows = read.Rows;
        if (rows.Count == 0)
        {
            _floor.Advance(read, 0, _options.BatchSize, markXid: null);
            metrics.ScannedFrom(_floor.Value);
            return 0;
        }

        // Enqueued in outbox order: the idempotent producer keeps that order per partition, retries included.
        var deliveries = new Task<DeliveryResult<string, byte[]>>[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            var topic = _kafka.Topics.ForAggregate(rows[i].AggregateType);
            var message = ToMessage(rows[i]);
            if (topic is null)
            {
                // A row no topic is configured for must not block every stream behind it: park it where operators look.
                logger.LogError("Outbox row {Id} of aggregate type '{Type}' has no topic; sending it to {DeadLetter}.", rows[i].Id, rows[i].AggregateType, _kafka.Topics.DeadLetter);
                message.Headers.Add(EnvelopeHeaders.DeadLetterReason, Encoding.UTF8.GetBytes($"No topic is configured for aggregate type '{rows[i].AggregateType}'."));
                topic = _kafka.Topics.DeadLetter;
            }

            deliveries[i] = producer.ProduceAsync(topic, message, cancellationToken);
        }

        try
        {
            await Task.WhenAll(deliveries).WaitAsync(_options.DeliveryTimeout, time, cancellationToken);
        }
        catch (Exception e) when (e is ProduceException<string, byte[]> or TimeoutException)
        {
            logger.LogWarning("Publishing a batch of {Count} outbox rows was not fully acknowledged: {Message}", rows.Count, e.Message);
        }

        // Only the acknowledged prefix is marked: a row after a failed one is sent again, so no stream skips a version.
        var acknowledged = 0;
        while (acknowledged < rows.Count && deliveries[acknowledged].IsCompletedSuccessfully
            && deliveries[acknowledged].Result.Status == PersistenceStatus.Persisted)
        {
            acknowledged++;
        }

        long? markXid = null;
        if (acknowledged > 0)
        {
            var now = time.GetUtcNow();
            long[] ids = [.. rows.Take(acknowledged).Select(r => r.Id)];
            markXid = _options.DeleteOnPublish
                ? await _outbox.DeletePublishedAsync(ids, CancellationToken.None)
                : await _outbox.MarkPublishedAsync(ids, now, CancellationToken.None);
            metrics.Published(acknowledged, rows.Take(acknowledged).Select(r => (now - r.CreatedAt).TotalMilliseconds));
        }

        _floor.Advance(read, acknowledged, _options.BatchSize, markXid);
        metrics.ScannedFrom(_floor.Value);

        return acknowledged == rows.Count ? rows.Count : 0;
    }

    private static Message<string, byte[]> ToMessage(OutboxRow row)
    {
        var correlationId = row.CorrelationId;
        var headers = new Headers
        {
            { EnvelopeHeaders.EventId, Encoding.UTF8.GetBytes(row.EventId.ToString()) },
            { EnvelopeHeaders.EventType, Encoding.UTF8.GetBytes(row.EventType) },
            { EnvelopeHeaders.SchemaVersion, Encoding.UTF8.GetBytes(row.SchemaVersion.ToString(CultureInfo.InvariantCulture)) },
            { EnvelopeHeaders.TraceParent, Encoding.UTF8.GetBytes(TraceParent(correlationId, row.EventId)) },
        };
        if (correlationId is not null)
        {
            headers.Add(EnvelopeHeaders.CorrelationId, Encoding.UTF8.GetBytes(correlationId));
        }

        var value = EventEnvelope.ToUtf8(row.EventId, row.EventType, row.SchemaVersion, row.StreamId, row.Version, row.RecordedAt, correlationId, row.Data);
        return new Message<string, byte[]> { Key = row.StreamId, Value = value, Headers = headers };
    }

    /// <summary>
    /// W3C traceparent: the trace of the request that caused the event (its correlation id is that trace id) and
    /// a span id derived from the event id, so a republished duplicate carries the same context.
    /// </summary>
    public static string TraceParent(string? correlationId, Guid eventId)
    {
        var eventHex = eventId.ToString("N");
        var traceId = correlationId is { Length: 32 } && correlationId.All(char.IsAsciiHexDigitLower) && correlationId.Any(ch => ch != '0')
            ? correlationId
            : eventHex;
        return $"00-{traceId}-{eventHex[16..]}-01";
    }

    private IProducer<string, byte[]> BuildProducer() =>
        new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = _kafka.BootstrapServers,
            ClientId = _kafka.ClientId + "-relay",
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            // Only whether each message was persisted is read: the client need not copy every message back for its report.
            DeliveryReportFields = "status",
            MessageTimeoutMs = (int)_options.DeliveryTimeout.TotalMilliseconds,
            RequestTimeoutMs = (int)_options.RequestTimeout.TotalMilliseconds,
            SocketTimeoutMs = (int)_options.RequestTimeout.TotalMilliseconds,
        })
        .SetLogHandler((_, message) => logger.Log(message.Level <= SyslogLevel.Warning ? LogLevel.Warning : LogLevel.Debug, "librdkafka {Facility}: {Message}", message.Facility, message.Message))
        .Build();

    /// <summary>Backlog metrics every poll interval, and the purge of old published rows.</summary>
    private async Task HousekeepAsync(CancellationToken stoppingToken)
    {
        var lastPurge = time.GetUtcNow();
        using var timer = new PeriodicTimer(_options.PollInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).AsTask().ContinueWith(t => t.IsCompletedSuccessfully && t.Result, TaskScheduler.Default))
        {
            try
            {
                var (backlog, capped, oldest) = await _outbox.BacklogAsync(_options.BacklogCountLimit, stoppingToken);
                metrics.Observed(backlog, capped, oldest is { } o ? Math.Max(0, (time.GetUtcNow() - o).TotalSeconds) : 0);
                if (time.GetUtcNow() - lastPurge >= _options.PurgeInterval)
                {
                    var purged = await _outbox.PurgePublishedAsync(time.GetUtcNow() - _options.Retention, stoppingToken);
                    lastPurge = time.GetUtcNow();
                    if (purged > 0)
                    {
                        logger.LogInformation("Purged {Count} published outbox rows.", purged);
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogDebug(e, "Outbox housekeeping failed; trying again next interval.");
            }
        }
    }

    /// <summary>
    /// A relay that found less than a full batch looks again after <see cref="RelayOptions.IdleWait"/>. Appends do not
    /// notify it: in PostgreSQL a notifying transaction holds a database-wide lock through its commit, WAL flush
    /// included, which made every appending transaction commit one after another (decision record 0023).
    /// </summary>
    private Task WaitForWorkAsync(CancellationToken stoppingToken) =>
        Task.Delay(_options.IdleWait, time, stoppingToken);
}
