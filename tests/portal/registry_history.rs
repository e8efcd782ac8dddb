//! A card's history (REG-4): every change listed with who, acting for whom, when and each
//! field's old and new value, the chain checked around the card's events on the page, and
//! `audit verify` holding each card row to its events on SQLite and PostgreSQL: a row changed
//! without an event, an event deleted or rewritten, a card deleted, each named by the card.

use chrono::{DateTime, TimeZone, Utc};
use hromada::store::{CardChange, CardRow, CaseRow, NewCaseEvent, Store, time_text};
use hromada::workflow::history;
use serde_json::json;

use crate::common::db::{Db, execute};
use crate::portal::{BONDAR, KOVAL, Portal, ROMANENKO};

/// The appliance's own store, for writing cards as the registry's pages would.
pub(crate) async fn store_of(portal: &Portal) -> Store {
    let db = portal.city.dir.path().join("data/hromada.db");
    Store::connect(&Store::sqlite_url(&db)).await.unwrap()
}

/// 2026-03-`day` `hour`:`minute` UTC.
pub(crate) fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, minute, 0).unwrap()
}

/// A draft card `id` of `participant` in `journal`, version 1.
pub(crate) fn draft(id: &str, participant: &str, journal: &str, direction: &str) -> CardRow {
    let created = hromada::store::time_text(&at(2, 9, 0));
    CardRow {
        id: id.into(),
        participant: participant.into(),
        journal: journal.into(),
        direction: direction.into(),
        kind: "letter".into(),
        status: "draft".into(),
        period: None,
        seq: None,
        reg_number: None,
        reg_date: None,
        registered_at: None,
        case_code: None,
        summary: "Про ремонт покрівлі".into(),
        correspondent: Some("Петренко Іван Іванович".into()),
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
        pages: Some(2),
        paper: 0,
        related: "[]".into(),
        extra: "{}".into(),
        source: "registry".into(),
        source_ref: Some(id.into()),
        archived_at: None,
        version: 1,
        created_at: created.clone(),
        created_by: "official:lysenko-t".into(),
        updated_at: created,
    }
}

/// Writes `after` over `before` through `Store::write_card`, as `actor` (for `on_behalf`).
pub(crate) async fn write(
    store: &Store,
    before: Option<&CardRow>,
    after: &CardRow,
    actor: &str,
    on_behalf: Option<&str>,
    kind: &str,
    when: DateTime<Utc>,
) {
    let mut tx = store.begin().await.unwrap();
    let written = store
        .write_card(
            &mut tx,
            &CardChange {
                before,
                after,
                actor,
                on_behalf,
                kind,
                note: json!({}),
                at: when,
            },
        )
        .await
        .unwrap();
    assert!(written, "card {} was not written", after.id);
    tx.commit().await.unwrap();
}

/// `card` moved to its next version with `change` applied.
pub(crate) fn next(card: &CardRow, change: impl FnOnce(&mut CardRow)) -> CardRow {
    let mut after = card.clone();
    change(&mut after);
    after.version = card.version + 1;
    after
}

/// A card created, registered and given an executor and deadline by a deputy acting for the
/// head: three events. Returns the card as it ends.
pub(crate) async fn registered_card(store: &Store, id: &str) -> CardRow {
    let created = draft(id, "city-council", "council-incoming", "incoming");
    write(
        store,
        None,
        &created,
        "official:lysenko-t",
        None,
        "created",
        at(2, 9, 0),
    )
    .await;
    let registered = next(&created, |c| {
        c.status = "registered".into();
        c.period = Some("2026".into());
        c.reg_number = Some(format!("{}/01-2026", &id[id.len() - 3..]));
        c.reg_date = Some("2026-03-02".into());
        c.registered_at = Some(hromada::store::time_text(&at(2, 9, 5)));
    });
    write(
        store,
        Some(&created),
        &registered,
        "official:lysenko-t",
        None,
        "registered",
        at(2, 9, 5),
    )
    .await;
    let resolved = next(&registered, |c| {
        c.unit = Some("city-council/social-aid".into());
        c.executor = Some("koval-o".into());
        c.deadline = Some("2026-03-12".into());
        c.control = "on".into();
    });
    write(
        store,
        Some(&registered),
        &resolved,
        "official:tkachenko-o",
        Some("official:bondar-a"),
        "resolved",
        at(2, 11, 0),
    )
    .await;
    resolved
}

fn names_card(problems: &[String], card: &str, words: &str) -> bool {
    problems
        .iter()
        .any(|p| p.contains(card) && p.contains(words))
}

