-- Health checks of the services' upstreams: one row per check, by the node that ran it. Kept for
-- the availability the catalogue shows (30 days) and pruned after; times as in reconciles.
CREATE TABLE health_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    node TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    ok BOOLEAN NOT NULL,
    status_code INTEGER CHECK (status_code BETWEEN 100 AND 999),
    latency_ms INTEGER NOT NULL CHECK (latency_ms >= 0),
    error TEXT
);
CREATE INDEX health_results_by_service ON health_results (service, checked_at);
CREATE INDEX health_results_by_time ON health_results (checked_at);
