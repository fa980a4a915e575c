-- leadroute-postgres migration 0001: pool rotation state.
-- Idempotent: every statement is IF NOT EXISTS, and migrate() runs the file
-- in one transaction under an advisory lock, so replicas starting together
-- do not race on the catalog.

-- One row per pool: the version the compare-and-swap compares, and the
-- PoolState JSON (members' counters and the replay window of recent lead
-- ids). A pool without a row is at version 0.
CREATE TABLE IF NOT EXISTS leadroute_pool_state (
    pool       text        PRIMARY KEY,
    version    bigint      NOT NULL CHECK (version > 0),
    state      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
