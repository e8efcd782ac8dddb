-- Payments of a paid e-service's fee (PORTAL-9): one row per order handed to the payment
-- provider, for a citizen's draft (and so, once signed, its application and case). Amounts are
-- in kopiyky. The receipt (the provider's transaction, amount, currency and time) is filled in
-- when a callback settles it. Every change is an event below, never an edit without one.
CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    draft_id TEXT NOT NULL,
    e_service TEXT NOT NULL,
    provider TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    transaction_id TEXT,
    paid_amount INTEGER,
    paid_currency TEXT,
    paid_at TEXT
);
CREATE INDEX payments_by_draft ON payments (draft_id, created_at);
CREATE INDEX payments_by_owner ON payments (owner, created_at);

-- Each payment's history: its creation, every callback the provider sent (with the SHA-256 of
-- its signed data, so that a replayed callback is recognised and changes nothing) and every
-- expiry, with the status the payment had after it.
CREATE TABLE payment_events (
    payment_id TEXT NOT NULL REFERENCES payments (id),
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    provider_status TEXT NOT NULL,
    status TEXT NOT NULL,
    amount INTEGER,
    currency TEXT,
    transaction_id TEXT,
    digest TEXT UNIQUE,
    note TEXT NOT NULL,
    PRIMARY KEY (payment_id, seq)
);
