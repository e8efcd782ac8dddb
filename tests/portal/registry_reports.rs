//! The registry's reports (REG-6) through `hromada serve`: the figures match the cards (per
//! journal, month, direction and kind; per executor: on control, on time by the city's clock,
//! late, overdue), only the reader's participant's registered cards in the period are counted,
//! executors are masked in the files as the example city's policies say, the CSV parses and its
//! header is the descriptor's schema, and a bad parameter is a 400 naming it.

use hromada::store::{ReportScope, Store};
use serde_json::Value;

use crate::common::db::Db;

use crate::portal::{BONDAR, Browser, Portal, ROMANENKO};
use crate::registry_history::{at, draft, store_of, write};

/// A registered card with its number, date, kind and execution.
#[allow(clippy::too_many_arguments)]
async fn card(
    store: &Store,
    n: u32,
    participant: &str,
    journal: &str,
    direction: &str,
    kind: &str,
    reg_date: &str,
    work: Option<(&str, &str, &str, &str, Option<&str>)>,
) {
    let mut c = draft(&format!("card-{n:032x}"), participant, journal, direction);
    c.kind = kind.into();
    c.status = "registered".into();
    c.period = Some(reg_date[..4].into());
    c.seq = Some(i64::from(n));
    c.reg_number = Some(format!("{n}"));
    c.reg_date = Some(reg_date.into());
    c.registered_at = Some(format!("{reg_date}T08:00:00.000000000Z"));
    if let Some((executor, unit, deadline, control, executed_at)) = work {
        c.executor = Some(executor.into());
        c.unit = Some(unit.into());
        c.deadline = Some(deadline.into());
        c.control = control.into();
        if let Some(t) = executed_at {
            c.executed_at = Some(t.into());
            c.status = "executed".into();
        }
    }
    write(
        store,
        None,
        &c,
        "official:lysenko-t",
        None,
        "registered",
        at(2, 9, 0),
    )
    .await;
}

/// RFC 4180 records of `text` (quoted cells, doubled quotes, CRLF line ends).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut cell) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut cell)),
            (false, '\r') => assert_eq!(chars.next(), Some('\n'), "a CR without LF in {text}"),
            (false, '\n') => panic!("a bare LF ends a record in {text}"),
            (false, c) => cell.push(c),
        }
        if !quoted && ch == '\r' {
            record.push(std::mem::take(&mut cell));
            records.push(std::mem::take(&mut record));
        }
    }
    assert!(
        record.is_empty() && cell.is_empty(),
        "the last record has no CRLF: {text}"
    );
    records
}

/// The CSV file `name` for `query` as a header and rows keyed by it.
async fn csv_rows(browser: &Browser, name: &str, query: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let (status, headers, body) = browser
        .get_bytes(&format!("/registry/reports/{name}?{query}"))
        .await;
    let text = String::from_utf8(body).expect("the CSV is UTF-8");
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let mut records = parse_csv(&text);
    let header = records.remove(0);
    (header, records)
}

async fn json_of(browser: &Browser, path: &str) -> Value {
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    serde_json::from_str(&page.body).unwrap()
}

