//! The agreements' rate limits as the provider's node applies them: the in-process token bucket
//! of `token_bucket.rs` where one process owns the store (SQLite), tokens leased from the store's shared
//! bucket where replicas share it (PostgreSQL), so together they stay within the limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::token_bucket::{RateLimiter, period};
use crate::spec::model::RateLimit;
use crate::store::{LeaseRequest, Store, StoreError};

/// Why a call may not go ahead now.
#[derive(Debug)]
pub enum Refusal {
    /// The limit is reached; a token is due after this wait.
    Exhausted(Duration),
    /// The shared count could not be reached, so the call is not counted and not carried out.
    Unavailable(StoreError),
}

/// The rate limits of one gateway process.
pub enum RateLimits {
    Local(Mutex<RateLimiter>),
    Shared(SharedLimits),
}

impl RateLimits {
    /// Limits counted in this process only: right where no other process serves the same node.
    pub fn local() -> RateLimits {
        RateLimits::Local(Mutex::new(RateLimiter::new()))
    }

    /// Limits counted where every replica of the node sees them: leased from `store` when other
    /// processes may share it, in this process otherwise.
    pub fn for_store(store: &Store) -> RateLimits {
        if store.shared_by_replicas() {
            RateLimits::Shared(SharedLimits {
                store: store.clone(),
                holder: uuid::Uuid::now_v7().to_string(),
                leases: Mutex::new(Leases::default()),
            })
        } else {
            RateLimits::local()
        }
    }

    /// Takes one call of `agreement` on `node` under `limit`.
    pub async fn check(
        &self,
        node: &str,
        agreement: &str,
        limit: &RateLimit,
    ) -> Result<(), Refusal> {
        match self {
            RateLimits::Local(limiter) => limiter
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .check(agreement, limit, Instant::now())
                .map_err(Refusal::Exhausted),
            RateLimits::Shared(shared) => shared.check(node, agreement, limit).await,
        }
    }
}

/// Tokens leased from the store, per agreement, in batches that grow while no other replica
/// leases, so that a replica alone rarely asks (`hromada_rate_limit_leases_total` counts the
/// round trips). Leases are timed by the replicas' clocks: keep them synchronised, as a skew of
/// s seconds adds at most s × the rate.
pub struct SharedLimits {
    store: Store,
    /// This process among the replicas, as the store's buckets name it.
    holder: String,
    leases: Mutex<Leases>,
}

