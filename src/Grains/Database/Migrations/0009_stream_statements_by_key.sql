-- The stream statements that delete or update messages they selected (taking, confirming,
-- releasing, evicting) reach those rows by their physical address (ctid), found by the same
-- statement: the rows taken or evicted are locked by it (FOR UPDATE), so their address cannot
-- change before the update; a confirmation first looks each message up by its whole key. The
-- plans no longer depend on the table's statistics. As 0006 wrote them (a join of the queue with
-- the chosen messages), PostgreSQL estimated a queue to hold one row whenever its statistics were
-- missing or taken while it was short, and then read every message of the queue for each poll and
-- each confirmation: with a backlog of 2,500 messages per queue a poll read about 5,000 buffers to
-- take 12, so draining a backlog cost time in proportion to its square. What the statements do is
-- unchanged (docs/schema.md has their contract). Idempotent.

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
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
    SELECT m.ctid AS row_id
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
    WHERE m.ctid = ANY (ARRAY(SELECT row_id FROM evictable))
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
    SELECT d.ctid AS row_id
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
    WHERE d.ctid = ANY (ARRAY(SELECT row_id FROM removable))
),
picked AS (
    SELECT m.ctid AS row_id
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
    WHERE m.ctid = ANY (ARRAY(SELECT row_id FROM picked))
    RETURNING m.*
)
SELECT service_id AS "ServiceId", provider_id AS "ProviderId", queue_id AS "QueueId",
       message_id AS "MessageId", dequeued AS "Dequeued", visible_on AS "VisibleOn",
       expires_on AS "ExpiresOn", created_on AS "CreatedOn", modified_on AS "ModifiedOn",
       payload AS "Payload"
FROM taken
ORDER BY message_id;
$sql$),

('ConfirmStreamMessagesKey', $sql$
WITH items AS (
    SELECT DISTINCT split_part(item, ':', 1)::bigint AS message_id, split_part(item, ':', 2)::integer AS receipt
    FROM string_to_table(@Items, '|') AS item
    WHERE item <> ''
),
targets AS (
    SELECT found.row_id, i.receipt
    FROM items i
    CROSS JOIN LATERAL (
        SELECT m.ctid AS row_id
        FROM orleans_stream_messages m
        WHERE m.service_id = @ServiceId AND m.provider_id = @ProviderId AND m.queue_id = @QueueId
          AND m.message_id = i.message_id
        LIMIT 1 -- one row per key; also keeps this a lookup per item rather than a join with the queue
    ) AS found
),
confirmed AS (
    DELETE FROM orleans_stream_messages m
    USING targets t
    WHERE m.ctid = ANY (ARRAY(SELECT row_id FROM targets WHERE receipt > 0))
      AND m.ctid = t.row_id
      AND t.receipt > 0
      AND m.dequeued = t.receipt
      AND m.visible_on > now()
    RETURNING m.service_id, m.provider_id, m.queue_id, m.message_id
),
released AS (
    UPDATE orleans_stream_messages m
    SET visible_on = now(), modified_on = now()
    FROM targets t
    WHERE m.ctid = ANY (ARRAY(SELECT row_id FROM targets WHERE receipt < 0))
      AND m.ctid = t.row_id
      AND t.receipt < 0
      AND m.dequeued = -t.receipt
      AND m.visible_on > now()
    RETURNING m.service_id, m.provider_id, m.queue_id, m.message_id
)
SELECT service_id AS "ServiceId", provider_id AS "ProviderId", queue_id AS "QueueId", message_id AS "MessageId"
FROM confirmed
UNION ALL
SELECT service_id, provider_id, queue_id, message_id
FROM released;
$sql$),

('EvictStreamMessagesKey', $sql$
WITH evictable AS (
    SELECT m.ctid AS row_id
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
    WHERE m.ctid = ANY (ARRAY(SELECT row_id FROM evictable))
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

('EvictStreamDeadLettersKey', $sql$
WITH removable AS (
    SELECT d.ctid AS row_id
    FROM orleans_stream_dead_letters d
    WHERE d.service_id = @ServiceId AND d.provider_id = @ProviderId AND d.queue_id = @QueueId
      AND d.remove_on <= now()
    ORDER BY d.remove_on
    LIMIT @MaxCount
    FOR UPDATE SKIP LOCKED
)
DELETE FROM orleans_stream_dead_letters d
WHERE d.ctid = ANY (ARRAY(SELECT row_id FROM removable));
$sql$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
