//! The exchange's messages in the store, on SQLite and PostgreSQL alike: a queued message is
//! leased by one poster at a time, retried until posted and never posted again after; a received
//! one is stored once per sender and msg_id and handled exactly once, in the handler's own
//! transaction, handed to the `Recipient` again after an error until it is; rows rewritten
//! outside hromada read back as clear errors.

use chrono::{Duration, Utc};
use hromada::registry::exchange::post::{BoxFuture, Recipient, hand_over};
use hromada::registry::exchange::sev::{self, Envelope};
use hromada::store::{
    MessageKind, OutgoingMessage, PostOutcome, ReceivedMessage, Store, StoreError,
};

use crate::common::db::{Db, execute};

fn message(msg_id: &str, xml: &str) -> OutgoingMessage {
    OutgoingMessage {
        msg_id: msg_id.into(),
        from: "council".into(),
        to: "vodokanal".into(),
        kind: MessageKind::Document,
        card_id: Some("card-1".into()),
        xml: xml.as_bytes().to_vec(),
    }
}

async fn queue(store: &Store, m: &OutgoingMessage) {
    let mut tx = store.begin().await.unwrap();
    store.queue_exchange_message(&mut tx, m).await.unwrap();
    tx.commit().await.unwrap();
}

crate::both! {
    async fn exchange_post_store_a_queued_message_is_posted_once_after_retries(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        // Queued in a transaction that rolls back: nothing to post.
        let mut tx = store.begin().await.unwrap();
        store.queue_exchange_message(&mut tx, &message("m-0", "<a/>")).await.unwrap();
        drop(tx);
        let now = Utc::now();
        let later = now + Duration::minutes(1);
        assert!(store.lease_exchange_messages("p1", now, later, 10).await.unwrap().is_empty());
        assert_eq!(store.exchange_post_status("m-0").await.unwrap(), None);

        queue(&store, &message("m-1", "<doc/>")).await;
        assert_eq!(store.exchange_message_posted("m-1").await.unwrap(), None);
        let leased = store.lease_exchange_messages("p1", now, later, 10).await.unwrap();
        assert_eq!(leased.len(), 1);
        assert_eq!(leased[0].message, message("m-1", "<doc/>"));
        assert_eq!(leased[0].attempts, 0);
        // Another poster finds it leased.
        assert!(store.lease_exchange_messages("p2", now, later, 10).await.unwrap().is_empty());

        let retry_at = now + Duration::seconds(30);
        let error = "the gateway answered 503".to_string();
        let failed = PostOutcome::Retry { at: retry_at, error: error.clone() };
        assert!(store.finish_exchange_post(leased[0].id, "p1", &failed).await.unwrap());
        let status = store.exchange_post_status("m-1").await.unwrap().unwrap();
        assert_eq!((status.attempts, status.last_error.as_deref()), (1, Some(error.as_str())));
        assert_eq!(status.posted_at, None);
        // Not due before its retry time, due after it.
        assert!(store.lease_exchange_messages("p2", now, later, 10).await.unwrap().is_empty());
        let after = retry_at + Duration::seconds(1);
        let again = store
            .lease_exchange_messages("p2", after, after + Duration::minutes(1), 10)
            .await
            .unwrap();
        assert_eq!((again.len(), again[0].attempts), (1, 1));
        // The first poster's lease is gone: its late outcome is not recorded.
        let posted = PostOutcome::Posted { at: after };
        assert!(!store.finish_exchange_post(again[0].id, "p1", &posted).await.unwrap());
        assert!(store.finish_exchange_post(again[0].id, "p2", &posted).await.unwrap());
        let at = store.exchange_message_posted("m-1").await.unwrap().unwrap();
        assert_eq!(at.timestamp_micros(), after.timestamp_micros());
        // Posted, never leased again, even long after.
        let much_later = now + Duration::days(2);
        assert!(store
            .lease_exchange_messages("p3", much_later, much_later + Duration::minutes(1), 10)
            .await
            .unwrap()
            .is_empty());
        assert!(!store.finish_exchange_post(again[0].id, "p2", &posted).await.unwrap());
    }

    async fn exchange_post_store_a_msg_id_is_one_message(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        queue(&store, &message("m-1", "<doc/>")).await;
        // The same message queued again (a handler run twice) changes nothing.
        queue(&store, &message("m-1", "<doc/>")).await;
        // Another message under the same msg_id is refused, naming it; the first stays.
        let mut tx = store.begin().await.unwrap();
        let error = store
            .queue_exchange_message(&mut tx, &message("m-1", "<other/>"))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("m-1") && error.contains("msg_id"), "{error}");
        drop(tx);
        let now = Utc::now();
        let leased = store
            .lease_exchange_messages("p1", now, now + Duration::minutes(1), 10)
            .await
            .unwrap();
        assert_eq!(leased.len(), 1);
        assert_eq!(leased[0].message.xml, b"<doc/>");
    }

    async fn exchange_post_store_a_received_message_is_stored_once_and_handled_once(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let (id, fresh) = store
            .receive_exchange_message("vodokanal", "council", "m-1", b"<doc/>")
            .await
            .unwrap();
        assert!(fresh);
        // A replay, even with other bytes, returns the first one.
        let replay = store
            .receive_exchange_message("vodokanal", "council", "m-1", b"<changed/>")
            .await
            .unwrap();
        assert_eq!(replay, (id, false));
        let first = store.received_exchange_message(id).await.unwrap().unwrap();
        assert_eq!(first.xml, b"<doc/>");
        assert_eq!((first.participant.as_str(), first.sender.as_str()), ("vodokanal", "council"));
        // The same msg_id from another sender is another message.
        let (other, fresh) = store
            .receive_exchange_message("vodokanal", "water-agency", "m-1", b"<x/>")
            .await
            .unwrap();
        assert!(fresh && other != id);
        assert_eq!(store.unfinished_received_messages().await.unwrap(), 2);

        let now = Utc::now();
        let until = now + Duration::minutes(1);
        let leased = store.lease_received_messages("h1", now, until, 10).await.unwrap();
        assert_eq!(leased.iter().map(|m| m.id).collect::<Vec<_>>(), vec![id, other]);
        assert!(store.lease_received_messages("h2", now, until, 10).await.unwrap().is_empty());

        // A handler that fails: tried again at its time, with the error kept.
        assert!(store.retry_received_message(other, "h1", now, "no such journal").await.unwrap());
        let handling = store.received_message_handling(other).await.unwrap().unwrap();
        assert_eq!((handling.attempts, handling.last_error.as_deref()), (1, Some("no such journal")));

        // A handler whose transaction rolls back leaves the message unfinished.
        let mut tx = store.begin().await.unwrap();
        store.finish_received_message(&mut tx, id).await.unwrap();
        drop(tx);
        assert_eq!(store.unfinished_received_messages().await.unwrap(), 2);
        // Committed: finished, and a second handling is refused so that it rolls back.
        let mut tx = store.begin().await.unwrap();
        store.finish_received_message(&mut tx, id).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let error = store.finish_received_message(&mut tx, id).await.unwrap_err().to_string();
        assert!(error.contains("already handled"), "{error}");
        drop(tx);
        assert_eq!(store.unfinished_received_messages().await.unwrap(), 1);
        let later = now + Duration::minutes(5);
        let leased = store
            .lease_received_messages("h2", later, later + Duration::minutes(1), 10)
            .await
            .unwrap();
        assert_eq!(leased.iter().map(|m| m.id).collect::<Vec<_>>(), vec![other]);
        let handling = store.received_message_handling(id).await.unwrap().unwrap();
        assert!(handling.finished_at.is_some() && handling.last_error.is_none());
    }

    async fn exchange_post_store_rewritten_rows_read_as_clear_errors(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let (id, _) = store
            .receive_exchange_message("vodokanal", "council", "m-1", b"<doc/>")
            .await
            .unwrap();
        queue(&store, &message("m-2", "<doc/>")).await;
        execute(&db.url, "UPDATE exchange_post_in SET received_at = 'yesterday'").await;
        execute(&db.url, "UPDATE exchange_post_out SET posted_at = 'soon'").await;
        let error = store.received_exchange_message(id).await.unwrap_err().to_string();
        assert!(error.contains(&format!("message {id}")) && error.contains("yesterday"), "{error}");
        let error = store.exchange_message_posted("m-2").await.unwrap_err().to_string();
        assert!(error.contains("m-2") && error.contains("soon"), "{error}");
        // The rows themselves are still there, for whoever restores them.
        assert_eq!(store.unfinished_received_messages().await.unwrap(), 1);
    }
}

