//! What operators decided about reconciling a node: follow the source, hold the running revision
//! (suspended), or stay on one pinned commit. The decision is the node's latest act in the store,
//! read again before every pull and every few seconds, so every replica sharing the store holds it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, watch};

use crate::store::{ActKind, OperatorAct, Store};

/// How often a replica reads the node's latest act when nothing else made it.
pub const REFRESH: Duration = Duration::from_secs(3);
/// How many acts the status lists.
pub const ACTS_SHOWN: u32 = 10;

/// Where the checkout is moved on a pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The followed branch's head.
    Follow,
    /// Nowhere: new commits are fetched, the running revision keeps serving.
    Hold,
    /// This commit, whatever the branch does.
    Pin(String),
}

impl Target {
    /// The target the latest act sets; none is `Follow`.
    pub fn of(latest: Option<&OperatorAct>) -> Target {
        match latest {
            Some(act) if act.act == ActKind::Suspend => Target::Hold,
            Some(act) if act.act == ActKind::Pin => match &act.commit {
                Some(commit) => Target::Pin(commit.clone()),
                None => Target::Follow,
            },
            _ => Target::Follow,
        }
    }
}

/// The node's state as `/api/status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlReport {
    /// `following`, `suspended` or `pinned`.
    pub state: String,
    /// Who set it, why and since when (absent while following with no act recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// For `pinned`: the tag or commit given and the commit it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The head of the followed branch as this replica last fetched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched: Option<String>,
}

impl ControlReport {
    pub fn of(latest: Option<&OperatorAct>, fetched: Option<String>) -> ControlReport {
        let state = match Target::of(latest) {
            Target::Follow => "following",
            Target::Hold => "suspended",
            Target::Pin(_) => "pinned",
        };
        ControlReport {
            state: state.into(),
            by: latest.map(|a| a.actor.clone()),
            why: latest.map(|a| a.why.clone()),
            since: latest.map(|a| a.acted_at),
            reference: latest.and_then(|a| a.reference.clone()),
            commit: latest.and_then(|a| a.commit.clone()),
            fetched,
        }
    }
}

/// This replica's copy of the node's decision, and the bell that wakes its pull loop.
pub struct Control {
    store: Store,
    node: String,
    state: Mutex<Known>,
    /// Rung by a webhook or an act: pull now rather than at the next interval.
    pub wake: Notify,
}

#[derive(Default)]
struct Known {
    target: Option<Target>,
    fetched: Option<String>,
}

impl Control {
    pub fn new(store: Store, node: &str) -> Control {
        Control {
            store,
            node: node.to_string(),
            state: Mutex::default(),
            wake: Notify::new(),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The target last read; `Follow` before the first read.
    pub fn target(&self) -> Target {
        self.known().target.clone().unwrap_or(Target::Follow)
    }

    pub fn suspended(&self) -> bool {
        self.target() == Target::Hold
    }

    pub fn set_fetched(&self, commit: &str) {
        self.known().fetched = Some(commit.to_string());
    }

    pub fn fetched(&self) -> Option<String> {
        self.known().fetched.clone()
    }

    /// Reads the node's latest act from the store; returns the target and whether it changed.
    /// When the store cannot be read the last known target stays (a store outage neither
    /// suspends nor resumes a node).
    pub async fn refresh(&self) -> (Target, bool) {
        match self.store.recent_operator_acts(&self.node, 1).await {
            Ok(acts) => {
                let target = Target::of(acts.first());
                let mut known = self.known();
                let changed = known.target.as_ref().is_some_and(|t| *t != target);
                known.target = Some(target.clone());
                (target, changed)
            }
            Err(e) => {
                tracing::warn!(
                    "cannot read whether node {} is suspended or pinned: {e}; keeping what was \
                     last read",
                    self.node
                );
                (self.target(), false)
            }
        }
    }

    /// The status's `control` and `acts`, read from the store.
    pub async fn report(&self) -> Result<(ControlReport, Vec<OperatorAct>), String> {
        let acts = self
            .store
            .recent_operator_acts(&self.node, ACTS_SHOWN)
            .await
            .map_err(|e| e.to_string())?;
        Ok((ControlReport::of(acts.first(), self.fetched()), acts))
    }
}

/// Reads the node's decision every [`REFRESH`] until `stop`; when another replica changed it,
/// wakes the pull loop and triggers a reconcile (a folder source has no pull loop).
pub fn spawn(
    control: Arc<Control>,
    triggers: mpsc::UnboundedSender<()>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(REFRESH) => {}
            }
            if control.refresh().await.1 {
                control.wake.notify_one();
                if triggers.send(()).is_err() {
                    return;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(kind: ActKind, commit: Option<&str>) -> OperatorAct {
        OperatorAct {
            id: 1,
            node: "n".into(),
            instance: "h:1".into(),
            actor: "olena".into(),
            act: kind,
            reference: commit.map(|_| "v1".into()),
            commit: commit.map(str::to_string),
            why: "w".into(),
            acted_at: Utc::now(),
        }
    }

    #[test]
    fn the_latest_act_decides_the_target() {
        assert_eq!(Target::of(None), Target::Follow);
        assert_eq!(Target::of(Some(&act(ActKind::Suspend, None))), Target::Hold);
        assert_eq!(
            Target::of(Some(&act(ActKind::Resume, None))),
            Target::Follow
        );
        assert_eq!(
            Target::of(Some(&act(ActKind::Pin, Some("abc")))),
            Target::Pin("abc".into())
        );
        assert_eq!(Target::of(Some(&act(ActKind::Pin, None))), Target::Follow);
        let report = ControlReport::of(Some(&act(ActKind::Pin, Some("abc"))), None);
        assert_eq!(report.state, "pinned");
        assert_eq!(report.by.as_deref(), Some("olena"));
    }
}
