-- The fleet: one row per replica (process) of a node sharing this store, written on its every
-- heartbeat: the revision it serves and since when, and when it last beat. A replica stopping
-- cleanly deletes its row; one whose heartbeat is long gone is deleted by the others.
CREATE TABLE replicas (
    node TEXT NOT NULL,
    instance TEXT NOT NULL,
    revision TEXT,
    applied_at TEXT,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    PRIMARY KEY (node, instance)
);
CREATE INDEX replicas_by_heartbeat ON replicas (heartbeat_at);
