//! Quality statistics and open data (PORTAL-10, MIN-5): the store's counters and aggregate reads
//! on SQLite and PostgreSQL (months of the city's calendar, working days to decision, a rewritten
//! row as a clear error), and through `hromada serve` rare cases (1–4 refusals or withdrawals in a
//! month, one rating of 1, three page views) that no page, CSV or JSON lets anyone single out,
//! on pages that pass axe-core in Chromium at both widths.

use std::path::Path;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use hromada::portal::statistics::collect::{Window, collect};
use hromada::portal::statistics::published::{FIELDS, Figures};
use hromada::store::{NewRating, PortalCounters, Store};
use hromada::workflow::calendar::Calendar;
use serde_json::{Value, json};

use crate::common::city::{APPLICANT, MONDAY, NO_DEBT, TOKEN};
use crate::common::db::{Db, execute};
use crate::portal::{CITIZEN, Portal};

fn city_calendar() -> Calendar {
    let loaded = hromada::spec::load::load(Path::new(env!("CARGO_MANIFEST_DIR")));
    Calendar::from_spec(&loaded.spec.systems[0].calendar)
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// A case row of `e_service` as the engine writes one, submitted at `created` and, with an
/// outcome, closed at `closed`.
fn case_sql(
    id: &str,
    e_service: &str,
    outcome: Option<&str>,
    created: &str,
    closed: &str,
) -> String {
    let outcome = outcome.map_or("NULL".to_string(), |o| format!("'{o}'"));
    format!(
        "INSERT INTO cases (id, workflow, revision, e_service, state, outcome, applicant, \
         applicant_name, applicant_email, assignee, role, data, registry, decision, deadline_at, \
         version, created_at, updated_at, state_entered_at) VALUES ('{id}', '{e_service}', 'r1', \
         '{e_service}', 's', {outcome}, '{APPLICANT}', 'Іваненко Марія', NULL, NULL, NULL, '{{}}', \
         '{{}}', NULL, NULL, 1, '{created}', '{closed}', '{closed}')"
    )
}

fn overdue_sql(seq: i64, case: &str, at: &str) -> String {
    format!(
        "INSERT INTO case_events (seq, case_id, at, actor, on_behalf, kind, event, from_state, \
         to_state, detail, prev_hash, hash) VALUES ({seq}, '{case}', '{at}', 'timer', NULL, \
         'overdue', NULL, NULL, 's', '{{}}', 'x', 'y')"
    )
}

crate::both! {
    async fn the_statistics_count_per_city_month_in_working_days_and_refuse_rewritten_rows(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let calendar = city_calendar();
        // Monday 21 December 2026, noon in Kyiv: the window is January to December 2026.
        let window = Window::ending_at(utc("2026-12-21T10:00:00Z"), calendar.zone());
        assert_eq!(window.months.first().unwrap(), "2026-01");

        // Submitted 23:30 on 30 November in Kyiv: November. 00:30 on 1 December: December.
        execute(&db.url, &case_sql("c-nov", "water-no-debt", None, "2026-11-30T21:30:00.000000000Z", "2026-11-30T21:30:00.000000000Z")).await;
        execute(&db.url, &case_sql("c-dec", "water-no-debt", None, "2026-11-30T22:30:00.000000000Z", "2026-11-30T22:30:00.000000000Z")).await;
        // Granted: Monday 21 → Monday 28 December (Christmas on Friday): 4 working days.
        execute(&db.url, &case_sql("c-g", "material-aid", Some("granted"), "2026-12-21T07:00:00.000000000Z", "2026-12-28T08:00:00.000000000Z")).await;
        execute(&db.url, &case_sql("c-r", "material-aid", Some("refused"), "2026-12-21T07:00:00.000000000Z", "2026-12-22T08:00:00.000000000Z")).await;
        execute(&db.url, &case_sql("c-w", "material-aid", Some("withdrawn"), "2026-12-21T07:00:00.000000000Z", "2026-12-21T09:00:00.000000000Z")).await;
        // Before the window: not counted.
        execute(&db.url, &case_sql("c-old", "material-aid", Some("granted"), "2025-11-03T07:00:00.000000000Z", "2025-12-01T08:00:00.000000000Z")).await;
        // Overdue twice in one month (two states): one case.
        execute(&db.url, &overdue_sql(1, "c-g", "2026-12-24T22:00:00.000000000Z")).await;
        execute(&db.url, &overdue_sql(2, "c-g", "2026-12-27T10:00:00.000000000Z")).await;
        execute(&db.url, &overdue_sql(3, "c-dec", "2026-12-04T10:00:00.000000000Z")).await;

        store.add_portal_counts(&[
            PortalCounters { e_service: "water-no-debt".into(), month: "2026-12".into(), views: 40, started: 0 },
            PortalCounters { e_service: "water-no-debt".into(), month: "2026-12".into(), views: 2, started: 1 },
            PortalCounters { e_service: "water-no-debt".into(), month: "2025-12".into(), views: 9, started: 9 },
        ]).await.unwrap();
        for (i, stars) in [5, 4, 1].into_iter().enumerate() {
            assert!(store.rate(&NewRating {
                application_key: format!("app-{i}"),
                e_service: "material-aid".into(),
                stars,
                comment: None,
                at: utc("2026-12-22T10:00:00Z"),
            }).await.unwrap());
        }

        let tallies = collect(&store, &calendar, &window, None).await.unwrap();
        let water = &tallies["water-no-debt"];
        assert_eq!(water["2026-11"].submitted, 1);
        assert_eq!(water["2026-12"].submitted, 1);
        assert_eq!((water["2026-12"].views, water["2026-12"].started), (42, 1));
        assert_eq!(water["2026-12"].overdue, 1);
        assert!(!water.contains_key("2025-12"), "a month before the window is not read");
        let aid = &tallies["material-aid"]["2026-12"];
        assert_eq!((aid.submitted, aid.granted, aid.refused, aid.withdrawn), (3, 1, 1, 1));
        assert_eq!(aid.days, [1, 4], "working days to decision; a withdrawal is no decision");
        assert_eq!(aid.overdue, 1, "one case, overdue twice");
        assert_eq!(aid.ratings.len(), 3);
        assert_eq!(tallies["material-aid"].len(), 1);

        // One e-service alone reads only its own rows.
        let only = collect(&store, &calendar, &window, Some("material-aid")).await.unwrap();
        assert_eq!(only.keys().collect::<Vec<_>>(), ["material-aid"]);
        assert_eq!(only["material-aid"]["2026-12"], *aid);

        // What is published of material-aid's December: every count here stands for 1–3 people.
        let published = Figures::of(aid);
        assert_eq!(published.hidden(), ["submitted", "granted", "refused", "withdrawn", "overdue",
            "decision_days_median", "decision_days_p90", "ratings", "rating_mean"]);
        assert_eq!(published.json()["views"], json!(0));

        // Rewritten rows: a clear error naming the row and what is wrong, nothing changed.
        execute(&db.url, "UPDATE cases SET outcome = 'approved' WHERE id = 'c-r'").await;
        let e = collect(&store, &calendar, &window, None).await.unwrap_err().to_string();
        assert!(e.contains("case c-r of e-service material-aid") && e.contains("`approved`"), "{e}");
        execute(&db.url, "UPDATE cases SET outcome = 'refused' WHERE id = 'c-r'").await;
        execute(&db.url, "UPDATE cases SET state_entered_at = '2026-12-3x' WHERE id = 'c-g'").await;
        let e = collect(&store, &calendar, &window, None).await.unwrap_err().to_string();
        assert!(e.contains("case c-g") && e.contains("malformed") && e.contains("2026-12-3x"), "{e}");
        execute(&db.url, "UPDATE cases SET state_entered_at = '2026-12-28T08:00:00.000000000Z' WHERE id = 'c-g'").await;
        execute(&db.url, "UPDATE portal_counters SET month = '2026-13' WHERE month = '2026-12'").await;
        let e = collect(&store, &calendar, &window, None).await.unwrap_err().to_string();
        assert!(e.contains("portal counters of e-service water-no-debt") && e.contains("`2026-13`"), "{e}");
        execute(&db.url, "UPDATE portal_counters SET month = '2026-12' WHERE month = '2026-13'").await;
        execute(&db.url, "UPDATE ratings SET month = '2026-12-15T00:00:00.000000000Z' WHERE stars = 1").await;
        let e = collect(&store, &calendar, &window, None).await.unwrap_err().to_string();
        assert!(e.contains("a rating of e-service material-aid") && e.contains("2026-12-15"), "{e}");
        execute(&db.url, "UPDATE ratings SET month = '2026-12-01T00:00:00.000000000Z' WHERE stars = 1").await;
        assert_eq!(collect(&store, &calendar, &window, None).await.unwrap(), tallies);
    }

    async fn a_counter_never_goes_below_zero(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        store.add_portal_counts(&[PortalCounters {
            e_service: "material-aid".into(), month: "2026-12".into(), views: 3, started: 0,
        }]).await.unwrap();
        let refused = store.add_portal_counts(&[
            PortalCounters { e_service: "water-no-debt".into(), month: "2026-12".into(), views: 5, started: 0 },
            PortalCounters { e_service: "material-aid".into(), month: "2026-12".into(), views: -9, started: 0 },
        ]).await;
        let e = refused.unwrap_err().to_string();
        assert!(e.contains("e-service material-aid"), "{e}");
        let rows = store.portal_counters(None, "2026-01").await.unwrap();
        assert_eq!(rows.len(), 1, "the batch is one transaction: {rows:?}");
        assert_eq!(rows[0].views, 3);
    }
}

/// Starts a water-no-debt case through the cases API, as the front office would.
async fn start_water_case(portal: &Portal, key: &str) -> Value {
    let application = json!({
        "e_service": "water-no-debt",
        "applicant_name": "Іваненко Марія Петрівна",
        "applicant_email": "maria@example.org",
        "data": {
            "rnokpp": APPLICANT,
            "account_number": NO_DEBT,
            "holder_name": "Іваненко Марія Петрівна",
            "purpose": "01",
            "email": "maria@example.org",
        },
    });
    api(
        portal,
        "/api/cases",
        &format!("applicant:{APPLICANT}"),
        key,
        &application,
        201,
    )
    .await
}

async fn api(
    portal: &Portal,
    path: &str,
    actor: &str,
    key: &str,
    body: &Value,
    want: u16,
) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", portal.app.url))
        .bearer_auth(TOKEN)
        .header("X-Hromada-Actor", actor)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, want, "{path}: {body:#}\n{}", portal.app.log());
    body
}

