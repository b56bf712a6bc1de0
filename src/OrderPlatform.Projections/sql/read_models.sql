-- Read models of the downstream consumer, created in the schema the consumer is configured with
-- (search_path); "if not exists" because every start applies it.

-- Inbox: every applied event id, written in the same transaction as the read-model change it caused.
create table if not exists inbox (
    event_id        uuid        primary key,
    stream_id       text        not null,
    version         integer     not null,
    event_type      text        not null,
    kafka_topic     text        not null,
    kafka_partition integer     not null,
    kafka_offset    bigint      not null,
    applied_at      timestamptz not null default now()
);

-- The highest version applied per stream: an older event arriving late is never applied over a newer one.
create table if not exists stream_positions (
    stream_id text    primary key,
    version   integer not null
);

create table if not exists order_summaries (
    order_id    uuid           primary key,
    customer_id text           not null,
    status      text           not null,
    total       numeric(19, 4) not null,
    currency    char(3)        not null,
    line_count  integer        not null,
    reason      text,
    placed_at   timestamptz    not null,
    updated_at  timestamptz    not null
);
create index if not exists order_summaries_by_customer on order_summaries (customer_id, status);
create index if not exists order_summaries_by_status on order_summaries (status);

create table if not exists stock_levels (
    sku        text        primary key,
    on_hand    integer     not null default 0,
    reserved   integer     not null default 0,
    sold       integer     not null default 0,
    available  integer     generated always as (on_hand - reserved - sold) stored,
    updated_at timestamptz not null
);

create table if not exists payment_summaries (
    order_id   uuid           primary key,
    status     text           not null,
    amount     numeric(19, 4),
    currency   char(3),
    captured   numeric(19, 4) not null default 0,
    refunded   numeric(19, 4) not null default 0,
    updated_at timestamptz    not null
);

-- Messages parked on the dead-letter topic, for operators (the topic holds the message itself).
create table if not exists dead_letters (
    kafka_topic     text        not null,
    kafka_partition integer     not null,
    kafka_offset    bigint      not null,
    reason          text        not null,
    parked_at       timestamptz not null default now(),
    primary key (kafka_topic, kafka_partition, kafka_offset)
);
