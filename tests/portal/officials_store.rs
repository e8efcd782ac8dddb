//! The store's side of the office on SQLite and PostgreSQL: officials' sessions read with their
//! account's block in one query, blocks and annulments with every change kept (an annulled
//! account never changes again), the access log filtered and paged, an official's sign-in under
//! way told from a citizen's, and rewritten rows read back as clear errors.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use hromada::store::{
    AccessFilter, AccountAction, AccountChange, AccountHold, ChangeRefused, NewOfficeSession,
    OfficialAccess, PendingSignIn, SessionEnd, Store,
};

use crate::common::db::{Db, execute};

fn at(seconds: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap()
}

fn session(id: &str, official: &str) -> NewOfficeSession {
    NewOfficeSession {
        id: id.into(),
        official: official.into(),
        subject: format!("sub-{official}"),
        csrf: format!("csrf-{id}"),
        created_at: at(0),
        expires_at: at(0) + Duration::hours(12),
    }
}

fn change(official: &str, action: AccountAction, seconds: i64) -> AccountChange {
    AccountChange {
        official: official.into(),
        action,
        reason: format!("reason {seconds}"),
        by: "romanenko-y".into(),
        at: at(seconds),
    }
}

fn day(d: &str) -> Option<NaiveDate> {
    Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap())
}

