-- Orleans ADO.NET clustering (Microsoft.Orleans.Clustering.AdoNet 10.4.x) on PostgreSQL.
-- Written for this project from the provider's contract (docs/schema.md). Every statement is
-- idempotent, so applying this file again changes nothing.

-- The providers read their statements from this table at start-up; each provider refuses to
-- start if a key it needs is missing. Column names are unquoted on purpose: the providers run
-- `SELECT QueryKey, QueryText FROM OrleansQuery`, which PostgreSQL folds to lower case.
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey varchar(64) NOT NULL PRIMARY KEY,
    QueryText varchar(8000) NOT NULL
);

-- One row per cluster (Orleans' DeploymentId = ClusterOptions.ClusterId). Its version is the
-- optimistic-concurrency token of the whole membership table: every membership change bumps it.
CREATE TABLE IF NOT EXISTS orleans_membership_version
(
    deployment_id text NOT NULL PRIMARY KEY,
    version integer NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- One row per silo incarnation (address, port, generation). Status 3 = Active, 6 = Dead.
-- suspect_times is Orleans' own text encoding ("silo,time|silo,time"), stored as given.
CREATE TABLE IF NOT EXISTS orleans_membership
(
    deployment_id text NOT NULL REFERENCES orleans_membership_version (deployment_id) ON DELETE CASCADE,
    address text NOT NULL,
    port integer NOT NULL,
    generation integer NOT NULL,
    silo_name text NOT NULL,
    host_name text NOT NULL,
    status integer NOT NULL,
    proxy_port integer NOT NULL DEFAULT 0,
    suspect_times text NULL,
    start_time timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
-- Returns 1 when this call created the version row, 0 when it already existed.
('InsertMembershipVersionKey', $sql$
WITH created AS (
    INSERT INTO orleans_membership_version (deployment_id)
    VALUES (@DeploymentId)
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1
)
SELECT count(*)::integer FROM created;
$sql$),

-- Inserts the member and bumps the table version, both only if @Version is still the current
-- version (FOR UPDATE makes a concurrent writer wait and then re-check the version). Returns 1 on
-- success, 0 on a version conflict or an existing row.
('InsertMembershipKey', $sql$
WITH current_version AS (
    SELECT deployment_id
    FROM orleans_membership_version
    WHERE deployment_id = @DeploymentId AND version = @Version
    FOR UPDATE
),
inserted AS (
    INSERT INTO orleans_membership
        (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port,
         start_time, i_am_alive_time)
    SELECT deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort,
           @StartTime, @IAmAliveTime
    FROM current_version
    ON CONFLICT (deployment_id, address, port, generation) DO NOTHING
    RETURNING deployment_id
),
bumped AS (
    UPDATE orleans_membership_version AS v
    SET version = v.version + 1, changed_at = now()
    FROM inserted
    WHERE v.deployment_id = inserted.deployment_id
    RETURNING 1
)
SELECT count(*)::integer FROM bumped;
$sql$),

-- Same pattern as InsertMembershipKey, for an existing member.
('UpdateMembershipKey', $sql$
WITH current_version AS (
    SELECT deployment_id
    FROM orleans_membership_version
    WHERE deployment_id = @DeploymentId AND version = @Version
    FOR UPDATE
),
updated AS (
    UPDATE orleans_membership AS m
    SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
    FROM current_version
    WHERE m.deployment_id = current_version.deployment_id
      AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    RETURNING m.deployment_id
),
bumped AS (
    UPDATE orleans_membership_version AS v
    SET version = v.version + 1, changed_at = now()
    FROM updated
    WHERE v.deployment_id = updated.deployment_id
    RETURNING 1
)
SELECT count(*)::integer FROM bumped;
$sql$),

-- The liveness heartbeat does not change membership, so it does not bump the version.
('UpdateIAmAlivetimeKey', $sql$
UPDATE orleans_membership
SET i_am_alive_time = @IAmAliveTime
WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;
$sql$),

-- The version row comes back even when no member matches (member columns are then NULL).
('MembershipReadRowKey', $sql$
SELECT v.deployment_id AS "DeploymentId",
       m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
       m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status",
       m.proxy_port AS "ProxyPort", m.suspect_times AS "SuspectTimes",
       m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime",
       v.version AS "Version"
FROM orleans_membership_version AS v
LEFT JOIN orleans_membership AS m
       ON m.deployment_id = v.deployment_id
      AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.deployment_id = @DeploymentId;
$sql$),

('MembershipReadAllKey', $sql$
SELECT v.deployment_id AS "DeploymentId",
       m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
       m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status",
       m.proxy_port AS "ProxyPort", m.suspect_times AS "SuspectTimes",
       m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime",
       v.version AS "Version"
FROM orleans_membership_version AS v
LEFT JOIN orleans_membership AS m ON m.deployment_id = v.deployment_id
WHERE v.deployment_id = @DeploymentId;
$sql$),

('GatewaysQueryKey', $sql$
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
FROM orleans_membership
WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0;
$sql$),

-- Removes the cluster entirely (members go with the version row through ON DELETE CASCADE).
('DeleteMembershipTableEntriesKey', $sql$
DELETE FROM orleans_membership_version WHERE deployment_id = @DeploymentId;
$sql$),

-- Removes members declared Dead (6) whose last heartbeat is older than @IAmAliveTime.
('CleanupDefunctSiloEntriesKey', $sql$
DELETE FROM orleans_membership
WHERE deployment_id = @DeploymentId AND status = 6 AND i_am_alive_time < @IAmAliveTime;
$sql$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
