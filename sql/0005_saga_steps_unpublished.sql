-- The saga's step log is internal bookkeeping and is no longer announced through the outbox
-- (docs/decisions/0006): drop the outbox rows that databases written before that still hold.
delete from outbox where aggregate_type = 'saga';
