//! The registry's archive (REG-8): the store's acts and holds on SQLite and PostgreSQL (only an
//! act approved by another official destroys; a hold, even one placed after the act, keeps what
//! it covers; blobs go only when unused; metadata and history stay), and the archive's pages
//! over HTTP against the example city (the review lists only expired cards, the approval,
//! holds, transfer, and the original package restorable byte for byte).

use std::io::Read;

use chrono::{DateTime, TimeZone, Utc};
use hromada::store::{
    ActRefused, ActRow, Approval, CardChange, CardRow, HoldRow, NewCardFile, OriginalRow, Store,
    content_hash,
};
use serde_json::{Value, json};

use crate::common::db::{Db, execute};
use crate::portal::{BONDAR, LYSENKO, Portal, ROMANENKO, SAVCHENKO};

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
}

/// A card of city-council's incoming journal, filed in `case`, registered on `reg_date`.
fn card_row(id: &str, case: &str, status: &str, reg_date: &str) -> CardRow {
    CardRow {
        id: id.into(),
        participant: "city-council".into(),
        journal: "council-incoming".into(),
        direction: "incoming".into(),
        kind: "letter".into(),
        status: status.into(),
        period: Some(reg_date[..4].into()),
        seq: Some(i64::from(id.bytes().map(u32::from).sum::<u32>())),
        reg_number: Some(format!("{id}/01-{}", &reg_date[..4])),
        reg_date: Some(reg_date.into()),
        registered_at: Some(format!("{reg_date}T09:00:00Z")),
        case_code: Some(case.into()),
        summary: format!("Лист {id}"),
        correspondent: Some("ТОВ «Водограй»".into()),
        correspondent_number: Some("15/3".into()),
        correspondent_date: Some(reg_date.into()),
        signer: Some("Петренко І. І.".into()),
        addressees: r#"["Міський голова"]"#.into(),
        unit: Some("city-council/general".into()),
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
        source_ref: None,
        archived_at: None,
        version: 1,
        created_at: format!("{reg_date}T08:00:00Z"),
        created_by: "official:lysenko-t".into(),
        updated_at: format!("{reg_date}T09:00:00Z"),
    }
}

