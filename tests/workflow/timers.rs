//! The case engine's durable timers on both databases: each fires once and not before it is due,
//! late ones fire when the runner starts, a failed handler's work is rolled back and the timer
//! fires later, two sweepers on one database share the timers without firing one twice, a case's
//! timers are cancelled with its transition, and a row rewritten by hand stops only itself.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use hromada::store::{Backend, NewTimer, Store, Timer, TimerKind, Tx};
use hromada::workflow::clock::{FakeClock, SharedClock};
use hromada::workflow::timers::{BoxFuture, TimerHandler, spawn, sweep};
use tokio::sync::watch;

use crate::both;
use crate::common::db::Db;
use crate::common::holds_within_30s;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn new_timer(case_id: &str, kind: TimerKind, key: &str, due_at: DateTime<Utc>) -> NewTimer {
    NewTimer {
        case_id: case_id.into(),
        kind,
        key: key.into(),
        due_at,
    }
}

async fn schedule(store: &Store, timers: &[NewTimer]) {
    let mut tx = store.begin().await.unwrap();
    for t in timers {
        store.schedule_timer(&mut tx, t).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// A handler that records what fired and, as the engine would, writes in the timer's
/// transaction: a reminder schedules a follow-up escalation of its case. Cases in `failing`
/// write that follow-up and then fail.
#[derive(Default)]
struct Recorder {
    fired: Mutex<Vec<Timer>>,
    failing: Mutex<HashSet<String>>,
    store: Mutex<Option<Store>>,
}

impl Recorder {
    fn new(store: &Store) -> Arc<Recorder> {
        let recorder = Recorder::default();
        *recorder.store.lock().unwrap() = Some(store.clone());
        Arc::new(recorder)
    }

    fn fired(&self) -> Vec<(String, TimerKind, String)> {
        let mut fired: Vec<_> = self
            .fired
            .lock()
            .unwrap()
            .iter()
            .map(|t| (t.case_id.clone(), t.kind, t.key.clone()))
            .collect();
        fired.sort_by(|a, b| (&a.0, a.1.as_str(), &a.2).cmp(&(&b.0, b.1.as_str(), &b.2)));
        fired
    }

    fn fail(&self, case_id: &str, failing: bool) {
        let mut set = self.failing.lock().unwrap();
        if failing {
            set.insert(case_id.into());
        } else {
            set.remove(case_id);
        }
    }
}

impl TimerHandler for Recorder {
    fn fire<'a>(&'a self, tx: &'a mut Tx, timer: &'a Timer) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let store = self.store.lock().unwrap().clone().unwrap();
            if timer.kind == TimerKind::Remind {
                let follow_up = new_timer(
                    &timer.case_id,
                    TimerKind::Escalate,
                    &timer.key,
                    timer.due_at + TimeDelta::days(1),
                );
                store
                    .schedule_timer(tx, &follow_up)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            if self.failing.lock().unwrap().contains(&timer.case_id) {
                return Err("the test handler refuses this case".into());
            }
            self.fired.lock().unwrap().push(timer.clone());
            Ok(())
        })
    }
}

/// The kinds of the case's timers not yet fired.
async fn pending(store: &Store, case_id: &str) -> Vec<(TimerKind, DateTime<Utc>)> {
    store
        .pending_timers(case_id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.kind, t.due_at))
        .collect()
}

/// Runs `sql` on the test's database directly, as someone editing rows by hand would.
async fn by_hand(db: &Db, sql: &str) {
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

async fn text_of(db: &Db, sql: &str) -> String {
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            let text: String = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            text
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            let text: String = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            text
        }
    }
}

