-- 0002_orleans.sql
-- Storage for Orleans' ADO.NET providers on PostgreSQL (ADO.NET invariant "Npgsql"):
--   * Microsoft.Orleans.Clustering.AdoNet  (cluster membership)
--   * Microsoft.Orleans.Reminders.AdoNet   (reminders)
-- written against the 10.4.x query contract. Grain storage, streaming and grain
-- directory are deliberately not included here.
--
-- How the providers talk to the database
--   On start-up each provider runs the hard-coded statement
--       SELECT QueryKey, QueryText FROM OrleansQuery
--   and from then on executes only the query texts stored in that table. A
--   provider refuses to start if one of its required QueryKeys is missing.
--   The query texts bind named parameters (@DeploymentId, @Version, ...) and
--   the provider reads result columns by name. So the QueryKey values, the
--   parameter names and the quoted result aliases below ("Version",
--   "IAmAliveTime", ...) are the providers' contract; the tables and columns
--   behind them are ours.
--
-- Things a reader should know
--   * Nothing is schema-qualified: the providers look everything up through
--     the connection's search_path, so this must be applied to a schema that
--     the silo's connection string sees (public by default).
--   * Npgsql sends .NET DateTime parameters as timestamptz and only accepts
--     UTC values for that, so every time column is timestamptz.
--   * Each query text is a single statement without ';' (one implicit
--     transaction per call, as the providers open no transaction themselves).
--     Where two tables must change together the statement uses
--     data-modifying CTEs, so it is all-or-nothing without stored procedures.
--   * The script is re-runnable: "if not exists" everywhere and the query rows
--     are upserted, so applying it again only refreshes the query texts.

-- ---------------------------------------------------------------------------
-- The query catalogue. Its name and both column names are fixed by the
-- providers (unquoted identifiers, so PostgreSQL folds them to lower case).
-- ---------------------------------------------------------------------------
create table if not exists orleansquery
(
    querykey  varchar(64) not null primary key,
    querytext text        not null
);

