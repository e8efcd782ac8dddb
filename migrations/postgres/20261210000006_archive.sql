-- The registry's archive (REG-8): acts of destruction, legal holds, and card files whose
-- content an approved act destroyed: the file's row and digest stay, the blob goes when nothing
-- else holds it, so card_files no longer requires its blob to exist.
ALTER TABLE card_files DROP CONSTRAINT card_files_sha256_fkey;
CREATE INDEX card_files_by_blob ON card_files (sha256);

-- Acts of destruction (КМУ №55 п.180–217): drawn up by an official over cards whose retention
-- period ran, approved by another; only an approved act destroys. An act, its cards' lines and
-- the cards' metadata are kept forever. number: the act's number within its participant.
CREATE TABLE archive_acts (
    id TEXT PRIMARY KEY,
    participant TEXT NOT NULL,
    number TEXT NOT NULL,
    reason TEXT NOT NULL,
    drawn_by TEXT NOT NULL,
    drawn_at TEXT NOT NULL,
    approved_by TEXT,
    approved_at TEXT,
    UNIQUE (participant, number)
);

-- The cards an act lists, with what they were when it was drawn up (number, date, case,
-- summary) and what approval did to each: NULL until approved, then 'destroyed', or 'held'
-- with the legal hold that stopped it (hold_name kept as the act says it).
CREATE TABLE archive_act_cards (
    act_id TEXT NOT NULL REFERENCES archive_acts (id),
    card_id TEXT NOT NULL REFERENCES cards (id),
    case_code TEXT NOT NULL,
    reg_number TEXT,
    reg_date TEXT,
    summary TEXT NOT NULL,
    outcome TEXT CHECK (outcome IN ('destroyed', 'held')),
    hold_id TEXT,
    hold_name TEXT,
    PRIMARY KEY (act_id, card_id)
);
CREATE INDEX archive_act_cards_by_card ON archive_act_cards (card_id);

-- Named legal holds: while released_at is NULL, no card they cover is destroyed. A hold covers
-- a case code (scope 'case'), a journal (scope 'journal'), or the cards listed for it ('cards').
CREATE TABLE legal_holds (
    id TEXT PRIMARY KEY,
    participant TEXT NOT NULL,
    name TEXT NOT NULL,
    reason TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('case', 'journal', 'cards')),
    case_code TEXT,
    journal TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    released_by TEXT,
    released_at TEXT,
    release_reason TEXT
);
CREATE INDEX legal_holds_in_force ON legal_holds (participant, released_at);

CREATE TABLE legal_hold_cards (
    hold_id TEXT NOT NULL REFERENCES legal_holds (id),
    card_id TEXT NOT NULL REFERENCES cards (id),
    PRIMARY KEY (hold_id, card_id)
);
CREATE INDEX legal_hold_cards_by_card ON legal_hold_cards (card_id);

-- One row per participant, taken (updated) by every hold placed and every act approved, so that
-- a hold placed while an act is being approved waits for it or is seen by it, on any replica.
CREATE TABLE archive_turns (
    participant TEXT PRIMARY KEY,
    taken_at TEXT NOT NULL
);
