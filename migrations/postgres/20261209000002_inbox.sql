-- The officials' inbox (PORTAL-7): the open cases of a role or an assignee, of some e-services,
-- read with their deadlines from the index alone; whether a case was escalated in its state.
CREATE INDEX cases_inbox_by_role ON cases (role, e_service, deadline_at, id) WHERE outcome IS NULL;
CREATE INDEX cases_inbox_by_assignee ON cases (assignee, e_service, deadline_at, id)
    WHERE outcome IS NULL;
CREATE INDEX case_events_escalated ON case_events (case_id, at) WHERE kind = 'escalated';

-- Files an applicant added to a case after signing (documents an official asked for), kept
-- once per content in attachment_blobs. n numbers them after the application's own files;
-- request is the key of the upload that added them, under which the transition it fired runs.
CREATE TABLE case_attachments (
    case_id TEXT NOT NULL REFERENCES cases (id),
    n BIGINT NOT NULL CHECK (n >= 1),
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES attachment_blobs (sha256),
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL,
    request TEXT NOT NULL,
    PRIMARY KEY (case_id, n)
);
CREATE INDEX case_attachments_by_blob ON case_attachments (sha256);

-- The registration number of a case's application, for the inbox's rows.
CREATE INDEX applications_by_case ON applications (case_id);