fn cell<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    &row[header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_reports_count_the_readers_cards_masked_as_the_policies_say() {
    let portal = Portal::start().await;
    let store = store_of(&portal).await;
    let social = "city-council/social-aid";
    // Deadline 10 March: executed 23:30 in Kyiv that day (21:30 UTC) is on time, 00:30 the
    // next day (22:30 UTC) is late.
    card(
        &store,
        1,
        "city-council",
        "council-incoming",
        "incoming",
        "letter",
        "2026-03-02",
        Some((
            "koval-o",
            social,
            "2026-03-10",
            "removed",
            Some("2026-03-10T21:30:00.000000000Z"),
        )),
    )
    .await;
    card(
        &store,
        2,
        "city-council",
        "council-incoming",
        "incoming",
        "letter",
        "2026-03-03",
        Some((
            "koval-o",
            social,
            "2026-03-10",
            "removed",
            Some("2026-03-10T22:30:00.000000000Z"),
        )),
    )
    .await;
    // On control, its deadline long past on the appliance's day (21 December): overdue.
    card(
        &store,
        3,
        "city-council",
        "council-incoming",
        "incoming",
        "letter",
        "2026-03-04",
        Some(("koval-o", social, "2026-03-20", "on", None)),
    )
    .await;
    // On control, its deadline to come.
    card(
        &store,
        4,
        "city-council",
        "council-incoming",
        "incoming",
        "letter",
        "2026-04-01",
        Some(("moroz-v", social, "2027-01-15", "on", None)),
    )
    .await;
    card(
        &store,
        5,
        "city-council",
        "council-incoming",
        "incoming",
        "complaint",
        "2026-04-02",
        None,
    )
    .await;
    card(
        &store,
        6,
        "city-council",
        "council-internal",
        "internal",
        "memo",
        "2026-03-05",
        None,
    )
    .await;
    // Another participant's card, a card of last year, and a draft: not counted.
    card(
        &store,
        7,
        "registration-dept",
        "registration-outgoing",
        "outgoing",
        "letter",
        "2026-03-02",
        Some((
            "polishchuk-y",
            "registration-dept/residence",
            "2026-03-05",
            "on",
            None,
        )),
    )
    .await;
    card(
        &store,
        8,
        "city-council",
        "council-incoming",
        "incoming",
        "letter",
        "2025-12-30",
        Some(("koval-o", social, "2026-01-10", "on", None)),
    )
    .await;
    let d = draft(
        "card-000000000000000000000000000000d9",
        "city-council",
        "council-incoming",
        "incoming",
    );
    write(
        &store,
        None,
        &d,
        "official:lysenko-t",
        None,
        "created",
        at(2, 9, 0),
    )
    .await;

    let bondar = portal.sign_in_official(&BONDAR).await;

    // Flow: per journal, month, direction and kind, this year through today by default.
    let (header, rows) = csv_rows(&bondar, "flow.csv", "").await;
    assert_eq!(
        header,
        [
            "journal",
            "journal_title",
            "month",
            "direction",
            "kind",
            "registered"
        ]
    );
    let flow: Vec<(String, String, String, String, String)> = rows
        .iter()
        .map(|r| {
            let c = |n| cell(&header, r, n).to_string();
            (
                c("journal"),
                c("month"),
                c("direction"),
                c("kind"),
                c("registered"),
            )
        })
        .collect();
    let expected = [
        ("council-incoming", "2026-03", "incoming", "letter", "3"),
        ("council-incoming", "2026-04", "incoming", "complaint", "1"),
        ("council-incoming", "2026-04", "incoming", "letter", "1"),
        ("council-internal", "2026-03", "internal", "memo", "1"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(a, b, c, d, e)| {
            (
                a.to_string(),
                b.to_string(),
                c.to_string(),
                d.to_string(),
                e.to_string(),
            )
        })
        .collect();
    assert_eq!(flow, expected);
    assert_eq!(
        cell(&header, &rows[0], "journal_title"),
        "Журнал реєстрації вхідних документів виконавчого комітету"
    );
    // The JSON file holds the same rows as objects.
    let json = json_of(&bondar, "/registry/reports/flow.json").await;
    assert_eq!(json.as_array().unwrap().len(), 4);
    assert_eq!(json[0]["registered"], 3);
    assert_eq!(json[3]["kind"], "memo");

    // Execution: masked by unit and position (the example city masks personal data in exports).
    let (header, rows) = csv_rows(&bondar, "execution.csv", "").await;
    assert_eq!(
        header,
        [
            "unit",
            "executor",
            "executor_name",
            "executor_position",
            "assigned",
            "on_control",
            "executed",
            "executed_on_time",
            "executed_late",
            "overdue"
        ]
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    let row = |position: &str| {
        rows.iter()
            .find(|r| cell(&header, r, "executor_position") == position)
            .unwrap_or_else(|| panic!("no row for {position}: {rows:?}"))
    };
    let figures = |r: &Vec<String>| -> Vec<String> {
        [
            "unit",
            "executor",
            "executor_name",
            "assigned",
            "on_control",
            "executed",
            "executed_on_time",
            "executed_late",
            "overdue",
        ]
        .iter()
        .map(|n| cell(&header, r, n).to_string())
        .collect()
    };
    assert_eq!(
        figures(row(
            "Головний спеціаліст відділу адресної соціальної допомоги"
        )),
        [social, "", "", "3", "1", "2", "1", "1", "1"]
    );
    assert_eq!(
        figures(row(
            "Провідний спеціаліст відділу адресної соціальної допомоги"
        )),
        [social, "", "", "1", "1", "0", "0", "0", "0"]
    );
    let json = json_of(&bondar, "/registry/reports/execution.json").await;
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .any(|r| r["executed_late"] == 1 && r["overdue"] == 1)
    );
    // No file names an executor, a citizen or another participant's anything.
    for file in [
        "flow.csv",
        "flow.json",
        "execution.csv",
        "execution.json",
        "datapackage.json",
    ] {
        let page = bondar.get(&format!("/registry/reports/{file}")).await;
        for word in [
            "koval",
            "Коваль",
            "moroz",
            "Мороз",
            "Петренко",
            "registration-dept",
            "polishchuk",
        ] {
            assert!(
                !page.body.contains(word),
                "{file} shows «{word}»:\n{}",
                page.body
            );
        }
    }

    // The descriptor's schemas are the CSV headers; every resource's path carries the scope.
    let package = json_of(
        &bondar,
        "/registry/reports/datapackage.json?from=2026-03-01&to=2026-03-31",
    )
    .await;
    assert_eq!(package["profile"], "tabular-data-package");
    let resources = package["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 4);
    for r in resources {
        let path = r["path"].as_str().unwrap();
        assert!(path.ends_with("?from=2026-03-01&to=2026-03-31"), "{path}");
        let file = path.split('?').next().unwrap();
        let names: Vec<String> = r["schema"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        let csv_file = file.replace(".json", ".csv");
        let (header, _) = csv_rows(&bondar, &csv_file, "from=2026-03-01&to=2026-03-31").await;
        assert_eq!(names, header, "{file}");
    }

    // A period and a journal narrow it; last year's card counts when the period covers it.
    let (header, rows) = csv_rows(
        &bondar,
        "flow.csv",
        "from=2025-12-01&to=2026-03-02&journal=council-incoming",
    )
    .await;
    let months: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (cell(&header, r, "month"), cell(&header, r, "registered")))
        .collect();
    assert_eq!(months, [("2025-12", "1"), ("2026-03", "1")]);
    let (_, rows) = csv_rows(&bondar, "execution.csv", "journal=council-internal").await;
    assert!(rows.is_empty(), "{rows:?}");

    // The page shows the same figures and links the files with the scope.
    let page = bondar
        .get("/registry/reports?from=2026-03-01&to=2026-04-30")
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(r#"<strong id="registered-total">6</strong>"#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("/registry/reports/flow.csv?from=2026-03-01&amp;to=2026-04-30"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Петренко"), "{}", page.body);

    // Bad parameters: a 400 naming the parameter and the value; nothing counted.
    for (query, names) in [
        ("from=2026-02-30", "«from»: «2026-02-30»"),
        ("to=20260301", "«to»: «20260301»"),
        ("from=2026-3-1", "«from»: «2026-3-1»"),
        (
            "from=2026-05-01&to=2026-04-01",
            "«from» (2026-05-01) пізніший за «to» (2026-04-01)",
        ),
        (
            "journal=registration-outgoing",
            "«journal»: «registration-outgoing»",
        ),
        ("journal=nope", "«journal»: «nope»"),
    ] {
        for path in [
            "/registry/reports/flow.csv",
            "/registry/reports/execution.json",
            "/registry/reports",
        ] {
            let page = bondar.get(&format!("{path}?{query}")).await;
            assert_eq!(page.status, 400, "{path}?{query}: {}", page.body);
            assert!(page.body.contains(names), "{path}?{query}: {}", page.body);
        }
    }
    assert_eq!(bondar.get("/registry/reports/flow.xml").await.status, 404);
    // An official without documents-read is refused.
    let romanenko = portal.sign_in_official(&ROMANENKO).await;
    assert_eq!(
        romanenko.get("/registry/reports/flow.csv").await.status,
        403
    );
    assert_eq!(romanenko.get("/registry/reports").await.status, 403);

    // Policies that no longer mask personal data in exports: each executor by login and name.
    let before = portal.app.applied();
    for file in ["policies/personal-data.kdl", "policies/sensitive-data.kdl"] {
        portal
            .city
            .edit(file, r#"mask "logs" "exports""#, r#"mask "logs""#);
    }
    portal.app.wait_for("the policies' change applied", |s| {
        s["applied"]["revision"]
            .as_str()
            .is_some_and(|r| r != before)
    });
    let (header, rows) = csv_rows(&bondar, "execution.csv", "").await;
    let named: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                cell(&header, r, "executor"),
                cell(&header, r, "executor_name"),
                cell(&header, r, "assigned"),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("koval-o", "Коваль Оксана Миколаївна", "3"),
            ("moroz-v", "Мороз Валентина Григорівна", "1")
        ]
    );
    let package = json_of(&bondar, "/registry/reports/datapackage.json").await;
    assert!(
        package["description"]
            .as_str()
            .unwrap()
            .contains("Executors are named"),
        "{package}"
    );
}

crate::both! {
    async fn registry_reports_aggregate_the_same_on_both_databases(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let social = "city-council/social-aid";
        card(&store, 1, "city-council", "council-incoming", "incoming", "letter", "2026-03-02",
            Some(("koval-o", social, "2026-03-10", "removed", Some("2026-03-10T21:30:00.000000000Z")))).await;
        card(&store, 2, "city-council", "council-incoming", "incoming", "letter", "2026-03-03",
            Some(("koval-o", social, "2026-03-10", "removed", Some("2026-03-10T22:30:00.000000000Z")))).await;
        card(&store, 3, "city-council", "council-incoming", "incoming", "letter", "2026-03-04",
            Some(("koval-o", social, "2026-03-20", "on", None))).await;
        card(&store, 4, "city-council", "council-internal", "internal", "memo", "2026-04-01",
            Some(("moroz-v", social, "2026-04-03", "removed", None))).await;
        card(&store, 5, "registration-dept", "registration-outgoing", "outgoing", "letter",
            "2026-03-02", Some(("koval-o", social, "2026-03-05", "on", None))).await;
        let scope = ReportScope {
            participant: "city-council".into(),
            journal: None,
            from: "2026-03-01".into(),
            to: "2026-04-30".into(),
        };
        let flow = store.card_flow(&scope).await.unwrap();
        let flow: Vec<(&str, &str, i64)> =
            flow.iter().map(|r| (r.journal.as_str(), r.month.as_str(), r.registered)).collect();
        assert_eq!(flow, [("council-incoming", "2026-03", 3), ("council-internal", "2026-04", 1)]);
        assert_eq!(store.card_deadlines(&scope).await.unwrap(), ["2026-03-10"]);
        // The end of 10 March in Kyiv is 22:00 UTC.
        let ends = [("2026-03-10".to_string(), "2026-03-10T22:00:00.000000000Z".to_string())];
        let rows = store.card_execution(&scope, "2026-12-21", &ends).await.unwrap();
        let rows: Vec<(&str, i64, i64, i64, i64, i64, i64)> = rows
            .iter()
            .map(|r| (r.executor.as_str(), r.assigned, r.on_control, r.executed,
                      r.executed_on_time, r.executed_late, r.overdue))
            .collect();
        // Moroz's card was removed from control unexecuted: not overdue.
        assert_eq!(rows, [("koval-o", 3, 1, 2, 1, 1, 1), ("moroz-v", 1, 0, 0, 0, 0, 0)]);
        // One journal, and a period before the third card's deadline passed.
        let scope = ReportScope { journal: Some("council-incoming".into()), ..scope };
        let rows = store.card_execution(&scope, "2026-03-15", &ends).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].assigned, rows[0].overdue), (3, 0));
        // More deadlines than a query takes: a clear error, not a failed statement.
        let many: Vec<(String, String)> =
            (0..=hromada::store::MAX_DEADLINES).map(|i| (i.to_string(), i.to_string())).collect();
        let e = store.card_execution(&scope, "2026-03-15", &many).await.unwrap_err();
        assert!(e.to_string().contains("choose a shorter period"), "{e}");
    }
}
