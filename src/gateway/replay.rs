//! Freshness of sealed requests between nodes: the consumer's node stamps each request with its
//! own request id and the time of sealing, both under the seal; the provider's node serves a
//! stamp once, and only within the seal window. Replicas sharing a database decide in it; a
//! process owning its store decides in memory and writes the stamps behind, for its restarts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use chrono::{DateTime, SecondsFormat, Utc};
use tokio::sync::OnceCell;

use crate::store::{SeenRequest, Store};

/// The consumer gateway's request id, sealed.
pub const HEADER_REQUEST_ID: &str = "x-hromada-request-id";
/// When the request was sealed (RFC 3339 UTC), sealed.
pub const HEADER_SEALED_AT: &str = "x-hromada-sealed-at";

/// Expired stamps are pruned from the store once per this many admitted requests.
const PRUNE_EVERY: u64 = 256;
/// How long a process owning its store gathers admitted stamps before writing them: a crash
/// forgets at most the stamps of this long, which a restart within the seal window would serve
/// again.
const WRITE_BEHIND_EVERY: Duration = Duration::from_millis(500);

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

/// Admits each stamp once within the window.
pub struct ReplayGuard {
    store: Store,
    window: Duration,
    admitted: AtomicU64,
    /// Where the stamps are decided when no other process shares the store: a write to the store
    /// per request would wait on the message log's writer for the database lock.
    own: Option<OwnStore>,
}

/// The stamps of a process that owns its store: in memory, read back from the store when the
/// first one arrives, and the admitted ones written behind in batches by one task, and at a stop.
struct OwnStore {
    seen: Mutex<HashMap<(String, String), DateTime<Utc>>>,
    pending: Arc<Mutex<Vec<SeenRequest>>>,
    started: OnceCell<()>,
}

impl ReplayGuard {
    /// A guard deciding where every replica of the node sees it: in `store` when replicas share
    /// it, in this process otherwise.
    pub fn new(store: Store, window: Duration) -> ReplayGuard {
        let own = (!store.shared_by_replicas()).then(|| OwnStore {
            seen: Mutex::new(HashMap::new()),
            pending: Arc::default(),
            started: OnceCell::new(),
        });
        ReplayGuard {
            store,
            window,
            admitted: AtomicU64::new(0),
            own,
        }
    }

    /// A guard deciding every stamp in `store`, as replicas sharing it do.
    pub fn shared(store: Store, window: Duration) -> ReplayGuard {
        ReplayGuard {
            own: None,
            ..ReplayGuard::new(store, window)
        }
    }

    /// Writes the stamps admitted but not yet written to the store; for a stop.
    pub async fn flush(&self) {
        if let Some(own) = &self.own {
            write_pending(&self.store, &own.pending).await;
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
        let expires_at = sealed_at
            .checked_add_signed(window)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let first = match &self.own {
            Some(own) => {
                own.remember(&self.store, (sealer, stamp), expires_at, (now, window))
                    .await?
            }
            None => self
                .store
                .remember_request(sealer, &stamp.request_id, expires_at)
                .await
                .map_err(|e| Stale::Unknown(e.to_string()))?,
        };
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
        if self.admitted.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            match &self.own {
                Some(own) => own.forget(expired),
                None => prune(&self.store, expired).await,
            }
        }
        Ok(())
    }
}

impl OwnStore {
    /// Whether `stamp` is new, remembering it; the stamps the store kept are read back first.
    async fn remember(
        &self,
        store: &Store,
        (sealer, stamp): (&str, &Stamp),
        expires_at: DateTime<Utc>,
        (now, window): (DateTime<Utc>, chrono::Duration),
    ) -> Result<bool, Stale> {
        self.started
            .get_or_try_init(|| async {
                let kept = store
                    .remembered_requests(now)
                    .await
                    .map_err(|e| Stale::Unknown(e.to_string()))?;
                let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                for k in kept {
                    seen.insert((k.sealer, k.request_id), k.expires_at);
                }
                write_behind(store.clone(), self.pending.clone(), window);
                Ok::<_, Stale>(())
            })
            .await?;
        let key = (sealer.to_string(), stamp.request_id.clone());
        let first = {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            match seen.entry(key) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert(expires_at);
                    true
                }
            }
        };
        if first {
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(SeenRequest {
                    sealer: sealer.to_string(),
                    request_id: stamp.request_id.clone(),
                    expires_at,
                });
        }
        Ok(first)
    }

    fn forget(&self, expired: DateTime<Utc>) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, expires_at| *expires_at >= expired);
    }
}

/// The task that writes the admitted stamps to `store` once per interval, all in one statement,
/// and forgets the expired ones there from time to time (stamps outlive their expiry by `window`).
fn write_behind(store: Store, pending: Arc<Mutex<Vec<SeenRequest>>>, window: chrono::Duration) {
    tokio::spawn(async move {
        let mut pruned = std::time::Instant::now();
        loop {
            // One write per interval at most: each takes the database's lock from the message
            // log's writer, which then waits.
            tokio::time::sleep(WRITE_BEHIND_EVERY).await;
            write_pending(&store, &pending).await;
            if pruned.elapsed() >= window.to_std().unwrap_or_default() {
                pruned = std::time::Instant::now();
                let expired = Utc::now().checked_sub_signed(window);
                prune(&store, expired.unwrap_or(DateTime::<Utc>::MIN_UTC)).await;
            }
        }
    });
}

async fn write_pending(store: &Store, pending: &Mutex<Vec<SeenRequest>>) {
    let batch = std::mem::take(&mut *pending.lock().unwrap_or_else(|p| p.into_inner()));
    if batch.is_empty() {
        return;
    }
    if let Err(e) = store.remember_requests(&batch).await {
        tracing::warn!(
            "{e}; {} served request stamp(s) are kept in memory only, so a restart within the \
             seal window would not know them",
            batch.len()
        );
    }
}

async fn prune(store: &Store, expired: DateTime<Utc>) {
    if let Err(e) = store.forget_requests(expired).await {
        tracing::warn!("{e}; expired request stamps are pruned later");
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
            ReplayGuard::shared(store.clone(), window),
            ReplayGuard::shared(store, window),
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

    /// A process owning its store decides in memory, and a restart reads back what it wrote.
    #[tokio::test]
    async fn an_own_store_remembers_stamps_across_a_restart() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let window = Duration::from_secs(60);
        let before = ReplayGuard::new(store.clone(), window);
        assert!(before.own.is_some());
        let stamp = Stamp::now("r-own");
        assert_eq!(before.admit("council", &stamp).await, Ok(()));
        assert!(matches!(
            before.admit("council", &stamp).await,
            Err(Stale::Replayed(_))
        ));
        let written = std::time::Instant::now();
        while store
            .remembered_requests(Utc::now())
            .await
            .unwrap()
            .is_empty()
        {
            assert!(written.elapsed() < Duration::from_secs(10), "never written");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let after = ReplayGuard::new(store, window);
        assert!(matches!(
            after.admit("council", &stamp).await,
            Err(Stale::Replayed(_))
        ));
        assert_eq!(after.admit("council", &Stamp::now("r-new")).await, Ok(()));
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