/// A recipient as the registry's would be: handles a document in its own transaction; a
/// notice fails the first time (its transaction finishes a message that does not exist).
struct TestRecipient {
    store: Store,
    documents: std::sync::Mutex<Vec<String>>,
    notices: std::sync::Mutex<u32>,
}

impl Recipient for TestRecipient {
    fn document<'a>(
        &'a self,
        message: &'a ReceivedMessage,
        envelope: Envelope,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            assert!(envelope.body.document().is_some());
            let mut tx = self.store.begin().await?;
            self.store
                .finish_received_message(&mut tx, message.id)
                .await?;
            tx.commit().await?;
            self.documents.lock().unwrap().push(message.msg_id.clone());
            Ok(())
        })
    }

    fn notice<'a>(
        &'a self,
        message: &'a ReceivedMessage,
        envelope: Envelope,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            assert!(envelope.body.acknowledgement().is_some());
            let first = {
                let mut seen = self.notices.lock().unwrap();
                *seen += 1;
                *seen == 1
            };
            let mut tx = self.store.begin().await?;
            let id = if first { message.id + 1000 } else { message.id };
            self.store.finish_received_message(&mut tx, id).await?;
            tx.commit().await
        })
    }
}

fn sample(name: &str) -> (String, Vec<u8>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sev")
        .join(name);
    let mut envelope = sev::read(&std::fs::read(path).unwrap()).unwrap();
    envelope.msg_id = uuid::Uuid::now_v7();
    (envelope.msg_id.to_string(), sev::write(&envelope))
}

