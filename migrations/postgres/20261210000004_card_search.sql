-- Search in the registry (REG-3). `card_search` holds, per card, the version indexed and the
-- stemmed words of the card's requisites and files (`words`) and of its correspondent and signer
-- alone, for those filters, as tsvectors of the `simple` configuration over the same stems
-- SQLite's FTS5 table holds.
CREATE TABLE card_search (
    card_id TEXT PRIMARY KEY REFERENCES cards (id),
    version BIGINT NOT NULL,
    indexed_at TEXT NOT NULL,
    words TSVECTOR NOT NULL,
    correspondent TSVECTOR NOT NULL,
    signer TSVECTOR NOT NULL
);
CREATE INDEX card_search_words ON card_search USING GIN (words);
CREATE INDEX card_search_correspondent ON card_search USING GIN (correspondent);
CREATE INDEX card_search_signer ON card_search USING GIN (signer);

-- A replica takes queued cards for `leased_until` (wall clock); another takes them only after.
ALTER TABLE card_index_queue ADD COLUMN leased_by TEXT;
ALTER TABLE card_index_queue ADD COLUMN leased_until TEXT;
CREATE INDEX card_index_queue_by_time ON card_index_queue (queued_at);

-- The requisites filters without words, newest registration first (drafts, unregistered, last).
CREATE INDEX cards_by_registered ON cards (participant, registered_at DESC NULLS LAST, id DESC);
CREATE INDEX cards_by_kind ON cards (participant, kind, registered_at DESC NULLS LAST);
CREATE INDEX cards_by_reg_date ON cards (participant, reg_date);
CREATE INDEX cards_by_executor ON cards (executor, registered_at DESC NULLS LAST);
