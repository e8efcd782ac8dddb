//! Resolutions and control through `hromada serve` (REG-2; КМУ №55 п.64–75, п.171–175; 004
//! §5.1): the sealed tree and its executors' work as cases of the engine, deadlines from
//! registration, reminders and escalation from the resolution's deadline, changes of deadline,
//! removal from control, до справи, delegation and notices. Cards are registered as the
//! registrar's page leaves them, written through `Store::write_card` into the appliance's store.

use chrono::{DateTime, Utc};
use hromada::store::{CardChange, CardRow, Store};
use serde_json::{Value, json};

use crate::common::smtp::SmtpServer;
use crate::portal::{
    BONDAR, Browser, KOVAL, LYSENKO, MOROZ, OfficialAccount, Page, Portal, TKACHENKO,
};

async fn store_of(portal: &Portal) -> Store {
    let db = portal.city.dir.path().join("data/hromada.db");
    Store::connect(&Store::sqlite_url(&db)).await.unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// A card of the council's incoming journal registered at `registered_at` (RFC 3339) on
/// `reg_date`, numbered `number`.
async fn registered(store: &Store, number: &str, registered_at: &str, reg_date: &str) -> CardRow {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).unwrap();
    let card = CardRow {
        id: format!("card-{}", hex::encode(bytes)),
        participant: "city-council".into(),
        journal: "council-incoming".into(),
        direction: "incoming".into(),
        kind: "letter".into(),
        status: "registered".into(),
        period: Some("2026".into()),
        seq: Some(number.split('/').next().unwrap().parse().unwrap()),
        reg_number: Some(number.into()),
        reg_date: Some(reg_date.into()),
        registered_at: Some(registered_at.into()),
        case_code: None,
        summary: "Лист про ремонт покрівлі".into(),
        correspondent: Some("ОСББ «Затишок»".into()),
        correspondent_number: None,
        correspondent_date: None,
        signer: None,
        addressees: "[]".into(),
        unit: None,
        executor: None,
        deadline: None,
        interim_deadline: None,
        control: "none".into(),
        execution_mark: None,
        executed_at: None,
        pages: Some(1),
        paper: 0,
        related: "[]".into(),
        extra: "{}".into(),
        source: "registry".into(),
        source_ref: None,
        archived_at: None,
        version: 1,
        created_at: registered_at.into(),
        created_by: "official:lysenko-t".into(),
        updated_at: registered_at.into(),
    };
    let mut tx = store.begin().await.unwrap();
    let written = store
        .write_card(
            &mut tx,
            &CardChange {
                before: None,
                after: &card,
                actor: "official:lysenko-t",
                on_behalf: None,
                kind: "registered",
                note: Value::Null,
                at: at(registered_at),
            },
        )
        .await
        .unwrap();
    assert!(written);
    tx.commit().await.unwrap();
    card
}

async fn registry(portal: &Portal, who: &OfficialAccount) -> Browser {
    portal.sign_in_official_to(who, "/registry").await
}

fn has(page: &Page, text: &str) {
    assert!(
        page.body.contains(text),
        "`{text}` is not on {}:\n{}",
        page.url,
        page.body
    );
}

/// Posts a resolution on `card`; `fields` beyond the key.
async fn resolve(browser: &Browser, card: &str, key: &str, fields: &[(&str, &str)]) -> Page {
    let mut all = vec![("key", key)];
    all.extend_from_slice(fields);
    browser
        .post_form(&format!("/registry/cards/{card}/resolutions"), &all)
        .await
}

async fn card(store: &Store, id: &str) -> CardRow {
    store.card(id).await.unwrap().unwrap()
}

/// The kinds of the card's history events, oldest first.
async fn card_events(store: &Store, id: &str) -> Vec<(String, String, Option<String>, Value)> {
    store
        .case_events(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.kind,
                e.actor,
                e.on_behalf,
                serde_json::from_str(&e.detail).unwrap(),
            )
        })
        .collect()
}

/// The case of `official`'s work on `card`.
async fn case_of(store: &Store, card: &str, official: &str) -> String {
    store
        .card_executors(card)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.official == official)
        .unwrap_or_else(|| panic!("{official} has no work on {card}"))
        .case_id
}