crate::both! {
    async fn registry_history_audit_verify_holds_each_card_row_to_its_events(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let ids: Vec<String> = (1..=5).map(|n| format!("card-{n:032x}")).collect();
        for id in &ids {
            registered_card(&store, id).await;
        }
        let report = history::verify(&store).await.unwrap();
        assert!(report.intact(), "{:?}", report.problems);
        assert_eq!(report.events, 15);
        // The chain's neighbours of a card's events, as the history page checks its links by.
        let own: Vec<i64> = store.case_events(&ids[1]).await.unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(own, [4, 5, 6]);
        let around: Vec<i64> = store.case_event_neighbours(&ids[1]).await.unwrap().iter().map(|n| n.0).collect();
        assert_eq!(around, [3, 4, 5, 6, 7]);
        let out = crate::common::hromada(&["audit", "verify", "--database-url", &db.url]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("case history intact: 15 event(s)"), "{stdout}");

        // An event's content rewritten: the chain names the card; put back, all is intact again.
        let (a, b, c, d, e) = (&ids[0], &ids[1], &ids[2], &ids[3], &ids[4]);
        let original = store.case_events(a).await.unwrap()[1].detail.clone();
        let rewritten = original.replace("2026-03-02", "2026-03-01");
        execute(&db.url, &format!(
            "UPDATE case_events SET detail = '{rewritten}' WHERE case_id = '{a}' AND kind = 'registered'")).await;
        let report = history::verify(&store).await.unwrap();
        assert!(names_card(&report.problems, a, "changed after it was written"), "{:?}", report.problems);
        execute(&db.url, &format!(
            "UPDATE case_events SET detail = '{original}' WHERE case_id = '{a}' AND kind = 'registered'")).await;
        assert!(history::verify(&store).await.unwrap().intact());

        // A row changed without an event: its summary and version moved.
        execute(&db.url, &format!("UPDATE cards SET summary = 'Інше', version = 4 WHERE id = '{a}'")).await;
        // Its summary alone, the version left as it was.
        execute(&db.url, &format!("UPDATE cards SET summary = 'Інше' WHERE id = '{b}'")).await;
        // Its status alone.
        execute(&db.url, &format!("UPDATE cards SET status = 'executed' WHERE id = '{c}'")).await;
        // Its last event deleted (the chain breaks too).
        execute(&db.url, &format!("DELETE FROM case_events WHERE case_id = '{d}' AND kind = 'resolved'")).await;
        // The card deleted, its events left.
        execute(&db.url, &format!("DELETE FROM card_index_queue WHERE card_id = '{e}'")).await;
        execute(&db.url, &format!("DELETE FROM cards WHERE id = '{e}'")).await;
        let report = history::verify(&store).await.unwrap();
        let p = &report.problems;
        assert!(names_card(p, a, "says version 4, its history ends at version 3"), "{p:?}");
        assert!(names_card(p, b, "`summary` in the store is not what its history last set"), "{p:?}");
        assert!(names_card(p, c, "says status `executed`, its history leads to `registered`"), "{p:?}");
        assert!(names_card(p, d, "says version 3, its history ends at version 2"), "{p:?}");
        assert!(names_card(p, e, "the card itself was deleted"), "{p:?}");
        assert!(p.iter().any(|p| p.contains("missing")), "{p:?}");

        let out = crate::common::hromada(&["audit", "verify", "--database-url", &db.url]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("case history BROKEN") && stdout.contains(a.as_str()), "{stdout}");

        // A middle event deleted: the versions jump.
        let fresh = Store::connect(&db.url).await.unwrap();
        let f = "card-ffffffffffffffffffffffffffffffff";
        registered_card(&fresh, f).await;
        execute(&db.url, &format!("DELETE FROM case_events WHERE case_id = '{f}' AND kind = 'registered'")).await;
        let report = history::verify(&fresh).await.unwrap();
        assert!(names_card(&report.problems, f, "jumps from version 1 to 3"), "{:?}", report.problems);
    }
}

