-- The gateway's ledger. Times are RFC 3339 UTC text with nanoseconds unless named *_ts
-- (milliseconds since the epoch, as X-Road's operational monitoring has them).

-- The message log: one row per exchange per node, chained by hash per node
-- (see store::ledger::chain_hash for the exact rule). Rows are only ever appended.
CREATE TABLE message_log (
    node TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    message_id TEXT NOT NULL,
    logged_at TEXT NOT NULL,
    entry TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (node, seq)
);
CREATE INDEX message_log_by_message_id ON message_log (message_id);

-- The end of each node's chain. A writer locks its node's row first, so that replicas of one
-- node sharing a database extend one chain.
CREATE TABLE message_log_head (
    node TEXT PRIMARY KEY,
    seq INTEGER NOT NULL CHECK (seq >= 0),
    hash TEXT NOT NULL
);

-- X-Road operational monitoring records, one per exchange per node. Never a raw path nor a
-- user id: rest_path is the operation's pattern.
CREATE TABLE operational_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node TEXT NOT NULL,
    message_id TEXT NOT NULL,
    security_server_type TEXT NOT NULL CHECK (security_server_type IN ('client', 'producer')),
    request_in_ts INTEGER NOT NULL,
    request_out_ts INTEGER NOT NULL,
    response_in_ts INTEGER NOT NULL,
    response_out_ts INTEGER NOT NULL,
    client_xroad_instance TEXT NOT NULL,
    client_member_class TEXT NOT NULL,
    client_member_code TEXT NOT NULL,
    client_subsystem_code TEXT NOT NULL,
    service_xroad_instance TEXT NOT NULL,
    service_member_class TEXT NOT NULL,
    service_member_code TEXT NOT NULL,
    service_subsystem_code TEXT NOT NULL,
    service_code TEXT NOT NULL,
    message_issue TEXT,
    message_protocol_version TEXT NOT NULL,
    request_size INTEGER NOT NULL CHECK (request_size >= 0),
    response_size INTEGER NOT NULL CHECK (response_size >= 0),
    succeeded BOOLEAN NOT NULL,
    fault_code TEXT,
    status_code INTEGER NOT NULL,
    rest_method TEXT NOT NULL,
    rest_path TEXT
);
CREATE INDEX operational_records_by_time ON operational_records (request_in_ts, id);

-- MIN-4: who received which fields about a data subject, when and why; never the data.
CREATE TABLE subject_uses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    logtime TEXT NOT NULL,
    message_id TEXT NOT NULL,
    action TEXT NOT NULL,
    receiver_code TEXT NOT NULL,
    receiver_name TEXT NOT NULL,
    receiver_system TEXT NOT NULL,
    provider TEXT NOT NULL,
    agreement TEXT NOT NULL,
    purpose TEXT,
    legal_basis TEXT,
    fields TEXT NOT NULL
);
CREATE INDEX subject_uses_by_subject ON subject_uses (subject, logtime);

-- Notices the portal is to deliver to a data subject (agreements with notify-subject).
CREATE TABLE subject_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    created_at TEXT NOT NULL,
    subject_use BIGINT NOT NULL REFERENCES subject_uses (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered')),
    delivered_at TEXT
);
CREATE INDEX subject_notices_pending ON subject_notices (id) WHERE status = 'pending';
