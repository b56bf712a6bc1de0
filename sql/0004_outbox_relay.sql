-- The outbox relay: wake relays at once when rows arrive, and find published rows to purge.

-- One notification per inserting statement (not per row): the relay only needs to know there is work.
create function outbox_notify() returns trigger
language plpgsql as $body$
begin
    perform pg_notify('outbox', '');
    return null;
end
$body$;

create trigger outbox_notify after insert on outbox
    for each statement execute function outbox_notify();

create index outbox_published_at on outbox (published_at) where published_at is not null;