/// The history page through `hromada serve`: every change with old and new values and labels,
/// the deputy's "acting for", the chain badge, and a rewritten event breaking it; the read rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_history_page_lists_every_change_and_checks_the_chain() {
    let portal = Portal::start().await;
    let store = store_of(&portal).await;
    let card = registered_card(&store, "card-0000000000000000000000000000a001").await;
    let theirs = draft(
        "card-0000000000000000000000000000b001",
        "registration-dept",
        "registration-outgoing",
        "outgoing",
    );
    write(
        &store,
        None,
        &theirs,
        "official:kravchenko-s",
        None,
        "created",
        at(2, 9, 0),
    )
    .await;
    let mine = draft(
        "card-0000000000000000000000000000c001",
        "city-council",
        "council-internal",
        "internal",
    );
    write(
        &store,
        None,
        &mine,
        "official:lysenko-t",
        None,
        "created",
        at(2, 9, 0),
    )
    .await;

    // The executor's work on it: a case about the card, moved by a deputy for the executor.
    let t = time_text(&at(3, 8, 0));
    let mut tx = store.begin().await.unwrap();
    store
        .insert_case(
            &mut tx,
            &CaseRow {
                id: "case-work-a001".into(),
                workflow: "document-execution".into(),
                revision: "r1".into(),
                e_service: "registry".into(),
                state: "done".into(),
                outcome: None,
                applicant: card.id.clone(),
                applicant_name: "001/01-2026".into(),
                applicant_email: None,
                assignee: Some("koval-o".into()),
                role: None,
                data: "{}".into(),
                registry: "{}".into(),
                decision: None,
                deadline_at: None,
                version: 2,
                created_at: t.clone(),
                updated_at: t.clone(),
                state_entered_at: t.clone(),
            },
        )
        .await
        .unwrap();
    for (actor, on_behalf, kind, from, to) in [
        ("engine", None, "started", None, "in-work"),
        (
            "official:moroz-v",
            Some("official:koval-o"),
            "transition",
            Some("in-work"),
            "done",
        ),
    ] {
        store
            .append_case_event(
                &mut tx,
                &NewCaseEvent {
                    case_id: "case-work-a001".into(),
                    at: t.clone(),
                    actor: actor.into(),
                    on_behalf: on_behalf.map(str::to_string),
                    kind: kind.into(),
                    event: None,
                    from_state: from.map(str::to_string),
                    to_state: Some(to.into()),
                    detail: "{}".into(),
                },
            )
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let bondar = portal.sign_in_official(&BONDAR).await;
    let path = format!("/registry/cards/{}/history", card.id);
    let page = bondar.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    for expected in [
        "Створено картку",
        "Зареєстровано",
        "Накладено резолюцію",
        // Who, by name and position, and the deputy acting for the head.
        "Лисенко Тетяна Володимирівна, Діловод загального відділу",
        "Ткаченко Олена Миколаївна, Начальник відділу адресної соціальної допомоги",
        "діє за Бондар Андрій Сергійович, Начальник загального відділу",
        // Field labels with old and new values.
        "Строк виконання",
        "2026-03-12",
        "Виконавець",
        "Коваль Оксана Миколаївна, Головний спеціаліст відділу адресної соціальної допомоги",
        "Контроль",
        "Не на контролі",
        "На контролі",
        "Реєстраційний індекс",
        "001/01-2026",
        "Стан",
        "Чернетка",
        // City time: 11:00 UTC on 2 March is 13:00 in Kyiv.
        "02.03.2026 13:00",
        "Цілісність підтверджено",
        // The executors' work, the deputy acting for the executor.
        "Виконання доручень",
        "Розпочато виконання",
        "«in-work» → «done»",
        "Мороз Валентина Григорівна, Провідний спеціаліст відділу адресної соціальної допомоги \
         (діє за Коваль Оксана Миколаївна",
    ] {
        assert!(
            body.contains(expected),
            "the history lacks «{expected}»:\n{body}"
        );
    }
    // The newest first; the resolution's row shows the executor's old value as a dash.
    let resolved = body.find("Накладено резолюцію").unwrap();
    let created = body.find("Створено картку").unwrap();
    assert!(resolved < created, "{body}");
    assert!(body[resolved..created].contains("<td>—</td>"), "{body}");

    // Another participant's card, and one that does not exist: the same 404, nothing of it.
    for id in [theirs.id.as_str(), "card-00000000000000000000000000000000"] {
        let page = bondar.get(&format!("/registry/cards/{id}/history")).await;
        assert_eq!(page.status, 404, "{}", page.body);
        assert!(
            !page.body.contains("Петренко") && !page.body.contains("Про ремонт"),
            "{}",
            page.body
        );
    }
    // Any reader of the participant reads it; an official without a documents role is refused.
    let koval = portal.sign_in_official(&KOVAL).await;
    assert_eq!(koval.get(&path).await.status, 200);
    let romanenko = portal.sign_in_official(&ROMANENKO).await;
    assert_eq!(romanenko.get(&path).await.status, 403);

    // A rewritten event of the executors' work: the badge names it; put back, intact again.
    let db = Store::sqlite_url(&portal.city.dir.path().join("data/hromada.db"));
    let rewrite = |on_behalf: &str| {
        format!(
            "UPDATE case_events SET on_behalf = {on_behalf} WHERE case_id = 'case-work-a001' \
         AND kind = 'transition'"
        )
    };
    execute(&db, &rewrite("NULL")).await;
    let page = bondar.get(&path).await;
    assert!(
        page.body
            .contains("(case-work-a001) змінено після того, як його записали"),
        "{}",
        page.body
    );
    execute(&db, &rewrite("'official:koval-o'")).await;
    assert!(
        bondar
            .get(&path)
            .await
            .body
            .contains("Цілісність підтверджено")
    );

    // A rewritten event: the badge names it; another card's history is not affected.
    let events = store.case_events(&card.id).await.unwrap();
    execute(
        &db,
        &format!(
            "UPDATE case_events SET actor = 'official:lysenko-t', on_behalf = NULL WHERE seq = {}",
            events[2].seq
        ),
    )
    .await;
    let page = bondar.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Цілісність історії порушено"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("запис {}", events[2].seq)),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("Цілісність підтверджено"),
        "{}",
        page.body
    );
    let other = bondar
        .get(&format!("/registry/cards/{}/history", mine.id))
        .await;
    assert!(
        other.body.contains("Цілісність підтверджено"),
        "{}",
        other.body
    );

    // An event deleted: the card's versions no longer reach its row's.
    execute(
        &db,
        &format!("DELETE FROM case_events WHERE seq = {}", events[2].seq),
    )
    .await;
    let page = bondar.get(&path).await;
    assert!(
        page.body
            .contains("картка має версію 3, а її історія закінчується версією 2"),
        "{}",
        page.body
    );
}

