-- The dead-letter queue: payloads a connector or receiver could not parse or ingest after its
-- retries, kept byte for byte until an operator replays or deletes them. The same payload failing
-- again (same fingerprint) adds to the attempts of its row instead of adding a row. Idempotent.
CREATE TABLE IF NOT EXISTS event_dlq
(
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector text NOT NULL,
    source text NOT NULL,
    kind text NOT NULL,
    content_type text NOT NULL,
    payload bytea NOT NULL,
    -- hex SHA-256 over connector, source, kind, content type and payload
    fingerprint text NOT NULL,
    error text NOT NULL,
    attempts integer NOT NULL CHECK (attempts >= 1),
    first_failed_at timestamptz NOT NULL,
    last_failed_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'replayed')),
    replayed_at timestamptz NULL,
    replayed_event_ids uuid[] NOT NULL DEFAULT '{}',
    CONSTRAINT event_dlq_fingerprint_key UNIQUE (fingerprint)
);

-- Lists are newest failure first, filtered by connector and/or source.
CREATE INDEX IF NOT EXISTS event_dlq_connector_source_time ON event_dlq (connector, source, last_failed_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS event_dlq_source_time ON event_dlq (source, last_failed_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS event_dlq_time ON event_dlq (last_failed_at DESC, id DESC);
-- The depth gauge and bulk replays read only pending rows.
CREATE INDEX IF NOT EXISTS event_dlq_pending ON event_dlq (first_failed_at, id) WHERE status = 'pending';
