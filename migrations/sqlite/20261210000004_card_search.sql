-- Search in the registry (REG-3). `card_search` says which version of a card the index holds;
-- `card_words` (FTS5, `unicode61` without folding diacritics, so that ґ, й and ї stay) holds the
-- stemmed words of the card's requisites and files (`words`) and of its correspondent and signer
-- alone, for those filters. PostgreSQL holds the same stems in tsvector columns.
CREATE TABLE card_search (
    card_id TEXT PRIMARY KEY REFERENCES cards (id),
    version BIGINT NOT NULL,
    indexed_at TEXT NOT NULL
);
CREATE VIRTUAL TABLE card_words USING fts5 (
    card_id UNINDEXED,
    words,
    correspondent,
    signer,
    tokenize = 'unicode61 remove_diacritics 0'
);

-- A replica takes queued cards for `leased_until` (wall clock); another takes them only after.
ALTER TABLE card_index_queue ADD COLUMN leased_by TEXT;
ALTER TABLE card_index_queue ADD COLUMN leased_until TEXT;
CREATE INDEX card_index_queue_by_time ON card_index_queue (queued_at);

-- The requisites filters without words, newest registration first.
CREATE INDEX cards_by_registered ON cards (participant, registered_at, id);
CREATE INDEX cards_by_kind ON cards (participant, kind, registered_at);
CREATE INDEX cards_by_reg_date ON cards (participant, reg_date);
CREATE INDEX cards_by_executor ON cards (executor, registered_at);
