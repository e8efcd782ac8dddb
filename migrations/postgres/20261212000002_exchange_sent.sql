-- The sender's side of the exchange between participants' registries (issue 16; КМУ №55
-- п.22–28): one row per message, that is per card and addressee (each copy an original), with
-- what the addressee's notices said of it. status: 'sent', 'delivered', 'registered',
-- 'refused' or 'not-received' (no delivery notice within 6 hours of posting, п.24). A card is
-- sent to an addressee again only after that addressee refused it.
CREATE TABLE exchange_sent (
    msg_id TEXT PRIMARY KEY,
    card_id TEXT NOT NULL REFERENCES cards (id),
    participant TEXT NOT NULL,
    addressee TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('execution', 'information', 'approval')),
    status TEXT NOT NULL
        CHECK (status IN ('sent', 'delivered', 'registered', 'refused', 'not-received')),
    sent_at TEXT NOT NULL,
    sent_by TEXT NOT NULL,
    delivered_at TEXT,
    registered_number TEXT,
    registered_date TEXT,
    registered_at TEXT,
    refused_at TEXT,
    refused_ground TEXT,
    refused_by TEXT,
    refused_phone TEXT,
    not_received_at TEXT
);
CREATE UNIQUE INDEX exchange_sent_once ON exchange_sent (card_id, addressee)
    WHERE status <> 'refused';
CREATE INDEX exchange_sent_by_participant ON exchange_sent (participant, sent_at);
CREATE INDEX exchange_sent_awaiting ON exchange_sent (sent_at) WHERE status = 'sent';

-- Each notice a sender's registry took, by the notice's own message: applied to the message it
-- names, or ignored (outcome 'ignored', with why) when no message of this participant to that
-- sender has that id. A notice taken once is never applied again.
CREATE TABLE exchange_sent_notices (
    participant TEXT NOT NULL,
    sender TEXT NOT NULL,
    notice_msg_id TEXT NOT NULL,
    about_msg_id TEXT NOT NULL,
    ack_type BIGINT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'ignored')),
    reason TEXT,
    taken_at TEXT NOT NULL,
    PRIMARY KEY (participant, sender, notice_msg_id)
);
CREATE INDEX exchange_sent_notices_about ON exchange_sent_notices (about_msg_id);
