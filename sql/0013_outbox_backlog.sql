-- The relay's backlog metric (decision record 0035), taken every poll interval on every silo: the unpublished rows
-- counted from the oldest up to p_limit, and the oldest one's time. Both walk the unpublished-rows index in id order, so
-- the count reads at most p_limit entries however long the backlog grows during a broker outage. The settings keep the
-- planner on that index whatever its statistics say: a backlog that grew since the table was last analyzed looks small
-- to it, and it then reads every row into a sort to find the first p_limit (a quarter of a second at a million rows).
create function outbox_backlog(p_limit bigint) returns table (waiting bigint, oldest timestamptz)
language sql stable
set enable_seqscan = off
set enable_bitmapscan = off
as $$
    select (select count(*) from (select from outbox where published_at is null order by id limit p_limit) as w),
           (select created_at from outbox where published_at is null order by id limit 1)
$$;
