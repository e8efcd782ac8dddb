//! The sender's exchange rows in the store, on SQLite and PostgreSQL alike: one live message
//! per card and addressee even past the sender's own check, another only after a refusal; a
//! notice taken once; "not received" only over a message still waiting for its delivery.

use chrono::Utc;
use hromada::store::{CardChange, CardRow, SentRow, Store, TakenNotice};
use serde_json::Value;

use crate::common::db::Db;

async fn card(store: &Store) -> String {
    let now = Utc::now();
    let id = format!("card-{}", uuid::Uuid::now_v7().simple());
    let card = CardRow {
        status: "registered".into(),
        reg_number: Some("01-25/1".into()),
        reg_date: Some("2026-12-21".into()),
        ..CardRow::draft(
            &id,
            ("city-council", "council-outgoing", "outgoing"),
            "letter",
            "official:bondar-a",
            &now,
        )
    };
    let mut tx = store.begin().await.unwrap();
    let change = CardChange {
        before: None,
        after: &card,
        actor: "official:bondar-a",
        on_behalf: None,
        kind: "registered",
        note: Value::Null,
        at: now,
    };
    assert!(store.write_card(&mut tx, &change).await.unwrap());
    tx.commit().await.unwrap();
    id
}

fn row(msg_id: &str, card: &str, addressee: &str) -> SentRow {
    SentRow {
        msg_id: msg_id.into(),
        card_id: card.into(),
        participant: "city-council".into(),
        addressee: addressee.into(),
        purpose: "information".into(),
        status: "sent".into(),
        sent_at: "2026-12-21T09:00:00.000000000Z".into(),
        sent_by: "official:bondar-a".into(),
        delivered_at: None,
        registered_number: None,
        registered_date: None,
        registered_at: None,
        refused_at: None,
        refused_ground: None,
        refused_by: None,
        refused_phone: None,
        not_received_at: None,
    }
}

async fn insert(store: &Store, r: &SentRow) -> Result<(), String> {
    let mut tx = store.begin().await.unwrap();
    store
        .insert_exchange_sent(&mut tx, r)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

crate::both! {
    async fn exchange_sent_store_one_live_message_per_card_and_addressee(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let id = card(&store).await;
        insert(&store, &row("m-1", &id, "legal-dept")).await.unwrap();
        insert(&store, &row("m-2", &id, "teplomerezhi")).await.unwrap();
        // A second live message to the same addressee: the database refuses it.
        let twice = insert(&store, &row("m-3", &id, "legal-dept")).await;
        assert!(twice.is_err(), "{twice:?}");
        assert_eq!(store.exchange_sent_of_card(&id).await.unwrap().len(), 2);

        // Refused by the addressee: a new message may go.
        let mut tx = store.begin().await.unwrap();
        let mut refused = store
            .exchange_sent_in(&mut tx, "city-council", "legal-dept", "m-1")
            .await
            .unwrap()
            .unwrap();
        refused.status = "refused".into();
        refused.refused_at = Some("2026-12-21T10:00:00.000000000Z".into());
        store.update_exchange_sent(&mut tx, &refused).await.unwrap();
        tx.commit().await.unwrap();
        insert(&store, &row("m-3", &id, "legal-dept")).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            store.exchange_sent_live(&mut tx, &id, "legal-dept").await.unwrap().unwrap().msg_id,
            "m-3"
        );
        // Not the sender's message to that addressee: nothing.
        assert!(store
            .exchange_sent_in(&mut tx, "city-council", "teplomerezhi", "m-3")
            .await
            .unwrap()
            .is_none());
        drop(tx);
        let (page, total) = store.exchange_sent_journal("city-council", 0).await.unwrap();
        assert_eq!((page.len(), total), (3, 3));
        assert_eq!(store.exchange_sent_journal("legal-dept", 0).await.unwrap().1, 0);
    }

    async fn exchange_sent_store_a_notice_is_taken_once_and_not_received_only_while_waiting(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let id = card(&store).await;
        insert(&store, &row("m-1", &id, "legal-dept")).await.unwrap();
        insert(&store, &row("m-2", &id, "teplomerezhi")).await.unwrap();
        let notice = TakenNotice {
            participant: "city-council",
            sender: "legal-dept",
            notice_msg_id: "n-1",
            about_msg_id: "m-1",
            ack_type: 1,
            ignored: None,
            taken_at: "2026-12-21T10:00:00.000000000Z",
        };
        let mut tx = store.begin().await.unwrap();
        assert!(store.take_exchange_notice(&mut tx, &notice).await.unwrap());
        assert!(!store.take_exchange_notice(&mut tx, &notice).await.unwrap());
        let stray = TakenNotice { notice_msg_id: "n-2", ignored: Some("no such message"), ..notice };
        assert!(store.take_exchange_notice(&mut tx, &stray).await.unwrap());
        let mut delivered = store
            .exchange_sent_in(&mut tx, "city-council", "legal-dept", "m-1")
            .await
            .unwrap()
            .unwrap();
        delivered.status = "delivered".into();
        delivered.delivered_at = Some("2026-12-21T10:00:00.000000000Z".into());
        store.update_exchange_sent(&mut tx, &delivered).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.exchange_notice_outcome("city-council", "legal-dept", "n-1").await.unwrap(),
            Some("applied".into())
        );
        assert_eq!(
            store.exchange_notice_outcome("city-council", "legal-dept", "n-2").await.unwrap(),
            Some("ignored".into())
        );

        let earlier = "2026-12-21T08:59:59.000000000Z";
        assert!(store.exchange_sent_awaiting(earlier, 10).await.unwrap().is_empty());
        let waiting = store.exchange_sent_awaiting("2026-12-21T09:00:00.000000000Z", 10).await.unwrap();
        assert_eq!(waiting.iter().map(|r| r.msg_id.as_str()).collect::<Vec<_>>(), ["m-2"]);
        let mut tx = store.begin().await.unwrap();
        let at = "2026-12-21T15:00:00.000000000Z";
        assert!(!store.mark_exchange_not_received(&mut tx, "m-1", at).await.unwrap());
        assert!(store.mark_exchange_not_received(&mut tx, "m-2", at).await.unwrap());
        assert!(!store.mark_exchange_not_received(&mut tx, "m-2", at).await.unwrap());
        tx.commit().await.unwrap();
        let rows = store.exchange_sent_of_card(&id).await.unwrap();
        let statuses: Vec<_> = rows.iter().map(|r| (r.msg_id.as_str(), r.status.as_str())).collect();
        assert_eq!(statuses, [("m-1", "delivered"), ("m-2", "not-received")]);
        assert!(store.exchange_sent_awaiting("2026-12-21T09:00:00.000000000Z", 10).await.unwrap().is_empty());
    }
}
