-- Anchoring the message log (issue 11, finding 4). Rows written from now on are of format 2: the
-- chain hashes every column written with the row (message_id, logged_at, the bodies' digest; see
-- store::ledger::chain_hash), and the bodies live apart from the entry, so that retention can
-- dispose of them (bodies set to NULL, disposed_at set) and leave the digest and the chain intact.
-- Rows of format 1 (written before) keep the old rule: their entry holds the bodies.
ALTER TABLE message_log ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
ALTER TABLE message_log ADD COLUMN bodies TEXT;
ALTER TABLE message_log ADD COLUMN bodies_digest TEXT;
ALTER TABLE message_log ADD COLUMN disposed_at TEXT;
CREATE INDEX message_log_kept_bodies ON message_log (logged_at) WHERE bodies IS NOT NULL;

-- Heads of this store's chains signed with their node's key, every N records or T seconds.
CREATE TABLE message_log_checkpoints (
    node TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    hash TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (node, seq)
);

-- Other nodes' signed checkpoints as they arrived over mutual TLS, verified against the sending
-- node's certificate and countersigned by the node that received them (received_by): the copy
-- that disagrees when an operator rewrites the sender's history.
CREATE TABLE peer_checkpoints (
    node TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    hash TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    signature TEXT NOT NULL,
    received_by TEXT NOT NULL,
    received_at TEXT NOT NULL,
    countersignature TEXT NOT NULL,
    PRIMARY KEY (node, seq)
);
