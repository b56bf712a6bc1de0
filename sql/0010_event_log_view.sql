-- A saga stores each run of two or more step events (saga.step-started, saga.step-succeeded, saga.step-failed) that it
-- records together as one row, 'saga.steps', whose data lists them in order: {"events": [{"type", "schemaVersion",
-- "data"}, ...]} (decision record 0020). Fewer rows and index entries per order; the saga reads them back as before.
-- This view shows every stored event one to a row, with packed ones unpacked, for operators and reports:
--   select stream_id, version, position_in_row, event_type, data from event_log where stream_id = 'saga-…' order by version, position_in_row;
create view event_log as
select e.global_position, e.stream_id, e.version, 0 as position_in_row, e.event_id, e.event_type, e.schema_version,
       e.data, e.metadata, e.recorded_at
from events e
where e.event_type <> 'saga.steps'
union all
select e.global_position, e.stream_id, e.version, (p.n - 1)::integer, e.event_id, p.item->>'type', (p.item->>'schemaVersion')::integer,
       p.item->'data', e.metadata, e.recorded_at
from events e
cross join lateral jsonb_array_elements(e.data->'events') with ordinality as p(item, n)
where e.event_type = 'saga.steps';