-- ---------------------------------------------------------------------------
-- Membership.
-- One version row per cluster (Orleans' ClusterId arrives as @DeploymentId).
-- Its "version" is the membership table's etag: every successful
-- InsertMembership/UpdateMembership must see the version the silo last read
-- and increase it by exactly one, which is how concurrent silos are kept from
-- overwriting each other's view. Orleans rejects etags that are not a
-- canonical non-negative int, hence integer + check.
-- ---------------------------------------------------------------------------
create table if not exists orleans_membership_version
(
    deployment_id text        not null primary key,
    version       integer     not null default 0 check (version >= 0),
    updated_at    timestamptz not null default now()   -- for operators only
);

-- One row per silo incarnation. A restarted silo on the same address:port gets
-- a new generation, hence a new row; the old one stays until it is declared
-- Dead (the new silo does that at start-up) and later cleaned up.
create table if not exists orleans_membership
(
    deployment_id   text        not null
        references orleans_membership_version (deployment_id) on delete cascade,
    address         varchar(45) not null,            -- textual IPv4/IPv6
    port            integer     not null,
    generation      integer     not null,
    silo_name       text        not null,
    host_name       text        not null,
    status          integer     not null,            -- Orleans SiloStatus: 3 = Active, 6 = Dead
    proxy_port      integer     not null default 0,  -- gateway port, 0 = not a gateway (read with GetInt32, so never null)
    suspect_times   text,                            -- Orleans-formatted "silo,time|silo,time" votes
    start_time      timestamptz not null,
    i_am_alive_time timestamptz not null,
    primary key (deployment_id, address, port, generation)
);

-- ---------------------------------------------------------------------------
-- Reminders.
-- grain_hash is the grain's uniform hash cast to a signed int by the provider;
-- the range queries compare it in that signed space.
-- The etag comes from one shared sequence instead of a per-row counter, so a
-- reminder that is deleted and created again does not get an etag it had
-- before (until the integer sequence wraps after ~2.1 billion upserts), and a
-- stale handle cannot delete the new reminder.
-- ---------------------------------------------------------------------------
create sequence if not exists orleans_reminder_etag_seq as integer minvalue 1 cycle;

create table if not exists orleans_reminder
(
    service_id    text        not null,
    grain_id      text        not null,
    reminder_name text        not null,
    start_time    timestamptz not null,
    period_ms     bigint      not null,
    grain_hash    integer     not null,
    etag          integer     not null default nextval('orleans_reminder_etag_seq'),
    primary key (service_id, grain_id, reminder_name)
);

alter sequence orleans_reminder_etag_seq owned by orleans_reminder.etag;

-- Each silo reads the reminders of its hash ring range(s) periodically.
create index if not exists orleans_reminder_service_hash_idx
    on orleans_reminder (service_id, grain_hash);

-- ---------------------------------------------------------------------------
-- Membership queries.
-- ---------------------------------------------------------------------------
insert into orleansquery (querykey, querytext) values

-- Run by every silo at start-up. Must return exactly one boolean: true if this
-- call created the cluster's version row.
('InsertMembershipVersionKey', $q$
with created as (
    insert into orleans_membership_version (deployment_id)
    values (@DeploymentId)
    on conflict (deployment_id) do nothing
    returning 1
)
select exists (select 1 from created)
$q$),

-- Whole table plus its version, read in one statement so both come from the
-- same snapshot. The left join still yields one row carrying "Version" when
-- the cluster has no silos yet (the provider reads the version from the
-- first row and treats a null "StartTime" as "no member").
('MembershipReadAllKey', $q$
select v.version         as "Version",
       m.address         as "Address",
       m.port            as "Port",
       m.generation      as "Generation",
       m.silo_name       as "SiloName",
       m.host_name       as "HostName",
       m.status          as "Status",
       m.proxy_port      as "ProxyPort",
       m.suspect_times   as "SuspectTimes",
       m.start_time      as "StartTime",
       m.i_am_alive_time as "IAmAliveTime"
from orleans_membership_version v
left join orleans_membership m
       on m.deployment_id = v.deployment_id
where v.deployment_id = @DeploymentId
$q$),

-- One silo plus the table version, same shape and same reasoning as above.
('MembershipReadRowKey', $q$
select v.version         as "Version",
       m.address         as "Address",
       m.port            as "Port",
       m.generation      as "Generation",
       m.silo_name       as "SiloName",
       m.host_name       as "HostName",
       m.status          as "Status",
       m.proxy_port      as "ProxyPort",
       m.suspect_times   as "SuspectTimes",
       m.start_time      as "StartTime",
       m.i_am_alive_time as "IAmAliveTime"
from orleans_membership_version v
left join orleans_membership m
       on m.deployment_id = v.deployment_id
      and m.address = @Address
      and m.port = @Port
      and m.generation = @Generation
where v.deployment_id = @DeploymentId
$q$),

-- Add a silo, conditional on the table version (@Version = the etag the silo
-- read). Returns true only if the row was added and the version bumped; on a
-- stale version or an existing row nothing changes and false is returned,
-- which makes Orleans re-read and retry. "for update" makes a concurrent
-- writer wait and then re-check the version, so two silos cannot both win.
('InsertMembershipKey', $q$
with expected as (
    select deployment_id
    from orleans_membership_version
    where deployment_id = @DeploymentId
      and version = @Version
    for update
), added as (
    insert into orleans_membership
        (deployment_id, address, port, generation, silo_name, host_name,
         status, proxy_port, start_time, i_am_alive_time)
    select e.deployment_id, @Address, @Port, @Generation, @SiloName, @HostName,
           @Status, @ProxyPort, @StartTime, @IAmAliveTime
    from expected e
    on conflict (deployment_id, address, port, generation) do nothing
    returning deployment_id
), bumped as (
    update orleans_membership_version v
    set version = v.version + 1,
        updated_at = now()
    from added a
    where v.deployment_id = a.deployment_id
    returning 1
)
select exists (select 1 from bumped)
$q$),

-- Change a silo's status / suspicion votes (also how silos declare each other
-- Dead), under the same version check as the insert: both rows change or
-- neither does.
('UpdateMembershipKey', $q$
with expected as (
    select deployment_id
    from orleans_membership_version
    where deployment_id = @DeploymentId
      and version = @Version
    for update
), changed as (
    update orleans_membership m
    set status = @Status,
        suspect_times = @SuspectTimes,
        i_am_alive_time = @IAmAliveTime
    from expected e
    where m.deployment_id = e.deployment_id
      and m.address = @Address
      and m.port = @Port
      and m.generation = @Generation
    returning m.deployment_id
), bumped as (
    update orleans_membership_version v
    set version = v.version + 1,
        updated_at = now()
    from changed c
    where v.deployment_id = c.deployment_id
    returning 1
)
select exists (select 1 from bumped)
$q$),

-- Heartbeat. By contract a blind write that must not touch the table version.
('UpdateIAmAlivetimeKey', $q$
update orleans_membership
set i_am_alive_time = @IAmAliveTime
where deployment_id = @DeploymentId
  and address = @Address
  and port = @Port
  and generation = @Generation
$q$),

