using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrderPlatform.EventStore.Events;
using OrderPlatform.EventStore.Sagas;
using OrderPlatform.EventStore.Snapshots;

namespace OrderPlatform.Grains.EventSourcing;

/// <summary>
/// A grain whose state is the fold of its event stream. It rebuilds from the stream before its first call runs,
/// decides through the domain, appends with the version it last saw and, when another writer got there first (a
/// stale activation left by a crash or a partition), reloads and decides again instead of overwriting.
/// </summary>
/// <remarks>
/// A caller that creates an aggregate can say so (<see cref="NewStreams"/>): the activation then skips the read of a
/// stream that cannot have events yet and appends at version 0. A caller that wrote the stream's first events can
/// tell them (<see cref="KnownStreams"/>): the activation starts from them and appends after them. The version guard
/// makes both safe: if the stream held more, the append is refused, and the grain reads what it missed and decides
/// again, as after any conflict. Until such an append has landed, every other call looks at the stream first.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The gate's wait handle is never used, so it holds nothing to dispose.")]
public abstract class EventSourcedGrain<TState, TEvent>(PostgresEventStore store, EventTypeRegistry<TEvent> registry, TimeProvider time)
    : Grain, IIncomingGrainCallFilter
    where TEvent : class
{
    /// <summary>The request context entry that carries the correlation id through grain calls.</summary>
    public const string CorrelationKey = "correlation-id";

    private enum Loading
    {
        /// <summary>Nothing read yet.</summary>
        NotLoaded,

        /// <summary>
        /// Taken on a caller's word to hold <see cref="_assumedRows"/> rows: none (a creating caller), or the events a
        /// caller wrote and told; the first append after them proves it.
        /// </summary>
        Assumed,

        /// <summary>The state is the stream's, up to <see cref="Version"/>.</summary>
        Loaded,
    }

    private Loading _loading;
    private int _assumedRows;

    /// <summary>A caller's record offered with the call being served, and what became of it.</summary>
    private sealed class CarryOffer(CarriedRecord record)
    {
        public CarriedRecord Record => record;

        /// <summary>An append tried to carry it: it is not offered to a second one.</summary>
        public bool Tried { get; set; }

        /// <summary>It committed with the command's events.</summary>
        public bool Carried { get; set; }
    }

    // Flows from the call filter into the command's handling; interleaved reads of the same activation have their own.
    private static readonly AsyncLocal<CarryOffer?> Offer = new();

    /// <summary>A command waiting for its turn to be decided and appended, and its outcome.</summary>
    private sealed class QueuedCommand(string? commandId, Func<TState, Task<IReadOnlyList<TEvent>>> decide, string? correlationId, CarryOffer? offer)
    {
        public string? CommandId => commandId;

        public Func<TState, Task<IReadOnlyList<TEvent>>> Decide => decide;

        public string? CorrelationId => correlationId;

        public CarryOffer? Offer => offer;

        public TaskCompletionSource<IReadOnlyList<TEvent>> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private const int MaxConflictRetries = 5;

    // Only one decide-and-append at a time, even when an interleaving call or a background saga run overlaps an await.
    private readonly SemaphoreSlim _appendGate = new(1, 1);
    private readonly Dictionary<string, IReadOnlyList<TEvent>> _eventsByCommand = new(StringComparer.Ordinal);

    // Commands waiting for the append gate, in their order of arrival; whoever holds the gate takes them in turn.
    private readonly Queue<QueuedCommand> _queued = new();

    protected TState State { get; private set; } = default!;

    protected int Version { get; private set; }

    protected TimeProvider Time => time;

    protected abstract string StreamId { get; }

    private string? _stream;

    /// <summary><see cref="StreamId"/>, made once per activation: every call looks it up several times.</summary>
    private string Stream => _stream ??= StreamId;

    protected abstract string AggregateType { get; }

    protected abstract TState InitialState { get; }

    protected abstract TState Apply(TState state, TEvent recorded);

    /// <summary>Whether appended events are announced through the outbox (and so reach Kafka).</summary>
    protected virtual bool Published => true;

    /// <summary>Whether events the registry packs share rows when appended (<see cref="EventTypeRegistry{TEvent}.Packs"/>); read either way.</summary>
    protected virtual bool PacksEvents => true;

    private IGrainTimer? _restTimer;

    /// <summary>Called whenever the state moved on: after an append and after catching up with the stream.</summary>
    protected virtual void OnStateChanged()
    {
    }

    /// <summary>
    /// Whether nothing more is expected of the aggregate soon (a finished order, a settled payment). Such an
    /// activation deactivates <see cref="RestingOptions.RestingLinger"/> later, so memory does not grow with completed
    /// orders; a later call activates it again from its stream.
    /// </summary>
    protected virtual bool IsAtRest(TState state) => false;

    /// <summary>
    /// How many waiting commands one append may take. A grain that serves calls one at a time never has more than one
    /// waiting; a reentrant grain that many callers share (a SKU's stock) decides the commands that queued behind an
    /// append together, each against the state the ones before it leave, and appends their events at once, so its
    /// commands per second are not bounded by one commit at a time.
    /// </summary>
    protected virtual int MaxCommandsPerAppend => 1;

    /// <summary>Whether a command id is kept to answer its repeats; aggregates that answer repeats from their state need not.</summary>
    protected virtual bool RemembersCommand(string commandId) => true;

    /// <summary>
    /// Events between snapshots of the stream, 0 for none. A grain that snapshots (its stream grows without end) says
    /// so here and writes and reads its state (<see cref="SnapshotOf"/>, <see cref="FromSnapshot"/>); its state must be
    /// immutable, as it is written out beside the grain's work.
    /// </summary>
    protected virtual int SnapshotEvery => 0;

    /// <summary>
    /// About how many entries <paramref name="state"/> holds: a snapshot waits for at least as many events as that, so a
    /// large state is not written out again after a few events (its cost per event stays bounded, as does the tail a
    /// reactivation reads after it).
    /// </summary>
    protected virtual int SnapshotWeight(TState state) => 0;

    /// <summary>The format of <see cref="SnapshotOf"/>: a snapshot of another format is not read (the stream is replayed).</summary>
    protected virtual int SnapshotSchemaVersion => 1;

    protected virtual string SnapshotOf(TState state) => throw new NotSupportedException($"{GetType().Name} takes no snapshots.");

    protected virtual TState FromSnapshot(string json) => throw new NotSupportedException($"{GetType().Name} takes no snapshots.");

    // The version of the last snapshot this activation read or saved.
    private int _snapshotVersion;

    private ILogger? _logger;

    private ILogger Logger => _logger ??= ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(GetType());

    private void StateMoved()
    {
        OnStateChanged();
        RestIfDone();
    }

    private void RestIfDone()
    {
        if (_restTimer is not null || !MayRest)
        {
            return;
        }

        _restTimer = this.RegisterGrainTimer(() =>
        {
            if (MayRest)
            {
                DeactivateOnIdle();
            }
            else
            {
                // It came back to life meanwhile (an empty aggregate that got its first command).
                _restTimer?.Dispose();
                _restTimer = null;
            }

            return Task.CompletedTask;
        }, ServiceProvider.GetService<RestingOptions>()?.RestingLinger ?? RestingOptions.DefaultLinger, Timeout.InfiniteTimeSpan);
    }

    // Set by a read that lets the activation rest though its aggregate is not at rest; the next command clears it.
    private bool _restAfterReads;

    private bool MayRest => IsAtRest(State) || _restAfterReads;

    /// <summary>
    /// Lets an activation that has served only reads since its last command deactivate <see
    /// cref="RestingOptions.RestingLinger"/> later though its aggregate is not at rest, unless a command comes first: for
    /// an aggregate whose reads of a state under way read its stream anyway and whose writer does not need the activation,
    /// so that keeping it holds memory for nothing.
    /// </summary>
    protected void RestAfterReads()
    {
        _restAfterReads = true;
        RestIfDone();
    }

    /// <summary>Rows to write in the same transaction as an append (for example an index row).</summary>
    protected virtual IReadOnlyList<IRowAlongside> Alongside(TState stateAfter) => [];

    /// <summary>
    /// Events of other streams to commit with an append, or not at all, each under its own version check: the first
    /// events of an aggregate this grain's append creates (an order placed by its saga's start).
    /// </summary>
    protected virtual IReadOnlyList<CarriedAppend> CreatedAlongside(TState stateAfter) => [];

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The stream is read before the first call runs (see Invoke), unless that call creates the aggregate.
        State = InitialState;
        return Task.CompletedTask;
    }

    /// <summary>
    /// Called once, when the activation first read its stream (not after an append that created it): where an
    /// activation resumes work its aggregate left unfinished.
    /// </summary>
    protected virtual void OnLoaded()
    {
    }

    /// <summary>
    /// Whether the events a command decided mean it succeeded, so that a caller's record of its success (<see
    /// cref="CarriedRecord"/>) may commit with them; a grain that records refusals as events says which.
    /// </summary>
    protected virtual bool Succeeded(IReadOnlyList<TEvent> events) => true;

    /// <summary>
    /// Every call to the grain, reads included, runs against the stream's state. A caller's record offered with the
    /// call is available to the command's append, and the reply says whether it was carried.
    /// </summary>
    async Task IIncomingGrainCallFilter.Invoke(IIncomingGrainCallContext context)
    {
        var known = KnownStreams.Take(Stream);
        if (_loading != Loading.Loaded)
        {
            await EnsureLoadedAsync(NewStreams.IsCreating(Stream), known);
        }
        else if (known is not null && known.Events.Count > Version)
        {
            await TakeInKnownAsync(known);
        }

        var offer = CarriedRecords.Take(Stream) is { } record ? new CarryOffer(record) : null;
        Offer.Value = offer;
        await context.Invoke();
        if (offer is { Carried: true } && context.Result is CommandReply reply)
        {
            context.Result = reply with { CallerRecordCarried = true };
        }

        if (_loading == Loading.Assumed)
        {
            // The call taken at its word appended nothing (a creating call that was refused): an aggregate at rest (an
            // empty one, then) deactivates as any other.
            RestIfDone();
        }
    }

    private async Task EnsureLoadedAsync(bool creating, KnownStart? known)
    {
        if ((creating || known is not null) && _loading == Loading.NotLoaded && _appendGate.CurrentCount == 1)
        {
            if (known is not null)
            {
                ApplyKnown(known);
            }

            _loading = Loading.Assumed;
            _assumedRows = Version;
            if (Version > 0)
            {
                StateMoved();
            }

            return;
        }

        if (_loading == Loading.Assumed)
        {
            // The call that was told may be waiting under the append gate (a payment on its provider): rather than queue
            // behind it, look. A stream of the rows assumed is what the caller said (its append may land at any moment).
            var stored = await store.ReadStreamAsync(Stream);
            if (stored.Count == _assumedRows || _loading == Loading.Loaded)
            {
                return;
            }
        }

        // Under the append gate: a creating call's append settles the question first, and a read never overlaps an append.
        await _appendGate.WaitAsync();
        try
        {
            if (_loading == Loading.Loaded)
            {
                return;
            }

            await CatchUpAsync();
            MarkLoaded(read: true);

            // Also an activation for an aggregate that does not exist (a read of an unknown order) is at rest.
            RestIfDone();
        }
        finally
        {
            _appendGate.Release();
        }
    }

    /// <summary>
    /// An activation that read its stream before a caller committed more of it (a saga that confirmed its order with the
    /// payment's authorization) takes in the told events it lacks: they are the stream's first rows, committed for good.
    /// </summary>
    private async Task TakeInKnownAsync(KnownStart known)
    {
        await _appendGate.WaitAsync();
        try
        {
            if (known.Events.Count > Version)
            {
                ApplyKnown(known);
                StateMoved();
            }
        }
        finally
        {
            _appendGate.Release();
        }
    }

    /// <summary>Applies the told rows past this activation's version: row i of a stream is its version i + 1.</summary>
    private void ApplyKnown(KnownStart known)
    {
        for (var i = Version; i < known.Events.Count; i++)
        {
            var e = known.Events[i];
            ApplyStored(e.EventType, e.SchemaVersion, e.Data, e.Metadata, i + 1);
        }
    }

    private void MarkLoaded(bool read)
    {
        if (_loading != Loading.Loaded)
        {
            _loading = Loading.Loaded;
            if (read)
            {
                OnLoaded();
            }
        }
    }

    /// <summary>
    /// Reads and applies whatever was appended after the version this activation knows; from nothing, it starts from the
    /// stream's snapshot if the grain takes them.
    /// </summary>
    protected async Task CatchUpAsync(CancellationToken cancellationToken = default)
    {
        var restored = Version == 0 && await RestoreSnapshotAsync(cancellationToken);
        var stored = await store.ReadStreamAsync(Stream, Version, cancellationToken);
        foreach (var e in stored)
        {
            ApplyStored(e.EventType, e.SchemaVersion, e.Data, e.Metadata, e.Version);
        }

        if (stored.Count > 0 || restored)
        {
            StateMoved();
        }
    }

    /// <summary>
    /// Reads, under the append gate, what other writers appended after this activation's version: for reads of an
    /// aggregate whose stream a caller may write behind an activation's back (an order its saga confirms or completes with
    /// another grain's append). An activation not loaded yet reads its stream on the call anyway.
    /// </summary>
    protected async Task RefreshAsync()
    {
        await _appendGate.WaitAsync();
        try
        {
            if (_loading == Loading.Loaded)
            {
                await CatchUpAsync();
            }
        }
        finally
        {
            _appendGate.Release();
        }
    }

    private async Task<bool> RestoreSnapshotAsync(CancellationToken cancellationToken)
    {
        if (SnapshotEvery <= 0 || ServiceProvider.GetService<SnapshotStore>() is not { } snapshots
            || await snapshots.ReadAsync(Stream, cancellationToken) is not { } snapshot)
        {
            return false;
        }

        if (snapshot.SchemaVersion != SnapshotSchemaVersion)
        {
            Logger.LogWarning("Snapshot of {Stream} at version {Version} has format {Format}; this build reads {Expected}: replaying the stream.", Stream, snapshot.Version, snapshot.SchemaVersion, SnapshotSchemaVersion);
            return false;
        }

        State = FromSnapshot(snapshot.State);
        Version = snapshot.Version;
        _snapshotVersion = snapshot.Version;
        using var commands = JsonDocument.Parse(snapshot.Commands);
        foreach (var command in commands.RootElement.EnumerateObject())
        {
            _eventsByCommand[command.Name] = [.. command.Value.EnumerateArray().SelectMany(row =>
                registry.FromStorage(row.GetProperty("type").GetString()!, row.GetProperty("schemaVersion").GetInt32(), row.GetProperty("data").GetRawText()))];
        }

        return true;
    }

    /// <summary>
    /// Saves a snapshot once <see cref="SnapshotEvery"/> events (or the state's <see cref="SnapshotWeight"/>, if more)
    /// landed since the last one, off the grain's turn: the state
    /// is immutable and the remembered commands are copied. A failed save is logged; the next append tries again.
    /// </summary>
    private void SnapshotIfDue()
    {
        if (SnapshotEvery <= 0 || Version - _snapshotVersion < Math.Max(SnapshotEvery, SnapshotWeight(State))
            || ServiceProvider.GetService<SnapshotStore>() is not { } snapshots)
        {
            return;
        }

        var (state, version, stream, logger) = (State, Version, Stream, Logger);
        var commands = _eventsByCommand.ToList();
        _snapshotVersion = version;
        _ = Task.Run(async () =>
        {
            try
            {
                await snapshots.SaveAsync(stream, new StoredSnapshot(version, SnapshotSchemaVersion, SnapshotOf(state), CommandsJson(commands)));
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Saving the snapshot of {Stream} at version {Version} failed; the next is due {Every} events on.", stream, version, SnapshotEvery);
            }
        });
    }

    /// <summary>{ "command id": [ { "type", "schemaVersion", "data" }, ... ] }: each command's events as stored, unpacked.</summary>
    private string CommandsJson(List<KeyValuePair<string, IReadOnlyList<TEvent>>> commands)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (commandId, events) in commands)
            {
                writer.WriteStartArray(commandId);
                foreach (var (name, schemaVersion, data) in registry.ForStorage(events, pack: false))
                {
                    writer.WriteStartObject();
                    writer.WriteString("type", name);
                    writer.WriteNumber("schemaVersion", schemaVersion);
                    writer.WritePropertyName("data");
                    writer.WriteRawValue(data);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Applies one stored row (one event, or a packed run) at <paramref name="version"/>, noting the command that caused it.</summary>
    private void ApplyStored(string eventType, int schemaVersion, string data, string metadataJson, int version)
    {
        var events = registry.FromStorage(eventType, schemaVersion, data);
        State = events.Aggregate(State, Apply);
        Version = version;
        var metadata = JsonSerializer.Deserialize<EventMetadata>(metadataJson, EventJson.Options);
        if (metadata?.CommandId is { } commandId && RemembersCommand(commandId))
        {
            _eventsByCommand[commandId] = _eventsByCommand.TryGetValue(commandId, out var earlier) ? [.. earlier, .. events] : events;
        }
    }

    /// <summary>
    /// Handles a command once: a command id seen before returns the events it produced then; otherwise
    /// <paramref name="decide"/> runs against the current state and its events are appended.
    /// </summary>
    protected Task<IReadOnlyList<TEvent>> HandleAsync(string? commandId, Func<TState, IReadOnlyList<TEvent>> decide, string? correlationId = null) =>
        HandleAsync(commandId, state => Task.FromResult(decide(state)), correlationId);

    protected async Task<IReadOnlyList<TEvent>> HandleAsync(string? commandId, Func<TState, Task<IReadOnlyList<TEvent>>> decide, string? correlationId = null)
    {
        var command = new QueuedCommand(commandId, decide, correlationId ?? RequestContext.Get(CorrelationKey) as string, Offer.Value);
        if (_restAfterReads)
        {
            // At work again: the activation rests only when its aggregate is at rest.
            _restAfterReads = false;
            if (!IsAtRest(State))
            {
                _restTimer?.Dispose();
                _restTimer = null;
            }
        }

        _queued.Enqueue(command);
        await _appendGate.WaitAsync();
        try
        {
            // Commands go in their order of arrival, whoever's turn at the gate it is: an earlier holder may have taken
            // this one already, or this holder takes those queued before it first. Every command taken is settled
            // before the gate is released, and every one queued has its caller waiting here, so none is left behind.
            while (!command.Outcome.Task.IsCompleted)
            {
                var batch = new List<QueuedCommand>(Math.Min(_queued.Count, MaxCommandsPerAppend));
                while (batch.Count < MaxCommandsPerAppend && _queued.TryDequeue(out var queued))
                {
                    batch.Add(queued);
                }

                await DecideAndAppendAsync(batch);
            }
        }
        finally
        {
            _appendGate.Release();
        }

        return await command.Outcome.Task;
    }

    /// <summary>
    /// Decides the commands in their order, each against the state its predecessors leave, and appends all their events
    /// at once; settles every command of the batch before it returns. No command's outcome is given before the events
    /// it saw committed: after a conflict, every command is decided again against the stream as it is.
    /// </summary>
    private async Task DecideAndAppendAsync(List<QueuedCommand> batch)
    {
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var state = State;
                var decided = new List<(QueuedCommand Command, IReadOnlyList<TEvent> Events)>(batch.Count);
                var outcomes = new List<(QueuedCommand Command, IReadOnlyList<TEvent>? Events, Exception? Refusal)>(batch.Count);
                foreach (var command in batch)
                {
                    if (command.CommandId is { } id && RemembersCommand(id) && EarlierOutcome(id, decided) is { } earlier)
                    {
                        // A repeat, of a command appended before or earlier in this batch: it gets the first outcome.
                        outcomes.Add((command, earlier, null));
                        continue;
                    }

                    IReadOnlyList<TEvent> events;
                    try
                    {
                        events = await command.Decide(state);
                    }
                    catch (Exception e)
                    {
                        outcomes.Add((command, null, e));
                        continue;
                    }

                    outcomes.Add((command, events, null));
                    if (events.Count > 0)
                    {
                        state = events.Aggregate(state, Apply);
                        decided.Add((command, events));
                    }
                }

                if (decided.Count > 0)
                {
                    try
                    {
                        await AppendDecidedAsync(decided, state);
                    }
                    catch (ConcurrencyConflictException) when (attempt < MaxConflictRetries)
                    {
                        // Also where a creating caller was wrong: the stream had events after all.
                        await CatchUpAsync();
                        MarkLoaded(read: true);
                        continue;
                    }
                }

                foreach (var (command, events, refusal) in outcomes)
                {
                    if (refusal is not null)
                    {
                        command.Outcome.TrySetException(refusal);
                    }
                    else
                    {
                        command.Outcome.TrySetResult(events!);
                    }
                }

                return;
            }
        }
        catch (Exception e)
        {
            foreach (var command in batch)
            {
                command.Outcome.TrySetException(e);
            }
        }
    }

    private IReadOnlyList<TEvent>? EarlierOutcome(string commandId, List<(QueuedCommand Command, IReadOnlyList<TEvent> Events)> decided)
    {
        if (_eventsByCommand.TryGetValue(commandId, out var earlier))
        {
            return earlier;
        }

        var index = decided.FindIndex(d => d.Command.CommandId == commandId);
        return index < 0 ? null : decided[index].Events;
    }

    /// <summary>
    /// Appends the decided commands' events, with the records their callers offered where each command succeeded in
    /// time. A conflict with records carried may be theirs (a caller's stream moved on): the events then go again alone,
    /// as decided, and no record is offered to a second append.
    /// </summary>
    private async Task AppendDecidedAsync(List<(QueuedCommand Command, IReadOnlyList<TEvent> Events)> decided, TState next)
    {
        var carrying = new List<CarryOffer>();
        var now = Time.GetUtcNow();
        foreach (var (command, events) in decided)
        {
            if (command.Offer is { Tried: false } offer && Succeeded(events) && now <= offer.Record.ValidUntil
                && carrying.TrueForAll(c => c.Record.StreamId != offer.Record.StreamId))
            {
                offer.Tried = true;
                carrying.Add(offer);
            }
        }

        if (carrying.Count > 0)
        {
            try
            {
                await AppendAsync(decided, next, carrying);
                carrying.ForEach(c => c.Carried = true);
                return;
            }
            catch (ConcurrencyConflictException)
            {
                // Either stream may have moved on; most likely a caller's (a cancellation that landed meanwhile). The
                // commands' own events go alone: if this stream was the stale one, that append is refused too and the
                // commands are decided again.
            }
        }

        await AppendAsync(decided, next, []);
    }

    private async Task AppendAsync(List<(QueuedCommand Command, IReadOnlyList<TEvent> Events)> decided, TState next, List<CarryOffer> carrying)
    {
        var toAppend = new List<EventToAppend>();
        foreach (var (command, events) in decided)
        {
            toAppend.AddRange(ToAppend(events, command.CommandId, command.CorrelationId));
        }

        var alongside = Alongside(next);
        var created = CreatedAlongside(next);
        var carriedAppends = new List<CarriedAppend>(carrying.Count + created.Count);
        carriedAppends.AddRange(created);
        foreach (var carried in carrying.Select(c => c.Record))
        {
            carriedAppends.Add(new CarriedAppend(
                carried.StreamId,
                carried.ExpectedVersion,
                CarriedEvent.ToAppend(carried.Events)));
            if (carried.Also is { } also)
            {
                carriedAppends.Add(new CarriedAppend(
                    also.StreamId,
                    also.ExpectedVersion,
                    CarriedEvent.ToAppend(also.Events),
                    also.AggregateType));
            }

            if (carried.SagaIndex is { } row)
            {
                alongside = [.. alongside, SagaIndex.Upsert(row.OrderId, row.Finished, row.Outcome, row.WakeAt, row.UpdatedAt)];
            }
        }

        Version = await store.AppendAsync(Stream, AggregateType, Version, toAppend, alongside, Published, carriedAppends);
        State = next;
        foreach (var (command, events) in decided)
        {
            if (command.CommandId is { } commandId && RemembersCommand(commandId))
            {
                _eventsByCommand[commandId] = events;
            }
        }

        // An append at version 0 that landed proves the stream was empty.
        MarkLoaded(read: false);
        StateMoved();
        SnapshotIfDue();
    }

    /// <summary>
    /// This stream's record of a command's success, for the grain that serves the command to commit with the events
    /// it causes (see <see cref="CarriedRecord"/>); it expects the stream at its current version.
    /// </summary>
    protected CarriedRecord CarriedRecordFor(string carrierStreamId, IReadOnlyList<TEvent> events, SagaIndexRow? sagaIndex, DateTimeOffset validUntil, CarriedStreamEvents? also = null) =>
        new(carrierStreamId,
            Stream,
            Version,
            CarriedEvent.From(ToAppend(events, commandId: null, RequestContext.Get(CorrelationKey) as string)),
            sagaIndex,
            validUntil,
            also);

    /// <summary>The events as the store takes them: named, serialized, with a new id and the command's metadata.</summary>
    private List<EventToAppend> ToAppend(IReadOnlyList<TEvent> events, string? commandId, string? correlationId) =>
        registry.ToAppend(events, commandId, correlationId, time.GetUtcNow(), PacksEvents);

    /// <summary>
    /// Takes in <paramref name="events"/>, the content of <paramref name="record"/>, which the command's grain said it
    /// committed. False when this activation had moved past the record's version already: it then read the record
    /// back from its stream (a conflict made it catch up), so its state has those events anyway.
    /// </summary>
    protected async Task<bool> AcceptCarriedAsync(CarriedRecord record, IReadOnlyList<TEvent> events)
    {
        await _appendGate.WaitAsync();
        try
        {
            if (Version != record.ExpectedVersion)
            {
                return false;
            }

            State = events.Aggregate(State, Apply);

            // The stream's version counts rows, and the record's events may be packed into fewer.
            Version += record.Events.Count;
            StateMoved();
            return true;
        }
        finally
        {
            _appendGate.Release();
        }
    }
}
