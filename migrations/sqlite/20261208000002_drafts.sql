-- The citizens' unfinished applications (PORTAL-3, 003 §4.6(5)): one row per draft, owned by the
-- person who started it (their RNOKPP, or `sub:<subject>`) and pinned to the form of the revision
-- it was started under. data (field id → typed value; group id → list of entry objects) and
-- consents are JSON text; page is the page last saved. submitted_at set means locked: the draft
-- became a signed application and refuses every change. Unlocked drafts are removed once
-- expires_at has passed. Times as in reconciles.
CREATE TABLE drafts (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    e_service TEXT NOT NULL,
    form TEXT NOT NULL,
    revision TEXT NOT NULL,
    data TEXT NOT NULL,
    consents TEXT NOT NULL,
    page TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    submitted_at TEXT
);
CREATE INDEX drafts_by_owner ON drafts (owner, updated_at);
CREATE INDEX drafts_expiring ON drafts (expires_at) WHERE submitted_at IS NULL;
