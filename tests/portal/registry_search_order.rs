//! The search's order and bounds (REG-3, REG-7), on SQLite and PostgreSQL alike: a common word
//! pages newest registration first, counts to a cap and pages on past it; a draft registered
//! moves to its registration; the people's way finds only theirs; a search past its deadline is
//! stopped with a reason the page can tell, and the next search runs.

use std::time::Duration;

use hromada::registry::access::Reader;
use hromada::store::{COUNT_CAP, CardChange, CardQuery, SearchFailed, Store, Visibility};
use serde_json::json;

use crate::common::db::Db;
use crate::registry_search_store::{asking, at, card, clerk, drain, found, id, put, put_in};

/// 130 registered cards about repairs, card n at minute n (n = 1…130), and card 131, a draft
/// about the same created last; koval-o executes cards 5, 50 and 120.
async fn repairs(store: &Store) {
    for n in 1..=130u32 {
        let people: &[(&str, &str)] = if [5, 50, 120].contains(&n) {
            &[("koval-o", "executor")]
        } else {
            &[]
        };
        let summary = format!("Ремонт даху школи №{n}");
        put(
            store,
            &card(
                n,
                "city-council",
                &format!("01-12/{n}"),
                &summary,
                i64::from(n),
            ),
            &[],
            people,
        )
        .await;
    }
    let mut draft = card(131, "city-council", "", "Ремонт огорожі", 200);
    draft.status = "draft".into();
    (draft.reg_number, draft.reg_date, draft.registered_at) = (None, None, None);
    (draft.period, draft.seq) = (None, None);
    put(store, &draft, &[], &[]).await;
    drain(store).await;
}

/// koval-o as a reader of another participant: only the cards that concern them.
fn koval() -> Visibility {
    Visibility {
        sql: Reader::visible_sql,
        binds: (
            "registration-dept".into(),
            0,
            "koval-o".into(),
            "2026-12-07".into(),
        ),
    }
}

fn ids(range: impl Iterator<Item = u32>) -> Vec<String> {
    range.map(id).collect()
}

fn page(query: &CardQuery, page: i64) -> CardQuery {
    CardQuery {
        page,
        per_page: 20,
        ..query.clone()
    }
}

