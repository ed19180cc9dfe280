-- Orleans ADO.NET streams (Microsoft.Orleans.Streaming.AdoNet 10.4.2-alpha.1) on PostgreSQL: the
-- durable queues behind the "events" stream provider. Written for this project from the
-- provider's contract (docs/schema.md). Idempotent.
--
-- Every time parameter the provider sends is a whole number of seconds. Times are stored as
-- timestamptz and come back to the provider as UTC DateTimes.

-- Message ids: increasing per insert, shared by every queue. They order a queue's messages; they
-- are not a cursor (a lower id can commit after a higher one and is still dequeued later, because
-- dequeuing takes whatever is visible rather than reading past a position).
CREATE SEQUENCE IF NOT EXISTS orleans_stream_message_id AS bigint;

-- One row per queued batch until it is confirmed (deleted) or moved to dead letters.
-- dequeued counts deliveries and doubles as the receipt of the latest one; visible_on is when the
-- message may be taken again (now for a fresh or released message, the end of the lease while a
-- receiver holds it); expires_on is when it stops being delivered at all.
CREATE TABLE IF NOT EXISTS orleans_stream_messages
(
    service_id text NOT NULL,
    provider_id text NOT NULL,
    queue_id text NOT NULL,
    message_id bigint NOT NULL DEFAULT nextval('orleans_stream_message_id'),
    dequeued integer NOT NULL DEFAULT 0,
    visible_on timestamptz NOT NULL,
    expires_on timestamptz NOT NULL,
    created_on timestamptz NOT NULL,
    modified_on timestamptz NOT NULL,
    payload bytea NOT NULL,
    CONSTRAINT orleans_stream_messages_pkey PRIMARY KEY (service_id, provider_id, queue_id, message_id)
);

ALTER SEQUENCE orleans_stream_message_id OWNED BY orleans_stream_messages.message_id;

-- Messages that failed too often or expired, kept for inspection until remove_on.
CREATE TABLE IF NOT EXISTS orleans_stream_dead_letters
(
    service_id text NOT NULL,
    provider_id text NOT NULL,
    queue_id text NOT NULL,
    message_id bigint NOT NULL,
    dequeued integer NOT NULL,
    visible_on timestamptz NOT NULL,
    expires_on timestamptz NOT NULL,
    created_on timestamptz NOT NULL,
    modified_on timestamptz NOT NULL,
    dead_on timestamptz NOT NULL,
    remove_on timestamptz NOT NULL,
    payload bytea NULL,
    CONSTRAINT orleans_stream_dead_letters_pkey PRIMARY KEY (service_id, provider_id, queue_id, message_id)
);

CREATE INDEX IF NOT EXISTS orleans_stream_dead_letters_remove_on
    ON orleans_stream_dead_letters (service_id, provider_id, queue_id, remove_on);

-- One row per queue: when its next eviction is due. Whichever poller moves evict_on forward runs
-- that eviction, so eviction happens once per interval per queue however many silos poll.
CREATE TABLE IF NOT EXISTS orleans_stream_control
(
    service_id text NOT NULL,
    provider_id text NOT NULL,
    queue_id text NOT NULL,
    evict_on timestamptz NOT NULL,
    CONSTRAINT orleans_stream_control_pkey PRIMARY KEY (service_id, provider_id, queue_id)
);

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
-- A new message is visible at once, never dequeued, and expires after @ExpiryTimeout seconds.
('QueueStreamMessageKey', $sql$
INSERT INTO orleans_stream_messages
    (service_id, provider_id, queue_id, dequeued, visible_on, expires_on, created_on, modified_on, payload)
VALUES
    (@ServiceId, @ProviderId, @QueueId, 0, now(), now() + make_interval(secs => @ExpiryTimeout), now(), now(), @Payload)
RETURNING service_id AS "ServiceId", provider_id AS "ProviderId", queue_id AS "QueueId", message_id AS "MessageId";
$sql$),

