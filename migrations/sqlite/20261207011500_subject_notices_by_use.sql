-- A data subject's record reads back whether a notice was queued for it: one indexed lookup per
-- record instead of a scan of every notice.
CREATE INDEX subject_notices_by_use ON subject_notices (subject_use);
