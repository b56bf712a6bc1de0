-- Event store, outbox, idempotency records, saga index and snapshots.
-- Applied once, in a transaction, by the host's migration runner (recorded in schema_migrations);
-- can also be run by hand: psql -v ON_ERROR_STOP=1 -f sql/0001_event_store.sql

-- Append-only events. (stream_id, version) is the optimistic-concurrency guard: a stale writer
-- inserting a version that exists gets a unique violation and must reload.
create table events (
    global_position bigint generated always as identity primary key,
    stream_id       text        not null,
    version         integer     not null check (version > 0),
    event_id        uuid        not null unique,
    event_type      text        not null,
    schema_version  integer     not null check (schema_version > 0),
    data            jsonb       not null,
    metadata        jsonb       not null default '{}'::jsonb,
    recorded_at     timestamptz not null,
    constraint events_stream_version unique (stream_id, version)
);

-- One row per appended event, written in the same transaction as the event; the relay publishes
-- rows in id order and marks them published only after the broker acknowledged them.
create table outbox (
    id              bigint generated always as identity primary key,
    global_position bigint      not null references events (global_position),
    stream_id       text        not null,
    version         integer     not null,
    aggregate_type  text        not null,
    created_at      timestamptz not null,
    published_at    timestamptz
);
create index outbox_unpublished on outbox (id) where published_at is null;

-- Idempotency keys of API requests: claimed with a unique insert, then completed with the response.
create table idempotency_keys (
    idempotency_key   text        primary key,
    request_hash      bytea       not null,
    completed         boolean     not null default false,
    status_code       integer,
    content_type      text,
    location          text,
    response_body     text,
    created_at        timestamptz not null,
    expires_at        timestamptz not null,
    -- an in-flight claim whose lease ran out (its silo died) may be taken over by a retry
    lease_until       timestamptz not null
);
create index idempotency_keys_expiry on idempotency_keys (expires_at);

-- Sagas that have not finished, so any silo can resume them after a crash without scanning events.
create table sagas (
    order_id     uuid        primary key,
    finished     boolean     not null default false,
    outcome      text,
    wake_at      timestamptz,
    started_at   timestamptz not null,
    updated_at   timestamptz not null
);
create index sagas_active on sagas (updated_at) where not finished;

-- Snapshots of long streams (a SKU's stock) so activation need not replay everything.
create table snapshots (
    stream_id      text        primary key,
    version        integer     not null,
    schema_version integer     not null,
    data           jsonb       not null,
    taken_at       timestamptz not null
);
