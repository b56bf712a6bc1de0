-- Appends no longer notify the relays. In PostgreSQL a transaction that notifies takes a database-wide lock before
-- its commit and holds it through the commit's WAL flush, so every appending transaction (each wrote outbox rows)
-- committed one after another, whatever group commit ran beside it. Relays look again after Relay:IdleWait (50 ms)
-- when they found less than a full batch (decision record 0023). Silos built before this fall back to their
-- Relay:PollInterval until they are replaced.
drop trigger if exists outbox_notify on outbox;
drop function if exists outbox_notify();