crate::both! {
    async fn an_officials_session_is_read_with_the_block_on_their_account(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        store.open_office_session(&session("s1", "koval-o")).await.unwrap();
        store.open_office_session(&session("s2", "koval-o")).await.unwrap();
        store.open_office_session(&session("s3", "moroz-v")).await.unwrap();
        assert!(store.open_office_session(&session("s1", "x")).await.is_err());
        // A citizen's session store knows nothing of it, nor the office of citizens'.
        assert_eq!(store.session("s1").await.unwrap(), None);

        let s1 = store.office_session("s1").await.unwrap().unwrap();
        assert_eq!((s1.official.as_str(), s1.csrf.as_str()), ("koval-o", "csrf-s1"));
        assert_eq!(s1.block, None);
        store.touch_office_session("s1", at(90)).await.unwrap();
        assert_eq!(store.office_session("s1").await.unwrap().unwrap().last_seen_at, at(90));

        let block = AccountAction::Block { until: day("2027-01-31") };
        assert_eq!(store.change_official_account(&change("koval-o", block, 100)).await.unwrap(), Ok(()));
        let s1 = store.office_session("s1").await.unwrap().unwrap();
        let held = s1.block.unwrap();
        assert_eq!(held.hold, AccountHold::Blocked { until: day("2027-01-31") });
        assert_eq!((held.by.as_str(), held.reason.as_str(), held.at), ("romanenko-y", "reason 100", at(100)));
        assert_eq!(store.office_session("s3").await.unwrap().unwrap().block, None);

        assert!(store.end_office_session("s1", at(200), SessionEnd::Refused).await.unwrap());
        assert!(!store.end_office_session("s1", at(200), SessionEnd::Refused).await.unwrap());
        assert_eq!(store.office_session("s1").await.unwrap(), None);
        assert_eq!(store.end_office_sessions_of("koval-o", at(300), SessionEnd::SignedOut).await.unwrap(), 1);
        assert_eq!(store.office_session("s2").await.unwrap(), None);
        assert!(store.office_session("s3").await.unwrap().is_some());
        assert_eq!(store.forget_office_sessions(at(0) + Duration::hours(13)).await.unwrap(), 3);
    }

    async fn blocks_are_recorded_with_who_when_and_why_and_an_annulment_is_final(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let for_good = AccountAction::Block { until: None };
        assert_eq!(store.change_official_account(&change("koval-o", AccountAction::Unblock, 1)).await.unwrap(), Err(ChangeRefused::NotBlocked));
        assert_eq!(store.change_official_account(&change("koval-o", for_good, 2)).await.unwrap(), Ok(()));
        // The same block sent twice (a double submit) is recorded once, at its first time.
        let mut again = change("koval-o", for_good, 2);
        again.at = at(9);
        assert_eq!(store.change_official_account(&again).await.unwrap(), Ok(()));
        assert_eq!(store.official_block("koval-o").await.unwrap().unwrap().at, at(2));
        // Blocking again changes the term.
        let until = AccountAction::Block { until: day("2027-02-01") };
        assert_eq!(store.change_official_account(&change("koval-o", until, 3)).await.unwrap(), Ok(()));
        assert_eq!(store.official_block("koval-o").await.unwrap().unwrap().hold, AccountHold::Blocked { until: day("2027-02-01") });
        assert_eq!(store.change_official_account(&change("koval-o", AccountAction::Unblock, 4)).await.unwrap(), Ok(()));
        assert_eq!(store.official_block("koval-o").await.unwrap(), None);

        assert_eq!(store.change_official_account(&change("moroz-v", AccountAction::Annul, 5)).await.unwrap(), Ok(()));
        let mut twice = change("moroz-v", AccountAction::Annul, 5);
        twice.at = at(7);
        assert_eq!(store.change_official_account(&twice).await.unwrap(), Ok(()), "a double submit");
        for action in [AccountAction::Unblock, for_good] {
            assert_eq!(store.change_official_account(&change("moroz-v", action, 6)).await.unwrap(), Err(ChangeRefused::Annulled));
        }
        let moroz = store.official_block("moroz-v").await.unwrap().unwrap();
        assert_eq!((moroz.hold, moroz.at), (AccountHold::Annulled, at(5)));

        let changes = store.official_account_changes(10).await.unwrap();
        let seen: Vec<(&str, AccountAction, chrono::DateTime<Utc>)> = changes
            .iter()
            .map(|c| (c.change.official.as_str(), c.change.action, c.change.at))
            .collect();
        assert_eq!(seen, [
            ("moroz-v", AccountAction::Annul, at(5)),
            ("koval-o", AccountAction::Unblock, at(4)),
            ("koval-o", until, at(3)),
            ("koval-o", for_good, at(2)),
        ]);
        assert_eq!(store.official_blocks().await.unwrap().len(), 1);

        // A row rewritten outside hromada is an error naming the row and the value, not a
        // block silently lifted.
        execute(&db.url, "UPDATE official_blocks SET state = 'frozen' WHERE official = 'moroz-v'").await;
        let error = store.official_block("moroz-v").await.unwrap_err().to_string();
        assert!(error.contains("moroz-v") && error.contains("frozen"), "{error}");
        store.open_office_session(&session("s9", "moroz-v")).await.unwrap();
        assert!(store.office_session("s9").await.is_err());
        execute(&db.url, "UPDATE official_blocks SET state = 'blocked', until = '31.01.2027' WHERE official = 'moroz-v'").await;
        let error = store.official_blocks().await.unwrap_err().to_string();
        assert!(error.contains("31.01.2027"), "{error}");
    }

    async fn the_access_log_is_read_newest_first_by_official_and_by_case_in_pages(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        for i in 0..7 {
            let official = if i % 2 == 0 { "koval-o" } else { "moroz-v" };
            store.record_official_access(&OfficialAccess {
                at: at(i),
                official: official.into(),
                action: "view-case".into(),
                case_id: (i < 3).then(|| "CASE-1".to_string()),
                detail: format!("entry {i}"),
            }).await.unwrap();
        }
        let (all, total) = store.official_access(&AccessFilter::default(), 3, 0).await.unwrap();
        assert_eq!(total, 7);
        assert_eq!(all.iter().map(|r| r.entry.detail.as_str()).collect::<Vec<_>>(), ["entry 6", "entry 5", "entry 4"]);
        let (last, _) = store.official_access(&AccessFilter::default(), 3, 6).await.unwrap();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].entry.at, at(0));
        let koval = AccessFilter { official: Some("koval-o".into()), case_id: None };
        let (rows, total) = store.official_access(&koval, 10, 0).await.unwrap();
        assert_eq!(total, 4);
        assert!(rows.iter().all(|r| r.entry.official == "koval-o"));
        let case = AccessFilter { official: Some("koval-o".into()), case_id: Some("CASE-1".into()) };
        let (rows, total) = store.official_access(&case, 10, 0).await.unwrap();
        assert_eq!(total, 2);
        assert_eq!(rows.iter().map(|r| r.entry.detail.as_str()).collect::<Vec<_>>(), ["entry 2", "entry 0"]);
        execute(&db.url, "UPDATE official_access SET at = 'yesterday' WHERE detail = 'entry 6'").await;
        let error = store.official_access(&AccessFilter::default(), 10, 0).await.unwrap_err().to_string();
        assert!(error.contains("yesterday"), "{error}");
    }

    async fn an_officials_sign_in_under_way_is_told_from_a_citizens(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let pending = |state: &str, office: bool| PendingSignIn {
            state: state.into(),
            browser: "b".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            next: "/office".into(),
            expires_at: hromada::store::time_text(&(Utc::now() + Duration::minutes(10))),
            office,
        };
        store.begin_sign_in(&pending("o", true), Utc::now()).await.unwrap();
        store.begin_sign_in(&pending("c", false), Utc::now()).await.unwrap();
        assert!(store.take_sign_in("o").await.unwrap().unwrap().office);
        assert!(!store.take_sign_in("c").await.unwrap().unwrap().office);
        assert_eq!(store.take_sign_in("o").await.unwrap(), None);
    }
}
