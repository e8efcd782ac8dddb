-- What operators did to the GitOps loop (issue 17): suspend, resume or pin reconciling of a
-- node, with who (the name of their token), why, when and from which replica. The latest act of
-- a node is its state for every replica sharing the store. Never changed or deleted.
CREATE TABLE operator_acts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node TEXT NOT NULL,
    instance TEXT NOT NULL,
    actor TEXT NOT NULL,
    act TEXT NOT NULL CHECK (act IN ('suspend', 'resume', 'pin')),
    -- For `pin`: the tag or commit as the operator gave it, and the commit it named then; both
    -- empty for a `pin` that unpins.
    reference TEXT,
    commit_id TEXT,
    why TEXT NOT NULL,
    acted_at TEXT NOT NULL
);
CREATE INDEX operator_acts_by_node ON operator_acts (node, id);
