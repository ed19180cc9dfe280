-- Orleans ADO.NET grain persistence (Microsoft.Orleans.Persistence.AdoNet 10.4.x) on PostgreSQL,
-- plus the change sequence every state write feeds (grain_changes). Written for this project
-- from the provider's contract (docs/schema.md). Idempotent.

-- One row per (service, state name, grain key). Orleans passes the *state name* of
-- [PersistentState("name", "store")] as the grain type string, and the grain key split into
-- n0/n1 (Guid or integer keys) and an extension string (string keys, or a key extension).
-- Lookups go by this natural key, not by the two hashes: the hashes depend on the configured
-- hasher, and a hasher change must not make existing rows invisible.
CREATE TABLE IF NOT EXISTS orleans_storage
(
    service_id text NOT NULL,
    grain_type text NOT NULL,
    grain_type_hash integer NOT NULL,
    grain_id_hash integer NOT NULL,
    grain_id_n0 bigint NOT NULL,
    grain_id_n1 bigint NOT NULL,
    grain_id_extension text NULL,
    -- The serialized state (System.Text.Json bytes as configured by the silo); NULL after a clear.
    payload_binary bytea NULL,
    version integer NOT NULL,
    modified_on timestamptz NOT NULL DEFAULT now()
);

-- Orleans sends NULL for "no extension"; coalesce makes the key indexable and unique
-- (an empty extension and no extension also hash identically in Orleans' own grain id hash).
CREATE UNIQUE INDEX IF NOT EXISTS orleans_storage_grain_key ON orleans_storage
    (service_id, grain_type, grain_id_n0, grain_id_n1, (coalesce(grain_id_extension, '')));

-- The change sequence: one row per state write or clear, inserted by the same statement as the
-- write, so it commits or rolls back with it. Readers follow it by transaction id (txid), not by
-- seq alone: see ChangeFeed and docs/schema.md for why.
CREATE TABLE IF NOT EXISTS grain_changes
(
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    service_id text NOT NULL,
    grain_type text NOT NULL,
    grain_id_hash integer NOT NULL,
    grain_id_n0 bigint NOT NULL,
    grain_id_n1 bigint NOT NULL,
    grain_id_extension text NULL,
    version integer NOT NULL,
    cleared boolean NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS grain_changes_txid ON grain_changes (txid, seq);

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
('ReadFromStorageKey', $sql$
SELECT payload_binary AS "PayloadBinary", version AS "Version"
FROM orleans_storage
WHERE service_id = @ServiceId
  AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0
  AND grain_id_n1 = @GrainIdN1
  AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString, '');
$sql$),

-- First write (@GrainStateVersion NULL) inserts version 1 unless a row already exists; later
-- writes update only if @GrainStateVersion is still the stored version. A stale write returns no
-- row, which Orleans turns into an InconsistentStateException; it records no change either,
-- because the change row is inserted from the rows actually written.
('WriteToStorageKey', $sql$
WITH updated AS (
    UPDATE orleans_storage
    SET payload_binary = @PayloadBinary, version = version + 1, modified_on = now()
    WHERE @GrainStateVersion IS NOT NULL
      AND service_id = @ServiceId
      AND grain_type = @GrainTypeString
      AND grain_id_n0 = @GrainIdN0
      AND grain_id_n1 = @GrainIdN1
      AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString, '')
      AND version = @GrainStateVersion
    RETURNING version
),
inserted AS (
    INSERT INTO orleans_storage
        (service_id, grain_type, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1,
         grain_id_extension, payload_binary, version)
    SELECT @ServiceId, @GrainTypeString, @GrainTypeHash, @GrainIdHash, @GrainIdN0, @GrainIdN1,
           @GrainIdExtensionString, @PayloadBinary, 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT (service_id, grain_type, grain_id_n0, grain_id_n1, (coalesce(grain_id_extension, '')))
        DO NOTHING
    RETURNING version
),
written AS (
    SELECT version FROM updated
    UNION ALL
    SELECT version FROM inserted
),
recorded AS (
    INSERT INTO grain_changes
        (service_id, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_id_extension,
         version, cleared)
    SELECT @ServiceId, @GrainTypeString, @GrainIdHash, @GrainIdN0, @GrainIdN1,
           @GrainIdExtensionString, version, false
    FROM written
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM recorded;
$sql$),

-- Clear keeps the row (payload NULL) and bumps the version, so the next write continues the
-- version sequence. Returns the new version, or no row on a version conflict.
('ClearStorageKey', $sql$
WITH cleared AS (
    UPDATE orleans_storage
    SET payload_binary = NULL, version = version + 1, modified_on = now()
    WHERE @GrainStateVersion IS NOT NULL
      AND service_id = @ServiceId
      AND grain_type = @GrainTypeString
      AND grain_id_n0 = @GrainIdN0
      AND grain_id_n1 = @GrainIdN1
      AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString, '')
      AND version = @GrainStateVersion
    RETURNING version
),
recorded AS (
    INSERT INTO grain_changes
        (service_id, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_id_extension,
         version, cleared)
    SELECT @ServiceId, @GrainTypeString, @GrainIdHash, @GrainIdN0, @GrainIdN1,
           @GrainIdExtensionString, version, true
    FROM cleared
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM recorded;
$sql$),

-- Used instead of ClearStorageKey when the provider runs with DeleteStateOnClear = true. The row
-- goes away; the change records version + 1 as the version of the deletion.
('DeleteStorageKey', $sql$
WITH deleted AS (
    DELETE FROM orleans_storage
    WHERE @GrainStateVersion IS NOT NULL
      AND service_id = @ServiceId
      AND grain_type = @GrainTypeString
      AND grain_id_n0 = @GrainIdN0
      AND grain_id_n1 = @GrainIdN1
      AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString, '')
      AND version = @GrainStateVersion
    RETURNING version + 1 AS version
),
recorded AS (
    INSERT INTO grain_changes
        (service_id, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_id_extension,
         version, cleared)
    SELECT @ServiceId, @GrainTypeString, @GrainIdHash, @GrainIdN0, @GrainIdN1,
           @GrainIdExtensionString, version, true
    FROM deleted
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM recorded;
$sql$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
