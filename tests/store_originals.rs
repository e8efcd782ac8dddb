//! Originals and revocations in the store, on both databases: an original is recorded once
//! (a second record keeps the first), found by the digest of its bytes, delivered once (the
//! first time stays), and a document is revoked once (a second revocation changes nothing).

mod common;

use hromada::store::{OriginalKind, OriginalRow, RevocationRow, Store, original_digest};

use common::db::Db;

fn original(id: &str, bytes: &[u8], destination: &str) -> OriginalRow {
    OriginalRow {
        kind: OriginalKind::Document.as_str().into(),
        record_id: id.into(),
        media_type: "application/pdf".into(),
        digest: original_digest(bytes),
        origin: "participant:vodokanal".into(),
        destination: destination.into(),
        created_at: "2026-12-21T09:00:00.000000000Z".into(),
        delivered_at: None,
        retention: Some("documents".into()),
    }
}

fn revocation(ground: &str, reason: &str) -> RevocationRow {
    RevocationRow {
        document_id: "doc-1".into(),
        revoked_at: "2026-12-22T10:00:00.000000000Z".into(),
        revoked_by: "honcharenko-n".into(),
        ground: ground.into(),
        reason: reason.into(),
    }
}

both! {
    async fn an_original_is_recorded_once_found_by_digest_and_delivered_once(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        store.insert_original(&mut tx, &original("doc-1", b"%PDF-1", "applicant:1")).await.unwrap();
        store.insert_original(&mut tx, &original("doc-2", b"%PDF-2", "applicant:2")).await.unwrap();
        // Recorded again (a retried issue): the first record stays.
        store.insert_original(&mut tx, &original("doc-1", b"other", "applicant:9")).await.unwrap();
        tx.commit().await.unwrap();

        let kept = store.original(OriginalKind::Document, "doc-1").await.unwrap().unwrap();
        assert_eq!(kept, original("doc-1", b"%PDF-1", "applicant:1"));
        assert_eq!(store.original(OriginalKind::Application, "doc-1").await.unwrap(), None);
        let found = store
            .originals_with_digest(OriginalKind::Document, &original_digest(b"%PDF-2"))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].record_id, "doc-2");
        assert!(store
            .originals_with_digest(OriginalKind::Document, &original_digest(b"%PDF-3"))
            .await
            .unwrap()
            .is_empty());

        store.original_delivered(OriginalKind::Document, "doc-1", "2026-12-21T10:00:00Z").await.unwrap();
        store.original_delivered(OriginalKind::Document, "doc-1", "2026-12-23T10:00:00Z").await.unwrap();
        let delivered = store.original(OriginalKind::Document, "doc-1").await.unwrap().unwrap();
        assert_eq!(delivered.delivered_at.as_deref(), Some("2026-12-21T10:00:00Z"));
        let other = store.original(OriginalKind::Document, "doc-2").await.unwrap().unwrap();
        assert_eq!(other.delivered_at, None, "only the one delivered");
    }

    async fn a_document_is_revoked_once_and_the_first_revocation_stays(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        assert_eq!(store.revocation("doc-1").await.unwrap(), None);
        let first = revocation("error", "У довідці помилка в адресі");
        assert!(store.revoke_document(&first).await.unwrap());
        assert!(!store.revoke_document(&revocation("request", "Інша причина")).await.unwrap());
        assert_eq!(store.revocation("doc-1").await.unwrap(), Some(first));
        assert_eq!(store.revocation("doc-2").await.unwrap(), None);
    }
}
