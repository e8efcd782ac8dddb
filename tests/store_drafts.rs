//! Citizens' drafts in the store, on both databases: only the owner reads or changes one, a
//! locked draft refuses every change and is locked once, expired drafts go and signed ones stay,
//! and a row rewritten outside hromada is refused with a message naming it.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use hromada::store::{DraftWrite, NewDraft, Store};

use common::db::{Db, execute};

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + seconds, 0).unwrap()
}

fn new_draft(owner: &str, seconds: i64) -> NewDraft {
    NewDraft {
        owner: owner.into(),
        e_service: "material-aid".into(),
        form: "material-aid".into(),
        revision: "rev-1".into(),
        data: r#"{"rnokpp":"3184710691"}"#.into(),
        page: "applicant".into(),
        now: at(seconds),
        expires_at: at(seconds) + Duration::days(30),
    }
}

both! {
    async fn drafts_belong_to_their_owner(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let first = store.create_draft(&new_draft("3184710691", 0)).await.unwrap();
        let second = store.create_draft(&new_draft("3184710691", 10)).await.unwrap();
        let other = store.create_draft(&new_draft("2912345671", 5)).await.unwrap();
        assert_ne!(first.id, second.id);

        let read = store.draft("3184710691", &first.id).await.unwrap().unwrap();
        assert_eq!(read, first);
        assert_eq!(read.data, r#"{"rnokpp":"3184710691"}"#);
        assert_eq!(store.draft("3184710691", &other.id).await.unwrap(), None);
        assert_eq!(store.draft("2912345671", &first.id).await.unwrap(), None);

        let save = store
            .save_draft("3184710691", &first.id, r#"{"phone":"+380610000000"}"#, "{}", "reason", at(20))
            .await
            .unwrap();
        assert_eq!(save, DraftWrite::Done);
        let listed: Vec<String> = store
            .drafts_of("3184710691")
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(listed, [first.id.clone(), second.id.clone()], "last changed first");
        let saved = store.draft("3184710691", &first.id).await.unwrap().unwrap();
        assert_eq!((saved.page.as_str(), saved.updated_at), ("reason", at(20)));

        // Someone else's draft is neither changed nor removed, and says nothing of itself.
        assert_eq!(
            store.save_draft("3184710691", &other.id, "{}", "{}", "x", at(30)).await.unwrap(),
            DraftWrite::Missing
        );
        assert_eq!(store.delete_draft("3184710691", &other.id).await.unwrap(), DraftWrite::Missing);
        let kept = store.draft("2912345671", &other.id).await.unwrap().unwrap();
        assert_eq!(kept, other);

        assert_eq!(store.delete_draft("3184710691", &second.id).await.unwrap(), DraftWrite::Done);
        assert_eq!(store.draft("3184710691", &second.id).await.unwrap(), None);
        assert_eq!(store.delete_draft("3184710691", &second.id).await.unwrap(), DraftWrite::Missing);
    }

    async fn a_locked_draft_refuses_every_change_and_locks_once(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let draft = store.create_draft(&new_draft("3184710691", 0)).await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(store.lock_draft(&mut tx, "2912345671", &draft.id).await.unwrap(), DraftWrite::Missing);
        assert_eq!(store.lock_draft(&mut tx, "3184710691", &draft.id).await.unwrap(), DraftWrite::Done);
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(store.lock_draft(&mut tx, "3184710691", &draft.id).await.unwrap(), DraftWrite::Locked);
        drop(tx);

        assert_eq!(
            store.save_draft("3184710691", &draft.id, "{}", "{}", "reason", at(50)).await.unwrap(),
            DraftWrite::Locked
        );
        assert_eq!(store.delete_draft("3184710691", &draft.id).await.unwrap(), DraftWrite::Locked);
        let locked = store.draft("3184710691", &draft.id).await.unwrap().unwrap();
        assert!(locked.locked());
        assert_eq!(locked.data, draft.data, "nothing of a locked draft changed");
        assert!(store.drafts_of("3184710691").await.unwrap().is_empty(), "a signed draft is an application now");

        // Locking rolled back with its transaction leaves the draft open.
        let open = store.create_draft(&new_draft("3184710691", 1)).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(store.lock_draft(&mut tx, "3184710691", &open.id).await.unwrap(), DraftWrite::Done);
        drop(tx);
        assert!(!store.draft("3184710691", &open.id).await.unwrap().unwrap().locked());
    }

    async fn expired_drafts_are_removed_and_signed_ones_kept(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let old = store.create_draft(&new_draft("3184710691", 0)).await.unwrap();
        let signed = store.create_draft(&new_draft("3184710691", 0)).await.unwrap();
        let fresh = store.create_draft(&new_draft("3184710691", 86_400 * 20)).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        store.lock_draft(&mut tx, "3184710691", &signed.id).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(store.remove_expired_drafts(at(86_400 * 29)).await.unwrap(), 0);
        assert_eq!(store.remove_expired_drafts(at(86_400 * 31)).await.unwrap(), 1);
        assert_eq!(store.draft("3184710691", &old.id).await.unwrap(), None);
        assert!(store.draft("3184710691", &signed.id).await.unwrap().is_some());
        assert!(store.draft("3184710691", &fresh.id).await.unwrap().is_some());
    }

    async fn a_rewritten_row_is_refused_by_name(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let draft = store.create_draft(&new_draft("3184710691", 0)).await.unwrap();
        execute(&db.url, &format!("UPDATE drafts SET expires_at = 'soon' WHERE id = '{}'", draft.id)).await;
        let error = store.draft("3184710691", &draft.id).await.unwrap_err().to_string();
        assert!(error.contains(&format!("draft {}", draft.id)), "{error}");
        assert!(error.contains("expiry time `soon`"), "{error}");
    }
}
