//! Files attached to citizens' drafts in the store, on both databases: one stored content per
//! SHA-256 however many drafts attach it, the count limit per attachment, only the owner's
//! unlocked draft changes, files go with their draft, and a content rewritten outside hromada
//! is refused with a message naming it.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use hromada::store::{AttachmentChange, DraftWrite, NewAttachment, NewDraft, Store, content_hash};

use common::db::{Db, execute};

const OWNER: &str = "3184710691";
const OTHER: &str = "2745031282";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + seconds, 0).unwrap()
}

async fn draft(store: &Store, owner: &str) -> String {
    let new = NewDraft {
        owner: owner.into(),
        e_service: "material-aid".into(),
        form: "material-aid".into(),
        revision: "rev-1".into(),
        data: "{}".into(),
        page: "applicant".into(),
        now: at(0),
        expires_at: at(0) + Duration::days(30),
    };
    store.create_draft(&new).await.unwrap().id
}

fn file<'a>(owner: &'a str, draft: &'a str, content: &'a [u8]) -> NewAttachment<'a> {
    NewAttachment {
        owner,
        draft_id: draft,
        attachment: "income-statement",
        file_name: "довідка.pdf",
        media_type: "application/pdf",
        content,
        max_files: 2,
        now: at(60),
    }
}

async fn blobs(db: &Db) -> i64 {
    if db.url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM attachment_blobs")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM attachment_blobs")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }
}

fn added(change: AttachmentChange) -> hromada::store::AttachmentRow {
    match change {
        AttachmentChange::Added(row) => row,
        other => panic!("not added: {other:?}"),
    }
}

both! {
    async fn identical_content_is_stored_once(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let mine = draft(&store, OWNER).await;
        let theirs = draft(&store, OTHER).await;
        let first = added(store.add_attachment(&file(OWNER, &mine, PDF)).await.unwrap());
        let again = added(store.add_attachment(&file(OWNER, &mine, PDF)).await.unwrap());
        let other = added(store.add_attachment(&file(OTHER, &theirs, PDF)).await.unwrap());
        assert_eq!((first.n, again.n, other.n), (1, 2, 1));
        assert_eq!(first.sha256, content_hash(PDF));
        assert_eq!(first.size, PDF.len() as i64);
        assert_eq!(blobs(&db).await, 1, "three files, one content");
        assert_eq!(store.blob(&first.sha256).await.unwrap().as_deref(), Some(PDF));

        let listed = store.attachments_of(&mine).await.unwrap();
        assert_eq!(listed, vec![first.clone(), again.clone()]);
        assert_eq!(store.attachments_of(&theirs).await.unwrap(), vec![other.clone()]);

        // The content stays while any draft attaches it, and goes with the last.
        assert_eq!(
            store.remove_attachment(OWNER, &mine, 1, at(70)).await.unwrap(),
            AttachmentChange::Removed
        );
        assert_eq!(
            store.remove_attachment(OWNER, &mine, 2, at(71)).await.unwrap(),
            AttachmentChange::Removed
        );
        assert_eq!(blobs(&db).await, 1);
        assert_eq!(store.blob(&first.sha256).await.unwrap().as_deref(), Some(PDF));
        assert_eq!(
            store.remove_attachment(OTHER, &theirs, 1, at(72)).await.unwrap(),
            AttachmentChange::Removed
        );
        assert_eq!(blobs(&db).await, 0);
        assert_eq!(store.blob(&first.sha256).await.unwrap(), None);
        assert_eq!(
            store.remove_attachment(OTHER, &theirs, 1, at(73)).await.unwrap(),
            AttachmentChange::NoSuchFile
        );
    }

    async fn an_attachment_holds_at_most_its_count(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let mine = draft(&store, OWNER).await;
        added(store.add_attachment(&file(OWNER, &mine, b"%PDF-1 one")).await.unwrap());
        added(store.add_attachment(&file(OWNER, &mine, b"%PDF-1 two")).await.unwrap());
        assert_eq!(
            store.add_attachment(&file(OWNER, &mine, b"%PDF-1 three")).await.unwrap(),
            AttachmentChange::TooMany
        );
        assert_eq!(blobs(&db).await, 2, "the refused file is not kept");
        // Another attachment of the same draft counts on its own.
        let photo = NewAttachment {
            attachment: "damage-act",
            ..file(OWNER, &mine, b"%PDF-1 three")
        };
        assert_eq!(added(store.add_attachment(&photo).await.unwrap()).n, 3);
        // Removing one makes room again.
        store.remove_attachment(OWNER, &mine, 1, at(70)).await.unwrap();
        let row = added(store.add_attachment(&file(OWNER, &mine, b"%PDF-1 four")).await.unwrap());
        assert_eq!(row.n, 4);
    }

    async fn only_the_owners_unlocked_draft_changes(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let mine = draft(&store, OWNER).await;
        let kept = added(store.add_attachment(&file(OWNER, &mine, PDF)).await.unwrap());

        // Someone else: as if there were no such draft, and nothing changes.
        assert_eq!(
            store.add_attachment(&file(OTHER, &mine, b"%PDF-1 theirs")).await.unwrap(),
            AttachmentChange::Missing
        );
        assert_eq!(
            store.remove_attachment(OTHER, &mine, 1, at(70)).await.unwrap(),
            AttachmentChange::Missing
        );
        assert_eq!(
            store.add_attachment(&file(OWNER, "no-such-draft", PDF)).await.unwrap(),
            AttachmentChange::Missing
        );

        // Signed: every change refused, the files as they were.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(store.lock_draft(&mut tx, OWNER, &mine).await.unwrap(), DraftWrite::Done);
        tx.commit().await.unwrap();
        assert_eq!(
            store.add_attachment(&file(OWNER, &mine, b"%PDF-1 late")).await.unwrap(),
            AttachmentChange::Locked
        );
        assert_eq!(
            store.remove_attachment(OWNER, &mine, 1, at(80)).await.unwrap(),
            AttachmentChange::Locked
        );
        assert_eq!(store.attachments_of(&mine).await.unwrap(), vec![kept]);
        assert_eq!(blobs(&db).await, 1);
    }

    async fn files_go_with_their_draft(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let mine = draft(&store, OWNER).await;
        added(store.add_attachment(&file(OWNER, &mine, PDF)).await.unwrap());
        assert_eq!(store.delete_draft(OWNER, &mine).await.unwrap(), DraftWrite::Done);
        assert_eq!(store.attachments_of(&mine).await.unwrap(), vec![]);
        assert_eq!(store.remove_unused_blobs().await.unwrap(), 1);
        assert_eq!(blobs(&db).await, 0);
    }

    async fn a_content_rewritten_outside_hromada_is_refused(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let mine = draft(&store, OWNER).await;
        let row = added(store.add_attachment(&file(OWNER, &mine, PDF)).await.unwrap());
        let forged = if db.url.starts_with("sqlite") {
            "UPDATE attachment_blobs SET content = X'4D5A90' "
        } else {
            "UPDATE attachment_blobs SET content = '\\x4d5a90'::bytea"
        };
        execute(&db.url, forged).await;
        let err = store.blob(&row.sha256).await.unwrap_err().to_string();
        assert!(err.contains(&row.sha256), "{err}");
        assert!(err.contains("changed outside the portal"), "{err}");
        assert_eq!(store.attachments_of(&mine).await.unwrap(), vec![row]);
    }
}
