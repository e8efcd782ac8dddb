-- The people's way of a search (REG-3, REG-7) in the index's order: each row of `card_people`
-- holds its card's order key (`store::search_order`, `card_search.order_key`; NULL until the
-- card is indexed), so that a reader's own cards are tried newest first straight from this
-- index, and only until the page is full.
ALTER TABLE card_people ADD COLUMN order_key BIGINT;
UPDATE card_people cp SET order_key = s.order_key FROM card_search s WHERE s.card_id = cp.card_id;
CREATE INDEX card_people_by_order ON card_people (official, order_key DESC) INCLUDE (card_id);
