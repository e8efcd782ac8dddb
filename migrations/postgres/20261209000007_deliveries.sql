-- Applications delivered to a provider's own system (003 §5.4): one delivery per application,
-- its id the key the provider dedupes on; retried until the provider's system takes it,
-- leased by one runner at a time. Each attempt is kept with its outcome in words.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL,
    e_service TEXT NOT NULL,
    subsystem TEXT NOT NULL,
    service TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    leased_by TEXT,
    lease_until TEXT,
    last_error TEXT,
    provider_reference TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_case ON deliveries (case_id);

CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL,
    n BIGINT NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (delivery_id, n)
);

-- What the provider's system reported back on a delivered application: the report as it was
-- sealed (JSON bytes and the participant's CMS seal), the transition it fired, and a result
-- document (PDF and its seal) where it sent one. One row per report id of a delivery: a replay
-- finds it.
CREATE TABLE provider_reports (
    delivery_id TEXT NOT NULL,
    report_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    participant TEXT NOT NULL,
    event TEXT NOT NULL,
    report TEXT NOT NULL,
    seal BYTEA NOT NULL,
    result_number TEXT,
    result_pdf BYTEA,
    result_seal BYTEA,
    state_after TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (delivery_id, report_id)
);
CREATE INDEX provider_reports_by_case ON provider_reports (case_id, received_at);

-- The runner's look for open cases of a handled e-service left without a delivery.
CREATE INDEX applications_by_e_service ON applications (e_service, received_at);
