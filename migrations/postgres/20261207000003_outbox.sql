-- The case engine's outgoing e-mail, written in the transition's transaction and delivered over
-- SMTP afterwards. One row per idempotency key; a deliverer leases a row (leased_by, lease_until)
-- before sending it, so replicas sharing the database never send one mail twice at once.
-- status: queued (next_attempt_at says when; '' means at once), sent, or failed (permanent
-- refusal, or retries exhausted; last_error says why). Times as in reconciles.
CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    case_id TEXT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT NOT NULL DEFAULT '',
    leased_by TEXT,
    lease_until TEXT,
    last_error TEXT,
    finished_at TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX outbox_by_case ON outbox (case_id);
