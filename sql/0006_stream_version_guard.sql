-- An append names the version it expects the stream to be at. The unique (stream_id, version) key already
-- stops a writer behind the stream from overwriting; this guard also stops one that is ahead of it (which
-- would leave a gap), and fails the whole statement, so nothing appended alongside commits either.
create function events_expect_version(p_stream_id text, p_expected integer) returns boolean
language plpgsql stable as $body$
declare
    current_version integer;
begin
    select coalesce(max(version), 0) into current_version from events where stream_id = p_stream_id;
    if current_version <> p_expected then
        raise exception using
            errcode = 'OP409',
            message = format('stream %s is at version %s, not %s', p_stream_id, current_version, p_expected);
    end if;
    return true;
end
$body$;
