-- Applications a citizen signed on the portal: the canonical document (JSON text, exactly the
-- bytes signed) with its detached CMS signature (DER; NULL where the form asks none), registered
-- in the provider's incoming journal. One per draft; a number once per journal and period; the
-- case is filled in once the engine started it. Never changed otherwise.
CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    draft_id TEXT NOT NULL UNIQUE,
    e_service TEXT NOT NULL,
    journal TEXT NOT NULL,
    period TEXT NOT NULL,
    seq BIGINT NOT NULL,
    number TEXT NOT NULL,
    received_at TEXT NOT NULL,
    case_id TEXT,
    document TEXT NOT NULL,
    signature BYTEA,
    UNIQUE (journal, period, seq)
);
CREATE INDEX applications_by_owner ON applications (owner, received_at);
CREATE INDEX applications_without_case ON applications (received_at) WHERE case_id IS NULL;
