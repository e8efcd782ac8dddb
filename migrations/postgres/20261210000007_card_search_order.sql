-- The search index in the order a search shows cards (REG-3, REG-7): `order_key` is the card's
-- place (`store::search_order`: newest registration first), so that a common word's matches are
-- read newest first down an index and the search stops at the page. Rows written before have
-- no key: they are dropped and every card is queued to be indexed again.
DELETE FROM card_search;
ALTER TABLE card_search ADD COLUMN order_key BIGINT NOT NULL;
CREATE UNIQUE INDEX card_search_by_order ON card_search (order_key);
INSERT INTO card_index_queue (card_id, version, queued_at)
SELECT id, version, updated_at FROM cards
ON CONFLICT (card_id) DO NOTHING;
