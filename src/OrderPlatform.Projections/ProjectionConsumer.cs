using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderPlatform.Contracts;

namespace OrderPlatform.Projections;

/// <summary>
/// The consumer group over the order, inventory and payment topics. Each message is applied to the read
/// models in one transaction with its inbox row; only then is its offset stored for the next commit, so a
/// crash replays messages that the inbox then skips. A message that keeps failing is parked on the
/// dead-letter topic with the error in its headers, and the consumer moves on. A database outage is not
/// the message's fault: it is retried until the database is back.
/// </summary>
public sealed class ProjectionConsumer(
    ReadModelProjector projector,
    IOptions<ConsumerOptions> options,
    IOptions<ConsumerKafkaOptions> kafka,
    ILogger<ProjectionConsumer> logger) : BackgroundService
{
    private readonly ConsumerOptions _options = options.Value;
    private readonly ConsumerKafkaOptions _kafka = kafka.Value;

    public long Applied { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await projector.EnsureSchemaAsync(_options.Schema, stoppingToken);
        using var deadLetters = new ProducerBuilder<string?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = _kafka.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
        }).Build();
        using var consumer = new ConsumerBuilder<string?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = _kafka.BootstrapServers,
            GroupId = _options.GroupId,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = true,
            EnableAutoOffsetStore = false,
            AutoCommitIntervalMs = 1000,
            SessionTimeoutMs = (int)_options.SessionTimeout.TotalMilliseconds,
            HeartbeatIntervalMs = (int)Math.Max(100, _options.SessionTimeout.TotalMilliseconds / 4),
            IsolationLevel = IsolationLevel.ReadCommitted,
        })
        .SetPartitionsAssignedHandler((_, partitions) => logger.LogInformation("Assigned {Partitions}.", string.Join(", ", partitions)))
        .Build();

        consumer.Subscribe(_kafka.Topics.EventTopics);
        logger.LogInformation("Consuming {Topics} as group {Group} into schema {Schema}.", string.Join(", ", _kafka.Topics.EventTopics), _options.GroupId, _options.Schema);
        try
        {
            // Consume blocks; a dedicated thread keeps it off the thread pool.
            await Task.Factory.StartNew(() => Loop(consumer, deadLetters, stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Commits what was stored, then leaves the group so partitions move at once.
            consumer.Close();
        }
    }

    private async Task Loop(IConsumer<string?, byte[]?> consumer, IProducer<string?, byte[]?> deadLetters, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var result = consumer.Consume(stoppingToken);
            if (result?.Message is null || result.IsPartitionEOF)
            {
                continue;
            }

            await HandleAsync(result, deadLetters, stoppingToken);
            consumer.StoreOffset(result);
        }
    }

    private async Task HandleAsync(ConsumeResult<string?, byte[]?> result, IProducer<string?, byte[]?> deadLetters, CancellationToken stoppingToken)
    {
        var source = new MessageSource(result.Topic, result.Partition.Value, result.Offset.Value);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var envelope = EventEnvelope.Parse(result.Message.Value ?? throw new JsonException("The message has no value."));
                var outcome = await projector.ApplyAsync(_options.Schema, envelope, source, stoppingToken);
                if (outcome == ApplyOutcome.Applied)
                {
                    Applied++;
                }

                return;
            }
            catch (Exception e) when (IsDatabaseOutage(e) && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Database unavailable while applying {Source}: {Message}; retrying.", source, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
                attempt = 0;
            }
            catch (Exception e) when (e is not OperationCanceledException && attempt < _options.MaxAttempts)
            {
                logger.LogWarning("Applying {Source} failed (attempt {Attempt} of {Max}): {Message}", source, attempt, _options.MaxAttempts, e.Message);
                await Task.Delay(_options.RetryDelay, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await ParkAsync(result, source, e, attempt, deadLetters, stoppingToken);
                return;
            }
        }
    }

    private async Task ParkAsync(
        ConsumeResult<string?, byte[]?> result, MessageSource source, Exception error, int attempts, IProducer<string?, byte[]?> deadLetters, CancellationToken stoppingToken)
    {
        var headers = new Headers();
        foreach (var header in result.Message.Headers ?? [])
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        var reason = $"{error.GetType().Name}: {error.Message}";
        headers.Add(EnvelopeHeaders.DeadLetterReason, Encoding.UTF8.GetBytes(reason));
        headers.Add(EnvelopeHeaders.DeadLetterTopic, Encoding.UTF8.GetBytes(source.Topic));
        headers.Add(EnvelopeHeaders.DeadLetterPartition, Encoding.UTF8.GetBytes(source.Partition.ToString(CultureInfo.InvariantCulture)));
        headers.Add(EnvelopeHeaders.DeadLetterOffset, Encoding.UTF8.GetBytes(source.Offset.ToString(CultureInfo.InvariantCulture)));
        headers.Add(EnvelopeHeaders.DeadLetterAttempts, Encoding.UTF8.GetBytes(attempts.ToString(CultureInfo.InvariantCulture)));

        // The offset moves on only once the dead-letter topic has the message.
        await deadLetters.ProduceAsync(_kafka.Topics.DeadLetter, new Message<string?, byte[]?> { Key = result.Message.Key, Value = result.Message.Value, Headers = headers }, stoppingToken);
        await projector.RecordDeadLetterAsync(_options.Schema, source, reason, stoppingToken);
        logger.LogError("Parked {Source} on {Topic} after {Attempts} attempts: {Reason}", source, _kafka.Topics.DeadLetter, attempts, reason);
    }

    private static bool IsDatabaseOutage(Exception e) =>
        e is NpgsqlException { IsTransient: true } || (e is NpgsqlException && e is not PostgresException);
}
