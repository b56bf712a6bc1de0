-- Group commit: appends to many streams share one statement and one transaction. Each stream keeps its
-- own version check: this guard checks every (stream, expected version) pair of the group and fails the
-- whole statement on the first stream that is not where its writer expects it (the event store then
-- retries the group's appends one by one, so only the stale writer sees the conflict).
create function events_expect_versions(p_stream_ids text[], p_expected integer[]) returns boolean
language plpgsql stable as $body$
declare
    i integer;
    current_version integer;
begin
    for i in 1 .. coalesce(array_length(p_stream_ids, 1), 0) loop
        select coalesce(max(version), 0) into current_version from events where stream_id = p_stream_ids[i];
        if current_version <> p_expected[i] then
            raise exception using
                errcode = 'OP409',
                message = format('stream %s is at version %s, not %s', p_stream_ids[i], current_version, p_expected[i]);
        end if;
    end loop;
    return true;
end
$body$;
