-- Resolutions on registry cards (REG-2; КМУ №55 п.64–75): each names exactly one main executor,
-- co-executors and those informed, a task and a deadline, and is sealed by its participant over
-- its canonical JSON (`canonical`, the bytes the CMS seal covers). A co-executor's own resolution
-- hangs under the one that reached them (`parent`). Never updated: a change of deadline is an
-- event of the card and of the executors' cases.
CREATE TABLE resolutions (
    id TEXT PRIMARY KEY,
    card_id TEXT NOT NULL REFERENCES cards (id),
    parent TEXT REFERENCES resolutions (id),
    author TEXT NOT NULL,
    -- The principal a deputy wrote it for (delegation with authority to decide).
    acting_for TEXT,
    main_executor TEXT NOT NULL,
    -- JSON arrays of official ids.
    co_executors TEXT NOT NULL DEFAULT '[]',
    informed TEXT NOT NULL DEFAULT '[]',
    task TEXT NOT NULL,
    -- YYYY-MM-DD in the city's time zone.
    deadline TEXT NOT NULL,
    interim_deadline TEXT,
    created_at TEXT NOT NULL,
    canonical TEXT NOT NULL,
    seal BYTEA NOT NULL,
    sealed_by TEXT NOT NULL
);
CREATE INDEX resolutions_by_card ON resolutions (card_id, created_at);

-- Each executor's work on a resolution: one case of the engine (its deadline, reminders,
-- escalations and history). relation: main or co.
CREATE TABLE resolution_executors (
    resolution_id TEXT NOT NULL REFERENCES resolutions (id),
    official TEXT NOT NULL,
    relation TEXT NOT NULL CHECK (relation IN ('main', 'co')),
    case_id TEXT NOT NULL UNIQUE,
    PRIMARY KEY (resolution_id, official)
);
CREATE INDEX resolution_executors_by_official ON resolution_executors (official);