async fn fire(portal: &Portal, actor: &str, case: &Value, event: &str) {
    let id = case["id"].as_str().unwrap();
    api(
        portal,
        &format!("/api/cases/{id}/transitions/{event}"),
        actor,
        &format!("{id}-{event}"),
        &json!({"seen_state": case["state"]["id"]}),
        200,
    )
    .await;
}

/// The cells of the row headed `head` in the table that follows `anchor` on a page.
fn row_cells(body: &str, anchor: &str, head: &str) -> Vec<String> {
    let from = body
        .find(anchor)
        .unwrap_or_else(|| panic!("no {anchor} in\n{body}"));
    let table = &body[from..];
    let table = &table[..table.find("</table>").unwrap()];
    let start = table
        .find(&format!("<th scope=\"row\">{head}</th>"))
        .unwrap_or_else(|| panic!("no row {head} after {anchor} in\n{table}"));
    let row = &table[start..];
    let row = &row[..row.find("</tr>").unwrap()];
    row.split("<td>")
        .skip(1)
        .map(|c| c[..c.find("</td>").unwrap()].to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rare_cases_cannot_be_singled_out_from_the_pages_the_csv_or_the_json() {
    let portal = Portal::start().await;
    // The water utility's billing does not answer: every case waits for the clerk.
    portal
        .city
        .registries
        .billing_down
        .store(true, Ordering::SeqCst);
    let clerk = "official:honcharenko-n";
    // November: five refusals, decided the day they came. Published on their own, they would
    // let December's total minus November give December's two away.
    portal.city.set_time("2026-11-16T09:00:00Z");
    for i in 0..5 {
        let case = start_water_case(&portal, &format!("stats-november-{i}")).await;
        fire(&portal, clerk, &case, "refuse").await;
    }
    portal.city.set_time(MONDAY);
    let mut cases = Vec::new();
    for i in 0..9 {
        let case = start_water_case(&portal, &format!("stats-{i}")).await;
        assert_eq!(case["state"]["id"], "manual-review", "{case:#}");
        cases.push(case);
    }
    // Wednesday: two working days after Monday's submissions.
    portal.city.set_time("2026-12-23T10:00:00Z");
    for case in &cases[..6] {
        fire(&portal, clerk, case, "issue").await;
    }
    for case in &cases[6..8] {
        fire(&portal, clerk, case, "refuse").await;
    }
    fire(
        &portal,
        &format!("applicant:{APPLICANT}"),
        &cases[8],
        "withdraw",
    )
    .await;

    // One rating of 1 star, through the feedback repository on the appliance's own database.
    let store = Store::connect(&Store::sqlite_url(
        &portal.city.dir.path().join("data/hromada.db"),
    ))
    .await
    .unwrap();
    store
        .rate(&NewRating {
            application_key: "stats-rated".into(),
            e_service: "water-no-debt".into(),
            stars: 1,
            comment: Some("Довго".into()),
            at: utc("2026-12-23T11:00:00Z"),
        })
        .await
        .unwrap();
    store.close().await;

    // Three views of the water page, seven of material aid's; five applications started of
    // water, two of material aid.
    let anonymous = portal.browser();
    for _ in 0..3 {
        assert_eq!(anonymous.get("/services/water-no-debt").await.status, 200);
    }
    for _ in 0..7 {
        assert_eq!(anonymous.get("/services/material-aid").await.status, 200);
    }
    let citizen = portal.sign_in(&CITIZEN).await;
    for (service, n) in [("water-no-debt", 5), ("material-aid", 2)] {
        for _ in 0..n {
            let started = citizen
                .post_form(&format!("/services/{service}/apply"), &[])
                .await;
            assert_eq!(started.status, 303, "{}", started.body);
        }
    }

    // JSON: December's rows, with every count of fewer than five people null and named.
    let json = anonymous.get("/open-data/statistics.json").await;
    assert_eq!(json.status, 200);
    assert!(
        json.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let rows: Vec<Value> = serde_json::from_str(&json.body).unwrap();
    let row = |e: &str| {
        rows.iter()
            .find(|r| r["e_service"] == e && r["month"] == "2026-12")
            .unwrap_or_else(|| panic!("no December row of {e}: {}", json.body))
            .clone()
    };
    let water = row("water-no-debt");
    assert_eq!(
        water,
        json!({
            "e_service": "water-no-debt",
            "e_service_title": water["e_service_title"],
            "month": "2026-12",
            "views": null, "started": 5, "submitted": 9, "granted": 6, "refused": null,
            "withdrawn": null, "overdue": 0, "decision_days_median": 2.0,
            "decision_days_p90": 2.0, "ratings": null, "rating_mean": null,
            "suppressed": "views refused withdrawn ratings rating_mean",
        }),
        "{water:#}"
    );
    let november = rows
        .iter()
        .find(|r| r["e_service"] == "water-no-debt" && r["month"] == "2026-11")
        .unwrap();
    assert_eq!(
        (
            &november["submitted"],
            &november["refused"],
            &november["suppressed"]
        ),
        (&json!(5), &json!(5), &json!("")),
        "{november:#}"
    );
    let aid = row("material-aid");
    assert_eq!((&aid["views"], &aid["started"]), (&json!(7), &Value::Null));
    // Every e-service of the city, every month of the window.
    let services: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r["e_service"].as_str().unwrap())
        .collect();
    assert!(services.len() >= 6, "{services:?}");
    assert_eq!(rows.len(), 12 * services.len());
    for r in &rows {
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(
            keys.len(),
            FIELDS.len() + 4,
            "no field beyond the schema's: {r}"
        );
    }
    // Nothing that could name a person or a case.
    for text in [
        APPLICANT,
        "Іваненко",
        "maria@",
        "Довго",
        cases[0]["id"].as_str().unwrap(),
    ] {
        assert!(!json.body.contains(text), "the JSON holds {text}");
    }

    // CSV: the same, cells empty where suppressed.
    let csv = anonymous.get("/open-data/statistics.csv").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "e_service,e_service_title,month,views,started,submitted,granted,refused,withdrawn,\
         overdue,decision_days_median,decision_days_p90,ratings,rating_mean,suppressed"
    );
    assert_eq!(lines.len(), 1 + rows.len());
    let water_line = lines
        .iter()
        .find(|l| l.starts_with("water-no-debt,") && l.contains(",2026-12,"))
        .unwrap();
    assert!(
        water_line
            .ends_with(",2026-12,,5,9,6,,,0,2,2,,,views refused withdrawn ratings rating_mean"),
        "{water_line}"
    );
    for text in [APPLICANT, "Іваненко", "maria@", "Довго"] {
        assert!(!csv.body.contains(text), "the CSV holds {text}");
    }

    // The descriptor names both files, their fields (the CSV's header) and the licence.
    let package = anonymous.get("/open-data/datapackage.json").await;
    let package: Value = serde_json::from_str(&package.body).unwrap();
    assert_eq!(package["licenses"][0]["name"], "CC-BY-4.0");
    let paths: Vec<&str> = package["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["statistics.csv", "statistics.json"]);
    for resource in package["resources"].as_array().unwrap() {
        let names: Vec<&str> = resource["schema"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.join(","), lines[0]);
    }

    // The e-service's page: the month and the twelve months' total alike.
    let page = anonymous.get("/statistics/water-no-debt").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (hidden, withheld) = ("менше 5", "приховано");
    let expected = [
        hidden, "5", "9", "6", hidden, hidden, "0", "2", "2", hidden, hidden,
    ];
    // A total over a hidden month is withheld (total minus the shown months would give it).
    assert_eq!(
        row_cells(&page.body, "id=\"all-figures\"", "11.2026"),
        ["0", "0", "5", "0", "5", "0", "0", "0", "0", "0", "—"]
    );
    let total = [
        withheld, "5", "14", "6", withheld, withheld, "0", "2", "2", withheld, withheld,
    ];
    assert_eq!(
        row_cells(&page.body, "id=\"all-figures\"", "12.2026"),
        expected
    );
    assert_eq!(
        row_cells(&page.body, "id=\"all-figures\"", "Разом за 12 місяців"),
        total
    );
    // Each chart is an image with a title and description, and its numbers in a table.
    assert_eq!(page.body.matches("role=\"img\"").count(), 4);
    assert_eq!(page.body.matches("<title id=").count(), 4);
    assert_eq!(page.body.matches("<desc id=").count(), 4);
    assert_eq!(
        row_cells(
            &page.body,
            "Відмовлено в наданні: числа діаграми",
            "12.2026"
        ),
        [hidden]
    );
    assert!(
        page.body.contains(">&lt;5</text>"),
        "a hidden bar says so in text"
    );
    // No script, no inline style: the policy allows neither.
    assert!(!page.body.contains("<script") && !page.body.contains("style="));
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );

    // The overview: water's twelve months (14 submitted, but refusals withheld: 7 − November's
    // 5 would give December's 2 away), and December over every e-service, where 3 water views
    // plus 7 of material aid would give the 3 away.
    let overview = anonymous.get("/statistics").await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    let title = water["e_service_title"].as_str().unwrap();
    let water_total = row_cells(
        &overview.body,
        "id=\"by-service\"",
        &format!("<a href=\"/statistics/water-no-debt\">{title}</a>"),
    );
    assert_eq!(water_total, total);
    assert_eq!(
        row_cells(
            &overview.body,
            "Перегляди сторінок послуг за місяцями: числа діаграми",
            "12.2026"
        ),
        [withheld]
    );
    assert_eq!(
        row_cells(
            &overview.body,
            "Подані заяви за місяцями, усі послуги: числа діаграми",
            "12.2026"
        ),
        ["9"]
    );
    assert_eq!(
        row_cells(
            &overview.body,
            "Подані заяви за місяцями, усі послуги: числа діаграми",
            "11.2026"
        ),
        ["5"]
    );
    for body in [&page.body, &overview.body] {
        for text in [APPLICANT, "Іваненко", "Довго", "1,0"] {
            assert!(!body.contains(text), "a statistics page holds {text}");
        }
    }

    // In a real browser, every statistics page passes the accessibility audit at both widths.
    if let Some(visited) = crate::browser::audited(&portal, "statistics.mjs", vec![]).await {
        assert!(visited.iter().any(|u| u == "/statistics"), "{visited:?}");
        assert!(
            visited.iter().any(|u| u == "/statistics/water-no-debt"),
            "{visited:?}"
        );
    }

    // Hostile addresses: an unknown e-service, a path trying to leave the route.
    for path in [
        "/statistics/no-such-service",
        "/statistics/..%2Fcabinet",
        "/statistics/%3Cscript%3E",
    ] {
        let refused = anonymous.get(path).await;
        assert_eq!(refused.status, 404, "{path}");
        assert!(!refused.body.contains("<script>"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_views_still_in_memory_reach_the_store_when_the_appliance_stops() {
    let portal = Portal::start().await;
    let anonymous = portal.browser();
    for _ in 0..6 {
        assert_eq!(anonymous.get("/services/material-aid").await.status, 200);
    }
    // An unknown e-service's page counts nothing.
    assert_eq!(anonymous.get("/services/no-such-service").await.status, 404);
    let Portal { city, app, .. } = portal;
    let stopped = tokio::task::spawn_blocking(move || app.stop())
        .await
        .unwrap();
    assert!(stopped.success(), "serve did not stop cleanly: {stopped}");

    let store = Store::connect(&Store::sqlite_url(&city.dir.path().join("data/hromada.db")))
        .await
        .unwrap();
    let counted = store.portal_counters(None, "2026-01").await.unwrap();
    assert_eq!(
        counted,
        [PortalCounters {
            e_service: "material-aid".into(),
            // The tests' clock: Monday 21 December 2026.
            month: "2026-12".into(),
            views: 6,
            started: 0,
        }]
    );
}
