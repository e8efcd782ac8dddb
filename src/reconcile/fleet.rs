//! The fleet of a node: every replica sharing the store beats the revision it serves into it
//! every few seconds (`store::replicas`), and the status lists them all, which of them lag
//! (behind the newest revision applied, or silent) and since when.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::Shared;
use crate::identity::short;
use crate::store::{Heartbeat, ReplicaRow, Store};

/// How often a replica beats unless `serve --heartbeat-every` says otherwise.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
/// A replica is silent after missing this many heartbeats.
const MISSED_BEATS: u32 = 3;
/// A silent replica is dropped from the list after this long without a heartbeat.
pub const FORGET_AFTER: Duration = Duration::from_secs(600);
/// How long a stopping replica waits to remove its row.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(2);

/// One replica of the node as the status shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replica {
    /// Host and process id.
    pub instance: String,
    /// The revision it serves; absent while it serves none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<DateTime<Utc>>,
    pub heartbeat_at: DateTime<Utc>,
    /// Seconds since its last heartbeat, as the answering replica reads its clock.
    pub heartbeat_age_seconds: i64,
    /// Behind the newest revision the fleet applied, or silent.
    pub lagging: bool,
    /// Since when it lags: when the fleet moved on without it, or its last heartbeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lagging_since: Option<DateTime<Utc>>,
    /// Why it lags, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<String>,
}

/// How long without a heartbeat makes a replica beating every `every` silent.
pub fn silent_after(every: Duration) -> Duration {
    every * MISSED_BEATS
}

/// The replicas in `rows` judged at `now`: the newest revision is the one the live replica that
/// applied last serves; a live replica serving another lags since the fleet first served the
/// newest one (or since it started, if later); a silent one lags since its last heartbeat.
pub fn judge(rows: &[ReplicaRow], now: DateTime<Utc>, silent_after: Duration) -> Vec<Replica> {
    let silent_after = chrono::Duration::from_std(silent_after).unwrap_or(chrono::Duration::MAX);
    let is_silent = |row: &ReplicaRow| now - row.heartbeat_at > silent_after;
    let newest_of = |live_only: bool| {
        rows.iter()
            .filter(|row| row.revision.is_some() && (!live_only || !is_silent(row)))
            .max_by_key(|row| row.applied_at)
            .and_then(|row| row.revision.clone())
    };
    let newest = newest_of(true).or_else(|| newest_of(false));
    let reached_newest = rows
        .iter()
        .filter(|row| row.revision.is_some() && row.revision == newest)
        .filter_map(|row| row.applied_at)
        .min();
    rows.iter()
        .map(|row| {
            let age = (now - row.heartbeat_at).num_seconds();
            let (lagging_since, lag) = if is_silent(row) {
                (
                    Some(row.heartbeat_at),
                    Some(format!(
                        "no heartbeat for {age} s: the process stopped or cannot reach the store"
                    )),
                )
            } else if row.revision != newest {
                let since = reached_newest.map_or(row.started_at, |t| t.max(row.started_at));
                let newest = newest.as_deref().map(short).unwrap_or_default();
                let lag = match &row.revision {
                    Some(revision) => format!(
                        "serves {} while the newest applied revision is {newest}",
                        short(revision)
                    ),
                    None => format!("serves no revision while the others serve {newest}"),
                };
                (Some(since), Some(lag))
            } else {
                (None, None)
            };
            Replica {
                instance: row.instance.clone(),
                revision: row.revision.clone(),
                applied_at: row.applied_at,
                heartbeat_at: row.heartbeat_at,
                heartbeat_age_seconds: age,
                lagging: lag.is_some(),
                lagging_since,
                lag,
            }
        })
        .collect()
}