both! {
    async fn a_timer_fires_once_when_due_and_not_before(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let recorder = Recorder::new(&store);
        schedule(&store, &[
            new_timer("case-a", TimerKind::Deadline, "review", t0()),
            new_timer("case-b", TimerKind::Deadline, "review", t0() + TimeDelta::hours(1)),
        ])
        .await;

        let just_before = t0() - TimeDelta::nanoseconds(1);
        assert_eq!(sweep(&store, just_before, recorder.as_ref()).await.unwrap(), 0);
        assert!(recorder.fired().is_empty());

        assert_eq!(sweep(&store, t0(), recorder.as_ref()).await.unwrap(), 1);
        assert_eq!(recorder.fired(), [("case-a".into(), TimerKind::Deadline, "review".into())]);

        let much_later = t0() + TimeDelta::days(40);
        assert_eq!(sweep(&store, much_later, recorder.as_ref()).await.unwrap(), 1);
        assert_eq!(sweep(&store, much_later, recorder.as_ref()).await.unwrap(), 0);
        assert_eq!(recorder.fired().len(), 2);
        assert!(pending(&store, "case-a").await.is_empty());
        assert_eq!(store.next_timer_wake().await.unwrap(), None);
    }

    async fn scheduling_the_same_timer_again_keeps_the_first(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let recorder = Recorder::new(&store);
        let first = new_timer("case-a", TimerKind::Deadline, "review", t0());
        schedule(&store, &[first.clone()]).await;
        // A double submit, and the same timer after it fired: neither moves nor revives it.
        let moved = new_timer("case-a", TimerKind::Deadline, "review", t0() + TimeDelta::days(3));
        schedule(&store, &[moved.clone()]).await;
        assert_eq!(pending(&store, "case-a").await, [(TimerKind::Deadline, t0())]);
        assert_eq!(sweep(&store, t0(), recorder.as_ref()).await.unwrap(), 1);
        schedule(&store, &[moved]).await;
        assert!(pending(&store, "case-a").await.is_empty());
        assert_eq!(sweep(&store, t0() + TimeDelta::days(9), recorder.as_ref()).await.unwrap(), 0);
        assert_eq!(recorder.fired().len(), 1);
    }

    async fn late_timers_fire_when_the_runner_starts_and_it_stops_on_shutdown(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        schedule(&store, &[
            new_timer("case-a", TimerKind::Deadline, "review", t0()),
            new_timer("case-b", TimerKind::Remind, "review", t0() + TimeDelta::hours(2)),
            new_timer("case-c", TimerKind::Deadline, "review", t0() + TimeDelta::days(30)),
        ])
        .await;
        store.close().await;

        // The appliance was down while two of them fell due.
        let store = Store::connect(&db.url).await.unwrap();
        let recorder = Recorder::new(&store);
        let clock = FakeClock::at(t0() + TimeDelta::days(1));
        let (stop, stopped) = watch::channel(false);
        let runner = spawn(store.clone(), Arc::new(clock.clone()) as SharedClock, recorder.clone(), stopped);
        assert!(holds_within_30s(|| async { recorder.fired().len() == 2 }).await);
        assert_eq!(
            recorder.fired(),
            [
                ("case-a".into(), TimerKind::Deadline, "review".into()),
                ("case-b".into(), TimerKind::Remind, "review".into()),
            ]
        );
        // The reminder's escalation, written in its transaction, is due a day later.
        assert_eq!(
            pending(&store, "case-b").await,
            [(TimerKind::Escalate, t0() + TimeDelta::days(1) + TimeDelta::hours(2))]
        );

        // Moving the clock and waking the runner fires what is now due.
        clock.advance(TimeDelta::days(40));
        store.wake_timers();
        assert!(holds_within_30s(|| async { recorder.fired().len() == 4 }).await);

        stop.send(true).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(30), runner)
            .await
            .expect("the runner stops within 30 s of shutdown")
            .unwrap();
    }

    async fn a_failed_handler_is_rolled_back_and_fires_again_later(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let recorder = Recorder::new(&store);
        schedule(&store, &[
            new_timer("case-bad", TimerKind::Remind, "review", t0()),
            new_timer("case-good", TimerKind::Remind, "review", t0()),
        ])
        .await;
        recorder.fail("case-bad", true);

        // The failing one does not stop the other; what it wrote is gone, and it is not fired.
        assert_eq!(sweep(&store, t0(), recorder.as_ref()).await.unwrap(), 1);
        assert_eq!(recorder.fired(), [("case-good".into(), TimerKind::Remind, "review".into())]);
        assert_eq!(pending(&store, "case-bad").await, [(TimerKind::Remind, t0())]);
        assert_eq!(pending(&store, "case-good").await.len(), 1, "the good one's escalation");

        // It is retried after a backoff, not in a loop.
        recorder.fail("case-bad", false);
        assert_eq!(sweep(&store, t0(), recorder.as_ref()).await.unwrap(), 0);
        let retry = store.next_timer_wake().await.unwrap().unwrap();
        assert!(retry > t0(), "retried at {retry}");
        assert_eq!(sweep(&store, retry - TimeDelta::nanoseconds(1), recorder.as_ref()).await.unwrap(), 0);
        assert_eq!(sweep(&store, retry, recorder.as_ref()).await.unwrap(), 1);
        assert_eq!(recorder.fired().len(), 2);
        // Its own due time is what the handler saw, and it now has one escalation.
        assert_eq!(recorder.fired.lock().unwrap()[1].due_at, t0());
        assert_eq!(
            pending(&store, "case-bad").await,
            [(TimerKind::Escalate, t0() + TimeDelta::days(1))]
        );
    }

    async fn two_sweepers_on_one_database_fire_each_timer_once(db: Db) {
        const TIMERS: usize = 300;
        let one = Store::connect(&db.url).await.unwrap();
        let two = Store::connect(&db.url).await.unwrap();
        let timers: Vec<NewTimer> = (0..TIMERS)
            .map(|i| new_timer(&format!("case-{i:03}"), TimerKind::Deadline, "review", t0() + TimeDelta::seconds(i as i64)))
            .collect();
        schedule(&one, &timers).await;
        let first = Recorder::new(&one);
        let second = Recorder::new(&two);
        let now = t0() + TimeDelta::days(1);
        let (a, b) = tokio::join!(
            tokio::spawn({
                let (store, recorder) = (one.clone(), first.clone());
                async move { sweep(&store, now, recorder.as_ref()).await.unwrap() }
            }),
            tokio::spawn({
                let (store, recorder) = (two.clone(), second.clone());
                async move { sweep(&store, now, recorder.as_ref()).await.unwrap() }
            }),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a + b, TIMERS);
        assert_eq!((first.fired().len(), second.fired().len()), (a, b));
        let mut times_fired: HashMap<String, usize> = HashMap::new();
        for (case, _, _) in first.fired().into_iter().chain(second.fired()) {
            *times_fired.entry(case).or_default() += 1;
        }
        assert_eq!(times_fired.len(), TIMERS);
        assert!(times_fired.values().all(|&n| n == 1), "{times_fired:?}");
        if db.backend == Backend::Postgres {
            // Both took part: SKIP LOCKED let each pass the other's timer.
            eprintln!("sweeper one fired {a}, sweeper two {b}");
        }
    }

    async fn cancelling_a_cases_timers_takes_them_all_and_only_with_its_commit(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let recorder = Recorder::new(&store);
        schedule(&store, &[
            new_timer("case-a", TimerKind::Deadline, "review", t0()),
            new_timer("case-a", TimerKind::Remind, "review", t0() - TimeDelta::days(1)),
            new_timer("case-b", TimerKind::Deadline, "review", t0()),
        ])
        .await;

        let mut tx = store.begin().await.unwrap();
        assert_eq!(store.cancel_timers(&mut tx, "case-a").await.unwrap(), 2);
        drop(tx);
        assert_eq!(pending(&store, "case-a").await.len(), 2, "a rolled back cancel keeps them");

        let mut tx = store.begin().await.unwrap();
        assert_eq!(store.cancel_timers(&mut tx, "case-a").await.unwrap(), 2);
        assert_eq!(store.cancel_timers(&mut tx, "case-unknown").await.unwrap(), 0);
        tx.commit().await.unwrap();
        assert!(pending(&store, "case-a").await.is_empty());

        assert_eq!(sweep(&store, t0() + TimeDelta::days(1), recorder.as_ref()).await.unwrap(), 1);
        assert_eq!(recorder.fired(), [("case-b".into(), TimerKind::Deadline, "review".into())]);

        // Entering the state again schedules afresh.
        schedule(&store, &[new_timer("case-a", TimerKind::Deadline, "review", t0())]).await;
        assert_eq!(sweep(&store, t0() + TimeDelta::days(1), recorder.as_ref()).await.unwrap(), 1);
    }

    async fn a_row_rewritten_by_hand_stops_only_itself_and_is_left_as_it_is(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let recorder = Recorder::new(&store);
        schedule(&store, &[
            new_timer("case-broken", TimerKind::Deadline, "review", t0()),
            new_timer("case-fine", TimerKind::Deadline, "review", t0()),
        ])
        .await;
        by_hand(&db, "UPDATE timers SET due_at = 'next tuesday' WHERE case_id = 'case-broken'").await;

        assert_eq!(sweep(&store, t0(), recorder.as_ref()).await.unwrap(), 1);
        assert_eq!(recorder.fired(), [("case-fine".into(), TimerKind::Deadline, "review".into())]);
        assert_eq!(
            text_of(&db, "SELECT due_at FROM timers WHERE case_id = 'case-broken'").await,
            "next tuesday"
        );
        assert!(
            text_of(&db, "SELECT COALESCE(fired_at, 'unfired') FROM timers WHERE case_id = 'case-broken'")
                .await
                == "unfired"
        );
        // Put aside rather than read again and again.
        assert_eq!(sweep(&store, t0(), recorder.as_ref()).await.unwrap(), 0);

        // A kind the engine does not know is refused by the database itself.
        let kind_check = match db.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
                sqlx::query("UPDATE timers SET kind = 'explode' WHERE case_id = 'case-fine'")
                    .execute(&pool)
                    .await
                    .map(drop)
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
                sqlx::query("UPDATE timers SET kind = 'explode' WHERE case_id = 'case-fine'")
                    .execute(&pool)
                    .await
                    .map(drop)
            }
        };
        assert!(kind_check.is_err(), "an unknown kind is refused");
    }
}
