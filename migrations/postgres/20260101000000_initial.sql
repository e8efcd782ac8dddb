-- Times are RFC 3339 UTC text with nanoseconds; lists of names are JSON arrays as text.

-- Reconciles: one row per attempt to apply a revision of the spec, kept as history.
CREATE TABLE reconciles (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node TEXT NOT NULL,
    instance TEXT NOT NULL,
    revision TEXT NOT NULL,
    source TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'refused', 'unchanged')),
    errors BIGINT NOT NULL CHECK (errors >= 0),
    warnings BIGINT NOT NULL CHECK (warnings >= 0),
    diagnostics TEXT NOT NULL,
    diagnostics_digest TEXT NOT NULL
);
CREATE INDEX reconciles_by_node ON reconciles (node, id);

-- The revision whose actuation the tables below hold. Exactly one row; actuate locks it first.
CREATE TABLE actuation_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    revision TEXT,
    actuated_at TEXT
);
INSERT INTO actuation_head (singleton, revision, actuated_at) VALUES (1, NULL, NULL);

-- Revision-derived rows, one copy per revision; rows of the head revision are active.
CREATE TABLE roles (
    revision TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    permissions TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    PRIMARY KEY (revision, id)
);
CREATE INDEX roles_active ON roles (id) WHERE active;

CREATE TABLE officials (
    revision TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    position TEXT NOT NULL,
    unit TEXT NOT NULL,
    email TEXT NOT NULL,
    roles TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    PRIMARY KEY (revision, id)
);
CREATE INDEX officials_active ON officials (id) WHERE active;

CREATE TABLE health_checks (
    revision TEXT NOT NULL,
    service TEXT NOT NULL,
    upstream TEXT NOT NULL,
    path TEXT NOT NULL,
    every_ms BIGINT NOT NULL CHECK (every_ms > 0),
    timeout_ms BIGINT NOT NULL CHECK (timeout_ms > 0),
    active BOOLEAN NOT NULL,
    PRIMARY KEY (revision, service)
);
CREATE INDEX health_checks_active ON health_checks (service) WHERE active;

CREATE TABLE retention_rules (
    revision TEXT NOT NULL,
    id TEXT NOT NULL,
    record TEXT NOT NULL,
    period TEXT NOT NULL,
    trigger_event TEXT NOT NULL,
    end_action TEXT NOT NULL,
    legal_hold BOOLEAN NOT NULL,
    active BOOLEAN NOT NULL,
    PRIMARY KEY (revision, id)
);
CREATE INDEX retention_rules_active ON retention_rules (id) WHERE active;