/// Beats every `every` until `stop` turns true, then removes this replica's row: records what
/// this replica serves, forgets replicas silent for [`FORGET_AFTER`], and sets the gauge
/// `hromada_replicas_out_of_sync` to how many lag.
pub fn spawn(
    shared: Arc<Shared>,
    store: Store,
    node: String,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let _ = shared.heartbeat_every.set(every);
    let started_at = Utc::now();
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            match beat(&shared, &store, &node, started_at, every).await {
                Ok(lagging) => {
                    if failing {
                        tracing::info!("the fleet's heartbeats are recorded in the store again");
                    }
                    failing = false;
                    metrics::gauge!("hromada_replicas_out_of_sync").set(lagging as f64);
                }
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(
                        "{e}; the other replicas will see this one as silent until the store \
                         answers again"
                    );
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(every) => {}
            }
        }
        // Bounded: a store out of reach must not hold up the shutdown.
        let leave = store.leave_replicas(&node, &shared.instance);
        match tokio::time::timeout(LEAVE_TIMEOUT, leave).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!("{e}; the other replicas will list this one as silent for a while")
            }
            Err(_) => tracing::warn!(
                "the store did not answer within {} s when this replica left the fleet; the \
                 other replicas will list it as silent for a while",
                LEAVE_TIMEOUT.as_secs()
            ),
        }
    })
}

/// One heartbeat; how many replicas lag.
async fn beat(
    shared: &Shared,
    store: &Store,
    node: &str,
    started_at: DateTime<Utc>,
    every: Duration,
) -> Result<usize, crate::store::StoreError> {
    let applied = shared.progress().applied.clone();
    let now = Utc::now();
    store
        .heartbeat(&Heartbeat {
            node: node.to_string(),
            instance: shared.instance.clone(),
            revision: applied.as_ref().map(|a| a.revision.clone()),
            applied_at: applied.map(|a| a.applied_at),
            started_at,
            at: now,
        })
        .await?;
    let forget = chrono::Duration::from_std(FORGET_AFTER).unwrap_or(chrono::Duration::MAX);
    let forgotten = store.forget_replicas(node, now - forget).await?;
    if forgotten > 0 {
        tracing::info!(
            "dropped {forgotten} replica(s) of node {node} from the fleet: no heartbeat for {}",
            humantime::format_duration(FORGET_AFTER)
        );
    }
    let rows = store.replicas(node).await?;
    Ok(judge(&rows, Utc::now(), silent_after(every))
        .iter()
        .filter(|r| r.lagging)
        .count())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(instance: &str, revision: Option<&str>, applied: i64, beat: i64) -> ReplicaRow {
        let at = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        ReplicaRow {
            instance: instance.into(),
            revision: revision.map(Into::into),
            applied_at: revision.map(|_| at(applied)),
            started_at: at(0),
            heartbeat_at: at(beat),
        }
    }

    #[test]
    fn a_replica_behind_or_silent_lags_and_says_since_when() {
        let now = DateTime::from_timestamp(1_800_000_100, 0).unwrap();
        let rows = [
            row("a:1", Some("new"), 50, 99),
            row("b:2", Some("old"), 10, 98),
            row("c:3", Some("newer-but-dead"), 60, 20),
            row("d:4", None, 0, 99),
        ];
        let fleet = judge(&rows, now, Duration::from_secs(15));
        assert!(!fleet[0].lagging, "{fleet:#?}");
        assert!(fleet[1].lagging);
        assert_eq!(fleet[1].lagging_since, rows[0].applied_at);
        assert!(fleet[1].lag.as_deref().unwrap().contains("serves old"));
        assert!(fleet[2].lagging);
        assert_eq!(fleet[2].lagging_since, Some(rows[2].heartbeat_at));
        assert_eq!(fleet[2].heartbeat_age_seconds, 80);
        assert!(fleet[3].lagging);
        assert!(
            fleet[3]
                .lag
                .as_deref()
                .unwrap()
                .contains("serves no revision")
        );
    }

    #[test]
    fn one_replica_alone_is_in_sync() {
        let now = DateTime::from_timestamp(1_800_000_100, 0).unwrap();
        let fleet = judge(
            &[row("a:1", Some("r"), 50, 99)],
            now,
            Duration::from_secs(15),
        );
        assert!(!fleet[0].lagging);
    }
}