/// Waits (60 s at most) for case `case` to hold a `kind` event.
async fn wait_for_event(portal: &Portal, store: &Store, case: &str, kind: &str) {
    let started = std::time::Instant::now();
    loop {
        let events = store.case_events(case).await.unwrap();
        if events.iter().any(|e| e.kind == kind) {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no `{kind}` event in case {case}: {:?}\n{}",
            events.iter().map(|e| &e.kind).collect::<Vec<_>>(),
            portal.app.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_resolutions_form_a_sealed_tree_whose_work_ends_in_an_executed_card() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let portal =
        Portal::start_with(&["--smtp", &url, "--mail-from", "registry@city.example"]).await;
    let store = store_of(&portal).await;
    let doc = registered(&store, "17/01-2026", "2026-12-21T09:00:00Z", "2026-12-21").await;
    let bondar = registry(&portal, &BONDAR).await;

    let page = resolve(
        &bondar,
        &doc.id,
        "first",
        &[
            ("main", KOVAL.id),
            ("co", MOROZ.id),
            ("informed", TKACHENKO.id),
            ("task", "Підготувати відповідь заявникам"),
            ("days", "10"),
            ("interim", "2026-12-28"),
        ],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // The same form posted again writes nothing more.
    let again = resolve(
        &bondar,
        &doc.id,
        "first",
        &[
            ("main", KOVAL.id),
            ("co", MOROZ.id),
            ("informed", TKACHENKO.id),
            ("task", "Підготувати відповідь заявникам"),
            ("days", "10"),
            ("interim", "2026-12-28"),
        ],
    )
    .await;
    assert_eq!(again.status, 303, "{}", again.body);
    let resolutions = store.resolutions_of(&doc.id).await.unwrap();
    assert_eq!(resolutions.len(), 1, "a double submit wrote twice");
    let top = &resolutions[0];
    // Registered Monday 21 December at 11:00 in Kyiv: ten calendar days run to the 31st.
    assert_eq!(top.deadline, "2026-12-31");
    let after = card(&store, &doc.id).await;
    assert_eq!(
        (
            after.executor.as_deref(),
            after.deadline.as_deref(),
            after.control.as_str(),
            after.version
        ),
        (Some(KOVAL.id), Some("2026-12-31"), "on", 2)
    );
    assert_eq!(after.interim_deadline.as_deref(), Some("2026-12-28"));
    let people = store.card_people(&doc.id).await.unwrap();
    for (who, relation) in [
        (KOVAL.id, "executor"),
        (MOROZ.id, "co-executor"),
        (TKACHENKO.id, "informed"),
        (BONDAR.id, "author"),
    ] {
        assert!(
            people.contains(&(who.to_string(), relation.to_string())),
            "{people:?}"
        );
    }
    let events = card_events(&store, &doc.id).await;
    let (kind, actor, _, detail) = events.last().unwrap();
    assert_eq!(
        (kind.as_str(), actor.as_str()),
        ("resolved", "official:bondar-a")
    );
    assert_eq!(detail["note"]["resolution"], json!(top.id));

    // The seal over the canonical JSON verifies with openssl, and fails after a byte changes.
    let path = format!("/registry/cards/{}/resolutions/{}", doc.id, top.id);
    let (status, _, canonical) = bondar.get_bytes(&format!("{path}/canonical.json")).await;
    assert_eq!(status, 200);
    let (status, _, seal) = bondar.get_bytes(&format!("{path}/seal.p7s")).await;
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.json"), &canonical).unwrap();
    std::fs::write(dir.path().join("r.p7s"), &seal).unwrap();
    let mut changed = canonical.clone();
    let i = changed.iter().position(|b| *b == b'2').unwrap();
    changed[i] = b'3';
    std::fs::write(dir.path().join("changed.json"), &changed).unwrap();
    let ca = portal.city.root().join("pki/ca.crt");
    let verify = |content: &str| {
        std::process::Command::new("openssl")
            .args([
                "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
            ])
            .arg("-in")
            .arg(dir.path().join("r.p7s"))
            .arg("-content")
            .arg(dir.path().join(content))
            .arg("-CAfile")
            .arg(&ca)
            .arg("-out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap()
    };
    let good = verify("r.json");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(
        !verify("changed.json").status.success(),
        "a changed resolution still verifies"
    );
    let sealed: Value = serde_json::from_slice(&canonical).unwrap();
    assert_eq!(sealed["main_executor"], json!(KOVAL.id));
    assert_eq!(sealed["deadline"], json!("2026-12-31"));

    // Koval's tasks list it with the notice; the mail reaches his work address.
    let koval = registry(&portal, &KOVAL).await;
    let tasks = koval.get("/registry/tasks").await;
    assert_eq!(tasks.status, 200, "{}", tasks.body);
    has(&tasks, "№ 17/01-2026");
    has(
        &tasks,
        "Вам доручено документ № 17/01-2026: Підготувати відповідь заявникам",
    );
    let informed = registry(&portal, &TKACHENKO)
        .await
        .get("/registry/tasks")
        .await;
    has(&informed, "До відома: документ № 17/01-2026");
    let arrived = crate::common::holds_within_30s(|| async {
        smtp.received()
            .iter()
            .any(|m| m.rcpt_tos == ["koval.o@zp.city.example"])
    })
    .await;
    assert!(
        arrived,
        "no mail reached the executor\n{}",
        portal.app.log()
    );
    let mail = smtp
        .received()
        .into_iter()
        .find(|m| m.rcpt_tos == ["koval.o@zp.city.example"])
        .unwrap();
    assert!(mail.body.contains("17/01-2026"), "{mail:?}");

    // Moroz, a co-executor, writes his own resolution: it hangs under the one that reached him.
    let moroz = registry(&portal, &MOROZ).await;
    let own = resolve(
        &moroz,
        &doc.id,
        "moroz-own",
        &[
            ("parent", &top.id),
            ("main", TKACHENKO.id),
            ("task", "Надати довідку про витрати"),
            ("deadline", "2026-12-29"),
        ],
    )
    .await;
    assert_eq!(own.status, 303, "{}", own.body);
    // Not later than the one that reached him.
    let late = resolve(
        &moroz,
        &doc.id,
        "moroz-late",
        &[
            ("parent", &top.id),
            ("main", TKACHENKO.id),
            ("task", "Пізніше"),
            ("deadline", "2027-01-15"),
        ],
    )
    .await;
    assert_eq!(late.status, 422, "{}", late.body);
    let all = store.resolutions_of(&doc.id).await.unwrap();
    assert_eq!(all.len(), 2);
    let child = all.iter().find(|r| r.id != top.id).unwrap();
    assert_eq!(child.parent.as_deref(), Some(top.id.as_str()));
    assert_eq!(child.author, MOROZ.id);
    let tree = bondar
        .get(&format!("/registry/cards/{}/resolutions", doc.id))
        .await;
    assert_eq!(tree.status, 200, "{}", tree.body);
    has(&tree, "data-depth=\"1\"");
    has(&tree, "Надати довідку про витрати");
    // The card's own executor and deadline stay those of the top resolution.
    assert_eq!(
        card(&store, &doc.id).await.executor.as_deref(),
        Some(KOVAL.id)
    );

    // Koval takes and executes his work; Moroz cannot execute Koval's.
    let koval_case = case_of(&store, &doc.id, KOVAL.id).await;
    let not_his = moroz
        .post_form(
            &format!("/registry/tasks/{koval_case}"),
            &[
                ("action", "execute"),
                ("state", "assigned"),
                ("key", "m1"),
                ("mark", "Я"),
            ],
        )
        .await;
    assert_eq!(not_his.status, 404, "{}", not_his.body);
    let taken = koval
        .post_form(
            &format!("/registry/tasks/{koval_case}"),
            &[("action", "take"), ("state", "assigned"), ("key", "k1")],
        )
        .await;
    assert_eq!(taken.status, 303, "{}", taken.body);
    let no_mark = koval
        .post_form(
            &format!("/registry/tasks/{koval_case}"),
            &[("action", "execute"), ("state", "in-work"), ("key", "k2")],
        )
        .await;
    assert_eq!(no_mark.status, 422, "{}", no_mark.body);
    let done = koval
        .post_form(
            &format!("/registry/tasks/{koval_case}"),
            &[
                ("action", "execute"),
                ("state", "in-work"),
                ("key", "k3"),
                ("mark", "Відповідь надіслано листом № 5"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let case = store.case(&koval_case).await.unwrap().unwrap();
    assert_eq!(case.outcome.as_deref(), Some("granted"));
    // Tkachenko's own work (the main executor of Moroz's resolution) is still open.
    let mid = card(&store, &doc.id).await;
    assert_eq!(mid.status, "registered");
    assert_eq!(
        mid.execution_mark.as_deref(),
        Some("Відповідь надіслано листом № 5")
    );
    let tkachenko = registry(&portal, &TKACHENKO).await;
    let theirs = case_of(&store, &doc.id, TKACHENKO.id).await;
    let done = tkachenko
        .post_form(
            &format!("/registry/tasks/{theirs}"),
            &[
                ("action", "execute"),
                ("state", "assigned"),
                ("key", "t1"),
                ("mark", "Довідку надано"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let last = card(&store, &doc.id).await;
    assert_eq!(last.status, "executed", "every main executor's work ended");
    assert!(last.executed_at.is_some());
    let kinds: Vec<String> = card_events(&store, &doc.id)
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        kinds,
        [
            "registered",
            "resolved",
            "resolved",
            "work-reported",
            "executed"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_resolutions_refuse_what_the_rules_forbid_and_change_nothing() {
    let portal = Portal::start().await;
    let store = store_of(&portal).await;
    let doc = registered(&store, "18/01-2026", "2026-12-21T09:00:00Z", "2026-12-21").await;
    let bondar = registry(&portal, &BONDAR).await;
    let cases: [(&str, Vec<(&str, &str)>, u16, &str); 7] = [
        (
            "two-main",
            vec![("main", KOVAL.id), ("main", MOROZ.id), ("task", "Т")],
            422,
            "рівно одного",
        ),
        ("no-main", vec![("task", "Т")], 422, "рівно одного"),
        (
            "co-main",
            vec![("main", KOVAL.id), ("co", KOVAL.id), ("task", "Т")],
            422,
            "співвиконавцем",
        ),
        (
            "other",
            vec![("main", "kravchenko-s"), ("task", "Т")],
            422,
            "kravchenko-s не є",
        ),
        (
            "early",
            vec![
                ("main", KOVAL.id),
                ("task", "Т"),
                ("deadline", "2026-12-20"),
            ],
            422,
            "раніший",
        ),
        ("no-task", vec![("main", KOVAL.id)], 422, "завдання"),
        (
            "bad-date",
            vec![
                ("main", KOVAL.id),
                ("task", "Т"),
                ("deadline", "31.12.2026"),
            ],
            422,
            "РРРР-ММ-ДД",
        ),
    ];
    for (key, fields, status, says) in cases {
        let page = resolve(&bondar, &doc.id, key, &fields).await;
        assert_eq!(page.status, status, "{key}: {}", page.body);
        has(&page, says);
        has(&page, "Нічого не змінено");
    }
    // One without the right to resolve: a clerk of the registry.
    let lysenko = registry(&portal, &LYSENKO).await;
    let page = resolve(
        &lysenko,
        &doc.id,
        "clerk",
        &[("main", KOVAL.id), ("task", "Т")],
    )
    .await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(store.resolutions_of(&doc.id).await.unwrap().is_empty());
    assert_eq!(
        card(&store, &doc.id).await,
        doc,
        "a refused resolution changed the card"
    );
    assert!(store.card_executors(&doc.id).await.unwrap().is_empty());

    // Registered Monday at 19:00 in Kyiv, after working hours: ten days run from Tuesday, to
    // Friday 1 January, a holiday, and so to Monday 4 January (п.171).
    portal.city.set_time("2026-12-21T17:00:00Z");
    let late = registered(&store, "19/01-2026", "2026-12-21T17:00:00Z", "2026-12-21").await;
    let page = resolve(
        &bondar,
        &late.id,
        "late",
        &[("main", KOVAL.id), ("task", "Т"), ("days", "10")],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        card(&store, &late.id).await.deadline.as_deref(),
        Some("2027-01-04")
    );
    // With no term given, the journal's control-days (30).
    let plain = registered(&store, "20/01-2026", "2026-12-21T09:00:00Z", "2026-12-21").await;
    let page = resolve(
        &bondar,
        &plain.id,
        "plain",
        &[("main", KOVAL.id), ("task", "Т")],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        card(&store, &plain.id).await.deadline.as_deref(),
        Some("2027-01-20")
    );

    // A change of deadline needs the role and a reason; refused, nothing changes.
    let before = card(&store, &late.id).await;
    let koval_case = case_of(&store, &late.id, KOVAL.id).await;
    let case_before = store.case(&koval_case).await.unwrap().unwrap();
    let koval = registry(&portal, &KOVAL).await;
    let version = before.version.to_string();
    let page = koval
        .post_form(
            &format!("/registry/cards/{}/deadline", late.id),
            &[
                ("version", &version),
                ("deadline", "2027-01-15"),
                ("reason", "Прошу"),
            ],
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    let page = bondar
        .post_form(
            &format!("/registry/cards/{}/deadline", late.id),
            &[("version", &version), ("deadline", "2027-01-15")],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    has(&page, "підстави");
    assert_eq!(card(&store, &late.id).await, before);
    assert_eq!(store.case(&koval_case).await.unwrap().unwrap(), case_before);
    // With both: the card's history holds old and new, and the case's timers move.
    let page = bondar
        .post_form(
            &format!("/registry/cards/{}/deadline", late.id),
            &[
                ("version", &version),
                ("deadline", "2027-01-15"),
                (
                    "reason",
                    "Лист заявника від 21.12.2026 про додаткові матеріали",
                ),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let moved = card(&store, &late.id).await;
    assert_eq!(moved.deadline.as_deref(), Some("2027-01-15"));
    let events = card_events(&store, &late.id).await;
    let (kind, actor, _, detail) = events.last().unwrap();
    assert_eq!(
        (kind.as_str(), actor.as_str()),
        ("deadline-changed", "official:bondar-a")
    );
    assert!(
        detail["changes"]
            .as_array()
            .unwrap()
            .contains(&json!({"field": "deadline", "old": "2027-01-04", "new": "2027-01-15"}))
    );
    assert_eq!(
        detail["note"]["reason"],
        json!("Лист заявника від 21.12.2026 про додаткові матеріали")
    );
    let case_after = store.case(&koval_case).await.unwrap().unwrap();
    assert_ne!(case_after.deadline_at, case_before.deadline_at);
    assert!(
        case_after
            .deadline_at
            .as_deref()
            .unwrap()
            .starts_with("2027-01-15T22:00:00"),
        "{:?}",
        case_after.deadline_at
    );
    // A stale form (the old version) is refused.
    let page = bondar
        .post_form(
            &format!("/registry/cards/{}/deadline", late.id),
            &[
                ("version", &version),
                ("deadline", "2027-01-20"),
                ("reason", "Ще раз"),
            ],
        )
        .await;
    assert_eq!(page.status, 409, "{}", page.body);

    // Removal from control: who and why are recorded; the work's timers end.
    let version = moved.version.to_string();
    let page = bondar
        .post_form(
            &format!("/registry/cards/{}/control/remove", late.id),
            &[("version", &version)],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    let page = bondar
        .post_form(
            &format!("/registry/cards/{}/control/remove", late.id),
            &[
                ("version", &version),
                ("reason", "Питання вирішено на нараді 22.12.2026"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(card(&store, &late.id).await.control, "removed");
    let events = card_events(&store, &late.id).await;
    let (kind, actor, _, detail) = events.last().unwrap();
    assert_eq!(
        (kind.as_str(), actor.as_str()),
        ("removed-from-control", "official:bondar-a")
    );
    assert_eq!(
        detail["note"]["reason"],
        json!("Питання вирішено на нараді 22.12.2026")
    );
    assert_eq!(
        store.case(&koval_case).await.unwrap().unwrap().deadline_at,
        None
    );

    // До справи: closed without a task, with its reason; not once a resolution exists.
    let info = registered(&store, "21/01-2026", "2026-12-21T09:00:00Z", "2026-12-21").await;
    let page = bondar
        .post_form(
            &format!("/registry/cards/{}/file-away", info.id),
            &[
                ("version", "1"),
                ("reason", "Для відома, відповіді не потребує"),
                ("case", "01-05"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let filed = card(&store, &info.id).await;
    assert_eq!(
        (filed.status.as_str(), filed.case_code.as_deref()),
        ("filed", Some("01-05"))
    );
    assert!(store.card_executors(&info.id).await.unwrap().is_empty());
    let page = bondar
        .post_form(
            &format!("/registry/cards/{}/file-away", plain.id),
            &[("version", "2"), ("reason", "Ні")],
        )
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    // A resolution on a filed card is refused.
    let page = resolve(
        &bondar,
        &info.id,
        "filed",
        &[("main", KOVAL.id), ("task", "Т")],
    )
    .await;
    assert_eq!(page.status, 409, "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_resolutions_remind_and_escalate_from_the_resolutions_deadline() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let portal =
        Portal::start_with(&["--smtp", &url, "--mail-from", "registry@city.example"]).await;
    let store = store_of(&portal).await;
    let doc = registered(&store, "22/01-2026", "2026-12-21T09:00:00Z", "2026-12-21").await;
    let bondar = registry(&portal, &BONDAR).await;
    let page = resolve(
        &bondar,
        &doc.id,
        "timed",
        &[
            ("main", KOVAL.id),
            ("task", "Перевірити факти"),
            ("deadline", "2026-12-31"),
        ],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let case = case_of(&store, &doc.id, KOVAL.id).await;
    let row = store.case(&case).await.unwrap().unwrap();
    // The resolution's deadline, not the state's 30 days: the end of 31 December in Kyiv.
    let due = row.deadline_at.unwrap_or_default();
    assert!(due.starts_with("2026-12-31T22:00:00"), "{due}");
    // Two working days before it, the reminder: to the executor's cabinet and mail.
    portal.city.set_time("2026-12-30T08:00:00Z");
    wait_for_event(&portal, &store, &case, "reminded").await;
    let koval = registry(&portal, &KOVAL).await;
    let tasks = koval.get("/registry/tasks").await;
    has(&tasks, "Нагадування");
    let reminded = crate::common::holds_within_30s(|| async {
        smtp.received()
            .iter()
            .any(|m| m.rcpt_tos == ["koval.o@zp.city.example"] && m.body.contains("Нагадування"))
    })
    .await;
    assert!(reminded, "no reminder by mail\n{}", portal.app.log());
    let events = store.case_events(&case).await.unwrap();
    assert!(
        !events.iter().any(|e| e.kind == "escalated"),
        "escalated before the deadline"
    );
    // A working day after it (1 January is a holiday, then the weekend): escalated to the
    // records head, the control service.
    portal.city.set_time("2027-01-05T08:00:00Z");
    wait_for_event(&portal, &store, &case, "escalated").await;
    let row = store.case(&case).await.unwrap().unwrap();
    assert_eq!(row.role.as_deref(), Some("records-head"));
    let kinds: Vec<String> = store
        .case_events(&case)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&"overdue".to_string()), "{kinds:?}");
    let control = bondar.get("/registry/control").await;
    assert_eq!(control.status, 200, "{}", control.body);
    has(&control, "прострочено");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_resolutions_let_a_deputy_act_for_their_principal_only_within_the_period() {
    let portal = Portal::start().await;
    let store = store_of(&portal).await;
    let doc = registered(&store, "23/01-2026", "2026-12-21T09:00:00Z", "2026-12-21").await;
    let bondar = registry(&portal, &BONDAR).await;
    let page = resolve(
        &bondar,
        &doc.id,
        "for-moroz",
        &[("main", MOROZ.id), ("task", "Скласти акт обстеження")],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let case = case_of(&store, &doc.id, MOROZ.id).await;
    let koval = registry(&portal, &KOVAL).await;
    // Before any delegation Koval does not see Moroz's task.
    assert_eq!(
        koval.get(&format!("/registry/tasks/{case}")).await.status,
        404
    );

    let moroz = registry(&portal, &MOROZ).await;
    // Not to another unit.
    let page = moroz
        .post_form(
            "/registry/delegations",
            &[
                ("deputy", LYSENKO.id),
                ("starts_on", "2026-12-21"),
                ("ends_on", "2026-12-24"),
                ("decide", "1"),
                ("reason", "Відпустка"),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    has(&page, "тому самому підрозділі");
    // Not for another official, without the control role.
    let page = moroz
        .post_form(
            "/registry/delegations",
            &[
                ("principal", TKACHENKO.id),
                ("deputy", KOVAL.id),
                ("starts_on", "2026-12-21"),
                ("ends_on", "2026-12-24"),
                ("reason", "Відпустка"),
            ],
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        store
            .delegations_to(LYSENKO.id, "2026-12-22")
            .await
            .unwrap()
            .is_empty()
    );
    let page = moroz
        .post_form(
            "/registry/delegations",
            &[
                ("deputy", KOVAL.id),
                ("starts_on", "2026-12-21"),
                ("ends_on", "2026-12-24"),
                ("decide", "1"),
                ("reason", "Відпустка"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);

    // The deputy sees the principal's task and acts for them.
    let tasks = koval.get("/registry/tasks").await;
    has(&tasks, "№ 23/01-2026");
    has(&tasks, "заміщення: moroz-v");
    let done = koval
        .post_form(
            &format!("/registry/tasks/{case}"),
            &[
                ("action", "execute"),
                ("state", "assigned"),
                ("key", "d1"),
                ("mark", "Акт складено"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let history = store.case_events(&case).await.unwrap();
    let moved = history.iter().find(|e| e.kind == "transition").unwrap();
    assert_eq!(moved.actor, "official:koval-o");
    assert_eq!(moved.on_behalf.as_deref(), Some("official:moroz-v"));
    let events = card_events(&store, &doc.id).await;
    let (kind, actor, behalf, _) = events.last().unwrap();
    assert_eq!(
        (kind.as_str(), actor.as_str(), behalf.as_deref()),
        ("executed", "official:koval-o", Some("official:moroz-v"))
    );
    let task_page = koval.get(&format!("/registry/tasks/{case}")).await;
    has(&task_page, "заміщуючи official:moroz-v");

    // After the period, nothing: no task of Moroz's is shown to him or done by him.
    let second = registered(&store, "24/01-2026", "2026-12-21T09:00:00Z", "2026-12-21").await;
    let page = resolve(
        &bondar,
        &second.id,
        "later",
        &[("main", MOROZ.id), ("task", "Ще")],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let later = case_of(&store, &second.id, MOROZ.id).await;
    portal.city.set_time("2026-12-28T09:00:00Z");
    let tasks = koval.get("/registry/tasks").await;
    assert!(!tasks.body.contains("24/01-2026"), "{}", tasks.body);
    let page = koval
        .post_form(
            &format!("/registry/tasks/{later}"),
            &[
                ("action", "execute"),
                ("state", "assigned"),
                ("key", "d2"),
                ("mark", "Ні"),
            ],
        )
        .await;
    assert_eq!(page.status, 404, "{}", page.body);
    assert_eq!(store.case(&later).await.unwrap().unwrap().outcome, None);
}

/// The engine's registry calls: the execution workflow makes none.
struct NoCalls;

impl hromada::workflow::calls::Registries for NoCalls {
    fn call<'a>(
        &'a self,
        _: hromada::workflow::calls::RegistryCall<'a>,
    ) -> hromada::workflow::calls::BoxFuture<'a, hromada::workflow::calls::RegistryAnswer> {
        Box::pin(async {
            hromada::workflow::calls::RegistryAnswer::Failed {
                reason: "no registry is called".into(),
            }
        })
    }
}

mod on_both_stores {
    use std::sync::Arc;

    use hromada::store::{DelegationRow, ResolutionExecutorRow, Store};
    use hromada::workflow::clock::FakeClock;
    use hromada::workflow::engine::{Actor, Applicant, Engine, EngineError, Fire};
    use hromada::workflow::work::Work;
    use serde_json::json;

    use super::{NoCalls, at, registered};
    use crate::common::db::Db;

    fn delegation(id: &str, deputy: &str, ends_on: &str) -> DelegationRow {
        DelegationRow {
            id: id.into(),
            participant: "city-council".into(),
            unit: "city-council/social-aid".into(),
            principal: "moroz-v".into(),
            deputy: deputy.into(),
            decide: 1,
            starts_on: "2026-12-21".into(),
            ends_on: ends_on.into(),
            reason: "Відпустка".into(),
            created_by: "moroz-v".into(),
            created_at: "2026-12-21T09:00:00Z".into(),
            revoked_at: None,
            revoked_by: None,
        }
    }

    crate::both! {
        async fn registry_resolutions_work_and_delegations_keep_to_the_store(db: Db) {
            let store = Store::connect(&db.url).await.unwrap();
            let spec = hromada::spec::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).spec;
            let clock = FakeClock::at(at("2026-12-21T09:00:00Z"));
            let engine = Engine::new(store.clone(), Arc::new(clock.clone()), Arc::new(NoCalls));
            engine.apply_revision("r1", &spec).await.unwrap();
            let doc = registered(&store, "30/01-2026", "2026-12-21T09:00:00Z", "2026-12-21").await;
            let subject = Applicant { id: doc.id.clone(), name: "30/01-2026".into(), email: None };
            let actor = Actor::Official("bondar-a".into());
            let data = json!({"card": doc.id});
            let work = |key: &'static str, deadline| Work {
                key,
                workflow: "document-execution",
                of: "registry",
                subject: &subject,
                data: &data,
                assignee: "moroz-v",
                deadline,
                actor: &actor,
                on_behalf: None,
            };
            // Started in a transaction that is rolled back, the case and its timers are gone.
            let mut tx = store.begin().await.unwrap();
            let lost = engine.start_work(&mut tx, work("lost", at("2026-12-31T22:00:00Z"))).await.unwrap();
            drop(tx);
            assert_eq!(store.case(&lost.case_id).await.unwrap(), None);
            assert!(store.pending_timers(&lost.case_id).await.unwrap().is_empty());
            // An e-service's id is no case of work.
            let mut tx = store.begin().await.unwrap();
            let refused = engine
                .start_work(&mut tx, Work { of: "material-aid", ..work("aid", at("2026-12-31T22:00:00Z")) })
                .await;
            assert!(matches!(refused, Err(EngineError::Invalid(_))), "{refused:?}");
            drop(tx);

            let mut tx = store.begin().await.unwrap();
            let moved = engine.start_work(&mut tx, work("kept", at("2026-12-31T22:00:00Z"))).await.unwrap();
            let res = hromada::store::ResolutionRow {
                id: "res-0001".into(), card_id: doc.id.clone(), parent: None,
                author: "bondar-a".into(), acting_for: None, main_executor: "moroz-v".into(),
                co_executors: "[]".into(), informed: "[]".into(), task: "Т".into(),
                deadline: "2026-12-31".into(), interim_deadline: None,
                created_at: "2026-12-21T09:00:00Z".into(), canonical: "{}".into(),
                seal: vec![1, 2, 3], sealed_by: "city-council".into(),
            };
            store.insert_resolution(&mut tx, &res).await.unwrap();
            store.add_resolution_executor(&mut tx, &ResolutionExecutorRow {
                resolution_id: res.id.clone(), official: "moroz-v".into(),
                relation: "main".into(), case_id: moved.case_id.clone(),
            }).await.unwrap();
            tx.commit().await.unwrap();
            // The same key again starts nothing new.
            let mut tx = store.begin().await.unwrap();
            let again = engine.start_work(&mut tx, work("kept", at("2026-12-31T22:00:00Z"))).await.unwrap();
            assert_eq!(again.case_id, moved.case_id);
            drop(tx);

            let case = store.case(&moved.case_id).await.unwrap().unwrap();
            assert_eq!((case.e_service.as_str(), case.assignee.as_deref(), case.role.as_deref()),
                       ("registry", Some("moroz-v"), Some("assignee")));
            assert!(case.deadline_at.as_deref().unwrap().starts_with("2026-12-31T22:00:00"));
            let timers = store.pending_timers(&moved.case_id).await.unwrap();
            assert_eq!(timers.len(), 3, "deadline, reminder and escalation: {timers:?}");
            assert!(timers.iter().all(|t| t.due_at >= at("2026-12-29T22:00:00Z")), "{timers:?}");

            // A moved deadline moves every timer; a release ends them.
            let mut tx = store.begin().await.unwrap();
            let old = engine
                .move_deadline_in(&mut tx, &moved.case_id, at("2027-01-15T22:00:00Z"), (&actor, None), "Підстава")
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert!(old.unwrap().starts_with("2026-12-31T22:00:00"));
            let timers = store.pending_timers(&moved.case_id).await.unwrap();
            assert_eq!(timers.len(), 3);
            assert!(timers.iter().all(|t| t.due_at >= at("2027-01-12T22:00:00Z")), "{timers:?}");

            // Only the assignee (or who acts for them) fires its transitions.
            let fire = |who: &'static str, on_behalf: Option<&'static str>, key: &'static str| {
                (Actor::Official(who.into()), on_behalf, key)
            };
            let (koval, _, _) = fire("koval-o", None, "k");
            let mut tx = store.begin().await.unwrap();
            let denied = engine.fire_in(&mut tx, Fire {
                key: "koval-takes", case_id: &moved.case_id, event: "take", actor: &koval,
                on_behalf: None, seen_state: "assigned",
            }).await;
            assert!(matches!(denied, Err(EngineError::NotAllowed { .. })), "{denied:?}");
            drop(tx);
            let mut tx = store.begin().await.unwrap();
            engine.fire_in(&mut tx, Fire {
                key: "koval-takes-for-moroz", case_id: &moved.case_id, event: "take", actor: &koval,
                on_behalf: Some("official:moroz-v"), seen_state: "assigned",
            }).await.unwrap();
            tx.commit().await.unwrap();
            let history = store.case_events(&moved.case_id).await.unwrap();
            let taken = history.iter().find(|e| e.kind == "transition").unwrap();
            assert_eq!((taken.actor.as_str(), taken.on_behalf.as_deref()),
                       ("official:koval-o", Some("official:moroz-v")));
            // Entering `in-work` scheduled its timers from the case's own deadline.
            let case = store.case(&moved.case_id).await.unwrap().unwrap();
            assert!(case.deadline_at.as_deref().unwrap().starts_with("2027-01-15T22:00:00"));

            let tasks = store.tasks_of("koval-o", &["moroz-v".to_string()], 10).await.unwrap();
            assert_eq!(tasks.len(), 1);
            assert_eq!((tasks[0].state.as_str(), tasks[0].deadline.as_str()), ("in-work", "2026-12-31"));
            assert!(store.tasks_of("koval-o", &[], 10).await.unwrap().is_empty());
            let mut tx = store.begin().await.unwrap();
            assert_eq!(store.open_main_work_in(&mut tx, &doc.id).await.unwrap(), 1);
            engine.release_in(&mut tx, &moved.case_id, (&actor, None), "Знято з контролю").await.unwrap();
            tx.commit().await.unwrap();
            assert!(store.pending_timers(&moved.case_id).await.unwrap().is_empty());
            assert_eq!(store.case(&moved.case_id).await.unwrap().unwrap().deadline_at, None);
            let report = hromada::workflow::history::verify(&store).await.unwrap();
            assert!(report.problems.iter().all(|p| !p.contains(&moved.case_id)),
                    "the case chain does not hold the work's case: {:?}", report.problems);

            // Delegations: in force for their dates only, listed, revoked once.
            let mut tx = store.begin().await.unwrap();
            store.insert_delegation(&mut tx, &delegation("del-1", "koval-o", "2026-12-24")).await.unwrap();
            store.insert_delegation(&mut tx, &delegation("del-2", "tkachenko-o", "2026-12-31")).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(store.delegations_to("koval-o", "2026-12-22").await.unwrap().len(), 1);
            assert!(store.delegations_to("koval-o", "2026-12-25").await.unwrap().is_empty());
            assert_eq!(store.delegations_of("city-council", None).await.unwrap().len(), 2);
            assert_eq!(store.delegations_of("city-council", Some("tkachenko-o")).await.unwrap().len(), 1);
            assert!(store.delegations_of("vodokanal", None).await.unwrap().is_empty());
            let mut tx = store.begin().await.unwrap();
            assert!(store.revoke_delegation(&mut tx, "del-1", "moroz-v", "2026-12-22T09:00:00Z").await.unwrap());
            assert!(!store.revoke_delegation(&mut tx, "del-1", "moroz-v", "2026-12-22T10:00:00Z").await.unwrap());
            tx.commit().await.unwrap();
            assert!(store.delegations_to("koval-o", "2026-12-22").await.unwrap().is_empty());
            let kept = store.delegation("del-1").await.unwrap().unwrap();
            assert_eq!(kept.revoked_at.as_deref(), Some("2026-12-22T09:00:00Z"));
            assert!(store.cards_awaiting_resolution("city-council", 10).await.unwrap().is_empty(),
                    "a card with a resolution awaits none");
            let _ = clock;
        }
    }
}
