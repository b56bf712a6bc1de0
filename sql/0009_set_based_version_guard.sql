-- The group-commit guard (sql/0007) checked its streams one query at a time, a loop in PL/pgSQL: at 200 orders/s
-- those nested lookups were a tenth of PostgreSQL's execution time, most of it the cost of running a query from the
-- function, not the index lookup itself. This version checks every (stream, expected version) pair in one query and
-- raises for the first stream that is not where its writer expects it, as before.
create or replace function events_expect_versions(p_stream_ids text[], p_expected integer[]) returns boolean
language plpgsql stable as $body$
declare
    stale record;
begin
    select s.stream_id, s.expected, s.actual into stale
    from (
        select x.stream_id, x.expected,
               coalesce((select max(e.version) from events e where e.stream_id = x.stream_id), 0) as actual, x.n
        from unnest(p_stream_ids, p_expected) with ordinality as x(stream_id, expected, n)
    ) s
    where s.actual <> s.expected
    order by s.n
    limit 1;
    if found then
        raise exception using
            errcode = 'OP409',
            message = format('stream %s is at version %s, not %s', stale.stream_id, stale.actual, stale.expected);
    end if;
    return true;
end
$body$;
