//! The officials' inbox and the files added to a case, in the store, on both databases: only
//! open cases of the official's participant that their roles work or that are assigned to them,
//! most urgent first and paged with the total; due today, overdue and escalated; a case's added
//! files numbered after its application's and taken back with a refused upload.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use hromada::store::{
    ApplicationRow, AttachmentChange, CaseRow, Due, InboxQuery, NewAttachment, NewCaseEvent,
    NewCaseFile, NewDraft, Store, time_text,
};

use common::db::{Db, execute};

const ME: &str = "koval-o";

fn at(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap() + Duration::hours(hours)
}

/// A case `id` of `e_service` in `state`, worked by `role`, due `deadline` hours from `at(0)`.
fn case(id: &str, e_service: &str, role: Option<&str>, deadline: Option<i64>) -> CaseRow {
    CaseRow {
        id: id.into(),
        workflow: e_service.into(),
        revision: "rev-1".into(),
        e_service: e_service.into(),
        state: "received".into(),
        outcome: None,
        applicant: "3184710691".into(),
        applicant_name: "Іваненко Марія".into(),
        applicant_email: None,
        assignee: None,
        role: role.map(str::to_string),
        data: "{}".into(),
        registry: "{}".into(),
        decision: None,
        deadline_at: deadline.map(|h| time_text(&at(h))),
        version: 1,
        created_at: time_text(&at(-100)),
        updated_at: time_text(&at(-100)),
        state_entered_at: time_text(&at(-50)),
    }
}