/// A card made, completed and registered through the registry's own pages: its history page
/// (linked from the card) lists each of those changes, the reports count it, and `audit
/// verify` finds the card's row held to its events.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_history_of_a_card_made_through_the_pages() {
    use crate::registry_cards::{add_file, draft_memo, pdf_a, register, version_on};

    let portal = Portal::start().await;
    let bondar = portal
        .sign_in_official_to(&BONDAR, "/registry/cards/new")
        .await;
    let id = draft_memo(&bondar, "Про графік відпусток на 2027 рік").await;
    let version = version_on(&bondar.get(&format!("/registry/cards/{id}")).await);
    let edited = bondar
        .post_form(
            &format!("/registry/cards/{id}/edit"),
            &[
                ("version", &version),
                ("summary", "Про графік відпусток на 2027 рік (уточнений)"),
                ("case_code", "01-05"),
                ("signer", "Бондар А. С."),
                ("addressees", "Ткаченко О. М.\nКоваль О. М."),
                ("pages", "3"),
                ("x-annexes", "1"),
            ],
        )
        .await;
    assert_eq!(edited.status, 303, "{}", edited.body);
    assert_eq!(
        add_file(&bondar, &id, "original", "графік.pdf", pdf_a())
            .await
            .status,
        303
    );
    let registered = register(&bondar, &id).await;
    assert_eq!(registered.status, 303, "{}", registered.body);

    let card = bondar.get(&format!("/registry/cards/{id}")).await;
    let link = format!("/registry/cards/{id}/history");
    assert!(card.body.contains(&link), "{}", card.body);
    let page = bondar.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for expected in [
        "Бондар Андрій Сергійович, Начальник загального відділу",
        "Короткий зміст",
        "Про графік відпусток на 2027 рік (уточнений)",
        "Кількість аркушів",
        "Реєстраційний індекс",
        "СЗ-1/2026",
        "Цілісність підтверджено",
    ] {
        assert!(
            page.body.contains(expected),
            "the history lacks «{expected}»:\n{}",
            page.body
        );
    }
    let store = store_of(&portal).await;
    let events = store.case_events(&id).await.unwrap();
    let row = store.card(&id).await.unwrap().unwrap();
    assert_eq!(events.len() as i64, row.version, "{events:?}");
    for e in &events {
        assert!(
            page.body.contains(&format!(r#"id="event-{}""#, e.seq)),
            "event {} is not shown",
            e.seq
        );
    }

    let flow = bondar.get("/registry/reports/flow.json").await;
    let flow: serde_json::Value = serde_json::from_str(&flow.body).unwrap();
    assert_eq!(flow[0]["journal"], "council-internal", "{flow}");
    assert_eq!(flow[0]["kind"], "memo", "{flow}");
    assert_eq!(flow[0]["registered"], 1, "{flow}");

    let report = history::verify(&store).await.unwrap();
    assert!(report.intact(), "{:?}", report.problems);
}
