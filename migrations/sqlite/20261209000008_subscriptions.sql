-- Mailing (PORTAL-11): citizens' subscriptions to topics and the notices sent for them.
-- mail_subscribers: one per citizen (owner as drafts and applications name them), the address
-- notices go to, and since when it is confirmed (the identity provider's address is taken as
-- confirmed; one the citizen types is confirmed by a link, whose token is kept as a SHA-256,
-- sent at confirm_sent_at).
CREATE TABLE mail_subscribers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    confirmed_at TEXT,
    confirm_digest TEXT UNIQUE,
    confirm_sent_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- One topic of a subscriber: `e-service` (target an e-service id, or `*` for any) or `outages`
-- (target a participant whose services' outages are mailed). Ended, not deleted, when
-- unsubscribed, so that a repeated one-click unsubscribe still finds it.
CREATE TABLE mail_subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber INTEGER NOT NULL REFERENCES mail_subscribers (id),
    topic TEXT NOT NULL CHECK (topic IN ('e-service', 'outages')),
    target TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE UNIQUE INDEX mail_subscriptions_live ON mail_subscriptions (subscriber, topic, target)
    WHERE ended_at IS NULL;
CREATE INDEX mail_subscriptions_by_topic ON mail_subscriptions (topic, target)
    WHERE ended_at IS NULL;
-- The one-click unsubscribe link of each notice: the SHA-256 of its random token.
CREATE TABLE unsubscribe_tokens (
    digest TEXT PRIMARY KEY,
    subscription INTEGER NOT NULL REFERENCES mail_subscriptions (id),
    created_at TEXT NOT NULL
);
-- How far the notices runner has read a source (`procedure_versions`, `health_results`): the
-- last row id it handled. Moved only together with the notices it queued.
CREATE TABLE mailing_cursors (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
-- The state of each checked service as its subscribers were last told it.
CREATE TABLE service_outages (
    service TEXT PRIMARY KEY,
    up BOOLEAN NOT NULL,
    since TEXT NOT NULL
);
-- A notice's `List-Unsubscribe` address (RFC 8058); NULL for mail that is not a list's.
ALTER TABLE outbox ADD COLUMN list_unsubscribe TEXT;
