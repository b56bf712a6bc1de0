-- State of the payment-provider simulator used for local runs and tests. It lives in its own schema
-- because it stands in for an external provider: like a real one it remembers every idempotency key,
-- across silo restarts and for all silos alike.
create schema psp_simulator;

create table psp_simulator.operations (
    idempotency_key text        primary key,
    operation       text        not null check (operation in ('authorize', 'capture', 'void', 'refund')),
    payment_ref     text        not null,
    -- the card token of the authorization; it selects the simulated behaviour of later calls too
    payment_token   text        not null,
    amount          numeric(19, 4) not null,
    currency        char(3)     not null,
    outcome         text        not null check (outcome in ('approved', 'declined')),
    reason          text,
    created_at      timestamptz not null
);

create index operations_by_payment on psp_simulator.operations (payment_ref, operation);

-- How many times a request under one key has been turned away, for the "fail transiently N times" behaviour.
create table psp_simulator.attempts (
    idempotency_key text    primary key,
    failures        integer not null
);
