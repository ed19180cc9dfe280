-- Retention of the change sequence. grain_changes gains a row with every state write, forever,
-- unless old rows are pruned. Pruning works in transaction ids, the order readers follow:
--
--   grain_change_marks   every pruning run records the oldest transaction id still running
--                        (the xmin of its snapshot) and when it looked. A mark taken at least the
--                        retention ago says: every transaction with a smaller id ended that long ago.
--   grain_changes_pruned one row: every change of a transaction with an id below through_txid may be
--                        gone. It is raised (and committed) before any row is deleted, and every
--                        change-feed read returns it from the same snapshot as its rows, so a reader
--                        whose cursor lies below it learns that it cannot continue (and rebuilds from
--                        the grain states) instead of silently skipping deleted changes.
--
-- Idempotent.
CREATE TABLE IF NOT EXISTS grain_change_marks
(
    taken_at timestamptz PRIMARY KEY,
    oldest_running xid8 NOT NULL
);

CREATE TABLE IF NOT EXISTS grain_changes_pruned
(
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    through_txid xid8 NOT NULL,
    pruned_at timestamptz NOT NULL
);
