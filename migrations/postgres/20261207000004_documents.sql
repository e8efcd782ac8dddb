-- Registration numbers: one counter per journal and period (the year for `reset "yearly"`, ''
-- for `reset "never"`), incremented in the issuing transaction, so a rolled-back issue gives its
-- number back and two writers queue on the row instead of taking one number twice.
CREATE TABLE journal_counters (
    journal TEXT NOT NULL,
    period TEXT NOT NULL,
    last BIGINT NOT NULL CHECK (last >= 1),
    PRIMARY KEY (journal, period)
);

-- Documents the case engine issued: the rendered text and its detached CMS seal (DER), one per
-- idempotency key; (journal, period, seq) once at most. Never updated in place.
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL,
    template TEXT NOT NULL,
    title TEXT NOT NULL,
    journal TEXT,
    period TEXT,
    seq BIGINT,
    number TEXT,
    text TEXT NOT NULL,
    signature BYTEA NOT NULL,
    sealed_by TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    UNIQUE (journal, period, seq)
);
CREATE INDEX documents_by_case ON documents (case_id);