impl SharedLimits {
    async fn check(&self, node: &str, agreement: &str, limit: &RateLimit) -> Result<(), Refusal> {
        let now = Instant::now();
        let want = match self.lock().take(agreement, limit, now) {
            Local::Taken => return Ok(()),
            Local::Wait(wait) => return Err(Refusal::Exhausted(wait)),
            Local::Lease(want) => want,
        };
        let capacity = limit.requests;
        let request = LeaseRequest {
            node,
            agreement,
            holder: &self.holder,
            capacity,
            per_microsecond: f64::from(capacity) / period(limit.per).as_micros() as f64,
            want,
            now_micros: chrono::Utc::now().timestamp_micros(),
        };
        metrics::counter!("hromada_rate_limit_leases_total").increment(1);
        let lease = self
            .store
            .lease_tokens(&request)
            .await
            .map_err(Refusal::Unavailable)?;
        self.lock()
            .leased(agreement, limit, want, lease, Instant::now())
            .map_err(Refusal::Exhausted)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Leases> {
        self.leases.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What this process holds of each agreement's shared bucket, on an injected clock.
#[derive(Debug, Default)]
struct Leases {
    by_agreement: HashMap<String, Held>,
}

#[derive(Debug)]
struct Held {
    /// Tokens leased and not yet used.
    left: u32,
    /// Until when they may be used: as long as the store takes to refill them, so that tokens
    /// used late never add more than one lease to what the limit admits.
    until: Instant,
    /// How many tokens to ask for next.
    batch: u32,
    /// The store had no token before this time.
    empty_until: Option<Instant>,
    /// The limit the tokens were leased under.
    limit: RateLimit,
}

impl Held {
    /// Nothing held yet under `limit`.
    fn none(limit: &RateLimit, now: Instant) -> Held {
        Held {
            left: 0,
            until: now,
            batch: 1,
            empty_until: None,
            limit: limit.clone(),
        }
    }
}

#[derive(Debug, PartialEq)]
enum Local {
    Taken,
    Wait(Duration),
    Lease(u32),
}

/// The largest batch a replica leases: a tenth of the limit, so that what one replica holds
/// unused while others are refused stays small; limits under twenty lease one token at a time.
fn largest_batch(limit: &RateLimit) -> u32 {
    (limit.requests / 10).max(1)
}

impl Leases {
    fn take(&mut self, agreement: &str, limit: &RateLimit, now: Instant) -> Local {
        if limit.requests == 0 {
            return Local::Wait(period(limit.per));
        }
        let held = self
            .by_agreement
            .entry(agreement.to_string())
            .or_insert_with(|| Held::none(limit, now));
        if held.limit != *limit {
            // A new revision changed the limit: what was leased under the old one is not used
            // (tokens leased at a higher rate would pass beyond a lowered limit).
            *held = Held::none(limit, now);
        }
        held.batch = held.batch.min(largest_batch(limit));
        if held.left > 0 && now < held.until {
            held.left -= 1;
            return Local::Taken;
        }
        if held.left > 0 {
            // The lease ran out before its tokens were used: ask for less next time.
            held.left = 0;
            held.batch = (held.batch / 2).max(1);
        }
        match held.empty_until {
            Some(until) if now < until => Local::Wait(until - now),
            _ => Local::Lease(held.batch),
        }
    }

    /// Records a lease of `want` tokens the store answered with, and takes one of them.
    fn leased(
        &mut self,
        agreement: &str,
        limit: &RateLimit,
        want: u32,
        lease: crate::store::Lease,
        now: Instant,
    ) -> Result<(), Duration> {
        let Some(held) = self.by_agreement.get_mut(agreement) else {
            return Err(period(limit.per));
        };
        let per_second = f64::from(limit.requests) / period(limit.per).as_secs_f64();
        if lease.granted == 0 {
            let wait = Duration::from_secs_f64(((1.0 - lease.left).max(0.0)) / per_second)
                .max(Duration::from_millis(1));
            held.empty_until = Some(now + wait);
            return Err(wait);
        }
        held.empty_until = None;
        if held.limit != *limit {
            // A new revision changed the limit while this lease was asked: the call it was
            // asked for goes ahead, the rest of it is not kept under the new limit.
            return Ok(());
        }
        held.left += lease.granted - 1;
        held.until = now + Duration::from_secs_f64(f64::from(lease.granted) / per_second);
        held.batch = if lease.contended {
            1
        } else if lease.granted >= want {
            want.saturating_mul(2).min(largest_batch(limit))
        } else {
            held.batch
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::RatePeriod;
    use crate::store::Lease;

    fn per_minute(requests: u32) -> RateLimit {
        RateLimit {
            requests,
            per: RatePeriod::Minute,
        }
    }

    fn lease(granted: u32, left: f64, contended: bool) -> Lease {
        Lease {
            granted,
            left,
            contended,
        }
    }

    #[test]
    fn a_replica_alone_leases_growing_batches_and_uses_them_without_asking() {
        let limit = per_minute(600);
        let mut leases = Leases::default();
        let t0 = Instant::now();
        let mut asked = Vec::new();
        for _ in 0..200 {
            match leases.take("a", &limit, t0) {
                Local::Taken => {}
                Local::Lease(want) => {
                    asked.push(want);
                    let granted = lease(want, 600.0, false);
                    assert_eq!(leases.leased("a", &limit, want, granted, t0), Ok(()));
                }
                Local::Wait(wait) => panic!("refused after {asked:?}: {wait:?}"),
            }
        }
        assert_eq!(asked[..7], [1, 2, 4, 8, 16, 32, 60], "{asked:?}");
        assert!(asked.len() < 10, "{asked:?}");
        assert_eq!(leases.by_agreement.len(), 1);
    }

    #[test]
    fn contention_brings_the_batch_back_to_one() {
        let limit = per_minute(600);
        let mut leases = Leases::default();
        let t0 = Instant::now();
        assert_eq!(leases.take("a", &limit, t0), Local::Lease(1));
        leases
            .leased("a", &limit, 1, lease(1, 9.0, false), t0)
            .unwrap();
        assert_eq!(leases.take("a", &limit, t0), Local::Lease(2));
        leases
            .leased("a", &limit, 2, lease(2, 9.0, true), t0)
            .unwrap();
        assert_eq!(leases.take("a", &limit, t0), Local::Taken);
        assert_eq!(leases.take("a", &limit, t0), Local::Lease(1));
    }

    #[test]
    fn an_empty_bucket_is_not_asked_again_before_a_token_is_due() {
        let limit = per_minute(5);
        let mut leases = Leases::default();
        let t0 = Instant::now();
        assert_eq!(leases.take("a", &limit, t0), Local::Lease(1));
        let wait = leases
            .leased("a", &limit, 1, lease(0, 0.5, true), t0)
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(6), "half a token at 12 s each");
        assert_eq!(
            leases.take("a", &limit, t0 + Duration::from_secs(2)),
            Local::Wait(Duration::from_secs(4))
        );
        assert_eq!(
            leases.take("a", &limit, t0 + Duration::from_secs(6)),
            Local::Lease(1)
        );
    }

    #[test]
    fn leased_tokens_expire_unused_and_the_next_batch_is_smaller() {
        let limit = per_minute(600);
        let mut leases = Leases::default();
        let t0 = Instant::now();
        for want in [1, 2, 4] {
            assert_eq!(leases.take("a", &limit, t0), Local::Lease(want));
            leases
                .leased("a", &limit, want, lease(want, 99.0, false), t0)
                .unwrap();
            for _ in 1..want {
                assert_eq!(leases.take("a", &limit, t0), Local::Taken);
            }
        }
        assert_eq!(leases.take("a", &limit, t0), Local::Lease(8));
        leases
            .leased("a", &limit, 8, lease(8, 99.0, false), t0)
            .unwrap();
        // Eight tokens at ten per second may be used for 0.8 s.
        let late = t0 + Duration::from_millis(800);
        assert_eq!(leases.take("a", &limit, late), Local::Lease(8));
    }

    #[test]
    fn tokens_leased_under_a_limit_a_new_revision_lowered_are_not_used() {
        let (before, after) = (per_minute(600), per_minute(5));
        let mut leases = Leases::default();
        let t0 = Instant::now();
        assert_eq!(leases.take("a", &before, t0), Local::Lease(1));
        leases
            .leased("a", &before, 60, lease(60, 500.0, false), t0)
            .unwrap();
        let soon = t0 + Duration::from_secs(1);
        assert_eq!(leases.take("a", &before, soon), Local::Taken);
        assert_eq!(
            leases.take("a", &after, soon),
            Local::Lease(1),
            "the 58 tokens left of the lease at 600 a minute would pass at 5 a minute"
        );
    }

    #[test]
    fn a_lease_answered_after_the_limit_changed_is_not_kept_under_the_new_one() {
        let (before, after) = (per_minute(600), per_minute(5));
        let mut leases = Leases::default();
        let t0 = Instant::now();
        assert_eq!(leases.take("a", &before, t0), Local::Lease(1));
        assert_eq!(
            leases.take("a", &after, t0),
            Local::Lease(1),
            "asked meanwhile"
        );
        leases
            .leased("a", &before, 60, lease(60, 500.0, false), t0)
            .unwrap();
        assert_eq!(
            leases.take("a", &after, t0),
            Local::Lease(1),
            "the 59 tokens leased at 600 a minute would pass at 5 a minute"
        );
    }

    fn replica(store: &Store) -> SharedLimits {
        SharedLimits {
            store: store.clone(),
            holder: uuid::Uuid::now_v7().to_string(),
            leases: Mutex::new(Leases::default()),
        }
    }

    #[tokio::test]
    async fn replicas_on_one_store_share_the_count() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let replicas = [replica(&store), replica(&store)];
        let mut admitted = 0;
        for i in 0..12 {
            match replicas[i % 2].check("gw", "a", &per_minute(5)).await {
                Ok(()) => admitted += 1,
                Err(Refusal::Exhausted(wait)) => assert!(wait <= Duration::from_secs(12)),
                Err(Refusal::Unavailable(e)) => panic!("{e}"),
            }
        }
        assert_eq!(admitted, 5);
    }

    #[tokio::test]
    async fn a_store_out_of_reach_refuses_the_call() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let limits = replica(&store);
        store.close().await;
        match limits.check("gw", "a", &per_minute(5)).await {
            Err(Refusal::Unavailable(e)) => {
                assert!(e.to_string().contains("lease rate-limit tokens"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_limit_of_zero_refuses_without_asking() {
        let mut leases = Leases::default();
        assert_eq!(
            leases.take("a", &per_minute(0), Instant::now()),
            Local::Wait(Duration::from_secs(60))
        );
    }
}
