-- The case engine's durable timers (deadlines, reminders, escalations), one per case, kind and
-- key, deleted when the case leaves the state that scheduled them. `wake_at` is when a sweep
-- next takes an unfired timer: its due time, or later after its handler failed (`attempts`).
-- Only unfired timers are in the partial index a sweep reads, so its cost follows the timers
-- that are due, not the cases that are open. Times as in reconciles.
CREATE TABLE timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('deadline', 'remind', 'escalate')),
    key TEXT NOT NULL,
    due_at TEXT NOT NULL,
    wake_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    fired_at TEXT,
    UNIQUE (case_id, kind, key)
);
CREATE INDEX timers_pending ON timers (wake_at) WHERE fired_at IS NULL;
