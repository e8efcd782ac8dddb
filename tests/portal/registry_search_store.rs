//! The registry's search index and query in the store, on SQLite and PostgreSQL alike: the same
//! cards found for the same words (in any case form, in the card or its files) and requisites,
//! only what the reader may read, paged with the total; the indexer's queue leased so that two
//! replicas never index one card at once, and a card changed meanwhile indexed again.

use chrono::{DateTime, Duration, TimeZone, Utc};
use hromada::registry::access::Reader;
use hromada::registry::search::{indexer, words};
use hromada::store::{CardChange, CardQuery, CardRow, NewCardFile, Store, Tx, Visibility};
use serde_json::json;

use crate::common::db::{Db, execute};

pub fn at(minutes: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_796_000_000, 0).unwrap() + Duration::minutes(minutes)
}

pub fn id(n: u32) -> String {
    format!("card-{n:032x}")
}

/// A registered card of `participant` numbered `number` on `date`, minute `minute`.
pub fn card(n: u32, participant: &str, number: &str, summary: &str, minute: i64) -> CardRow {
    let now = hromada::store::time_text(&at(minute));
    CardRow {
        id: id(n),
        participant: participant.into(),
        journal: format!("{participant}-incoming"),
        direction: "incoming".into(),
        kind: "letter".into(),
        status: "registered".into(),
        period: Some("2026".into()),
        seq: Some(i64::from(n)),
        reg_number: Some(number.into()),
        reg_date: Some(at(minute).format("%Y-%m-%d").to_string()),
        registered_at: Some(now.clone()),
        case_code: Some("01-12".into()),
        summary: summary.into(),
        correspondent: None,
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
        created_at: now.clone(),
        created_by: "official:lysenko-t".into(),
        updated_at: now,
    }
}

/// Writes `card` (new), its `files` and `people` in one transaction, as the registry does.
pub async fn put(
    store: &Store,
    card: &CardRow,
    files: &[(&str, &str, &[u8])],
    people: &[(&str, &str)],
) {
    let mut tx = store.begin().await.unwrap();
    put_in(store, &mut tx, card, files, people).await;
    tx.commit().await.unwrap();
}

/// As [`put`], in the caller's transaction.
pub async fn put_in(
    store: &Store,
    tx: &mut Tx,
    card: &CardRow,
    files: &[(&str, &str, &[u8])],
    people: &[(&str, &str)],
) {
    let change = CardChange {
        before: None,
        after: card,
        actor: "official:lysenko-t",
        on_behalf: None,
        kind: "registered",
        note: json!(null),
        at: at(0),
    };
    assert!(store.write_card(tx, &change).await.unwrap());
    for (name, media, content) in files {
        let file = NewCardFile {
            role: "original",
            file_name: name,
            media_type: media,
            content,
        };
        store
            .add_card_file(tx, &card.id, &file, "official:lysenko-t", at(0))
            .await
            .unwrap();
    }
    for (official, relation) in people {
        store
            .add_card_person(tx, &card.id, official, relation)
            .await
            .unwrap();
    }
}

/// A reader of every card of `participant` (or only of what concerns them, `reads_all` false).
pub fn reader(participant: &str, official: &str, reads_all: bool) -> Visibility {
    Visibility {
        sql: Reader::visible_sql,
        binds: (
            participant.into(),
            i64::from(reads_all),
            official.into(),
            "2026-12-07".into(),
        ),
    }
}

pub fn clerk() -> Visibility {
    reader("city-council", "lysenko-t", true)
}

pub fn asking(q: &str) -> CardQuery {
    CardQuery {
        words: words::words(q),
        page: 1,
        per_page: 20,
        ..CardQuery::default()
    }
}

pub async fn found(store: &Store, query: &CardQuery, who: &Visibility) -> Vec<String> {
    let page = store.search_cards(query, who).await.unwrap();
    page.cards.into_iter().map(|c| c.id).collect()
}

