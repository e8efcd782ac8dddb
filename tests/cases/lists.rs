//! The store's pages of cases behind `GET /api/cases`, on SQLite and PostgreSQL: narrowed by
//! workflow, state, role (or assigned to an official), assignee, applicant, deadline and
//! openness; newest first; the total counts every match, not the page.

use chrono::{TimeZone, Utc};
use hromada::store::{CaseQuery, CaseRow, Store};

use crate::both;
use crate::common::db::Db;

fn case(n: u32, role: Option<&str>, assignee: Option<&str>, outcome: Option<&str>) -> CaseRow {
    let at = format!("2026-12-{:02}T09:00:00.000000000Z", n);
    CaseRow {
        id: format!("case-{n:02}"),
        workflow: if n.is_multiple_of(2) {
            "material-aid"
        } else {
            "water-no-debt"
        }
        .into(),
        revision: "r1".into(),
        e_service: "material-aid".into(),
        state: if outcome.is_some() {
            "granted"
        } else {
            "received"
        }
        .into(),
        outcome: outcome.map(str::to_string),
        applicant: if n <= 6 { "3184710691" } else { "2876541207" }.into(),
        applicant_name: "Іваненко Марія Петрівна".into(),
        applicant_email: None,
        assignee: assignee.map(str::to_string),
        role: role.map(str::to_string),
        data: "{}".into(),
        registry: "{}".into(),
        decision: None,
        deadline_at: Some(format!("2026-12-{:02}T22:00:00.000000000Z", n + 5)),
        version: 1,
        created_at: at.clone(),
        updated_at: at.clone(),
        state_entered_at: at,
    }
}

async fn ids(store: &Store, query: CaseQuery) -> (Vec<String>, i64) {
    let page = store.list_cases(&query).await.unwrap();
    (page.cases.into_iter().map(|c| c.id).collect(), page.total)
}

fn query() -> CaseQuery {
    CaseQuery {
        page: 1,
        per_page: 20,
        ..CaseQuery::default()
    }
}

both! {
    async fn cases_are_listed_a_page_at_a_time_by_every_filter(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let rows = [
            case(1, Some("social-clerk"), None, None),
            case(2, Some("social-clerk"), Some("koval-o"), None),
            case(3, Some("social-head"), None, None),
            case(4, None, None, Some("granted")),
            case(5, Some("water-clerk"), Some("honcharenko-n"), None),
            case(6, Some("social-clerk"), None, None),
            case(7, Some("social-head"), Some("koval-o"), None),
        ];
        let mut tx = store.begin().await.unwrap();
        for row in &rows {
            store.insert_case(&mut tx, row).await.unwrap();
        }
        tx.commit().await.unwrap();

        let all = ids(&store, query()).await;
        assert_eq!(all.1, 7);
        assert_eq!(all.0.first().map(String::as_str), Some("case-07"), "newest first");
        let page = ids(&store, CaseQuery { page: 2, per_page: 3, ..query() }).await;
        assert_eq!(page, (vec!["case-04".into(), "case-03".into(), "case-02".into()], 7));
        let beyond = ids(&store, CaseQuery { page: 9, per_page: 3, ..query() }).await;
        assert_eq!(beyond, (vec![], 7), "a page past the end is empty, the total stays");

        let clerks = ids(&store, CaseQuery { roles: Some(vec!["social-clerk".into()]), ..query() }).await;
        assert_eq!(clerks, (vec!["case-06".into(), "case-02".into(), "case-01".into()], 3));
        // An official's own view: the roles they hold, or assigned to them.
        let koval = ids(&store, CaseQuery {
            roles: Some(vec!["social-clerk".into()]),
            or_assignee: Some("koval-o".into()),
            ..query()
        }).await;
        assert_eq!(koval.1, 4, "{koval:?}");
        let nobody = ids(&store, CaseQuery { roles: Some(vec![]), ..query() }).await;
        assert_eq!(nobody, (vec![], 0), "no roles and no assignee: nothing");

        let assigned = ids(&store, CaseQuery { assignee: Some("koval-o".into()), ..query() }).await;
        assert_eq!(assigned.0, ["case-07", "case-02"]);
        let mine = ids(&store, CaseQuery { applicant: Some("2876541207".into()), ..query() }).await;
        assert_eq!(mine.0, ["case-07"]);
        let water = ids(&store, CaseQuery {
            workflow: Some("water-no-debt".into()),
            state: Some("received".into()),
            ..query()
        }).await;
        assert_eq!(water.0, ["case-07", "case-05", "case-03", "case-01"]);
        let open = ids(&store, CaseQuery { open_only: true, ..query() }).await;
        assert_eq!(open.1, 6, "the granted case is closed");

        // Deadlines end at 22:00 on day n + 5: on the 9th at noon, cases 1 to 3 are past theirs
        // (case 4, past too, is closed).
        let overdue = ids(&store, CaseQuery {
            overdue_at: Some(Utc.with_ymd_and_hms(2026, 12, 9, 12, 0, 0).unwrap()),
            ..query()
        }).await;
        assert_eq!(overdue.0, ["case-03", "case-02", "case-01"]);

        // A value that looks like SQL is a value.
        let hostile = ids(&store, CaseQuery { state: Some("x' OR '1'='1".into()), ..query() }).await;
        assert_eq!(hostile, (vec![], 0));
        store.close().await;
    }
}