crate::both! {
    async fn a_common_word_pages_newest_first_and_counts_to_the_cap(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        repairs(&store).await;
        for query in [asking("ремонту"), asking("")] {
            let first = store.search_cards(&page(&query, 1), &clerk()).await.unwrap();
            assert_eq!(first.cards.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
                ids((111..=130).rev()), "{query:?}");
            assert_eq!((first.total, first.more), (COUNT_CAP, true), "{query:?}");
            // Past the cap the pages go on, counted to the page asked.
            let sixth = store.search_cards(&page(&query, 6), &clerk()).await.unwrap();
            assert_eq!(sixth.cards.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
                ids((11..=30).rev()), "{query:?}");
            assert_eq!((sixth.total, sixth.more), (120, true), "{query:?}");
            // The last page: every card counted, the draft after every registered card.
            let last = store.search_cards(&page(&query, 7), &clerk()).await.unwrap();
            let mut expected = ids((1..=10).rev());
            expected.push(id(131));
            assert_eq!(last.cards.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), expected);
            assert_eq!((last.total, last.more), (131, false), "{query:?}");
        }
        // Someone who reads only what concerns them finds just that, newest first.
        let koval = koval();
        assert_eq!(found(&store, &asking("ремонт"), &koval).await, ids([120, 50, 5].into_iter()));
        assert_eq!(found(&store, &asking(""), &koval).await, ids([120, 50, 5].into_iter()));
        assert!(found(&store, &asking("огорожа"), &koval).await.is_empty());
        // A status: drafts sit below every registered card, and are found by it all the same.
        for query in [asking("ремонт"), asking("")] {
            let drafts = CardQuery { status: Some("draft".into()), ..query.clone() };
            assert_eq!(found(&store, &drafts, &clerk()).await, [id(131)], "{query:?}");
            let registered = CardQuery { status: Some("registered".into()), ..query.clone() };
            assert_eq!(found(&store, &registered, &clerk()).await, ids((111..=130).rev()));
        }
        // A period of registration dates, with words: the cards of those days only.
        let day = at(0).format("%Y-%m-%d").to_string();
        let within = CardQuery { from: Some(day.clone()), to: Some(day), ..asking("даху") };
        assert_eq!(store.search_cards(&within, &clerk()).await.unwrap().cards.len(), 20);
        for query in [asking("даху"), asking("")] {
            let within = CardQuery { from: Some(at(0).format("%Y-%m-%d").to_string()), ..query.clone() };
            assert_eq!(found(&store, &within, &clerk()).await, ids((111..=130).rev()));
            let before = CardQuery { to: Some("2020-01-01".into()), ..query.clone() };
            assert!(found(&store, &before, &clerk()).await.is_empty(), "{query:?}");
            let after = CardQuery { from: Some("2030-01-01".into()), ..query.clone() };
            assert!(found(&store, &after, &clerk()).await.is_empty(), "{query:?}");
        }
    }

    async fn a_draft_registered_moves_to_its_registration(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        repairs(&store).await;
        assert_eq!(found(&store, &asking("огорожа"), &clerk()).await, [id(131)]);
        // The draft comes to concern koval-o after it was indexed: their way finds it at once,
        // after their registered cards, and at its registration once it is registered.
        let mut tx = store.begin().await.unwrap();
        store.add_card_person(&mut tx, &id(131), "koval-o", "informed").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(found(&store, &asking("огорожа"), &koval()).await, [id(131)]);
        assert_eq!(found(&store, &asking("ремонт"), &koval()).await, ids([120, 50, 5, 131].into_iter()));
        let draft = store.card(&id(131)).await.unwrap().unwrap();
        let mut registered = draft.clone();
        registered.status = "registered".into();
        registered.reg_number = Some("01-12/131".into());
        registered.registered_at = Some(hromada::store::time_text(&at(300)));
        registered.reg_date = Some(at(300).format("%Y-%m-%d").to_string());
        (registered.period, registered.seq) = (Some("2026".into()), Some(131));
        registered.version = draft.version + 1;
        let mut tx = store.begin().await.unwrap();
        let change = CardChange {
            before: Some(&draft),
            after: &registered,
            actor: "official:lysenko-t",
            on_behalf: None,
            kind: "registered",
            note: json!(null),
            at: at(300),
        };
        assert!(store.write_card(&mut tx, &change).await.unwrap());
        tx.commit().await.unwrap();
        drain(&store).await;
        let first = store.search_cards(&page(&asking("ремонт"), 1), &clerk()).await.unwrap();
        assert_eq!(first.cards[0].id, id(131));
        assert_eq!(first.cards[1].id, id(130));
        // Indexed once, at its new place: found once, not at the old place too.
        assert_eq!(found(&store, &asking("огорожа"), &clerk()).await, [id(131)]);
        assert_eq!(store.indexed_version(&id(131)).await.unwrap(), Some(registered.version));
        assert_eq!(found(&store, &asking("ремонт"), &koval()).await, ids([131, 120, 50, 5].into_iter()));
        assert_eq!(found(&store, &asking("огорожа"), &koval()).await, [id(131)]);
    }

    async fn a_search_past_its_deadline_is_stopped_and_the_next_one_runs(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        repairs(&store).await;
        if db.url.starts_with("sqlite") {
            for query in [asking("ремонт"), asking("")] {
                let stopped = store.search_cards_within(&query, &clerk(), Duration::ZERO).await;
                assert!(matches!(stopped, Err(SearchFailed::TooLong)), "{stopped:?}");
            }
        } else {
            // Another session holds the cards: the search waits, and is stopped at its deadline.
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            let mut holder = pool.begin().await.unwrap();
            sqlx::query("LOCK TABLE cards IN ACCESS EXCLUSIVE MODE")
                .execute(&mut *holder)
                .await
                .unwrap();
            let stopped = store
                .search_cards_within(&asking("ремонт"), &clerk(), Duration::from_millis(300))
                .await;
            assert!(matches!(stopped, Err(SearchFailed::TooLong)), "{stopped:?}");
            holder.rollback().await.unwrap();
        }
        let next = store.search_cards(&asking("ремонт"), &clerk()).await.unwrap();
        assert_eq!(next.cards.len(), 20);
    }
}

crate::both! {
    async fn a_word_below_the_newest_thousands_is_still_found_in_order(db: Db) {
        // PostgreSQL tries the participant's newest 4,000 entries first: a word only in older
        // cards is found below them, in the same order, the count exact.
        let store = Store::connect(&db.url).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        for n in 1..=4_200u32 {
            let summary = if n <= 30 || n == 4_200 {
                format!("Ремонт даху школи №{n}")
            } else {
                format!("Прибирання території №{n}")
            };
            let people: &[(&str, &str)] = if n == 7 { &[("koval-o", "executor")] } else { &[] };
            let card = card(n, "city-council", &format!("01-12/{n}"), &summary, i64::from(n));
            put_in(&store, &mut tx, &card, &[], people).await;
        }
        tx.commit().await.unwrap();
        drain(&store).await;
        let repairs = asking("ремонт");
        let first = store.search_cards(&page(&repairs, 1), &clerk()).await.unwrap();
        let mut newest = vec![id(4_200)];
        newest.extend(ids((12..=30).rev()));
        assert_eq!(first.cards.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), newest);
        assert_eq!((first.total, first.more), (31, false));
        let second = store.search_cards(&page(&repairs, 2), &clerk()).await.unwrap();
        assert_eq!(
            second.cards.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            ids((1..=11).rev())
        );
        // The executor, who reads only the cards that concern them, finds their one old card.
        let koval = crate::registry_search_store::reader("city-council", "koval-o", false);
        assert_eq!(found(&store, &repairs, &koval).await, [id(7)]);
        // A word in no card at all walks the newest and finds nothing below them either.
        let nothing = store.search_cards(&asking("газифікація"), &clerk()).await.unwrap();
        assert_eq!((nothing.cards.len(), nothing.total, nothing.more), (0, 0, false));
    }
}
