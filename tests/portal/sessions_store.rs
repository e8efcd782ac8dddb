//! The store's side of sign-in on SQLite and PostgreSQL: sessions (by their token's digest,
//! ended one by one or for every device of a person), sign-ins under way (taken once), the
//! security-event log, and a rewritten row read back as a clear error.

use chrono::{Duration, TimeZone, Utc};
use hromada::store::{NewSession, PendingSignIn, SecurityEvent, SessionEnd, Store};

use crate::common::db::{Db, execute};

fn session(id: &str, owner: &str, subject: &str) -> NewSession {
    let at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    NewSession {
        id: id.into(),
        subject: subject.into(),
        owner: owner.into(),
        claims: r#"{"rnokpp":"3184710691"}"#.into(),
        csrf: format!("csrf-{id}"),
        created_at: at,
        expires_at: at + Duration::hours(12),
    }
}

fn pending(state: &str, expires_at: chrono::DateTime<Utc>) -> PendingSignIn {
    PendingSignIn {
        state: state.into(),
        browser: format!("browser-{state}"),
        nonce: format!("nonce-{state}"),
        pkce_verifier: format!("verifier-{state}"),
        next: "/cabinet".into(),
        expires_at: hromada::store::time_text(&expires_at),
        office: false,
    }
}

crate::both! {
    async fn sessions_end_one_by_one_or_on_every_device_of_a_person(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let now = Utc.timestamp_opt(1_800_000_100, 0).unwrap();
        store.open_session(&session("phone", "3184710691", "sub-a")).await.unwrap();
        store.open_session(&session("laptop", "3184710691", "sub-a")).await.unwrap();
        store.open_session(&session("neighbour", "2745031282", "sub-b")).await.unwrap();
        // Two sessions cannot share a token.
        assert!(store.open_session(&session("phone", "x", "y")).await.is_err());

        let phone = store.session("phone").await.unwrap().unwrap();
        assert_eq!(phone.owner, "3184710691");
        assert_eq!(phone.csrf, "csrf-phone");
        assert_eq!(phone.last_seen_at, phone.created_at);
        store.touch_session("phone", now).await.unwrap();
        assert_eq!(store.session("phone").await.unwrap().unwrap().last_seen_at, now);
        assert_eq!(store.session("unknown").await.unwrap(), None);

        assert!(store.end_session("laptop", now, SessionEnd::Idle).await.unwrap());
        assert!(!store.end_session("laptop", now, SessionEnd::Idle).await.unwrap());
        assert_eq!(store.session("laptop").await.unwrap(), None);
        store.touch_session("laptop", now).await.unwrap();
        assert_eq!(store.session("laptop").await.unwrap(), None, "an ended session stays ended");

        store.open_session(&session("tablet", "3184710691", "sub-a")).await.unwrap();
        assert_eq!(
            store.end_sessions_of("3184710691", now, SessionEnd::SignedOut).await.unwrap(),
            2
        );
        assert_eq!(store.session("phone").await.unwrap(), None);
        assert_eq!(store.session("tablet").await.unwrap(), None);
        assert!(store.session("neighbour").await.unwrap().is_some());
        assert_eq!(
            store.end_sessions_of("3184710691", now, SessionEnd::SignedOut).await.unwrap(),
            0
        );
    }

    async fn sessions_are_forgotten_a_while_after_they_expire(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        // Expires 12 h after 1_800_000_000.
        store.open_session(&session("old", "3184710691", "sub-a")).await.unwrap();
        let mut recent = session("recent", "3184710691", "sub-a");
        recent.expires_at += Duration::days(40);
        store.open_session(&recent).await.unwrap();
        store
            .end_session("old", recent.created_at, SessionEnd::SignedOut)
            .await
            .unwrap();
        let cutoff = recent.created_at + Duration::days(30);
        assert_eq!(store.forget_sessions(cutoff).await.unwrap(), 1);
        assert_eq!(store.forget_sessions(cutoff).await.unwrap(), 0);
        assert!(store.session("recent").await.unwrap().is_some());
        assert!(store.end_session("old", cutoff, SessionEnd::Idle).await.is_ok_and(|ended| !ended));
    }

    async fn a_sign_in_under_way_is_taken_once_and_forgotten_when_stale(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        store.begin_sign_in(&pending("old", now - Duration::minutes(1)), now - Duration::minutes(20))
            .await
            .unwrap();
        store.begin_sign_in(&pending("s1", now + Duration::minutes(10)), now).await.unwrap();
        // Taken once: a replayed callback finds nothing.
        let taken = store.take_sign_in("s1").await.unwrap().unwrap();
        assert_eq!(taken, pending("s1", now + Duration::minutes(10)));
        assert_eq!(store.take_sign_in("s1").await.unwrap(), None);
        // The one that expired before `now` was forgotten when s1 began.
        assert_eq!(store.take_sign_in("old").await.unwrap(), None);
        // The same state twice is refused rather than overwriting the first.
        store.begin_sign_in(&pending("s2", now + Duration::minutes(10)), now).await.unwrap();
        assert!(store.begin_sign_in(&pending("s2", now), now).await.is_err());
        assert_eq!(
            store.take_sign_in("s2").await.unwrap().unwrap().pkce_verifier,
            "verifier-s2"
        );
    }

    async fn security_events_are_kept_newest_first(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let at = Utc.timestamp_opt(1_800_000_000, 123_456_789).unwrap();
        for (n, (kind, subject)) in [
            ("signed-in", Some("sub-a")),
            ("refused-csrf", Some("sub-a")),
            ("sign-in-failed", None),
        ]
        .into_iter()
        .enumerate()
        {
            store
                .record_security_event(&SecurityEvent {
                    at: at + Duration::seconds(n as i64),
                    kind: kind.into(),
                    subject: subject.map(str::to_string),
                    reason: format!("reason {n}"),
                })
                .await
                .unwrap();
        }
        let events = store.security_events(2).await.unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event.kind, "sign-in-failed");
        assert_eq!(events[0].event.subject, None);
        assert_eq!(events[1].event.kind, "refused-csrf");
        assert_eq!(events[1].event.at, at + Duration::seconds(1));
        assert!(events[0].id > events[1].id);
    }

    async fn a_session_row_rewritten_outside_hromada_is_an_error_naming_it(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        store.open_session(&session("phone", "3184710691", "sub-a")).await.unwrap();
        execute(&db.url, "UPDATE portal_sessions SET expires_at = 'next week' WHERE id = 'phone'").await;
        let error = store.session("phone").await.unwrap_err().to_string();
        assert!(
            error.contains("a portal session") && error.contains("expiry") && error.contains("next week"),
            "{error}"
        );
        // Nothing else was changed by reading it.
        execute(&db.url, "UPDATE portal_sessions SET expires_at = created_at WHERE id = 'phone'").await;
        assert!(store.session("phone").await.unwrap().is_some());
    }
}
