-- The agreements' rate limits shared by the replicas of a node: one token bucket per agreement,
-- from which each replica leases tokens in batches. `refilled_at` is in microseconds since the
-- Unix epoch; `holder` names the replica that leased last and `contended` whether the one before
-- it was another, so a replica alone may lease larger batches.
CREATE TABLE rate_buckets (
    node TEXT NOT NULL,
    agreement TEXT NOT NULL,
    tokens REAL NOT NULL,
    refilled_at INTEGER NOT NULL,
    holder TEXT NOT NULL,
    taken INTEGER NOT NULL CHECK (taken >= 0),
    contended BOOLEAN NOT NULL,
    PRIMARY KEY (node, agreement)
);
