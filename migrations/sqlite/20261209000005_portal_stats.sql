-- The portal's quality statistics (PORTAL-10): per e-service and month (YYYY-MM in the city's
-- time zone), how often its public page was viewed and how many applications were started
-- (drafts are deleted later, so they are counted when created). Counters only: no row per view,
-- nothing about who.
CREATE TABLE portal_counters (
    e_service TEXT NOT NULL,
    month TEXT NOT NULL CHECK (length(month) = 7),
    views BIGINT NOT NULL CHECK (views >= 0),
    started BIGINT NOT NULL CHECK (started >= 0),
    PRIMARY KEY (e_service, month)
);

-- The statistics read the case engine's tables by time: cases by submission, closed cases by
-- the moment they were closed (covering what the statistics read), overdue events.
CREATE INDEX cases_by_created ON cases (created_at, e_service);
CREATE INDEX cases_closed ON cases (state_entered_at, e_service, outcome, created_at)
    WHERE outcome IS NOT NULL;
CREATE INDEX case_events_overdue ON case_events (at, case_id) WHERE kind = 'overdue';
