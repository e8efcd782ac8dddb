//! The in-process token buckets of the agreements' rate limits, driven by the caller's clock
//! (`rate_limit.rs` uses them on a store the process owns).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::spec::model::{RateLimit, RatePeriod};

/// Token buckets keyed by agreement id: a bucket holds up to `limit.requests` tokens and refills
/// continuously at `limit.requests` per period, so a full period's allowance may come as a burst.
/// Time is passed in by the caller; a clock that goes backwards refills nothing.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: HashMap<String, Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one token for `key`, or says how long until one is available. A limit of zero
    /// requests refuses every call, asking to retry after a whole period. A changed limit (a
    /// reloaded spec) applies at once: tokens above the new capacity are dropped.
    pub fn check(&mut self, key: &str, limit: &RateLimit, now: Instant) -> Result<(), Duration> {
        let period = period(limit.per);
        if limit.requests == 0 {
            return Err(period);
        }
        let capacity = f64::from(limit.requests);
        let per_second = capacity / period.as_secs_f64();
        let bucket = self.buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        if now > bucket.at {
            bucket.at = now;
        }
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(Duration::from_secs_f64(wait).max(Duration::from_millis(1)))
        }
    }

    /// Forgets the buckets of agreements no longer declared, so the map stays as small as the spec.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.buckets.retain(|key, _| keep(key));
    }
}

/// The length of a rate limit's period.
pub fn period(per: RatePeriod) -> Duration {
    Duration::from_secs(match per {
        RatePeriod::Second => 1,
        RatePeriod::Minute => 60,
        RatePeriod::Hour => 3_600,
        RatePeriod::Day => 86_400,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_minute(requests: u32) -> RateLimit {
        RateLimit {
            requests,
            per: RatePeriod::Minute,
        }
    }

    #[test]
    fn rate_limiter_allows_the_burst_then_asks_to_wait() {
        let mut limiter = RateLimiter::new();
        let limit = per_minute(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check("a", &limit, t0), Ok(()));
        }
        let wait = limiter.check("a", &limit, t0).unwrap_err();
        assert_eq!(wait.as_secs(), 20, "one token per 20 s, got {wait:?}");
        assert!(
            limiter
                .check("a", &limit, t0 + Duration::from_secs(10))
                .is_err()
        );
        assert_eq!(
            limiter.check("a", &limit, t0 + Duration::from_secs(20)),
            Ok(())
        );
        assert!(
            limiter
                .check("a", &limit, t0 + Duration::from_secs(20))
                .is_err()
        );
    }

    #[test]
    fn rate_limiter_keys_are_independent_and_refill_is_capped() {
        let mut limiter = RateLimiter::new();
        let limit = per_minute(1);
        let t0 = Instant::now();
        assert_eq!(limiter.check("a", &limit, t0), Ok(()));
        assert!(limiter.check("a", &limit, t0).is_err());
        assert_eq!(limiter.check("b", &limit, t0), Ok(()));
        let later = t0 + Duration::from_secs(3_600);
        assert_eq!(limiter.check("a", &limit, later), Ok(()));
        assert!(limiter.check("a", &limit, later).is_err());
    }

    #[test]
    fn rate_limiter_refuses_zero_and_survives_a_clock_going_back() {
        let mut limiter = RateLimiter::new();
        let t0 = Instant::now() + Duration::from_secs(60);
        assert_eq!(
            limiter.check("z", &per_minute(0), t0),
            Err(Duration::from_secs(60))
        );
        let limit = per_minute(1);
        assert_eq!(limiter.check("a", &limit, t0), Ok(()));
        assert!(
            limiter
                .check("a", &limit, t0 - Duration::from_secs(30))
                .is_err()
        );
        assert_eq!(
            limiter.check("a", &limit, t0 + Duration::from_secs(60)),
            Ok(())
        );
    }

    #[test]
    fn a_lowered_limit_applies_at_once_and_retain_forgets_buckets() {
        let mut limiter = RateLimiter::new();
        let t0 = Instant::now();
        assert_eq!(limiter.check("a", &per_minute(100), t0), Ok(()));
        assert_eq!(limiter.check("a", &per_minute(1), t0), Ok(()));
        assert!(limiter.check("a", &per_minute(1), t0).is_err());
        limiter.retain(|key| key != "a");
        assert_eq!(limiter.check("a", &per_minute(1), t0), Ok(()));
    }
}
