-- The search index in the order a search shows cards (REG-3, REG-7): the row id of `card_search`
-- and `card_words` is the card's order key (`store::search_order`: newest registration first),
-- so that FTS5 reads a word's matches newest first and stops at the page. Rows written before
-- were numbered as they came: they are dropped and every card is queued to be indexed again.
DELETE FROM card_words;
DELETE FROM card_search;
INSERT INTO card_index_queue (card_id, version, queued_at)
SELECT id, version, updated_at FROM cards WHERE true
ON CONFLICT (card_id) DO NOTHING;
