-- The case engine: cases, the workflow definitions they run on, their hash-chained history, the
-- notices they leave in cabinets and the idempotency keys of the requests that moved them.
-- Times are RFC 3339 UTC text with nanoseconds; JSON documents are text.

-- What a case needs to run to its end, pinned per revision: the workflow and what its actions
-- reference (e-services, templates, journals, roles, officials, calendar), as one JSON document.
CREATE TABLE workflow_definitions (
    revision TEXT NOT NULL,
    workflow TEXT NOT NULL,
    definition TEXT NOT NULL,
    digest TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    PRIMARY KEY (revision, workflow)
);

-- One row per case; `outcome` is NULL while the case is open. `role` is the role whose officials
-- work it now (its state's, or the one it was escalated to); `assignee` the official who took it.
-- `version` grows with every change, so a write based on an older read changes nothing.
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    revision TEXT NOT NULL,
    e_service TEXT NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT,
    applicant TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    applicant_email TEXT,
    assignee TEXT,
    role TEXT,
    data TEXT NOT NULL,
    registry TEXT NOT NULL,
    decision TEXT,
    deadline_at TEXT,
    version INTEGER NOT NULL CHECK (version >= 1),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    state_entered_at TEXT NOT NULL
);
CREATE INDEX cases_by_state ON cases (workflow, state) WHERE outcome IS NULL;
CREATE INDEX cases_by_applicant ON cases (applicant, created_at);
CREATE INDEX cases_by_assignee ON cases (assignee) WHERE outcome IS NULL;
CREATE INDEX cases_by_role ON cases (role) WHERE outcome IS NULL;
CREATE INDEX cases_by_deadline ON cases (deadline_at) WHERE outcome IS NULL;

-- The history of every case, append-only, in one hash chain over all cases: a deleted or
-- rewritten event, or a case removed with all its events, breaks the chain or its head.
CREATE TABLE case_events (
    seq INTEGER PRIMARY KEY CHECK (seq >= 1),
    case_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    on_behalf TEXT,
    kind TEXT NOT NULL,
    event TEXT,
    from_state TEXT,
    to_state TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX case_events_by_case ON case_events (case_id, seq);

-- The chain's head. Exactly one row; an append locks it first.
CREATE TABLE case_events_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO case_events_head (singleton, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Cabinet messages: one per recipient and cause (`key`), so a retried transition adds none.
CREATE TABLE case_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('applicant', 'official')),
    recipient TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX case_notices_by_recipient ON case_notices (recipient_kind, recipient, id);
CREATE INDEX case_notices_by_case ON case_notices (case_id, id);

-- Idempotency keys: what a request asked (`fingerprint`) and what it made (`result`), so the
-- same request again gets the same answer and moves nothing.
CREATE TABLE case_requests (
    key TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL
);