crate::both! {
    async fn exchange_post_store_received_messages_are_handed_over_until_handled(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let (doc_id, doc) = sample("ds01-execution.xml");
        let (notice_id, notice) = sample("ds15-registered.xml");
        let (doc, _) = store.receive_exchange_message("vodokanal", "council", &doc_id, &doc).await.unwrap();
        let (notice, _) =
            store.receive_exchange_message("council", "vodokanal", &notice_id, &notice).await.unwrap();
        let (junk, _) = store.receive_exchange_message("council", "vodokanal", "junk", b"<junk/>").await.unwrap();
        let recipient = TestRecipient {
            store: store.clone(),
            documents: Default::default(),
            notices: Default::default(),
        };

        assert_eq!(hand_over(&store, "h1", &recipient).await, 1);
        assert_eq!(*recipient.documents.lock().unwrap(), vec![doc_id.clone()]);
        let failed = store.received_message_handling(notice).await.unwrap().unwrap();
        assert_eq!(failed.attempts, 1);
        assert!(failed.finished_at.is_none());
        assert!(failed.last_error.as_deref().unwrap().contains("already handled (or not stored)"), "{failed:?}");
        let unreadable = store.received_message_handling(junk).await.unwrap().unwrap();
        assert!(unreadable.last_error.as_deref().unwrap().contains("no longer reads"), "{unreadable:?}");

        // Nothing is due before its backoff; the document is never handed over again.
        assert_eq!(hand_over(&store, "h2", &recipient).await, 0);
        execute(&db.url, "UPDATE exchange_post_in SET next_attempt_at = ''").await;
        assert_eq!(hand_over(&store, "h2", &recipient).await, 1);
        assert_eq!(recipient.documents.lock().unwrap().len(), 1);
        let handled = store.received_message_handling(notice).await.unwrap().unwrap();
        assert!(handled.finished_at.is_some() && handled.last_error.is_none(), "{handled:?}");
        assert!(store.received_message_handling(doc).await.unwrap().unwrap().finished_at.is_some());
        // The unreadable one waits, kept, for whoever restores it.
        assert_eq!(store.unfinished_received_messages().await.unwrap(), 1);
    }
}

/// Whether the poster would wake now: a wake is kept until the poster waits for it.
async fn poster_woken(store: &Store) -> bool {
    tokio::time::timeout(
        std::time::Duration::ZERO,
        store.exchange_changed().notified(),
    )
    .await
    .is_ok()
}

crate::both! {
    async fn exchange_post_store_a_message_queued_or_received_wakes_the_poster(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        assert!(!poster_woken(&store).await, "nothing happened yet");

        queue(&store, &message("w-1", "<doc/>")).await;
        assert!(poster_woken(&store).await, "a queued message wakes the poster");
        assert!(!poster_woken(&store).await, "one wake per message");
        // The same message queued again is nothing new to post.
        queue(&store, &message("w-1", "<doc/>")).await;
        assert!(!poster_woken(&store).await);

        let (_, fresh) =
            store.receive_exchange_message("vodokanal", "council", "w-2", b"<doc/>").await.unwrap();
        assert!(fresh);
        assert!(poster_woken(&store).await, "a received message wakes the poster");
        let (_, fresh) =
            store.receive_exchange_message("vodokanal", "council", "w-2", b"<doc/>").await.unwrap();
        assert!(!fresh);
        assert!(!poster_woken(&store).await, "a repeat is nothing new to hand over");
    }
}
