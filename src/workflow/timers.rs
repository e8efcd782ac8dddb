//! The timer runner: sleeps until the next timer is due (or it is woken, or a ceiling passes so
//! that other replicas' timers are seen), then fires every due timer, one transaction each, through
//! the engine's `TimerHandler`. A failed handler rolls back and its timer is retried with backoff.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::clock::SharedClock;
use crate::store::{ClaimedTimer, Store, StoreError, Timer, Tx};

/// A boxed future that may cross threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The longest the runner sleeps: timers another replica scheduled are seen within it.
const CEILING: Duration = Duration::from_secs(30);
/// The shortest sleep while a due timer is held by another replica's sweep.
const FLOOR: Duration = Duration::from_millis(100);
/// The first retry of a failed timer, doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: TimeDelta = TimeDelta::seconds(30);
const MAX_BACKOFF: TimeDelta = TimeDelta::hours(1);

/// What the engine does when a timer fires.
pub trait TimerHandler: Send + Sync + 'static {
    /// Applies what the timer means, inside `tx` (the runner claims the timer in the same
    /// transaction and marks it fired there, then commits). An error rolls everything back and
    /// the timer is retried later; its text is logged, so it must hold no personal data.
    fn fire<'a>(&'a self, tx: &'a mut Tx, timer: &'a Timer) -> BoxFuture<'a, Result<(), String>>;
}

/// Runs the timers of `store` on `clock` until `shutdown` turns true (or its sender is gone).
pub fn spawn(
    store: Store,
    clock: SharedClock,
    handler: Arc<dyn TimerHandler>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut failures = 0u32;
        while !*shutdown.borrow_and_update() {
            let wait = match sweep(&store, clock.now(), handler.as_ref()).await {
                Ok(_) => {
                    failures = 0;
                    until_next(&store, &clock).await
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::error!("the timer sweep stopped: {e}; trying again shortly");
                    backoff(failures).to_std().unwrap_or(CEILING).min(CEILING)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = store.timers_changed().notified() => {}
                changed = shutdown.changed() => if changed.is_err() { break },
            }
        }
    })
}

/// How long to sleep until the next timer is due, within [`FLOOR`] and [`CEILING`].
async fn until_next(store: &Store, clock: &SharedClock) -> Duration {
    match store.next_timer_wake().await {
        Ok(Some(wake_at)) => (wake_at - clock.now())
            .to_std()
            .unwrap_or_default()
            .clamp(FLOOR, CEILING),
        Ok(None) => CEILING,
        Err(e) => {
            tracing::error!("{e}");
            CEILING
        }
    }
}

/// Fires every timer due at `now`, one transaction each; how many fired. A timer whose handler
/// fails (or whose row is not a timer) is put aside with backoff and the sweep goes on.
pub async fn sweep(
    store: &Store,
    now: DateTime<Utc>,
    handler: &dyn TimerHandler,
) -> Result<usize, StoreError> {
    let mut fired = 0;
    loop {
        let mut tx = store.begin().await?;
        let Some(claimed) = store.claim_due_timer(&mut tx, now).await? else {
            return Ok(fired);
        };
        match claimed {
            ClaimedTimer::Due { timer, attempts } => {
                if !store.mark_timer_fired(&mut tx, timer.id, now).await? {
                    continue;
                }
                match handler.fire(&mut tx, &timer).await {
                    Ok(()) => {
                        tx.commit().await?;
                        fired += 1;
                    }
                    Err(why) => {
                        drop(tx);
                        let retry_at = now + backoff(attempts + 1);
                        tracing::warn!(
                            timer = timer.id,
                            kind = %timer.kind,
                            attempts = attempts + 1,
                            "the {} timer {} of case {} failed and is retried at {retry_at}: {why}",
                            timer.kind,
                            timer.id,
                            timer.case_id
                        );
                        store.retry_timer(timer.id, attempts + 1, retry_at).await?;
                    }
                }
            }
            ClaimedTimer::Unreadable {
                id,
                attempts,
                problem,
            } => {
                drop(tx);
                let retry_at = now + backoff(attempts + 1);
                tracing::error!(
                    timer = id,
                    "timer {id} in the store cannot be fired: {problem}; correct or delete that \
                     row of `timers` (looked at again at {retry_at})"
                );
                store.retry_timer(id, attempts + 1, retry_at).await?;
            }
        }
    }
}

/// The wait before attempt `attempt + 1` of a timer that failed `attempt` times.
fn backoff(attempt: u32) -> TimeDelta {
    let doublings = attempt.saturating_sub(1).min(16);
    (FIRST_BACKOFF * 2i32.pow(doublings)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), TimeDelta::seconds(30));
        assert_eq!(backoff(2), TimeDelta::seconds(60));
        assert_eq!(backoff(4), TimeDelta::seconds(240));
        assert_eq!(backoff(8), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
