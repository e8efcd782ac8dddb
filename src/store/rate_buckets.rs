//! The agreements' rate limits as one token bucket per node and agreement in the store, so that
//! replicas sharing a database share the count: a replica leases a batch of tokens in one
//! statement that refills the bucket for the time passed and takes what it can.

use super::{Store, StoreError, on_pool};

/// What a lease took from the shared bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lease {
    /// Tokens granted to the caller: the batch asked for, one when fewer are left, or none.
    pub granted: u32,
    /// Tokens left in the bucket after the lease (below one when none was granted).
    pub left: f64,
    /// Whether the lease before this one was taken by another replica.
    pub contended: bool,
}

/// The tokens a bucket of `$3` holds after refilling `$4` per microsecond since `refilled_at`,
/// up to `$5` (now, in microseconds); a clock that went back refills nothing.
macro_rules! refilled {
    () => {
        "(CASE WHEN b.tokens + (CASE WHEN $5 > b.refilled_at THEN $5 - b.refilled_at ELSE 0 END) \
         * $4 > $3 THEN $3 ELSE b.tokens + (CASE WHEN $5 > b.refilled_at THEN $5 - b.refilled_at \
         ELSE 0 END) * $4 END)"
    };
}

/// What the lease takes: the batch of `$6`, else one token, else none.
macro_rules! take {
    () => {
        concat!(
            "(CASE WHEN ",
            refilled!(),
            " >= $6 THEN $6 WHEN ",
            refilled!(),
            " >= 1 THEN 1 ELSE 0 END)"
        )
    };
}

/// Leases from the bucket of node `$1` and agreement `$2` for holder `$7`; a new bucket starts
/// full, less the batch. The row's lock makes concurrent leases take turns.
const LEASE: &str = concat!(
    "INSERT INTO rate_buckets AS b (node, agreement, tokens, refilled_at, holder, taken, contended) \
     VALUES ($1, $2, $3 - $6, $5, $7, $6, FALSE) \
     ON CONFLICT (node, agreement) DO UPDATE SET tokens = ",
    refilled!(),
    " - ",
    take!(),
    ", taken = ",
    take!(),
    ", refilled_at = CASE WHEN $5 > b.refilled_at THEN $5 ELSE b.refilled_at END, \
     contended = (b.holder <> $7), holder = $7 \
     RETURNING taken, tokens, contended"
);

/// What the `LEASE` statement returns.
#[derive(sqlx::FromRow)]
struct LeaseRow {
    taken: i64,
    tokens: f64,
    contended: bool,
}

/// A lease to take: up to `want` tokens (at least one, at most `capacity`) for `holder` from the
/// bucket of `node` and `agreement`, which holds up to `capacity` tokens and refills
/// `per_microsecond`; `now_micros` is the caller's clock in microseconds since the epoch.
#[derive(Debug, Clone, Copy)]
pub struct LeaseRequest<'a> {
    pub node: &'a str,
    pub agreement: &'a str,
    pub holder: &'a str,
    pub capacity: u32,
    pub per_microsecond: f64,
    pub want: u32,
    pub now_micros: i64,
}

impl Store {
    /// Takes what `request` asks from its shared bucket, in one statement.
    pub async fn lease_tokens(&self, request: &LeaseRequest<'_>) -> Result<Lease, StoreError> {
        let want = request.want.clamp(1, request.capacity.max(1));
        let row: LeaseRow = on_pool!(&self.pool, pool => sqlx::query_as(LEASE)
        .bind(request.node)
        .bind(request.agreement)
        .bind(f64::from(request.capacity))
        .bind(request.per_microsecond)
        .bind(request.now_micros)
        .bind(i64::from(want))
        .bind(request.holder)
        .fetch_one(pool)
        .await)
        .map_err(|e| self.failed("lease rate-limit tokens from", e))?;
        Ok(Lease {
            granted: u32::try_from(row.taken).unwrap_or(0),
            left: row.tokens,
            contended: row.contended,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    async fn store() -> Store {
        Store::connect("sqlite::memory:").await.unwrap()
    }

    fn request<'a>(node: &'a str, agreement: &'a str, holder: &'a str) -> LeaseRequest<'a> {
        LeaseRequest {
            node,
            agreement,
            holder,
            capacity: 5,
            per_microsecond: per_us(),
            want: 1,
            now_micros: 0,
        }
    }

    /// Five per minute: one token per twelve seconds.
    fn per_us() -> f64 {
        5.0 / (60.0 * SECOND as f64)
    }

    #[tokio::test]
    async fn two_holders_share_one_bucket_and_it_refills_with_time() {
        let store = store().await;
        let lease = |holder: &'static str, want, at| {
            let store = store.clone();
            async move {
                let ask = LeaseRequest {
                    want,
                    now_micros: at,
                    ..request("gw", "a", holder)
                };
                store.lease_tokens(&ask).await.unwrap()
            }
        };
        let first = lease("r1", 2, 0).await;
        assert_eq!((first.granted, first.contended), (2, false));
        assert_eq!(lease("r1", 2, 0).await.granted, 2);
        let third = lease("r2", 2, 0).await;
        assert_eq!((third.granted, third.contended), (1, true), "{third:?}");
        let empty = lease("r2", 1, 0).await;
        assert_eq!(empty.granted, 0);
        assert!(empty.left < 1.0, "{empty:?}");
        assert_eq!(lease("r1", 1, 6 * SECOND).await.granted, 0, "half a token");
        let refilled = lease("r1", 1, 12 * SECOND).await;
        assert_eq!(refilled.granted, 1, "{refilled:?}");
        assert_eq!(lease("r2", 1, 12 * SECOND).await.granted, 0);
    }

    #[tokio::test]
    async fn the_bucket_is_capped_and_a_clock_going_back_refills_nothing() {
        let store = store().await;
        let take = |want, at| {
            let store = store.clone();
            async move {
                let ask = LeaseRequest {
                    want,
                    now_micros: at,
                    ..request("gw", "a", "r")
                };
                store.lease_tokens(&ask).await.unwrap().granted
            }
        };
        assert_eq!(take(5, 100 * SECOND).await, 5);
        assert_eq!(take(1, 50 * SECOND).await, 0, "earlier clock");
        assert_eq!(take(9, 100_000 * SECOND).await, 5, "at most the capacity");
        assert_eq!(take(1, 100_000 * SECOND).await, 0);
    }

    #[tokio::test]
    async fn a_lowered_limit_applies_at_once_and_buckets_are_per_node_and_agreement() {
        let store = store().await;
        let lease = |node: &'static str, agreement: &'static str, capacity| {
            let store = store.clone();
            async move {
                let ask = LeaseRequest {
                    capacity,
                    ..request(node, agreement, "r")
                };
                store.lease_tokens(&ask).await.unwrap().granted
            }
        };
        assert_eq!(lease("gw", "a", 100).await, 1);
        assert_eq!(lease("gw", "a", 1).await, 1, "99 left, capped to 1");
        assert_eq!(lease("gw", "a", 1).await, 0);
        assert_eq!(lease("gw", "b", 1).await, 1);
        assert_eq!(lease("other", "a", 1).await, 1);
    }
}
