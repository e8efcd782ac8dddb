//! Freshness of sealed requests between nodes: the consumer's node stamps each request with its
//! own request id and the time of sealing, both under the seal; the provider's node serves a
//! stamp once, and only within the seal window (remembered in the store, so across replicas).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::store::Store;

/// The consumer gateway's request id, sealed.
pub const HEADER_REQUEST_ID: &str = "x-hromada-request-id";
/// When the request was sealed (RFC 3339 UTC), sealed.
pub const HEADER_SEALED_AT: &str = "x-hromada-sealed-at";

/// Expired stamps are pruned from the store once per this many admitted requests.
const PRUNE_EVERY: u64 = 256;

/// What makes one sealed request unique in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub request_id: String,
    /// The time of sealing exactly as sealed and sent.
    pub sealed_at: String,
}

impl Stamp {
    /// A stamp for a request sealed now.
    pub fn now(request_id: &str) -> Stamp {
        Stamp {
            request_id: request_id.to_string(),
            sealed_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }

    /// The stamp another node sent, or what is wrong with it.
    pub fn from_headers(headers: &HeaderMap) -> Result<Stamp, String> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let request_id = get(HEADER_REQUEST_ID)
            .filter(|id| {
                !id.is_empty()
                    && id.len() <= 64
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            .ok_or("the request carries no valid request id (letters, digits and '-') to seal")?;
        let sealed_at = get(HEADER_SEALED_AT).ok_or("the request carries no seal time")?;
        Ok(Stamp {
            request_id: request_id.to_string(),
            sealed_at: sealed_at.to_string(),
        })
    }
}

/// Why a stamped request is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// Sealed outside the window around this node's clock.
    OutsideWindow(String),
    /// Served before.
    Replayed(String),
    /// The store could not say; refused rather than risk serving a replay.
    Unknown(String),
}

/// Admits each stamp once within the window, remembering it in the store.
pub struct ReplayGuard {
    store: Store,
    window: Duration,
    admitted: AtomicU64,
}

impl ReplayGuard {
    pub fn new(store: Store, window: Duration) -> ReplayGuard {
        ReplayGuard {
            store,
            window,
            admitted: AtomicU64::new(0),
        }
    }

    /// Admits `stamp` of a request sealed by `sealer`, whose seal has been verified.
    pub async fn admit(&self, sealer: &str, stamp: &Stamp) -> Result<(), Stale> {
        self.admit_at(sealer, stamp, Utc::now()).await
    }

    /// [`Self::admit`] on this replica's clock reading `now`.
    async fn admit_at(&self, sealer: &str, stamp: &Stamp, now: DateTime<Utc>) -> Result<(), Stale> {
        let window = chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::MAX);
        let sealed_at = DateTime::parse_from_rfc3339(&stamp.sealed_at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                Stale::OutsideWindow(format!(
                    "the seal time {:?} is not an RFC 3339 time",
                    stamp.sealed_at
                ))
            })?;
        if (now - sealed_at).abs() > window {
            return Err(Stale::OutsideWindow(format!(
                "the request was sealed at {}, more than {} from this node's clock ({}); a \
                 sealed request is served only within that window (check both nodes' clocks)",
                stamp.sealed_at,
                humantime::format_duration(self.window),
                now.to_rfc3339_opts(SecondsFormat::Millis, true)
            )));
        }
        let first = self
            .store
            .remember_request(
                sealer,
                &stamp.request_id,
                sealed_at
                    .checked_add_signed(window)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            )
            .await
            .map_err(|e| Stale::Unknown(e.to_string()))?;
        if !first {
            return Err(Stale::Replayed(format!(
                "the sealed request {} was already served; a sealed request is served once",
                stamp.request_id
            )));
        }
        // Kept one window past their expiry: a replica whose clock is behind this one's (by less
        // than a window) takes a seal as fresh for that much longer.
        let expired = now
            .checked_sub_signed(window)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        if self.admitted.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1
            && let Err(e) = self.store.forget_requests(expired).await
        {
            tracing::warn!("{e}; expired request stamps are pruned later");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: chrono::Duration, id: &str) -> Stamp {
        Stamp {
            request_id: id.into(),
            sealed_at: (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }

    /// Two replicas on one store, B's clock 10 s behind A's: A prunes when its clock says a
    /// stamp expired, while B still takes that stamp as within the window.
    #[tokio::test]
    async fn a_replica_whose_clock_is_behind_still_refuses_a_stamp_another_pruned() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let window = Duration::from_secs(60);
        let (a, b) = (
            ReplayGuard::new(store.clone(), window),
            ReplayGuard::new(store, window),
        );
        let sealed = Utc::now();
        let stamp = Stamp {
            request_id: "r-edge".into(),
            sealed_at: sealed.to_rfc3339_opts(SecondsFormat::Millis, true),
        };
        let edge = sealed + chrono::Duration::seconds(59);
        assert_eq!(a.admit_at("council", &stamp, edge).await, Ok(()));
        // A admits others until it prunes, its clock past the stamp's expiry.
        let later = sealed + chrono::Duration::seconds(65);
        for n in 1..PRUNE_EVERY {
            let other = Stamp {
                request_id: format!("r-{n}"),
                sealed_at: later.to_rfc3339_opts(SecondsFormat::Millis, true),
            };
            assert_eq!(a.admit_at("council", &other, later).await, Ok(()));
        }
        let behind = later - chrono::Duration::seconds(10);
        assert!(
            matches!(
                b.admit_at("council", &stamp, behind).await,
                Err(Stale::Replayed(_))
            ),
            "replica B served the stamp A pruned"
        );
    }

    #[tokio::test]
    async fn a_stamp_is_admitted_once_and_only_within_the_window() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let guard = ReplayGuard::new(store, Duration::from_secs(60));
        let fresh = Stamp::now("r-1");
        assert_eq!(guard.admit("council", &fresh).await, Ok(()));
        assert!(matches!(
            guard.admit("council", &fresh).await,
            Err(Stale::Replayed(_))
        ));
        assert_eq!(guard.admit("vodokanal", &fresh).await, Ok(()), "per sealer");
        let skewed = at(chrono::Duration::seconds(-30), "r-2");
        assert_eq!(guard.admit("council", &skewed).await, Ok(()));
        for stale in [
            at(chrono::Duration::seconds(-90), "r-3"),
            at(chrono::Duration::seconds(90), "r-4"),
            Stamp {
                request_id: "r-5".into(),
                sealed_at: "yesterday".into(),
            },
        ] {
            let refused = guard.admit("council", &stale).await;
            assert!(matches!(refused, Err(Stale::OutsideWindow(_))), "{stale:?}");
        }
    }
}