-- Gateways for clients: Active silos that listen on a gateway port.
-- @Status is SiloStatus.Active (3), bound by the provider.
('GatewaysQueryKey', $q$
select address    as "Address",
       proxy_port as "ProxyPort",
       generation as "Generation"
from orleans_membership
where deployment_id = @DeploymentId
  and status = @Status
  and proxy_port > 0
$q$),

-- Drop a whole cluster (tests / tooling). Deleting the version row removes
-- the silo rows through the cascading foreign key.
('DeleteMembershipTableEntriesKey', $q$
delete from orleans_membership_version
where deployment_id = @DeploymentId
$q$),

-- Per-row defunct-silo cleanup (optional key; 10.4.x uses it instead of the
-- bulk one below when present). The runtime has already picked a Dead row
-- that is old enough from its own read and passes the values it saw; the row
-- is removed only if it is still Dead and unchanged, so a concurrent update
-- (e.g. a fresh suspicion vote) keeps it. coalesce: an empty vote list may be
-- stored as '' but comes back from the provider as null.
('CleanupDefunctSiloEntryKey', $q$
delete from orleans_membership
where deployment_id = @DeploymentId
  and address = @Address
  and port = @Port
  and generation = @Generation
  and status = 6
  and start_time = @StartTime
  and i_am_alive_time = @IAmAliveTime
  and coalesce(suspect_times, '') = coalesce(@SuspectTimes, '')
$q$),

-- Bulk defunct-silo cleanup, still required to be present. Removes Dead rows
-- whose last sign of life (start or heartbeat) is older than the cut-off.
-- Active silos are never touched, and the version is not bumped: these rows
-- no longer take part in the membership protocol.
('CleanupDefunctSiloEntriesKey', $q$
delete from orleans_membership
where deployment_id = @DeploymentId
  and status = 6
  and start_time < @IAmAliveTime
  and i_am_alive_time < @IAmAliveTime
$q$),

-- ---------------------------------------------------------------------------
-- Reminder queries. Every read returns the same five columns; "Version" is
-- the reminder's etag.
-- ---------------------------------------------------------------------------

('ReadReminderRowsKey', $q$
select grain_id      as "GrainId",
       reminder_name as "ReminderName",
       start_time    as "StartTime",
       period_ms     as "Period",
       etag          as "Version"
from orleans_reminder
where service_id = @ServiceId
  and grain_id = @GrainId
$q$),

('ReadReminderRowKey', $q$
select grain_id      as "GrainId",
       reminder_name as "ReminderName",
       start_time    as "StartTime",
       period_ms     as "Period",
       etag          as "Version"
from orleans_reminder
where service_id = @ServiceId
  and grain_id = @GrainId
  and reminder_name = @ReminderName
$q$),

-- Ring range (@BeginHash, @EndHash] that does not wrap around in signed int
-- order; the provider picks this one when (int)BeginHash < (int)EndHash.
('ReadRangeRows1Key', $q$
select grain_id      as "GrainId",
       reminder_name as "ReminderName",
       start_time    as "StartTime",
       period_ms     as "Period",
       etag          as "Version"
from orleans_reminder
where service_id = @ServiceId
  and grain_hash > @BeginHash
  and grain_hash <= @EndHash
$q$),

-- Ring range that wraps around (including BeginHash = EndHash, the full ring).
('ReadRangeRows2Key', $q$
select grain_id      as "GrainId",
       reminder_name as "ReminderName",
       start_time    as "StartTime",
       period_ms     as "Period",
       etag          as "Version"
from orleans_reminder
where service_id = @ServiceId
  and (grain_hash > @BeginHash or grain_hash <= @EndHash)
$q$),

-- Insert or replace; returns the new etag as "Version". The etag is not
-- listed, so the column default draws a fresh sequence value, which
-- "excluded" also carries into the update branch.
('UpsertReminderRowKey', $q$
insert into orleans_reminder as r
    (service_id, grain_id, reminder_name, start_time, period_ms, grain_hash)
values
    (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash)
on conflict (service_id, grain_id, reminder_name) do update
set start_time = excluded.start_time,
    period_ms  = excluded.period_ms,
    grain_hash = excluded.grain_hash,
    etag       = excluded.etag
returning r.etag as "Version"
$q$),

-- Conditional delete; one boolean: true if the row with that etag was removed.
('DeleteReminderRowKey', $q$
with removed as (
    delete from orleans_reminder
    where service_id = @ServiceId
      and grain_id = @GrainId
      and reminder_name = @ReminderName
      and etag = @Version
    returning 1
)
select exists (select 1 from removed)
$q$),

('DeleteReminderRowsKey', $q$
delete from orleans_reminder
where service_id = @ServiceId
$q$)

on conflict (querykey) do update
set querytext = excluded.querytext;
