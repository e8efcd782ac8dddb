-- The people's way of a search (REG-3, REG-7) in the index's order: each row of `card_people`
-- holds its card's order key (`store::search_order`, the row id of `card_search` and
-- `card_words`; NULL until the card is indexed), so that a reader's own cards are tried newest
-- first straight from this index, and only until the page is full.
ALTER TABLE card_people ADD COLUMN order_key INTEGER;
UPDATE card_people SET order_key =
    (SELECT s.rowid FROM card_search s WHERE s.card_id = card_people.card_id);
CREATE INDEX card_people_by_order ON card_people (official, order_key, card_id);
