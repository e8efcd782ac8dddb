-- Sealed requests a provider's node has served, by the sealing participant and the consumer
-- gateway's request id, kept until their seal is too old to be accepted anyway: a replay is
-- refused by every replica sharing the store and after a restart. Times as in reconciles.
CREATE TABLE seen_requests (
    sealer TEXT NOT NULL,
    request_id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (sealer, request_id)
);
CREATE INDEX seen_requests_by_expiry ON seen_requests (expires_at);