-- Takes up to @MaxCount visible, unexpired messages that have been dequeued fewer than
-- @MaxAttempts times, oldest first: each gets dequeued + 1 (its new receipt) and stays invisible
-- for @VisibilityTimeout seconds. FOR UPDATE SKIP LOCKED makes concurrent pollers of one queue
-- take disjoint sets instead of the same messages (or waiting on each other).
-- The same statement runs the queue's eviction when it is due (at most once per
-- @EvictionInterval seconds per queue, and at the queue's first poll): the poller whose UPDATE
-- moves evict_on forward runs it; a concurrent poller waits for that row, re-checks, finds it not
-- due and skips it; a poll when nothing is due reads the row without locking it. Messages that used up their
-- attempts or expired, and whose current lease is over, move to dead letters kept for
-- @RemovalTimeout seconds; dead letters past their removal time are deleted; up to
-- @EvictionBatchSize rows each. The messages evicted and the messages taken never overlap (the
-- conditions exclude each other), so the sub-statements never touch the same row.
('GetStreamMessagesKey', $sql$
WITH advanced AS (
    UPDATE orleans_stream_control c
    SET evict_on = now() + make_interval(secs => @EvictionInterval)
    WHERE c.service_id = @ServiceId AND c.provider_id = @ProviderId AND c.queue_id = @QueueId
      AND c.evict_on <= now()
    RETURNING 1
),
created AS (
    INSERT INTO orleans_stream_control (service_id, provider_id, queue_id, evict_on)
    SELECT @ServiceId, @ProviderId, @QueueId, now() + make_interval(secs => @EvictionInterval)
    WHERE NOT EXISTS (
        SELECT 1 FROM orleans_stream_control c
        WHERE c.service_id = @ServiceId AND c.provider_id = @ProviderId AND c.queue_id = @QueueId)
    ON CONFLICT ON CONSTRAINT orleans_stream_control_pkey DO NOTHING
    RETURNING 1
),
due AS (
    SELECT 1 FROM advanced
    UNION ALL
    SELECT 1 FROM created
),
evictable AS (
    SELECT m.message_id
    FROM orleans_stream_messages m
    WHERE EXISTS (SELECT 1 FROM due)
      AND m.service_id = @ServiceId AND m.provider_id = @ProviderId AND m.queue_id = @QueueId
      AND m.visible_on <= now()
      AND (m.dequeued >= @MaxAttempts OR m.expires_on <= now())
    ORDER BY m.message_id
    LIMIT @EvictionBatchSize
    FOR UPDATE SKIP LOCKED
),
evicted AS (
    DELETE FROM orleans_stream_messages m
    USING evictable e
    WHERE m.service_id = @ServiceId AND m.provider_id = @ProviderId AND m.queue_id = @QueueId
      AND m.message_id = e.message_id
    RETURNING m.*
),
dead AS (
    INSERT INTO orleans_stream_dead_letters
        (service_id, provider_id, queue_id, message_id, dequeued, visible_on, expires_on, created_on,
         modified_on, dead_on, remove_on, payload)
    SELECT service_id, provider_id, queue_id, message_id, dequeued, visible_on, expires_on, created_on,
           modified_on, now(), now() + make_interval(secs => @RemovalTimeout), payload
    FROM evicted
    ON CONFLICT ON CONSTRAINT orleans_stream_dead_letters_pkey DO NOTHING
),
removable AS (
    SELECT d.message_id
    FROM orleans_stream_dead_letters d
    WHERE EXISTS (SELECT 1 FROM due)
      AND d.service_id = @ServiceId AND d.provider_id = @ProviderId AND d.queue_id = @QueueId
      AND d.remove_on <= now()
    ORDER BY d.remove_on
    LIMIT @EvictionBatchSize
    FOR UPDATE SKIP LOCKED
),
removed AS (
    DELETE FROM orleans_stream_dead_letters d
    USING removable r
    WHERE d.service_id = @ServiceId AND d.provider_id = @ProviderId AND d.queue_id = @QueueId
      AND d.message_id = r.message_id
),
picked AS (
    SELECT m.message_id
    FROM orleans_stream_messages m
    WHERE m.service_id = @ServiceId AND m.provider_id = @ProviderId AND m.queue_id = @QueueId
      AND m.visible_on <= now()
      AND m.expires_on > now()
      AND m.dequeued < @MaxAttempts
    ORDER BY m.message_id
    LIMIT @MaxCount
    FOR UPDATE SKIP LOCKED
),
taken AS (
    UPDATE orleans_stream_messages m
    SET dequeued = m.dequeued + 1,
        visible_on = now() + make_interval(secs => @VisibilityTimeout),
        modified_on = now()
    FROM picked p
    WHERE m.service_id = @ServiceId AND m.provider_id = @ProviderId AND m.queue_id = @QueueId
      AND m.message_id = p.message_id
    RETURNING m.*
)
SELECT service_id AS "ServiceId", provider_id AS "ProviderId", queue_id AS "QueueId",
       message_id AS "MessageId", dequeued AS "Dequeued", visible_on AS "VisibleOn",
       expires_on AS "ExpiresOn", created_on AS "CreatedOn", modified_on AS "ModifiedOn",
       payload AS "Payload"
FROM taken
ORDER BY message_id;
$sql$),

