-- leadroute-postgres migration 0002: the durable outbox of CRM writes.
-- Idempotent (IF NOT EXISTS); migrate() runs it after 0001 in the same
-- transaction under the same advisory lock.

-- One row per entry (id = the lead id). `entry` is the OutboxEntry JSON as
-- enqueued (the write, enqueue and submit times); the columns hold what
-- changes over the entry's life, and win over the JSON when read back.
CREATE TABLE IF NOT EXISTS leadroute_outbox (
    id                 text    PRIMARY KEY CHECK (octet_length(id) BETWEEN 1 AND 256),
    -- Enqueue order, the tie-break among entries due at the same time.
    seq                bigint  GENERATED ALWAYS AS IDENTITY,
    status             text    NOT NULL CHECK (status IN ('pending', 'claimed', 'dead')),
    attempts           integer NOT NULL CHECK (attempts >= 0),
    next_attempt_at_ms bigint  NOT NULL,
    lease_owner        text,
    lease_attempt      integer,
    lease_until_ms     bigint,
    last_error         jsonb,
    dead_letter        jsonb,
    dead_at_ms         bigint,
    entry              jsonb   NOT NULL,
    -- When the entry can next be claimed: a pending entry at its next
    -- attempt, a claimed one when its lease expires, a dead one never.
    due_ms             bigint  GENERATED ALWAYS AS (
        CASE status WHEN 'pending' THEN next_attempt_at_ms
                    WHEN 'claimed' THEN lease_until_ms END) STORED
);

-- claim(): the earliest due entries first, then in enqueue order.
CREATE INDEX IF NOT EXISTS leadroute_outbox_due
    ON leadroute_outbox (due_ms, seq) WHERE due_ms IS NOT NULL;
-- dead_letters(): the earliest dead-lettered first, then by id.
CREATE INDEX IF NOT EXISTS leadroute_outbox_dead
    ON leadroute_outbox (dead_at_ms, id) WHERE status = 'dead';
