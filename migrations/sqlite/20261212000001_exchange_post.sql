-- The registries' exchange on the wire (issue 16). exchange_post_out: the СЕВ ОВВ messages a
-- participant's registry queued, in the transaction that decided them, for the poster to send
-- through the gateway to the addressee's exchange service; leased by one poster at a time
-- (leased_by, lease_until), retried with backoff (next_attempt_at, '' means at once) until
-- posted_at says the addressee's node stored it. exchange_post_in: the messages this node's
-- exchange services received, stored before the sender was answered, one per (participant,
-- sender, msg_id); handled once: finished_at is set in the handler's own transaction.
-- Times as in reconciles.
CREATE TABLE exchange_post_out (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    msg_id TEXT NOT NULL UNIQUE,
    sender TEXT NOT NULL,
    addressee TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('document', 'notice')),
    card_id TEXT,
    xml BLOB NOT NULL,
    queued_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT NOT NULL DEFAULT '',
    leased_by TEXT,
    lease_until TEXT,
    last_error TEXT,
    posted_at TEXT
);
CREATE INDEX exchange_post_out_due ON exchange_post_out (next_attempt_at) WHERE posted_at IS NULL;
CREATE INDEX exchange_post_out_by_card ON exchange_post_out (card_id);

CREATE TABLE exchange_post_in (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    participant TEXT NOT NULL,
    sender TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    xml BLOB NOT NULL,
    received_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT NOT NULL DEFAULT '',
    leased_by TEXT,
    lease_until TEXT,
    last_error TEXT,
    finished_at TEXT,
    UNIQUE (participant, sender, msg_id)
);
CREATE INDEX exchange_post_in_due ON exchange_post_in (next_attempt_at) WHERE finished_at IS NULL;