-- @Items is "MessageId:Dequeued|MessageId:Dequeued|...". A positive Dequeued confirms: the message
-- is deleted only if that is still its latest receipt and its lease is still held. A receiver
-- whose lease ran out, or whose message was failed, released or taken again since, holds a stale
-- receipt, and its confirm deletes nothing: the message is delivered again (at least once).
-- A negative Dequeued releases (a receiver shutting down hands back what it holds): the message
-- becomes visible now, again only for the current receipt, and keeps its dequeue count.
-- Returns the messages confirmed or released.
('ConfirmStreamMessagesKey', $sql$
WITH items AS (
    SELECT DISTINCT split_part(item, ':', 1)::bigint AS message_id, split_part(item, ':', 2)::integer AS receipt
    FROM string_to_table(@Items, '|') AS item
    WHERE item <> ''
),
confirmed AS (
    DELETE FROM orleans_stream_messages m
    USING items i
    WHERE m.service_id = @ServiceId AND m.provider_id = @ProviderId AND m.queue_id = @QueueId
      AND m.message_id = i.message_id
      AND i.receipt > 0
      AND m.dequeued = i.receipt
      AND m.visible_on > now()
    RETURNING m.service_id, m.provider_id, m.queue_id, m.message_id
),
released AS (
    UPDATE orleans_stream_messages m
    SET visible_on = now(), modified_on = now()
    FROM items i
    WHERE m.service_id = @ServiceId AND m.provider_id = @ProviderId AND m.queue_id = @QueueId
      AND m.message_id = i.message_id
      AND i.receipt < 0
      AND m.dequeued = -i.receipt
      AND m.visible_on > now()
    RETURNING m.service_id, m.provider_id, m.queue_id, m.message_id
)
SELECT service_id AS "ServiceId", provider_id AS "ProviderId", queue_id AS "QueueId", message_id AS "MessageId"
FROM confirmed
UNION ALL
SELECT service_id, provider_id, queue_id, message_id
FROM released;
$sql$),

-- A delivery failed (the consumer kept throwing). With attempts left, the message is visible again
-- at once: the lease ends, so the receipt of the failed delivery can no longer confirm it, and the
-- next poll delivers it again. With none left, it moves to dead letters kept for @RemovalTimeout
-- seconds.
('FailStreamMessageKey', $sql$
WITH retried AS (
    UPDATE orleans_stream_messages m
    SET visible_on = now(), modified_on = now()
    WHERE m.service_id = @ServiceId AND m.provider_id = @ProviderId AND m.queue_id = @QueueId
      AND m.message_id = @MessageId
      AND m.dequeued < @MaxAttempts
    RETURNING m.message_id
),
evicted AS (
    DELETE FROM orleans_stream_messages m
    WHERE m.service_id = @ServiceId AND m.provider_id = @ProviderId AND m.queue_id = @QueueId
      AND m.message_id = @MessageId
      AND m.dequeued >= @MaxAttempts
    RETURNING m.*
)
INSERT INTO orleans_stream_dead_letters
    (service_id, provider_id, queue_id, message_id, dequeued, visible_on, expires_on, created_on,
     modified_on, dead_on, remove_on, payload)
SELECT service_id, provider_id, queue_id, message_id, dequeued, visible_on, expires_on, created_on,
       modified_on, now(), now() + make_interval(secs => @RemovalTimeout), payload
FROM evicted
ON CONFLICT ON CONSTRAINT orleans_stream_dead_letters_pkey DO NOTHING;
$sql$),

-- Moves up to @MaxCount messages whose lease is over and that used up @MaxAttempts or expired to
-- dead letters kept for @RemovalTimeout seconds. (GetStreamMessagesKey runs the same eviction
-- when it is due; the provider requires this key as well.)
('EvictStreamMessagesKey', $sql$
WITH evictable AS (
    SELECT m.message_id
    FROM orleans_stream_messages m
    WHERE m.service_id = @ServiceId AND m.provider_id = @ProviderId AND m.queue_id = @QueueId
      AND m.visible_on <= now()
      AND (m.dequeued >= @MaxAttempts OR m.expires_on <= now())
    ORDER BY m.message_id
    LIMIT @MaxCount
    FOR UPDATE SKIP LOCKED
),
evicted AS (
    DELETE FROM orleans_stream_messages m
    USING evictable e
    WHERE m.service_id = @ServiceId AND m.provider_id = @ProviderId AND m.queue_id = @QueueId
      AND m.message_id = e.message_id
    RETURNING m.*
)
INSERT INTO orleans_stream_dead_letters
    (service_id, provider_id, queue_id, message_id, dequeued, visible_on, expires_on, created_on,
     modified_on, dead_on, remove_on, payload)
SELECT service_id, provider_id, queue_id, message_id, dequeued, visible_on, expires_on, created_on,
       modified_on, now(), now() + make_interval(secs => @RemovalTimeout), payload
FROM evicted
ON CONFLICT ON CONSTRAINT orleans_stream_dead_letters_pkey DO NOTHING;
$sql$),

-- Deletes up to @MaxCount dead letters whose removal time has come.
('EvictStreamDeadLettersKey', $sql$
WITH removable AS (
    SELECT d.message_id
    FROM orleans_stream_dead_letters d
    WHERE d.service_id = @ServiceId AND d.provider_id = @ProviderId AND d.queue_id = @QueueId
      AND d.remove_on <= now()
    ORDER BY d.remove_on
    LIMIT @MaxCount
    FOR UPDATE SKIP LOCKED
)
DELETE FROM orleans_stream_dead_letters d
USING removable r
WHERE d.service_id = @ServiceId AND d.provider_id = @ProviderId AND d.queue_id = @QueueId
  AND d.message_id = r.message_id;
$sql$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
