-- What citizens tell the city (PORTAL-11): feedback and proposals to the administrator, ratings
-- of a decided application, and poll answers. Nothing here names a person: a rating is keyed by a
-- keyed digest of its application (once per application), a poll's voter by a keyed digest of
-- the person and the poll (once per person), and a poll's choices are only counts, so nobody can
-- read who chose what. An e-mail is kept only when the sender gave one for an answer.
CREATE TABLE feedback (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('feedback', 'proposal', 'complaint')),
    page TEXT NOT NULL,
    body TEXT NOT NULL,
    email TEXT,
    signed_in BOOLEAN NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX feedback_by_time ON feedback (received_at);

CREATE TABLE ratings (
    application_key TEXT PRIMARY KEY,
    e_service TEXT NOT NULL,
    month TEXT NOT NULL,
    stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment TEXT
);
CREATE INDEX ratings_by_e_service ON ratings (e_service, month);

CREATE TABLE poll_voters (
    poll TEXT NOT NULL,
    voter TEXT NOT NULL,
    PRIMARY KEY (poll, voter)
);

CREATE TABLE poll_counts (
    poll TEXT NOT NULL,
    choice TEXT NOT NULL,
    answers INTEGER NOT NULL CHECK (answers >= 0),
    PRIMARY KEY (poll, choice)
);
