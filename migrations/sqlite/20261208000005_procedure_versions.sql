-- Since when each e-service's procedure (the e-service, its form and its workflow, hashed as
-- canonical JSON) applies (003 §7.5–7.6): a new row whenever an applied revision changes it.
-- `follows` is the row it replaces (0 for the first), once only: two replicas that record the
-- same change at once write it once. Never updated in place.
CREATE TABLE procedure_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    e_service TEXT NOT NULL,
    hash TEXT NOT NULL,
    revision TEXT NOT NULL,
    since TEXT NOT NULL,
    follows INTEGER NOT NULL,
    UNIQUE (e_service, follows)
);
CREATE INDEX procedure_versions_newest ON procedure_versions (e_service, id);