pub async fn drain(store: &Store) {
    while indexer::pass(store, "test-node").await.unwrap() {}
}

/// The example set: four cards of the city council, one of the registration department with the
/// same words, one of the department that concerns koval-o.
async fn example(store: &Store) {
    let mut aid = card(
        1,
        "city-council",
        "01-12/1",
        "Заява про надання матеріальної допомоги",
        10,
    );
    aid.correspondent = Some("Пенсійний фонд України".into());
    aid.signer = Some("Ткаченко Олена".into());
    aid.executor = Some("koval-o".into());
    put(store, &aid, &[], &[("koval-o", "executor")]).await;

    let pdf = hromada::workflow::pdf::render(
        "Лист",
        &[hromada::workflow::pdf::Line::new(
            hromada::workflow::pdf::Style::Body,
            "Просимо відремонтувати дах школи до зими",
        )],
    );
    let roof = card(2, "city-council", "01-12/2", "Лист управління освіти", 20);
    put(store, &roof, &[("лист.pdf", "application/pdf", &pdf)], &[]).await;

    let mut outgoing = card(3, "city-council", "02-05/3", "Відповідь щодо допомоги", 30);
    outgoing.kind = "answer".into();
    outgoing.status = "executed".into();
    outgoing.case_code = Some("02-05".into());
    outgoing.signer = Some("bondar-a".into());
    put(
        store,
        &outgoing,
        &[(
            "відповідь.txt",
            "text/plain",
            "Надати допомогу заявниці".as_bytes(),
        )],
        &[],
    )
    .await;

    let mut draft = card(4, "city-council", "", "Чернетка про допомогу", 40);
    draft.status = "draft".into();
    draft.reg_number = None;
    draft.reg_date = None;
    draft.registered_at = None;
    draft.period = None;
    draft.seq = None;
    put(store, &draft, &[], &[]).await;

    let other = card(
        5,
        "registration-dept",
        "Р-1",
        "Заява про надання матеріальної допомоги",
        50,
    );
    put(store, &other, &[], &[]).await;

    let mut theirs = card(6, "registration-dept", "Р-2", "Доручення щодо допомоги", 60);
    theirs.executor = Some("koval-o".into());
    put(store, &theirs, &[], &[("koval-o", "co-executor")]).await;
}

