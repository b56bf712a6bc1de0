-- Snapshots come into use (0001 made the table; nothing wrote it): a SKU's stock takes two events an order for as long
-- as it sells, so a reactivating stock grain starts from its stream's snapshot and reads only the events after it
-- (decision record 0028). The events stay the truth: a snapshot is the fold of its stream up to `version`, written
-- after an append that landed at that version, and a grain that cannot read it (another schema_version) replays the
-- stream instead. One row per stream, only ever moved forward. `commands` holds the command ids the grain answers
-- repeats of, with the events each caused.
alter table snapshots rename column data to state;
alter table snapshots add column commands jsonb not null default '{}'::jsonb;
alter table snapshots add constraint snapshots_version_positive check (version > 0);
