-- The document registry (REG-1..4): one registration-control card per document (КМУ №55 п.41),
-- its files, the people it concerns (who may read it besides its participant's readers) and the
-- queue of cards whose search index is stale. A card changes only with its `version` moved and an
-- event appended to the case history chain under the card's id (REG-4): nothing is deleted.
CREATE TABLE cards (
    id TEXT PRIMARY KEY,
    participant TEXT NOT NULL,
    journal TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing', 'internal')),
    kind TEXT NOT NULL,
    -- draft, registered, executed, filed (до справи), archived, destroyed
    status TEXT NOT NULL,
    -- The number, once registered: its period ('2026' or '') and sequence in the journal.
    period TEXT,
    seq BIGINT,
    reg_number TEXT,
    reg_date TEXT,
    registered_at TEXT,
    case_code TEXT,
    summary TEXT NOT NULL DEFAULT '',
    correspondent TEXT,
    correspondent_number TEXT,
    correspondent_date TEXT,
    signer TEXT,
    addressees TEXT NOT NULL DEFAULT '[]',
    unit TEXT,
    executor TEXT,
    deadline TEXT,
    interim_deadline TEXT,
    -- none, on, removed
    control TEXT NOT NULL DEFAULT 'none',
    execution_mark TEXT,
    executed_at TEXT,
    pages BIGINT,
    paper BIGINT NOT NULL DEFAULT 0,
    related TEXT NOT NULL DEFAULT '[]',
    extra TEXT NOT NULL DEFAULT '{}',
    -- registry (registered by hand), portal (an application), engine (a document a case issued)
    source TEXT NOT NULL,
    source_ref TEXT,
    archived_at TEXT,
    version BIGINT NOT NULL CHECK (version >= 1),
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (journal, period, seq),
    UNIQUE (source, source_ref)
);
CREATE INDEX cards_by_journal ON cards (participant, journal, registered_at, id);
CREATE INDEX cards_by_status ON cards (participant, status, deadline);
CREATE INDEX cards_by_number ON cards (reg_number);
CREATE INDEX cards_by_case ON cards (participant, case_code);

-- A card's files: n in order of adding; the content kept once per SHA-256 in attachment_blobs.
-- role: original (the document in its format), scan (of a paper original), annex, signature.
CREATE TABLE card_files (
    card_id TEXT NOT NULL REFERENCES cards (id),
    n BIGINT NOT NULL CHECK (n >= 1),
    role TEXT NOT NULL,
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES attachment_blobs (sha256),
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL,
    -- The file's text as search reads it (PDF, ODT, DOCX, TXT); NULL until extracted.
    text TEXT,
    -- Set when an approved act of destruction removed the content (the row and digest stay).
    destroyed_at TEXT,
    PRIMARY KEY (card_id, n)
);

-- Who a card concerns besides its participant's readers: executor, co-executor, informed,
-- resolution author, and anyone a resolution reached. Read by every access check and search.
CREATE TABLE card_people (
    card_id TEXT NOT NULL REFERENCES cards (id),
    official TEXT NOT NULL,
    relation TEXT NOT NULL,
    PRIMARY KEY (card_id, official, relation)
);
CREATE INDEX card_people_by_official ON card_people (official, card_id);

-- Cards whose search index is older than their version; the indexer drains it.
CREATE TABLE card_index_queue (
    card_id TEXT PRIMARY KEY REFERENCES cards (id),
    version BIGINT NOT NULL,
    queued_at TEXT NOT NULL
);

-- Delegation within one unit (004 §5.1): the deputy reads what the principal reads and, with
-- `decide` = 1, decides for them, from `starts_on` through `ends_on` (dates in the city's time
-- zone) unless revoked; what the deputy does is recorded as acting for the principal.
CREATE TABLE delegations (
    id TEXT PRIMARY KEY,
    participant TEXT NOT NULL,
    unit TEXT NOT NULL,
    principal TEXT NOT NULL,
    deputy TEXT NOT NULL,
    decide BIGINT NOT NULL DEFAULT 0,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
);
CREATE INDEX delegations_by_deputy ON delegations (deputy, starts_on);
CREATE INDEX delegations_by_principal ON delegations (principal, starts_on);
