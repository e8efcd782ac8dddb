-- Documents received from other participants' registries (issue 16; 002 §3.4–3.6, КМУ №55
-- п.18–27): one row per document message handled, keyed by the exchange inbox's message id, with
-- what the automatic checks found, and then what the registrar did: took it (the incoming card
-- made from it), or refused it on a listed ground. Never deleted.
CREATE TABLE exchange_received (
    id INTEGER PRIMARY KEY,
    -- Ours, the addressee; and the sending participant, as the gateway authenticated it.
    participant TEXT NOT NULL,
    sender TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    -- The sender's registration number and date of the document (its out-number).
    out_number TEXT NOT NULL,
    out_date TEXT NOT NULL,
    -- SHA-256 over the files' digests in order: the same content sent again has the same one.
    content_digest TEXT NOT NULL,
    summary TEXT NOT NULL,
    correspondent TEXT NOT NULL,
    -- JSON: the envelope's parties (to answer it) and requisites (to show it).
    header TEXT NOT NULL,
    requisites TEXT NOT NULL,
    -- received (waiting for the registrar), taken or refused.
    status TEXT NOT NULL CHECK (status IN ('received', 'taken', 'refused')),
    received_at TEXT NOT NULL,
    ground_code INTEGER,
    ground TEXT,
    -- What exactly failed, for the registrar and the log (never a file's content).
    refusal_detail TEXT,
    -- `system` for the automatic checks, else `official:<id>`.
    refused_by TEXT,
    refused_at TEXT,
    card_id TEXT UNIQUE,
    taken_by TEXT,
    taken_at TEXT,
    -- Our registration number, once the card made from it was registered (ack 3 queued).
    reg_number TEXT,
    registered_at TEXT
);
CREATE INDEX exchange_received_by_status ON exchange_received (participant, status, received_at);
CREATE INDEX exchange_received_registered ON exchange_received (participant, registered_at);
CREATE INDEX exchange_received_again ON exchange_received
    (participant, sender, out_number, out_date, content_digest);

-- The files of a received document (their bytes in attachment_blobs), each with its detached
-- signatures as checked on receipt (JSON: digest of the signature's bytes, signer, result).
CREATE TABLE exchange_received_files (
    message_id INTEGER NOT NULL REFERENCES exchange_received (id),
    n INTEGER NOT NULL,
    idnumber TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_type TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    signatures TEXT NOT NULL,
    PRIMARY KEY (message_id, n)
);
CREATE INDEX exchange_received_files_by_digest ON exchange_received_files (sha256);