async fn put(store: &Store, rows: &[CaseRow]) {
    let mut tx = store.begin().await.unwrap();
    for row in rows {
        store.insert_case(&mut tx, row).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn event(store: &Store, case_id: &str, kind: &str, hours: i64) {
    let mut tx = store.begin().await.unwrap();
    let e = NewCaseEvent {
        case_id: case_id.into(),
        at: time_text(&at(hours)),
        actor: "timer".into(),
        on_behalf: None,
        kind: kind.into(),
        event: None,
        from_state: None,
        to_state: Some("received".into()),
        detail: "{}".into(),
    };
    store.append_case_event(&mut tx, &e).await.unwrap();
    tx.commit().await.unwrap();
}

fn query() -> InboxQuery {
    InboxQuery {
        official: ME.into(),
        roles: vec!["social-clerk".into()],
        e_services: vec!["material-aid".into(), "burial-aid".into()],
        e_service: None,
        state: None,
        due: None,
        now: at(0),
        end_of_today: at(16),
        page: 1,
        per_page: 20,
    }
}

async fn ids(store: &Store, q: &InboxQuery) -> (Vec<String>, i64) {
    let page = store.inbox(q).await.unwrap();
    (
        page.cases.iter().map(|c| c.id.clone()).collect(),
        page.total,
    )
}

/// A signed application with one file, whose case is `case_id`.
async fn application(store: &Store, case_id: &str) -> ApplicationRow {
    let draft = store
        .create_draft(&NewDraft {
            owner: "3184710691".into(),
            e_service: "material-aid".into(),
            form: "material-aid".into(),
            revision: "rev-1".into(),
            data: "{}".into(),
            page: "applicant".into(),
            now: at(-101),
            expires_at: at(1000),
        })
        .await
        .unwrap();
    for content in [b"%PDF-1 income".as_slice(), b"%PDF-1 act"] {
        let added = store
            .add_attachment(&NewAttachment {
                owner: "3184710691",
                draft_id: &draft.id,
                attachment: "income-statement",
                file_name: "довідка.pdf",
                media_type: "application/pdf",
                content,
                max_files: 5,
                now: at(-101),
            })
            .await
            .unwrap();
        assert!(matches!(added, AttachmentChange::Added(_)));
    }
    let row = ApplicationRow {
        id: format!("app-{case_id}"),
        owner: "3184710691".into(),
        draft_id: draft.id.clone(),
        e_service: "material-aid".into(),
        journal: "council-citizens".into(),
        period: "2026".into(),
        seq: 7,
        number: "ЗВ-7/2026".into(),
        received_at: time_text(&at(-100)),
        case_id: Some(case_id.into()),
        document: "{}".into(),
        signature: None,
    };
    let mut tx = store.begin().await.unwrap();
    store.insert_application(&mut tx, &row).await.unwrap();
    tx.commit().await.unwrap();
    row
}

both! {
    async fn the_inbox_holds_what_the_official_may_act_on_most_urgent_first(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let mut mine_assigned = case("assigned-other-role", "material-aid", Some("social-head"), Some(5));
        mine_assigned.assignee = Some(ME.into());
        let mut closed = case("closed", "material-aid", Some("social-clerk"), Some(1));
        closed.outcome = Some("granted".into());
        closed.role = None;
        let mut someone_elses = case("taken-by-moroz", "material-aid", Some("social-clerk"), Some(3));
        someone_elses.assignee = Some("moroz-v".into());
        put(&store, &[
            case("late", "material-aid", Some("social-clerk"), Some(-30)),
            case("no-deadline", "burial-aid", Some("social-clerk"), None),
            case("soon", "burial-aid", Some("social-clerk"), Some(10)),
            case("head-only", "material-aid", Some("social-head"), Some(2)),
            case("other-provider", "water-connection", Some("social-clerk"), Some(2)),
            mine_assigned, closed, someone_elses,
        ]).await;
        application(&store, "late").await;

        let (listed, total) = ids(&store, &query()).await;
        assert_eq!(
            listed,
            ["late", "taken-by-moroz", "assigned-other-role", "soon", "no-deadline"],
            "open cases of my role or mine, of my participant's e-services, by deadline, \
             none without one first"
        );
        assert_eq!(total, 5);
        let page = store.inbox(&query()).await.unwrap();
        assert_eq!(page.cases[0].number.as_deref(), Some("ЗВ-7/2026"));
        assert_eq!(page.cases[1].number, None, "a case with no application has no number");

        // Paged, with the total on every page.
        let second = InboxQuery { page: 2, per_page: 2, ..query() };
        assert_eq!(ids(&store, &second).await, (vec!["assigned-other-role".to_string(), "soon".to_string()], 5));
        let beyond = InboxQuery { page: 9, per_page: 2, ..query() };
        assert_eq!(ids(&store, &beyond).await, (vec![], 0));

        // Narrowed by e-service and state; an e-service outside the official's is never listed.
        let burial = InboxQuery { e_service: Some("burial-aid".into()), ..query() };
        assert_eq!(ids(&store, &burial).await.0, ["soon", "no-deadline"]);
        let outside = InboxQuery { e_service: Some("water-connection".into()), ..query() };
        assert_eq!(ids(&store, &outside).await, (vec![], 0));
        let nowhere = InboxQuery { state: Some("commission".into()), ..query() };
        assert_eq!(ids(&store, &nowhere).await.1, 0);
        // No e-services (an official whose participant provides none) sees nothing.
        let none = InboxQuery { e_services: vec![], ..query() };
        assert_eq!(ids(&store, &none).await.1, 0);
        // An official with no role sees only their assigned cases.
        let no_role = InboxQuery { roles: vec![], ..query() };
        assert_eq!(ids(&store, &no_role).await.0, ["assigned-other-role"]);
        // A value that looks like SQL is only a value.
        let hostile = InboxQuery { state: Some("x' OR '1'='1".into()), ..query() };
        assert_eq!(ids(&store, &hostile).await.1, 0);
    }

    async fn due_today_overdue_and_escalated(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        put(&store, &[
            case("late", "material-aid", Some("social-clerk"), Some(-30)),
            case("today", "material-aid", Some("social-clerk"), Some(16)),
            case("tomorrow", "material-aid", Some("social-clerk"), Some(40)),
            case("escalated-now", "material-aid", Some("social-clerk"), Some(-2)),
            case("escalated-before", "material-aid", Some("social-clerk"), Some(60)),
        ]).await;
        // Escalated in its current state (entered at -50 h) counts; in an earlier visit not.
        event(&store, "escalated-now", "escalated", -10).await;
        event(&store, "escalated-before", "escalated", -70).await;
        event(&store, "tomorrow", "reminded", -5).await;

        let due = |due| InboxQuery { due: Some(due), ..query() };
        assert_eq!(ids(&store, &due(Due::Today)).await.0, ["today"]);
        assert_eq!(ids(&store, &due(Due::Overdue)).await.0, ["late", "escalated-now"]);
        assert_eq!(ids(&store, &due(Due::Escalated)).await.0, ["escalated-now"]);
        let page = store.inbox(&query()).await.unwrap();
        let escalated: Vec<(&str, i64)> =
            page.cases.iter().map(|c| (c.id.as_str(), c.escalated)).collect();
        assert_eq!(escalated, [("late", 0), ("escalated-now", 1), ("today", 0),
            ("tomorrow", 0), ("escalated-before", 0)]);
    }

    async fn files_added_to_a_case_follow_its_applications_and_go_back_with_a_refusal(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        put(&store, &[case("c1", "material-aid", Some("social-clerk"), Some(10))]).await;
        let app = application(&store, "c1").await;
        assert_eq!(store.application_of_case("c1").await.unwrap(), Some(app));
        assert_eq!(store.application_of_case("c2").await.unwrap(), None);

        let pdf = NewCaseFile { file_name: "акт.pdf", media_type: "application/pdf",
            content: b"%PDF-1 act" };
        let scan = NewCaseFile { file_name: "скан.png", media_type: "image/png",
            content: b"\x89PNG\r\n\x1a\n scan" };
        let first = store
            .add_case_files("c1", &[pdf, scan], "applicant:3184710691", "upload-1", at(1))
            .await
            .unwrap();
        assert_eq!(first.iter().map(|f| f.n).collect::<Vec<_>>(), [3, 4],
            "numbered after the application's two files");
        assert_eq!(first[0].sha256, hromada::store::content_hash(b"%PDF-1 act"));
        let second = store
            .add_case_files("c1", &[scan], "applicant:3184710691", "upload-2", at(2))
            .await
            .unwrap();
        assert_eq!(second[0].n, 5);
        assert_eq!(store.case_files("c1").await.unwrap().len(), 3);

        // A refused upload's files are taken back; the others stay, with their contents.
        assert_eq!(store.remove_case_files("c1", "upload-2").await.unwrap(), 1);
        let kept = store.case_files("c1").await.unwrap();
        assert_eq!(kept, first);
        store.remove_unused_blobs().await.unwrap();
        assert_eq!(store.blob(&first[1].sha256).await.unwrap().as_deref(),
            Some(b"\x89PNG\r\n\x1a\n scan".as_slice()), "still attached by upload-1");
        store.remove_case_files("c1", "upload-1").await.unwrap();
        store.remove_unused_blobs().await.unwrap();
        assert_eq!(store.blob(&first[1].sha256).await.unwrap(), None);
        assert!(store.blob(&first[0].sha256).await.unwrap().is_some(),
            "the same bytes are still the application's own file");

        // A content rewritten outside hromada is refused, naming it.
        let again = store
            .add_case_files("c1", &[pdf], "applicant:3184710691", "upload-3", at(3))
            .await
            .unwrap();
        execute(&db.url, &format!(
            "UPDATE attachment_blobs SET content = {} WHERE sha256 = '{}'",
            if db.url.starts_with("sqlite") { "X'00'" } else { "'\\x00'::bytea" },
            again[0].sha256)).await;
        let refused = store.blob(&again[0].sha256).await.unwrap_err().to_string();
        assert!(refused.contains(&again[0].sha256), "{refused}");
    }
}
