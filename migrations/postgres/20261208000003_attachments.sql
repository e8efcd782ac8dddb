-- Files citizens attach to their drafts (PORTAL-3), kept once per content: a blob's key is the
-- SHA-256 (hex) of its bytes, so identical files share one row. A blob no attachment names any
-- more is removed.
CREATE TABLE attachment_blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL CHECK (size > 0),
    content BYTEA NOT NULL,
    created_at TEXT NOT NULL
);

-- Which content a draft attaches as which of its form's attachments: n numbers the draft's
-- files (one above the highest it holds), file_name is the name the citizen's device gave, media_type
-- what the content was recognised as. Removed with the draft.
CREATE TABLE draft_attachments (
    draft_id TEXT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    n BIGINT NOT NULL CHECK (n >= 1),
    attachment TEXT NOT NULL,
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES attachment_blobs (sha256),
    added_at TEXT NOT NULL,
    PRIMARY KEY (draft_id, n)
);
CREATE INDEX draft_attachments_by_blob ON draft_attachments (sha256);
