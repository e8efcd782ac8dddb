-- Officials in the portal's office (PORTAL-7; 003 §6.3–6.11; 001 §4.6).
-- A sign-in under way says whose it is: a citizen's or an official's.
ALTER TABLE portal_sign_ins ADD COLUMN office BOOLEAN NOT NULL DEFAULT FALSE;

-- Officials' sessions, apart from citizens': known by the SHA-256 (hex) of the random token in
-- their own cookie; `official` is the spec's official id, `subject` the identity provider's
-- pseudonymous subject. Times as in reconciles.
CREATE TABLE office_sessions (
    id TEXT PRIMARY KEY,
    official TEXT NOT NULL,
    subject TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT,
    ended_why TEXT
);
CREATE INDEX office_sessions_open_by_official ON office_sessions (official) WHERE ended_at IS NULL;
CREATE INDEX office_sessions_by_expiry ON office_sessions (expires_at);

-- Each official's account as those with `users-manage` last set it: `blocked` (until the end of
-- the day `until`, or for good when it is NULL) or `annulled` (for good, never lifted). An
-- unblocked account has no row. Every change is kept in official_account_changes.
CREATE TABLE official_blocks (
    official TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    until TEXT,
    reason TEXT NOT NULL,
    by_official TEXT NOT NULL,
    at TEXT NOT NULL
);

CREATE TABLE official_account_changes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    official TEXT NOT NULL,
    action TEXT NOT NULL,
    until TEXT,
    reason TEXT NOT NULL,
    by_official TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX official_account_changes_by_official ON official_account_changes (official, id);

-- The officials' access log (003 §6.4): every view and every action, with the official and the
-- time; `detail` never holds an applicant's data.
CREATE TABLE official_access (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL,
    official TEXT NOT NULL,
    action TEXT NOT NULL,
    case_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX official_access_by_official ON official_access (official, id);
CREATE INDEX official_access_by_case ON official_access (case_id, id);
