-- Results (PORTAL-8): an issued document's visual form (PDF with a text layer) and the
-- participant's detached CMS seal over its bytes, the official who issued it (name and position;
-- NULL for one issued automatically) and its verification code. NULL for documents issued
-- before; written once in the issuing transaction, like the rest of the row.
ALTER TABLE documents ADD COLUMN pdf BYTEA;
ALTER TABLE documents ADD COLUMN pdf_seal BYTEA;
ALTER TABLE documents ADD COLUMN code TEXT;
ALTER TABLE documents ADD COLUMN official_name TEXT;
ALTER TABLE documents ADD COLUMN official_position TEXT;
CREATE INDEX documents_by_number ON documents (number);

-- A document revoked by its provider: when, by which official, on which ground (one of a fixed
-- few, shown to anyone who verifies it) and why (the official's words, shown to the applicant).
-- At most one per document; the document itself is never changed.
CREATE TABLE document_revocations (
    document_id TEXT PRIMARY KEY,
    revoked_at TEXT NOT NULL,
    revoked_by TEXT NOT NULL,
    ground TEXT NOT NULL,
    reason TEXT NOT NULL
);

-- Originals kept in their format (003 §5.12): a signed application or an issued document, the
-- SHA-256 of its bytes (checked whenever it is handed out), where it came from and went to,
-- when it was received or issued and delivered, and the retention rule that keeps it.
CREATE TABLE originals (
    kind TEXT NOT NULL CHECK (kind IN ('application', 'document')),
    record_id TEXT NOT NULL,
    media_type TEXT NOT NULL,
    digest TEXT NOT NULL,
    origin TEXT NOT NULL,
    destination TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    retention TEXT,
    PRIMARY KEY (kind, record_id)
);
CREATE INDEX originals_by_digest ON originals (kind, digest);
