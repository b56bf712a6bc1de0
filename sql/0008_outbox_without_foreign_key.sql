-- An outbox row is written by the same statement as its event (the event store's append), and events are never
-- deleted, so the foreign key from outbox to events checks nothing the append does not already guarantee. Its check
-- cost a row lock on every new event (FOR KEY SHARE: a write to the event's tuple and a WAL record) on the
-- platform's hottest path. The invariant checker still proves that every outbox row has its event.
alter table outbox drop constraint if exists outbox_global_position_fkey;