crate::both! {
    async fn words_in_any_case_form_find_cards_and_their_files(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        example(&store).await;
        // Before the indexer ran, words find nothing; requisites already do.
        assert!(found(&store, &asking("допомога"), &clerk()).await.is_empty());
        assert_eq!(
            found(&store, &CardQuery { number: Some("01-12/1".into()), ..asking("") }, &clerk())
                .await,
            [id(1)]
        );
        drain(&store).await;
        assert_eq!(store.index_queue_length().await.unwrap(), 0);
        assert_eq!(store.indexed_version(&id(1)).await.unwrap(), Some(1));
        // «допомогою» finds «допомоги» (card 1), «допомогу» in a TXT (card 3) and «допомогу»
        // in a draft (card 4), newest registration first and the draft last; never the other
        // participant's card with the same words.
        assert_eq!(
            found(&store, &asking("ДОПОМОГОЮ"), &clerk()).await,
            [id(3), id(1), id(4)]
        );
        // A word in the PDF's text, in another case form.
        assert_eq!(found(&store, &asking("школа"), &clerk()).await, [id(2)]);
        // Every word must match.
        assert_eq!(
            found(&store, &asking("матеріальна допомога"), &clerk()).await,
            [id(1)]
        );
        assert!(found(&store, &asking("допомога школи"), &clerk()).await.is_empty());
        // A word in a file's name.
        assert_eq!(found(&store, &asking("відповіді"), &clerk()).await, [id(3)]);
        // The other participant's reader finds only theirs.
        let registrar = reader("registration-dept", "kravchenko-s", true);
        assert_eq!(
            found(&store, &asking("допомога"), &registrar).await,
            [id(6), id(5)]
        );
        // An executor who reads no participant's cards finds what concerns them only.
        let koval = reader("city-council", "koval-o", false);
        assert_eq!(found(&store, &asking("допомога"), &koval).await, [id(6), id(1)]);
        let moroz = reader("city-council", "moroz-v", false);
        assert!(found(&store, &asking("допомога"), &moroz).await.is_empty());
    }

    async fn requisites_find_cards_without_words(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        example(&store).await;
        drain(&store).await;
        let by = |query: CardQuery| query;
        let all = asking("");
        let cases: Vec<(CardQuery, Vec<String>)> = vec![
            (by(CardQuery { kind: Some("answer".into()), ..all.clone() }), vec![id(3)]),
            (by(CardQuery { number: Some("01-12/2".into()), ..all.clone() }), vec![id(2)]),
            (by(CardQuery { number: Some("01-12/".into()), ..all.clone() }), vec![id(2), id(1)]),
            (by(CardQuery { number: Some("01-1".into()), ..all.clone() }), vec![id(2), id(1)]),
            (
                by(CardQuery {
                    from: Some(at(15).format("%Y-%m-%d").to_string()),
                    to: Some(at(35).format("%Y-%m-%d").to_string()),
                    ..all.clone()
                }),
                vec![id(3), id(2), id(1)],
            ),
            (
                by(CardQuery { correspondent: words::words("пенсійного фонду"), ..all.clone() }),
                vec![id(1)],
            ),
            (by(CardQuery { signer: words::words("Ткаченко"), ..all.clone() }), vec![id(1)]),
            (by(CardQuery { signer: words::words("bondar-a"), ..all.clone() }), vec![id(3)]),
            (by(CardQuery { executor: Some("koval-o".into()), ..all.clone() }), vec![id(1)]),
            (by(CardQuery { status: Some("executed".into()), ..all.clone() }), vec![id(3)]),
            (by(CardQuery { status: Some("draft".into()), ..all.clone() }), vec![id(4)]),
            (by(CardQuery { case_code: Some("02-05".into()), ..all.clone() }), vec![id(3)]),
            (
                by(CardQuery { journal: Some("city-council-incoming".into()), ..all.clone() }),
                vec![id(3), id(2), id(1), id(4)],
            ),
            (
                by(CardQuery { case_code: Some("01-12".into()), ..asking("допомога") }),
                vec![id(1), id(4)],
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(found(&store, &query, &clerk()).await, expected, "{query:?}");
        }
        // Paged, with the total on every page.
        let first = store
            .search_cards(&CardQuery { per_page: 3, ..all.clone() }, &clerk())
            .await
            .unwrap();
        assert_eq!(first.total, 4);
        assert_eq!(first.cards.len(), 3);
        let second = store
            .search_cards(&CardQuery { per_page: 3, page: 2, ..all.clone() }, &clerk())
            .await
            .unwrap();
        assert_eq!((second.total, second.cards.len()), (4, 1));
        assert_eq!(second.cards[0].id, id(4));
    }

    async fn hostile_words_are_words_not_syntax(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        example(&store).await;
        drain(&store).await;
        for q in [
            "\" OR * NEAR(допомога) ' ; DROP TABLE cards; --",
            "допомога:* | !школа & (",
            "words : \"допомога\"",
            "AND OR NOT",
        ] {
            let query = asking(q);
            let page = store.search_cards(&query, &clerk()).await;
            assert!(page.is_ok(), "{q}: {page:?}");
        }
        assert_eq!(found(&store, &asking("допомога"), &clerk()).await.len(), 3);
    }

    async fn a_card_changed_while_indexed_is_indexed_again(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let first = card(1, "city-council", "01-12/1", "Заява про ремонт дороги", 10);
        put(&store, &first, &[], &[]).await;
        let leased = store.lease_index_queue("node-a", at(0), at(2), 10).await.unwrap();
        assert_eq!(leased, [(id(1), 1)]);
        // Another replica takes nothing while the lease holds.
        assert!(store.lease_index_queue("node-b", at(1), at(3), 10).await.unwrap().is_empty());
        // The card changes while node-a reads it.
        let mut second = first.clone();
        second.version = 2;
        second.summary = "Заява про освітлення вулиці".into();
        let mut tx = store.begin().await.unwrap();
        let change = CardChange {
            before: Some(&first),
            after: &second,
            actor: "official:lysenko-t",
            on_behalf: None,
            kind: "edited",
            note: json!(null),
            at: at(1),
        };
        assert!(store.write_card(&mut tx, &change).await.unwrap());
        tx.commit().await.unwrap();
        let words_of_first = indexer::card_words(&first, &[]);
        store.write_card_words(&words_of_first, 1, "node-a", at(1)).await.unwrap();
        // Still queued at version 2, its lease released: indexed again at once.
        assert_eq!(store.index_queue_length().await.unwrap(), 1);
        assert_eq!(found(&store, &asking("дорога"), &clerk()).await, [id(1)]);
        drain(&store).await;
        assert_eq!(store.indexed_version(&id(1)).await.unwrap(), Some(2));
        assert!(found(&store, &asking("дорога"), &clerk()).await.is_empty());
        assert_eq!(found(&store, &asking("вулиця"), &clerk()).await, [id(1)]);
        // An older version written late never replaces the newer index row.
        store.write_card_words(&words_of_first, 1, "node-a", at(3)).await.unwrap();
        assert_eq!(store.indexed_version(&id(1)).await.unwrap(), Some(2));
        assert_eq!(found(&store, &asking("вулиця"), &clerk()).await, [id(1)]);
    }

    async fn a_lease_expires_to_another_replica(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        for n in 1..=3 {
            put(&store, &card(n, "city-council", &format!("01-12/{n}"), "Лист", i64::from(n)), &[], &[])
                .await;
        }
        let a = store.lease_index_queue("node-a", at(0), at(2), 2).await.unwrap();
        let b = store.lease_index_queue("node-b", at(0), at(2), 10).await.unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(b.len(), 1);
        assert!(a.iter().all(|x| !b.contains(x)));
        // node-a stopped: after its lease, node-b takes its cards.
        let after = store.lease_index_queue("node-b", at(3), at(5), 10).await.unwrap();
        assert_eq!(after.len(), 3);
        // node-a's late write does not take node-b's cards off the queue.
        let late = card(1, "city-council", "01-12/1", "Лист", 1);
        store
            .write_card_words(&indexer::card_words(&late, &[]), 1, "node-a", at(4))
            .await
            .unwrap();
        assert_eq!(store.index_queue_length().await.unwrap(), 3);
    }

    async fn an_unreadable_file_leaves_the_card_found_by_the_rest(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let broken = card(1, "city-council", "01-12/1", "Скарга на шум", 10);
        put(
            &store,
            &broken,
            &[
                ("скан.pdf", "application/pdf", b"%PDF-1.7 broken beyond repair"),
                ("текст.odt", "application/vnd.oasis.opendocument.text", b"PK\x03\x04 no zip"),
                ("примітка.txt", "text/plain", "сусіди вночі".as_bytes()),
            ],
            &[],
        )
        .await;
        drain(&store).await;
        assert_eq!(found(&store, &asking("скарги"), &clerk()).await, [id(1)]);
        assert_eq!(found(&store, &asking("сусідів"), &clerk()).await, [id(1)]);
        let files = store.card_files(&id(1)).await.unwrap();
        let texts: Vec<Option<&str>> = files.iter().map(|f| f.text.as_deref()).collect();
        assert_eq!(texts, [Some(""), Some(""), Some("сусіди вночі")]);
        // A rewritten index row (words planted by hand) is replaced when the card is indexed
        // again; the card's own row is never touched by the indexer.
        let planted = if db.url.starts_with("sqlite") {
            "UPDATE card_words SET words = 'плант' WHERE card_id = 'card-00000000000000000000000000000001'"
        } else {
            "UPDATE card_search SET words = to_tsvector('simple', 'плант') WHERE card_id = 'card-00000000000000000000000000000001'"
        };
        execute(&db.url, planted).await;
        assert_eq!(found(&store, &asking("планта"), &clerk()).await, [id(1)]);
        let mut again = broken.clone();
        again.version = 2;
        let mut tx = store.begin().await.unwrap();
        let change = CardChange {
            before: Some(&broken),
            after: &again,
            actor: "official:lysenko-t",
            on_behalf: None,
            kind: "edited",
            note: json!(null),
            at: at(1),
        };
        assert!(store.write_card(&mut tx, &change).await.unwrap());
        tx.commit().await.unwrap();
        drain(&store).await;
        assert!(found(&store, &asking("планта"), &clerk()).await.is_empty());
        assert_eq!(found(&store, &asking("шуму"), &clerk()).await, [id(1)]);
        assert_eq!(store.card(&id(1)).await.unwrap().unwrap().summary, "Скарга на шум");
    }
    async fn a_deputy_finds_what_the_principal_reads_while_the_delegation_holds(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        example(&store).await;
        drain(&store).await;
        execute(
            &db.url,
            "INSERT INTO delegations (id, participant, unit, principal, deputy, decide, \
             starts_on, ends_on, reason, created_by, created_at) VALUES ('d-1', 'city-council', \
             'city-council/social-aid', 'koval-o', 'moroz-v', 0, '2026-12-01', '2026-12-10', \
             'відпустка', 'tkachenko-o', '2026-11-30T08:00:00Z')",
        )
        .await;
        let on = |today: &str| Visibility {
            sql: Reader::visible_sql,
            binds: ("city-council".into(), 0, "moroz-v".into(), today.into()),
        };
        assert_eq!(found(&store, &asking("допомога"), &on("2026-12-07")).await, [id(6), id(1)]);
        assert!(found(&store, &asking("допомога"), &on("2026-12-11")).await.is_empty());
        assert!(found(&store, &asking(""), &on("2026-11-30")).await.is_empty());
        // Past the last page: no cards, the total still told.
        let past = store
            .search_cards(&CardQuery { page: 5, per_page: 2, ..asking("допомога") }, &clerk())
            .await
            .unwrap();
        assert!(past.cards.is_empty());
        assert_eq!((past.total, past.more), (3, false));
    }
}

crate::both! {
    async fn a_search_without_words_reads_indexes_not_every_card(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        example(&store).await;
        let all = asking("");
        for query in [
            all.clone(),
            CardQuery { status: Some("registered".into()), ..all.clone() },
            CardQuery { journal: Some("city-council-incoming".into()), ..all.clone() },
            CardQuery { kind: Some("letter".into()), ..all.clone() },
            CardQuery { number: Some("01-12/1".into()), ..all.clone() },
            CardQuery { executor: Some("koval-o".into()), ..all.clone() },
        ] {
            let plan = store.search_plan(&query, &clerk()).await.unwrap();
            if db.url.starts_with("sqlite") {
                // "SCAN c" would be every card read; SQLite names an index it searches.
                assert!(
                    !plan.lines().any(|l| l.trim() == "SCAN c" || l.starts_with("SCAN c ")),
                    "{query:?} reads every card:\n{plan}"
                );
                assert!(plan.contains("SEARCH c USING"), "{plan}");
            } else {
                // PostgreSQL's planner reads a table this small whole; the plan is asked of it
                // (the bench reads it on a million cards).
                assert!(plan.contains("Limit"), "{plan}");
            }
        }
    }
}
