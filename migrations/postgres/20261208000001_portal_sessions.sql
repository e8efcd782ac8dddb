-- The portal's sign-ins (PORTAL-2). A session is known by the SHA-256 (hex) of the random token
-- in its cookie, never the token itself; `claims` is the JSON of what the identity provider said
-- about the person that the portal needs (RNOKPP, names, e-mail). A session ends when its person
-- signs out (on every device), when it sits idle too long, or at its absolute expiry; ended rows
-- stay with `ended_why` until they are forgotten a while after their expiry. Times as in
-- reconciles.
CREATE TABLE portal_sessions (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    owner TEXT NOT NULL,
    claims TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT,
    ended_why TEXT
);
CREATE INDEX portal_sessions_open_by_owner ON portal_sessions (owner) WHERE ended_at IS NULL;
CREATE INDEX portal_sessions_by_expiry ON portal_sessions (expires_at);

-- A sign-in under way: sent to the identity provider, not yet back. Keyed by the SHA-256 of its
-- `state`, bound to the browser that started it (SHA-256 of a cookie), taken once.
CREATE TABLE portal_sign_ins (
    state TEXT PRIMARY KEY,
    browser TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX portal_sign_ins_by_expiry ON portal_sign_ins (expires_at);

-- The security-event log (001 §2.2.3): sign-ins, failures, sign-outs and refusals, with the
-- identity provider's pseudonymous subject at most and a reason without personal data.
CREATE TABLE security_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX security_events_by_time ON security_events (at);