/// Writes `card` through `write_card` with `files` (file name, bytes).
async fn make_card(store: &Store, card: &CardRow, files: &[(&str, &[u8])]) {
    let mut tx = store.begin().await.unwrap();
    let change = CardChange {
        before: None,
        after: card,
        actor: "official:lysenko-t",
        on_behalf: None,
        kind: "created",
        note: Value::Null,
        at: at(2026, 3, 2),
    };
    assert!(store.write_card(&mut tx, &change).await.unwrap());
    for (name, content) in files {
        let file = NewCardFile {
            role: "original",
            file_name: name,
            media_type: "application/pdf",
            content,
        };
        store
            .add_card_file(
                &mut tx,
                &card.id,
                &file,
                "official:lysenko-t",
                at(2026, 3, 2),
            )
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

fn act(id: &str, by: &str) -> ActRow {
    ActRow {
        id: id.into(),
        participant: "city-council".into(),
        number: "0/2032".into(),
        reason: "Строк зберігання минув".into(),
        drawn_by: by.into(),
        drawn_at: "2032-02-01T10:00:00Z".into(),
        approved_by: None,
        approved_at: None,
    }
}

fn hold(id: &str, name: &str, scope: &str) -> HoldRow {
    HoldRow {
        id: id.into(),
        participant: "city-council".into(),
        name: name.into(),
        reason: "Запит суду".into(),
        scope: scope.into(),
        case_code: (scope == "case").then(|| "01-25".to_string()),
        journal: (scope == "journal").then(|| "council-incoming".to_string()),
        created_by: "bondar-a".into(),
        created_at: "2032-02-01T11:00:00Z".into(),
        released_by: None,
        released_at: None,
        release_reason: None,
    }
}

fn pairs(ids: &[&str]) -> Vec<(String, String)> {
    ids.iter()
        .map(|id| (id.to_string(), "01-25".to_string()))
        .collect()
}

crate::both! {
    async fn registry_archive_store_destroys_only_by_an_act_another_official_approved(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let (own, shared) = (b"%PDF-1.7 own letter".as_slice(), b"%PDF-1.7 shared annex".as_slice());
        make_card(&store, &card_row("card-a", "01-25", "executed", "2026-03-02"), &[("a.pdf", own), ("annex.pdf", shared)]).await;
        make_card(&store, &card_row("card-b", "01-25", "filed", "2026-04-01"), &[]).await;
        // A living card holds the same annex: its content must outlive card-a's destruction.
        make_card(&store, &card_row("card-c", "01-25", "registered", "2026-05-01"), &[("annex.pdf", shared)]).await;

        // Only closed cards of the participant go into an act.
        assert_eq!(
            store.draw_act(&act("act-x", "savchenko-l"), &pairs(&["card-a", "card-c"])).await.unwrap(),
            Err(ActRefused::NotClosed("card-c".into()))
        );
        assert!(store.act("act-x").await.unwrap().is_none(), "a refused act leaves nothing");
        let drawn = store
            .draw_act(&act("act-1", "savchenko-l"), &pairs(&["card-a", "card-b"]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(drawn.number, "1/2032");
        assert_eq!(
            store.draw_act(&act("act-2", "savchenko-l"), &pairs(&["card-b"])).await.unwrap(),
            Err(ActRefused::InAnotherAct("card-b".into()))
        );

        // Drawn up is not approved: nothing is destroyed yet.
        assert_eq!(store.card("card-a").await.unwrap().unwrap().status, "executed");
        assert!(store.blob(&content_hash(own)).await.unwrap().is_some());
        // The one who drew it up may not approve it.
        assert_eq!(
            store.approve_act("act-1", "savchenko-l", at(2032, 2, 2)).await.unwrap(),
            Approval::SameOfficial
        );
        assert_eq!(store.card("card-a").await.unwrap().unwrap().status, "executed");

        let Approval::Approved(lines) = store.approve_act("act-1", "bondar-a", at(2032, 2, 2)).await.unwrap() else {
            panic!("the act was not approved");
        };
        assert!(lines.iter().all(|l| l.outcome.as_deref() == Some("destroyed")), "{lines:?}");
        let approved = store.act("act-1").await.unwrap().unwrap();
        assert_eq!(approved.approved_by.as_deref(), Some("bondar-a"));
        assert_eq!(approved.approved_at.as_deref(), Some("2032-02-02T10:00:00.000000000Z"));
        assert_eq!(
            store.approve_act("act-1", "bondar-a", at(2032, 2, 3)).await.unwrap(),
            Approval::AlreadyApproved
        );

        // The card's metadata stays; its status is destroyed, with an event in its history.
        let a = store.card("card-a").await.unwrap().unwrap();
        assert_eq!((a.status.as_str(), a.version), ("destroyed", 2));
        assert_eq!(a.reg_number.as_deref(), Some("card-a/01-2026"));
        assert_eq!(a.summary, "Лист card-a");
        assert_eq!(a.case_code.as_deref(), Some("01-25"));
        let events = store.case_events("card-a").await.unwrap();
        let last = events.last().unwrap();
        assert_eq!((last.kind.as_str(), last.actor.as_str()), ("destroyed", "official:bondar-a"));
        assert_eq!(last.from_state.as_deref(), Some("executed"));
        assert!(last.detail.contains("1/2032"), "{}", last.detail);
        // Its files keep their rows and digests; the content only it held is gone, the shared one stays.
        let files = store.card_files("card-a").await.unwrap();
        assert!(files.iter().all(|f| f.destroyed_at.is_some()), "{files:?}");
        assert_eq!(files[0].sha256, content_hash(own));
        assert_eq!(store.blob(&content_hash(own)).await.unwrap(), None);
        assert_eq!(store.blob(&content_hash(shared)).await.unwrap().as_deref(), Some(shared));
        // The store's sweep of unused contents keeps what a living card holds.
        store.remove_unused_blobs().await.unwrap();
        assert_eq!(store.blob(&content_hash(shared)).await.unwrap().as_deref(), Some(shared));
        // A destroyed card goes into no later act.
        assert_eq!(
            store.draw_act(&act("act-3", "savchenko-l"), &pairs(&["card-a"])).await.unwrap(),
            Err(ActRefused::NotClosed("card-a".into()))
        );
        assert_eq!(store.acts("city-council").await.unwrap().len(), 1);
        assert_eq!(store.acts_of_card("card-a").await.unwrap().len(), 1);
    }

    async fn registry_archive_store_holds_stop_disposal_until_released(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        for id in ["card-h", "card-j", "card-k"] {
            make_card(&store, &card_row(id, "01-25", "executed", "2026-03-02"), &[]).await;
        }
        let mut other = card_row("card-o", "05-02", "executed", "2026-03-02");
        other.journal = "council-internal".into();
        make_card(&store, &other, &[]).await;

        store.draw_act(&act("act-1", "savchenko-l"), &[
            ("card-h".into(), "01-25".into()),
            ("card-j".into(), "01-25".into()),
            ("card-o".into(), "05-02".into()),
        ]).await.unwrap().unwrap();
        // A hold placed after the act was drawn up, covering one listed card by name.
        store.place_hold(&hold("hold-1", "Судова справа № 540/123/26", "cards"), &["card-h".into()]).await.unwrap();
        let on_h = store.holds_on(&store.card("card-h").await.unwrap().unwrap()).await.unwrap();
        assert_eq!(on_h.len(), 1);
        assert!(store.holds_on(&store.card("card-j").await.unwrap().unwrap()).await.unwrap().is_empty());

        let Approval::Approved(lines) = store.approve_act("act-1", "bondar-a", at(2032, 2, 2)).await.unwrap() else {
            panic!("the act was not approved");
        };
        let outcome = |id: &str| lines.iter().find(|l| l.card_id == id).unwrap().clone();
        assert_eq!(outcome("card-h").outcome.as_deref(), Some("held"));
        assert_eq!(outcome("card-h").hold_name.as_deref(), Some("Судова справа № 540/123/26"));
        assert_eq!(outcome("card-j").outcome.as_deref(), Some("destroyed"));
        assert_eq!(outcome("card-o").outcome.as_deref(), Some("destroyed"));
        let h = store.card("card-h").await.unwrap().unwrap();
        assert_eq!((h.status.as_str(), h.version), ("executed", 1), "a held card is untouched");

        // Holds by case and by journal cover every card of theirs.
        store.place_hold(&hold("hold-2", "Перевірка Держаудитслужби", "case"), &[]).await.unwrap();
        store.place_hold(&hold("hold-3", "Запит прокуратури", "journal"), &[]).await.unwrap();
        let k = store.card("card-k").await.unwrap().unwrap();
        let names: Vec<_> = store.holds_on(&k).await.unwrap().into_iter().map(|h| h.name).collect();
        assert_eq!(names, ["Перевірка Держаудитслужби", "Запит прокуратури"]);
        assert!(store.holds_on(&other).await.unwrap().is_empty(), "another case, another journal");

        // Released holds stop nothing; a release is once, with who, when and why.
        for id in ["hold-1", "hold-2", "hold-3"] {
            assert!(store.release_hold(id, "city-council", "bondar-a", "Рішення суду набрало сили", at(2032, 3, 1)).await.unwrap());
        }
        assert!(!store.release_hold("hold-1", "city-council", "bondar-a", "ще раз", at(2032, 3, 2)).await.unwrap());
        assert!(!store.release_hold("hold-1", "vodokanal", "x", "чужа", at(2032, 3, 2)).await.unwrap());
        let released = store.hold("hold-1").await.unwrap().unwrap();
        assert_eq!(released.released_by.as_deref(), Some("bondar-a"));
        assert_eq!(released.release_reason.as_deref(), Some("Рішення суду набрало сили"));
        assert_eq!(store.hold_cards("hold-1").await.unwrap(), ["card-h"]);
        assert!(store.holds_on(&k).await.unwrap().is_empty());

        // The held card now goes into a new act, and approval destroys it.
        store.draw_act(&act("act-2", "savchenko-l"), &pairs(&["card-h", "card-k"])).await.unwrap().unwrap();
        let Approval::Approved(lines) = store.approve_act("act-2", "bondar-a", at(2032, 3, 2)).await.unwrap() else {
            panic!("the act was not approved");
        };
        assert!(lines.iter().all(|l| l.outcome.as_deref() == Some("destroyed")), "{lines:?}");
        assert_eq!(store.card("card-h").await.unwrap().unwrap().status, "destroyed");
        assert_eq!(store.act("act-2").await.unwrap().unwrap().number, "2/2032");
    }

    async fn registry_archive_store_refuses_an_act_over_a_rewritten_card_row(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        make_card(&store, &card_row("card-r", "01-25", "executed", "2026-03-02"), &[("r.pdf", b"%PDF r")]).await;
        make_card(&store, &card_row("card-s", "01-25", "executed", "2026-03-02"), &[]).await;
        store.draw_act(&act("act-1", "savchenko-l"), &pairs(&["card-r", "card-s"])).await.unwrap().unwrap();
        // A card's row rewritten past the store after the act was drawn up: back in work.
        execute(&db.url, "UPDATE cards SET status = 'registered' WHERE id = 'card-s'").await;
        let err = store.approve_act("act-1", "bondar-a", at(2032, 2, 2)).await;
        let err = err.expect_err("an act over a card back in work is refused").to_string();
        assert!(err.contains("card-s") && err.contains("1/2032") && err.contains("registered"), "{err}");
        // Nothing of the approval is kept: not the approval, not the other card's destruction.
        assert_eq!(store.act("act-1").await.unwrap().unwrap().approved_at, None);
        assert_eq!(store.card("card-r").await.unwrap().unwrap().status, "executed");
        assert!(store.card_files("card-r").await.unwrap()[0].destroyed_at.is_none());
        assert!(store.blob(&content_hash(b"%PDF r")).await.unwrap().is_some());
    }
}

/// A page's text with the HTML escapes the templates write undone.
fn text(body: &str) -> String {
    body.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The ids of the cards a page's checkboxes offer.
fn offered(body: &str) -> Vec<String> {
    body.split(r#"name="card" value=""#)
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_archive_review_act_approval_and_holds_over_http() {
    let portal = Portal::start().await;
    let store = portal.store().await;
    // 01-25 keeps 5 years, 05-02 keeps 3, 01-01 forever (spec/registry/case-index-2026.kdl).
    make_card(
        &store,
        &card_row("card-letter", "01-25", "executed", "2026-03-02"),
        &[("a.pdf", b"%PDF-1.7 letter")],
    )
    .await;
    make_card(
        &store,
        &card_row("card-log", "05-02", "filed", "2026-03-03"),
        &[],
    )
    .await;
    make_card(
        &store,
        &card_row("card-decision", "01-01", "executed", "2026-03-04"),
        &[],
    )
    .await;
    make_card(
        &store,
        &card_row("card-open", "01-25", "registered", "2026-03-05"),
        &[],
    )
    .await;
    make_card(
        &store,
        &card_row("card-held", "05-02", "executed", "2026-03-06"),
        &[],
    )
    .await;

    // A registrar has no archive.
    let lysenko = portal.sign_in_official(&LYSENKO).await;
    assert_eq!(lysenko.get("/registry/archive").await.status, 403);
    assert_eq!(lysenko.get("/registry/archive/review").await.status, 403);

    // In 2030 only the three-year case has run out.
    portal.city.set_time("2030-01-02T09:00:00Z");
    let savchenko = portal.sign_in_official(&SAVCHENKO).await;
    let review = savchenko.get("/registry/archive/review").await;
    assert_eq!(review.status, 200, "{}", review.body);
    assert_eq!(offered(&review.body), ["card-log", "card-held"]);
    // An unexpired card is refused by name even if posted by hand.
    let early = savchenko
        .post_form_raw(
            "/registry/archive/acts",
            &[
                ("csrf", &savchenko.csrf()),
                ("card", "card-letter"),
                ("reason", "Строк минув"),
            ],
        )
        .await;
    assert_eq!(early.status, 400);
    let said = text(&early.body);
    assert!(
        said.contains("card-letter/01-2026") && said.contains("2032-01-01"),
        "{said}"
    );

    // A hold by name: its card is shown apart with the hold's name, and not offered.
    let bondar = portal.sign_in_official(&BONDAR).await;
    bondar.get("/registry/archive/holds").await;
    let placed = bondar
        .post_form(
            "/registry/archive/holds",
            &[
                ("name", "Судова справа № 540/123/26"),
                ("reason", "Ухвала суду"),
                ("scope", "cards"),
                ("cards", "card-held"),
            ],
        )
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let review = savchenko.get("/registry/archive/review").await;
    assert_eq!(offered(&review.body), ["card-log"]);
    assert!(
        text(&review.body).contains("«Судова справа № 540/123/26»"),
        "{}",
        review.body
    );
    let refused = savchenko
        .post_form_raw(
            "/registry/archive/acts",
            &[
                ("csrf", &savchenko.csrf()),
                ("card", "card-held"),
                ("reason", "Строк минув"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("Судова справа"), "{}", refused.body);
    // A hold over a card of nobody's is refused, naming it.
    let bad = bondar
        .post_form(
            "/registry/archive/holds",
            &[
                ("name", "X"),
                ("reason", "Y"),
                ("scope", "cards"),
                ("cards", "card-nope"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("card-nope"), "{}", bad.body);

    // In 2032 the five-year case has run out too; the permanent and the open card never show.
    portal.city.set_time("2032-02-02T09:00:00Z");
    let savchenko = portal.sign_in_official(&SAVCHENKO).await;
    let review = savchenko.get("/registry/archive/review").await;
    assert_eq!(offered(&review.body), ["card-letter", "card-log"]);
    let drawn = savchenko
        .post_form_raw(
            "/registry/archive/acts",
            &[
                ("csrf", &savchenko.csrf()),
                ("card", "card-letter"),
                ("card", "card-log"),
                ("reason", "Документи втратили практичне значення"),
            ],
        )
        .await;
    assert_eq!(drawn.status, 303, "{}", drawn.body);
    let act_url = drawn.location.clone().unwrap();
    let act_id = act_url.rsplit('/').next().unwrap().to_string();
    // A double submit draws nothing twice: the cards are in an open act.
    let again = savchenko
        .post_form_raw(
            "/registry/archive/acts",
            &[
                ("csrf", &savchenko.csrf()),
                ("card", "card-letter"),
                ("reason", "Ще раз"),
            ],
        )
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
    // The act's cards leave the review while it waits.
    assert!(offered(&savchenko.get("/registry/archive/review").await.body).is_empty());

    // The archivist who drew it up may not approve it.
    let page = savchenko.get(&act_url).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("/approve"),
        "no approval form for its author"
    );
    let own = savchenko
        .post_form(&format!("{act_url}/approve"), &[])
        .await;
    assert_eq!(own.status, 403);
    assert!(own.body.contains("інша"), "{}", own.body);
    assert_eq!(
        store.card("card-letter").await.unwrap().unwrap().status,
        "executed"
    );

    // A hold placed between the act and its approval keeps its card.
    let bondar = portal.sign_in_official(&BONDAR).await;
    bondar.get("/registry/archive/holds").await;
    let placed = bondar
        .post_form(
            "/registry/archive/holds",
            &[
                ("name", "Перевірка журналу"),
                ("reason", "Аудит"),
                ("scope", "case"),
                ("case", "05-02"),
            ],
        )
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let page = bondar.get(&act_url).await;
    assert!(page.body.contains("/approve"), "{}", page.body);
    let approved = bondar.post_form(&format!("{act_url}/approve"), &[]).await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let page = bondar.get(&act_url).await;
    assert!(page.body.contains("знищено"), "{}", page.body);
    assert!(
        page.body
            .contains("не знищено: утримання «Перевірка журналу»"),
        "{}",
        page.body
    );
    assert!(page.body.contains("bondar-a"), "who approved is shown");
    assert_eq!(
        store.card("card-letter").await.unwrap().unwrap().status,
        "destroyed"
    );
    assert_eq!(
        store.card("card-log").await.unwrap().unwrap().status,
        "filed"
    );
    assert_eq!(
        bondar
            .post_form(&format!("{act_url}/approve"), &[])
            .await
            .status,
        409
    );
    // The destroyed card keeps its metadata on its page; its file's content is gone.
    let card = bondar.get("/registry/cards/card-letter").await;
    assert_eq!(card.status, 200, "{}", card.body);
    assert!(
        card.body.contains("Знищено за актом") && text(&card.body).contains("card-letter/01-2026"),
        "{}",
        card.body
    );
    assert!(card.body.contains("вміст знищено"), "{}", card.body);
    // Its original package still says what it was, with the digest of the file destroyed.
    let (status, _, body) = bondar
        .get_bytes("/registry/cards/card-letter/original")
        .await;
    assert_eq!(status, 200);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap();
    assert!(
        zip.by_name("files/1-a.pdf").is_err(),
        "no content of a destroyed file"
    );
    let mut manifest = String::new();
    zip.by_name("manifest.json")
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["card"]["status"], "destroyed");
    assert_eq!(
        manifest["files"][0]["sha256"],
        content_hash(b"%PDF-1.7 letter")
    );
    assert!(
        manifest["files"][0]["destroyed_at"].is_string(),
        "{manifest}"
    );
    assert!(manifest["files"][0]["path"].is_null(), "{manifest}");

    // Released, the hold lets the card go in a new act.
    let holds = store.holds("city-council").await.unwrap();
    let case_hold = holds
        .iter()
        .find(|h| h.name == "Перевірка журналу")
        .unwrap();
    let released = bondar
        .post_form(
            &format!("/registry/archive/holds/{}/release", case_hold.id),
            &[("reason", "Аудит завершено")],
        )
        .await;
    assert_eq!(released.status, 303, "{}", released.body);
    let holds_page = bondar.get("/registry/archive/holds").await;
    assert!(
        holds_page.body.contains("Аудит завершено"),
        "{}",
        holds_page.body
    );
    let review = savchenko.get("/registry/archive/review").await;
    assert_eq!(offered(&review.body), ["card-log"]);

    // The act stays, listed with its number, and the destroyed card's metadata with it.
    let overview = savchenko.get("/registry/archive").await;
    assert!(overview.body.contains(&act_id), "{}", overview.body);
    let page = savchenko.get(&act_url).await;
    assert!(
        text(&page.body).contains("card-letter/01-2026") && page.body.contains("Лист card-letter")
    );
    // Another participant's official, or one without documents roles, never sees the act.
    let romanenko = portal.sign_in_official(&ROMANENKO).await;
    assert_eq!(romanenko.get(&act_url).await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_archive_transfer_and_the_original_package_over_http() {
    let portal = Portal::start().await;
    let store = portal.store().await;
    let letter = b"%PDF-1.7\n\x00\x01\x02 the letter itself\xff".to_vec();
    let scan = b"%PDF-1.7 scan of the paper original".to_vec();
    make_card(
        &store,
        &card_row("card-pack", "01-25", "executed", "2026-03-02"),
        &[("../лист.pdf", &letter), ("скан.pdf", &scan)],
    )
    .await;
    make_card(
        &store,
        &card_row("card-work", "01-25", "registered", "2026-03-03"),
        &[],
    )
    .await;

    // The original package: each file byte for byte, its digest, and the manifest.
    let bondar = portal.sign_in_official(&BONDAR).await;
    let (status, headers, body) = bondar.get_bytes("/registry/cards/card-pack/original").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/zip");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap();
    let mut read = |name: &str| {
        let mut bytes = Vec::new();
        zip.by_name(name).unwrap().read_to_end(&mut bytes).unwrap();
        bytes
    };
    assert_eq!(read("files/1-лист.pdf"), letter);
    assert_eq!(read("files/2-скан.pdf"), scan);
    let sums = String::from_utf8(read("SHA256SUMS")).unwrap();
    assert!(
        sums.contains(&format!("{}  files/1-лист.pdf", content_hash(&letter))),
        "{sums}"
    );
    let manifest: Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    assert_eq!(manifest["format"], "hromada-original-package/1");
    assert_eq!(manifest["origin"]["correspondent"], "ТОВ «Водограй»");
    assert_eq!(manifest["origin"]["correspondent_number"], "15/3");
    assert_eq!(
        manifest["destination"]["addressees"],
        json!(["Міський голова"])
    );
    assert_eq!(manifest["destination"]["journal"], "council-incoming");
    assert_eq!(manifest["times"]["registered_at"], "2026-03-02T09:00:00Z");
    assert_eq!(manifest["files"][0]["file_name"], "../лист.pdf");
    assert_eq!(manifest["files"][0]["sha256"], content_hash(&letter));
    assert_eq!(manifest["files"][1]["added_by"], "official:lysenko-t");
    // A card the portal registered names the application it came from, as the originals keep it.
    let mut from_portal = card_row("card-portal", "01-25", "registered", "2026-03-04");
    from_portal.source = "portal".into();
    from_portal.source_ref = Some("app-7".into());
    make_card(&store, &from_portal, &[]).await;
    let mut tx = store.begin().await.unwrap();
    let original = OriginalRow {
        kind: "application".into(),
        record_id: "app-7".into(),
        media_type: "application/json".into(),
        digest: content_hash(b"{}"),
        origin: "applicant:owner-7".into(),
        destination: "participant:city-council".into(),
        created_at: "2026-03-04T08:59:00Z".into(),
        delivered_at: None,
        retention: Some("applications".into()),
    };
    store.insert_original(&mut tx, &original).await.unwrap();
    tx.commit().await.unwrap();
    let (status, _, body) = bondar
        .get_bytes("/registry/cards/card-portal/original")
        .await;
    assert_eq!(status, 200);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap();
    let mut text_of = String::new();
    zip.by_name("manifest.json")
        .unwrap()
        .read_to_string(&mut text_of)
        .unwrap();
    let manifest: Value = serde_json::from_str(&text_of).unwrap();
    assert_eq!(manifest["origin"]["source"], "portal");
    assert_eq!(
        manifest["origin"]["original"]["origin"],
        "applicant:owner-7"
    );
    assert_eq!(manifest["origin"]["original"]["record_id"], "app-7");
    assert_eq!(
        manifest["origin"]["original"]["created_at"],
        "2026-03-04T08:59:00Z"
    );

    // One with no documents role gets nothing, not even that the card exists.
    let romanenko = portal.sign_in_official(&ROMANENKO).await;
    assert_eq!(
        romanenko
            .get_bytes("/registry/cards/card-pack/original")
            .await
            .0,
        404
    );
    assert_eq!(
        bondar
            .get_bytes("/registry/cards/card-none/original")
            .await
            .0,
        404
    );

    // A blob rewritten behind the registry's back is refused, not handed out.
    let digest = content_hash(&scan);
    execute(
        &portal.store_url(),
        &format!("UPDATE attachment_blobs SET content = X'2550444600' WHERE sha256 = '{digest}'"),
    )
    .await;
    let (status, _, body) = bondar.get_bytes("/registry/cards/card-pack/original").await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("Файл № 2") && body.contains("SHA-256"),
        "{body}"
    );
    assert!(portal.app.log_shows("card-pack"), "the log names the card");

    // Transfer: only executed or filed cards, all or nothing, by the archive alone.
    assert_eq!(
        bondar
            .post_form("/registry/archive/transfer", &[("card", "card-pack")])
            .await
            .status,
        403
    );
    let savchenko = portal.sign_in_official(&SAVCHENKO).await;
    let overview = savchenko.get("/registry/archive").await;
    assert_eq!(offered(&overview.body), ["card-pack"]);
    let mixed = savchenko
        .post_form(
            "/registry/archive/transfer",
            &[("card", "card-pack"), ("card", "card-work")],
        )
        .await;
    assert_eq!(mixed.status, 409);
    assert!(
        text(&mixed.body).contains("card-work/01-2026"),
        "{}",
        mixed.body
    );
    assert_eq!(
        store.card("card-pack").await.unwrap().unwrap().status,
        "executed"
    );
    let done = savchenko
        .post_form("/registry/archive/transfer", &[("card", "card-pack")])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let archived = store.card("card-pack").await.unwrap().unwrap();
    assert_eq!(archived.status, "archived");
    assert!(archived.archived_at.is_some());
    let events = store.case_events("card-pack").await.unwrap();
    assert_eq!(events.last().unwrap().actor, "official:savchenko-l");
    // Archived, the card is read-only for a registrar: the edit form, a change, a new file.
    let lysenko = portal.sign_in_official(&LYSENKO).await;
    let edit = lysenko.get("/registry/cards/card-pack/edit").await;
    assert_eq!(edit.status, 409, "{}", edit.body);
    assert!(edit.body.contains("архів"), "{}", edit.body);
    let change = lysenko
        .post_form(
            "/registry/cards/card-pack/edit",
            &[("version", "2"), ("summary", "Інший зміст")],
        )
        .await;
    assert_eq!(change.status, 409, "{}", change.body);
    let upload = lysenko
        .post_multipart(
            "/registry/cards/card-pack/files",
            &[("role", "annex")],
            &[(
                "file",
                "more.pdf",
                "application/pdf",
                b"%PDF-1.7 more".to_vec(),
            )],
        )
        .await;
    assert_eq!(upload.status, 409, "{}", upload.body);
    let unchanged = store.card("card-pack").await.unwrap().unwrap();
    assert_eq!(
        (unchanged.version, unchanged.summary.as_str()),
        (2, "Лист card-pack")
    );
    assert_eq!(store.card_files("card-pack").await.unwrap().len(), 2);
    // Nor may a head resolve it or file it away (B's endpoints).
    let bondar = portal.sign_in_official(&BONDAR).await;
    let resolution = bondar
        .post_form(
            "/registry/cards/card-pack/resolutions",
            &[
                ("key", "k-archived"),
                ("main", "koval-o"),
                ("task", "Виконати"),
                ("deadline", "2027-01-10"),
            ],
        )
        .await;
    assert_eq!(resolution.status, 409, "{}", resolution.body);
    assert!(resolution.body.contains("архів"), "{}", resolution.body);
    let filed = bondar
        .post_form(
            "/registry/cards/card-pack/file-away",
            &[("reason", "До справи"), ("case", "01-25"), ("version", "2")],
        )
        .await;
    assert_eq!(filed.status, 409, "{}", filed.body);
    assert_eq!(store.card("card-pack").await.unwrap().unwrap().version, 2);
    // Transferred twice is refused, nothing changed.
    assert_eq!(
        savchenko
            .post_form("/registry/archive/transfer", &[("card", "card-pack")])
            .await
            .status,
        409
    );
    assert_eq!(store.card("card-pack").await.unwrap().unwrap().version, 2);
}
