//! The store's side of feedback, ratings and polls on SQLite and PostgreSQL: a rating once per
//! application kept by e-service and month, poll answers once per voter kept only as counts, and
//! rows rewritten outside hromada read back as clear errors, the rest untouched.

use chrono::{TimeZone, Utc};
use hromada::store::{NewFeedback, NewRating, Store};

use crate::common::db::{Db, execute};

fn rating(key: &str, e_service: &str, stars: i64, month: u32) -> NewRating {
    NewRating {
        application_key: key.into(),
        e_service: e_service.into(),
        stars,
        comment: Some(format!("коментар {key}")),
        at: Utc.with_ymd_and_hms(2026, month, 15, 10, 30, 0).unwrap(),
    }
}

fn message(kind: &str, n: u32) -> NewFeedback {
    NewFeedback {
        kind: kind.into(),
        page: "/services/water-no-debt".into(),
        body: format!("текст {n}"),
        email: (n == 1).then(|| "olena@example.org".to_string()),
        signed_in: n == 2,
        received_at: Utc.with_ymd_and_hms(2026, 12, 7, 9, n, 0).unwrap(),
    }
}

crate::both! {
    async fn a_rating_is_kept_once_per_application_by_e_service_and_month(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        assert!(store.rate(&rating("a1", "water-no-debt", 5, 11)).await.unwrap());
        assert!(store.rate(&rating("a2", "water-no-debt", 2, 12)).await.unwrap());
        assert!(store.rate(&rating("a3", "material-aid", 4, 12)).await.unwrap());
        // A second rating of the same application changes nothing.
        assert!(!store.rate(&rating("a1", "water-no-debt", 1, 12)).await.unwrap());
        let first = store.rating_of("a1").await.unwrap().unwrap();
        assert_eq!((first.stars, first.month.as_str()), (5, "2026-11-01T00:00:00.000000000Z"));
        assert_eq!(first.comment.as_deref(), Some("коментар a1"));
        assert_eq!(store.rating_of("unknown").await.unwrap(), None);

        let from = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            store.ratings("water-no-debt", from, to).await.unwrap(),
            vec![
                (5, "2026-11-01T00:00:00.000000000Z".to_string()),
                (2, "2026-12-01T00:00:00.000000000Z".to_string()),
            ]
        );
        let december = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        assert_eq!(store.ratings("water-no-debt", december, to).await.unwrap().len(), 1);
        assert_eq!(store.ratings("material-aid", from, december).await.unwrap(), vec![]);

        // Stars outside 1–5 never get in.
        assert!(store.rate(&rating("a4", "water-no-debt", 6, 12)).await.is_err());
        assert_eq!(store.ratings("water-no-debt", from, to).await.unwrap().len(), 2);
    }

    async fn a_rating_whose_month_was_rewritten_is_named_not_counted(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        store.rate(&rating("a1", "water-no-debt", 3, 12)).await.unwrap();
        execute(&db.url, "UPDATE ratings SET month = '2026-12-15' WHERE application_key = 'a1'").await;
        let from = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap();
        let error = store.ratings("water-no-debt", from, to).await.unwrap_err().to_string();
        assert!(
            error.contains("rating of e-service water-no-debt")
                && error.contains("malformed month `2026-12-15`")
                && error.contains("changed outside hromada"),
            "{error}"
        );
        assert!(store.rating_of("a1").await.is_err());
    }

    async fn a_poll_counts_one_answer_per_voter_and_keeps_no_choice_of_anyone(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        assert!(store.answer_poll("park", "voter-1", "trees").await.unwrap());
        assert!(store.answer_poll("park", "voter-2", "trees").await.unwrap());
        assert!(store.answer_poll("park", "voter-3", "benches").await.unwrap());
        assert!(store.answer_poll("budget", "voter-1", "school").await.unwrap());
        // A second answer of the same voter is refused and changes no count.
        assert!(!store.answer_poll("park", "voter-1", "benches").await.unwrap());
        assert!(store.has_answered("park", "voter-1").await.unwrap());
        assert!(!store.has_answered("park", "voter-4").await.unwrap());
        assert_eq!(
            store.poll_counts("park").await.unwrap(),
            (3, vec![("benches".to_string(), 1), ("trees".to_string(), 2)])
        );
        assert_eq!(store.poll_counts("none").await.unwrap(), (0, vec![]));

        // Two people answering at once are both counted.
        let (a, b) = tokio::join!(
            store.answer_poll("budget", "voter-2", "road"),
            store.answer_poll("budget", "voter-3", "road"),
        );
        assert!(a.unwrap() && b.unwrap());
        assert_eq!(
            store.poll_counts("budget").await.unwrap(),
            (3, vec![("road".to_string(), 2), ("school".to_string(), 1)])
        );

        // One person's double submit racing itself is counted once.
        let (a, b) = tokio::join!(
            store.answer_poll("budget", "voter-4", "road"),
            store.answer_poll("budget", "voter-4", "school"),
        );
        assert!(a.unwrap() ^ b.unwrap(), "exactly one of the two is counted");
        assert_eq!(store.poll_counts("budget").await.unwrap().0, 4);
    }

    async fn poll_counts_raised_outside_hromada_are_refused_not_shown(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        store.answer_poll("park", "voter-1", "trees").await.unwrap();
        execute(&db.url, "UPDATE poll_counts SET answers = 500 WHERE poll = 'park'").await;
        let error = store.poll_counts("park").await.unwrap_err().to_string();
        assert!(
            error.contains("poll park") && error.contains("500 answers for 1 people"),
            "{error}"
        );
    }

    async fn messages_to_the_administrator_are_kept_newest_first(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        for (n, kind) in ["feedback", "proposal", "complaint"].iter().enumerate() {
            store.record_feedback(&message(kind, n as u32)).await.unwrap();
        }
        let (page, total) = store.feedback(2, 0).await.unwrap();
        assert_eq!(total, 3);
        assert_eq!(
            page.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>(),
            ["complaint", "proposal"]
        );
        assert!(page[0].signed_in && !page[1].signed_in);
        assert_eq!(page[1].email.as_deref(), Some("olena@example.org"));
        let (rest, _) = store.feedback(2, 2).await.unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].body, "текст 0");

        let unknown = message("spam", 3);
        assert!(store.record_feedback(&unknown).await.is_err(), "an unknown kind is refused");
        assert_eq!(store.feedback(10, 0).await.unwrap().1, 3);
    }
}
