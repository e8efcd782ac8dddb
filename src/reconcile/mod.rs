//! The reconciler: turns each new revision of the spec into the running one. A revision is
//! loaded, checked and compiled off the async threads; a valid one replaces the served snapshot
//! atomically, an invalid one is refused while the last good one keeps serving, and every
//! attempt is recorded in the store. An old failure never blocks a newer fix.

pub mod cases;
pub mod control;
pub mod drift;
pub mod fleet;
pub mod identify;
pub mod notify;
pub mod pull;
pub mod series;
pub mod signed;
pub mod snapshot;
pub mod status;
pub mod watch;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch as signal};

use crate::compile::current::{self, Current, Publisher};
use crate::compile::{Compiled, compile};
use crate::git::verify::{Signature, Verdict, Verifier};
use crate::identity::Documents;
use crate::identity::{Revision, short};
use crate::spec::{Diagnostic, Loaded};
use crate::store::{NewReconcile, Outcome, Store};
use drift::DriftLog;
use pull::Remote;
use signed::untrusted;
use snapshot::Snapshots;
use status::{Applied, Attempt, Signatures, StatusReport};

/// How long after a failure to write the store the same revision is tried again.
const RETRY: Duration = Duration::from_secs(5);
/// How many reconciles `/api/status` lists.
const HISTORY: u32 = 20;

#[derive(Debug, Clone)]
pub struct Settings {
    pub root: PathBuf,
    pub data_dir: PathBuf,
    /// The gateway node this process serves; the portal's node when absent.
    pub node: Option<String>,
    /// Where revisions come from, for people.
    pub source: String,
}

impl Settings {
    /// The key this process's reconciles are recorded under in the store.
    pub fn node_key(&self) -> &str {
        self.node.as_deref().unwrap_or("default")
    }
}

/// What the HTTP side reads: the served snapshot and the status.
pub struct Shared {
    /// The applied revision, which `swap` publishes to the requests and the runners.
    pub current: Current,
    publisher: Publisher,
    /// Set when shutdown begins, so that `/readyz` sends traffic elsewhere while requests drain.
    pub stopping: std::sync::atomic::AtomicBool,
    /// Set once the case engine has taken a revision: before that no case, application or
    /// resolution can start, so the node does not yet say it is ready.
    pub engine_ready: std::sync::atomic::AtomicBool,
    progress: Mutex<Progress>,
    pub instance: String,
    pub source: String,
    /// The node as `serve --node` names it, for the status before a revision is applied.
    node: Option<String>,
    /// How often this replica beats into the fleet (`fleet::spawn` sets it).
    heartbeat_every: std::sync::OnceLock<Duration>,
    /// Where transitions are notified, when `serve` was given targets.
    notifier: std::sync::OnceLock<notify::Notifier>,
    /// Operators' suspend, resume and pin, as the store holds them.
    pub control: Arc<control::Control>,
}

/// What this process last applied and attempted, and the source's error, for the status.
#[derive(Default)]
struct Progress {
    applied: Option<Applied>,
    last_attempt: Option<Attempt>,
    source_error: Option<String>,
    /// The revision the source held when last read: the checkout's commit or the folder's hash.
    source_head: Option<String>,
    /// Set when commit signatures are verified.
    signatures: Option<Signatures>,
    /// Set in pull mode.
    drift: Option<DriftLog>,
    /// The source's newest revision attempted, and whether it was refused.
    head: Option<(String, bool)>,
}

impl Shared {
    fn new(settings: &Settings, store: &Store) -> Shared {
        let (publisher, current) = current::channel();
        Shared {
            current,
            publisher,
            stopping: std::sync::atomic::AtomicBool::new(false),
            engine_ready: std::sync::atomic::AtomicBool::new(false),
            progress: Mutex::new(Progress::default()),
            instance: format!("{}:{}", host_name(), std::process::id()),
            source: settings.source.clone(),
            node: settings.node.clone(),
            heartbeat_every: std::sync::OnceLock::new(),
            notifier: std::sync::OnceLock::new(),
            control: Arc::new(control::Control::new(store.clone(), settings.node_key())),
        }
    }

    /// Notifies `notifier`'s targets of every transition from now on (set once, at start).
    pub fn set_notifier(&self, notifier: notify::Notifier) {
        let _ = self.notifier.set(notifier);
    }

    /// A fetch of the source finished: the status, the metrics and the notifications learn it.
    /// `Err` holds the reason, without credentials.
    pub fn fetched(&self, result: Result<(), String>) {
        match &result {
            Ok(()) => metrics::gauge!("hromada_source_last_good_fetch_timestamp_seconds")
                .set(Utc::now().timestamp() as f64),
            Err(_) => metrics::counter!("hromada_source_fetch_failures_total").increment(1),
        }
        if let Some(notifier) = self.notifier.get() {
            let serving = self.current.revision_id();
            notifier.fetched(
                result.as_ref().map(|_| ()).map_err(String::as_str),
                serving.as_deref(),
            );
        }
        self.set_source_error(result.err());
    }

    /// The series of `/metrics` naming a revision, one each (see [`series`]).
    pub fn revision_series(&self) -> String {
        let progress = self.progress();
        series::render(
            progress.applied.as_ref().map(|a| a.revision.as_str()),
            progress
                .head
                .as_ref()
                .map(|(r, refused)| (r.as_str(), *refused)),
        )
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_source_error(&self, error: Option<String>) {
        self.progress().source_error = error;
    }

    /// The status, with the history read from the store.
    pub async fn report(&self, store: &Store, node_key: &str) -> StatusReport {
        // The state before the history: a reconcile is recorded in the store before the state
        // shows it, so the history read afterwards always holds the last attempt.
        let (applied, last_attempt, source_error, source_head, signatures, drift) = {
            let progress = self.progress();
            (
                progress.applied.clone(),
                progress.last_attempt.clone(),
                progress.source_error.clone(),
                progress.source_head.clone(),
                progress.signatures.clone(),
                progress.drift.as_ref().and_then(DriftLog::latest),
            )
        };
        let current = self.current.load_full();
        // One bounded round trip first: a store out of reach is said at once, and the reads
        // below, which would each wait for the pool, are not tried.
        let store_error = store.ping().await.err().map(|e| e.to_string());
        let unread = || store_error.clone().map(|e| format!("not read: {e}"));
        let (history, history_error) = match &store_error {
            Some(_) => (Vec::new(), unread()),
            None => match store.recent_reconciles(node_key, HISTORY).await {
                Ok(records) => (records.iter().map(Attempt::from_record).collect(), None),
                Err(e) => (Vec::new(), Some(e.to_string())),
            },
        };
        let (open_cases, open_cases_error) = match &store_error {
            Some(_) => (Vec::new(), unread()),
            None => match store.open_cases().await {
                Ok(open) => (open, None),
                Err(e) => (Vec::new(), Some(e.to_string())),
            },
        };
        let every = *self
            .heartbeat_every
            .get()
            .unwrap_or(&fleet::HEARTBEAT_EVERY);
        let (replicas, replicas_error) = match &store_error {
            Some(_) => (Vec::new(), unread()),
            None => match store.replicas(node_key).await {
                Ok(rows) => (
                    fleet::judge(&rows, Utc::now(), fleet::silent_after(every)),
                    None,
                ),
                Err(e) => (Vec::new(), Some(e.to_string())),
            },
        };
        let (control, acts, control_error) = match &store_error {
            Some(_) => (None, Vec::new(), unread()),
            None => match self.control.report().await {
                Ok((control, acts)) => (Some(control), acts, None),
                Err(e) => (None, Vec::new(), Some(e)),
            },
        };
        let stopping = self.stopping.load(std::sync::atomic::Ordering::Relaxed);
        let engine_ready = self.engine_ready.load(std::sync::atomic::Ordering::Relaxed);
        StatusReport {
            node: current
                .as_ref()
                .map(|c| c.node.clone())
                .or_else(|| self.node.clone()),
            instance: self.instance.clone(),
            source: self.source.clone(),
            ready: current.is_some() && store_error.is_none() && !stopping && engine_ready,
            engine_ready,
            applied,
            last_attempt,
            source_error,
            history,
            history_error,
            open_cases,
            open_cases_error,
            source_head,
            store_error,
            replicas,
            replicas_error,
            signatures,
            drift,
            control,
            acts,
            control_error,
        }
    }
}

pub struct Reconciler {
    settings: Settings,
    store: Store,
    shared: Arc<Shared>,
    snapshots: Snapshots,
    /// The content hash and id of the last revision attempted, applied or refused: the same
    /// tree as another commit (a pin's, or a newly signed twin of a refused unsigned commit) or
    /// read first as a `sha256:` id and then as its commit is a new attempt.
    last_attempted: Option<(String, String)>,
    /// Pull mode: the checkout, held while it is read, and reset when edited by hand.
    remote: Option<Remote>,
    verifier: Option<Verifier>,
}

/// A revision read from the spec folder, checked, with what the reconciler needs to decide.
struct Candidate {
    loaded: Loaded,
    diagnostics: Vec<Diagnostic>,
    revision: Revision,
    referenced: Vec<String>,
    /// The referenced files' bytes, by spec path, for the compiled snapshot.
    documents: Documents,
}

impl Reconciler {
    pub fn new(settings: Settings, store: Store) -> Reconciler {
        Reconciler {
            snapshots: Snapshots::new(&settings.data_dir),
            shared: Arc::new(Shared::new(&settings, &store)),
            settings,
            store,
            last_attempted: None,
            remote: None,
            verifier: None,
        }
    }

    /// Pull mode: reads the spec only from `remote`'s checkout as the last pull left it, never
    /// with a hand edit in it (`drift`).
    pub fn pulling(mut self, remote: Option<Remote>) -> Reconciler {
        if let Some(remote) = &remote {
            metrics::counter!("hromada_source_drift_total").absolute(0);
            self.shared.progress().drift = Some(remote.drift().clone());
        }
        self.remote = remote;
        self
    }

    /// Applies only commits signed by a key `verifier` trusts; others are refused (H0007).
    pub fn verifying(mut self, verifier: Option<Verifier>) -> Reconciler {
        if let Some(verifier) = &verifier {
            self.shared.progress().signatures = Some(Signatures {
                keys: verifier.sources(),
                ..Signatures::default()
            });
        }
        self.verifier = verifier;
        self
    }

    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// The first reconcile at start-up; when the spec folder does not give a valid revision, the
    /// last good one is restored from its snapshot.
    /// A suspended node serves that last good revision without reading the folder at all.
    pub async fn start(&mut self) {
        if self.shared.control.refresh().await.0 == control::Target::Hold {
            tracing::warn!(
                "reconciling node {} is suspended by an operator: serving the last revision \
                 applied; `hromada sync resume` lets new revisions in",
                self.settings.node_key()
            );
            self.restore("reconciling is suspended").await;
            return;
        }
        self.reconcile().await;
        if !self.shared.current.is_applied() {
            self.restore("the spec folder's revision was refused").await;
        }
    }

    /// Reconciles on every trigger until `stop` turns true. Triggers are debounced.
    pub async fn run(
        mut self,
        mut triggers: mpsc::UnboundedReceiver<()>,
        mut stop: signal::Receiver<bool>,
    ) {
        let mut retry_at: Option<tokio::time::Instant> = None;
        let mut told_suspended = false;
        loop {
            let retry = async {
                match retry_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.changed() => return,
                received = triggers.recv() => {
                    if received.is_none() || !watch::settle(&mut triggers).await {
                        return;
                    }
                }
                _ = retry => {}
            }
            // Read from the store now: an act another replica recorded before this reconcile
            // began is honoured even when this replica's pull began before it.
            let (target, _) = self.shared.control.refresh().await;
            if target == control::Target::Hold {
                // Once a suspension: a pull every few seconds would repeat it endlessly.
                if !told_suspended {
                    tracing::info!(
                        "reconciling node {} is suspended by an operator; the running revision \
                         keeps serving",
                        self.settings.node_key()
                    );
                }
                told_suspended = true;
                retry_at = None;
                continue;
            }
            told_suspended = false;
            retry_at = match self.reconcile().await {
                Some(Outcome::Applied | Outcome::Refused | Outcome::Unchanged) => None,
                None => Some(tokio::time::Instant::now() + RETRY),
            };
        }
    }

    /// Reads the spec folder and applies or refuses what it holds. `None` when the attempt
    /// failed for a reason outside the spec (the store), and should be retried.
    pub async fn reconcile(&mut self) -> Option<Outcome> {
        let started_at = Utc::now();
        let clock = Instant::now();
        let mut candidate = match self.read_source().await {
            Ok(Some(candidate)) => candidate,
            Ok(None) => return None,
            Err(message) => return self.failed("(checkout)", started_at, message),
        };
        if let control::Target::Pin(commit) = self.shared.control.target()
            && candidate.revision.id != commit
        {
            tracing::info!(
                "node {} is pinned to {}; the checkout holds {}, so the pull moves it first",
                self.settings.node_key(),
                short(&commit),
                short(&candidate.revision.id)
            );
            self.shared.control.wake.notify_one();
            return Some(Outcome::Unchanged);
        }
        let seen = (
            candidate.revision.content_hash.clone(),
            candidate.revision.id.clone(),
        );
        if self.last_attempted.as_ref() == Some(&seen) {
            tracing::debug!(revision = %candidate.revision.id, "the spec folder has not changed");
            return Some(Outcome::Unchanged);
        }
        let signature = self.verify(&candidate.revision.id).await;
        if let Some(refusal) = signature.as_ref().and_then(untrusted) {
            candidate.diagnostics.push(refusal);
        }
        let errors = count(&candidate.diagnostics, true);
        let warnings = count(&candidate.diagnostics, false);
        let mut diagnostics = candidate.diagnostics;
        let compiled = if errors == 0 {
            compile(
                candidate.loaded.spec,
                candidate.revision.clone(),
                self.settings.node.as_deref(),
                candidate.documents,
            )
            .map_err(|d| diagnostics.push(*d))
            .ok()
        } else {
            None
        };
        let compiled = match compiled {
            Some(compiled) => match self.store.open_cases().await {
                Ok(open) => {
                    let stranded = cases::stranded(&compiled.spec, &candidate.loaded.map, &open);
                    if stranded.is_empty() {
                        Some(compiled)
                    } else {
                        diagnostics.extend(stranded);
                        None
                    }
                }
                Err(e) => {
                    return self.failed(
                        &candidate.revision.id,
                        started_at,
                        format!(
                            "cannot count the open cases before applying revision {}: {e}",
                            short(&candidate.revision.id)
                        ),
                    );
                }
            },
            None => None,
        };
        let errors = count(&diagnostics, true);
        let json = diagnostics_json(&diagnostics, &candidate.loaded.sources);
        let outcome = if compiled.is_some() {
            Outcome::Applied
        } else {
            Outcome::Refused
        };
        let revision = candidate.revision.id.clone();

        if let Some(compiled) = &compiled {
            let saved = {
                let snapshots = self.snapshots.clone();
                let sources = candidate.loaded.sources;
                let referenced = candidate.referenced;
                let id = revision.clone();
                let hash = candidate.revision.content_hash.clone();
                tokio::task::spawn_blocking(move || {
                    snapshots.save(&id, &hash, &sources, &referenced)
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
            };
            if let Err(e) = saved {
                return self.failed(
                    &revision,
                    started_at,
                    format!(
                        "cannot write the snapshot of revision {} under {}: {e}; check that the data folder is writable",
                        short(&revision),
                        self.snapshots.path(&revision).display()
                    ),
                );
            }
            if let Err(e) = self.store.actuate(&revision, &compiled.actuation).await {
                return self.failed(
                    &revision,
                    started_at,
                    format!(
                        "cannot write revision {} to the store: {e}",
                        short(&revision)
                    ),
                );
            }
        }
        let finished_at = Utc::now();
        let record = NewReconcile {
            node: self.settings.node_key().to_string(),
            instance: self.shared.instance.clone(),
            revision: revision.clone(),
            source: self.settings.source.clone(),
            started_at,
            finished_at,
            outcome,
            errors,
            warnings,
            diagnostics: serde_json::Value::Array(json.clone()),
        };
        let recorded = match self.store.record_reconcile(&record).await {
            Ok(id) => id,
            Err(e) => {
                return self.failed(
                    &revision,
                    started_at,
                    format!(
                        "cannot record the reconcile of {} in the store: {e}",
                        short(&revision)
                    ),
                );
            }
        };
        self.last_attempted = Some(seen);
        let duration = clock.elapsed();
        metrics::counter!("hromada_reconciles_total", "outcome" => outcome.as_str()).increment(1);
        metrics::histogram!("hromada_reconcile_duration_seconds").record(duration.as_secs_f64());
        match compiled {
            Some(compiled) => {
                tracing::info!(
                    revision = %revision,
                    node = %compiled.node,
                    warnings,
                    duration_ms = duration.as_millis() as u64,
                    "applied revision {}", short(&revision)
                );
                self.swap(compiled, finished_at, false);
            }
            None => {
                let serving = self
                    .shared
                    .current
                    .load_full()
                    .map(|c| format!("revision {} keeps serving", c.revision.short()))
                    .unwrap_or_else(|| "nothing is served until a valid revision comes".into());
                tracing::warn!(
                    revision = %revision,
                    errors,
                    "refused revision {}: {errors} error(s); {serving}. {}",
                    short(&revision),
                    first_errors(&json)
                );
            }
        }
        // Last: whoever sees this attempt in the state also finds it recorded, logged and, when
        // applied, served.
        {
            let mut progress = self.shared.progress();
            progress.source_head = Some(revision.clone());
            if let Some(signatures) = &mut progress.signatures {
                if outcome == Outcome::Applied {
                    signatures.applied = signature.clone();
                }
                signatures.last_attempt = signature;
            }
            progress.last_attempt = Some(Attempt {
                revision: revision.clone(),
                started_at,
                finished_at,
                duration_ms: (finished_at - started_at).num_milliseconds(),
                outcome: outcome.as_str().into(),
                errors,
                warnings,
                diagnostics: json.clone(),
                diagnostics_digest: None,
                instance: None,
                message: None,
            });
            progress.head = Some((revision.clone(), outcome == Outcome::Refused));
        }
        if let Some(notifier) = self.shared.notifier.get() {
            let before = self.recorded_before(recorded).await;
            let serving = self.shared.current.revision_id();
            notifier.attempted(
                &revision,
                verdict(outcome),
                serving.as_deref(),
                &notify::summary(&json),
                before,
            );
        }
        Some(outcome)
    }

    /// Reads the spec folder; in pull mode with the checkout held, reset first when edited by
    /// hand, and read again when it was edited while being read. `Ok(None)` when reading stopped
    /// unexpectedly; `Err` when the checkout cannot be checked for hand edits.
    async fn read_source(&self) -> Result<Option<Candidate>, String> {
        let root = self.settings.root.clone();
        let read_tree = || {
            let root = root.clone();
            async move {
                match tokio::task::spawn_blocking(move || read(&root)).await {
                    Ok(candidate) => Some(candidate),
                    Err(e) => {
                        tracing::error!("reading the spec folder stopped unexpectedly: {e}");
                        None
                    }
                }
            }
        };
        let Some(remote) = &self.remote else {
            return Ok(read_tree().await);
        };
        let unchecked = |e: String| {
            format!("cannot check the Git checkout for hand edits before applying it: {e}")
        };
        let held = remote.hold().await;
        remote.undrift(&held).await.map_err(unchecked)?;
        for _ in 0..3 {
            let candidate = read_tree().await;
            if !remote.undrift(&held).await.map_err(unchecked)? {
                return Ok(candidate);
            }
        }
        Err(format!(
            "the Git checkout {} was changed by hand each time it was read; nothing from it is applied until it stays as pulled",
            remote.checkout.display()
        ))
    }

    /// Whose key signed `revision`, when signatures are verified.
    async fn verify(&self, revision: &str) -> Option<Signature> {
        let verifier = self.verifier.clone()?;
        if revision.starts_with("sha256:") {
            return Some(Signature::uncommitted(revision));
        }
        let root = self.settings.root.clone();
        let commit = revision.to_string();
        let signature = tokio::task::spawn_blocking(move || verifier.verify(&root, &commit))
            .await
            .unwrap_or_else(|e| Signature {
                revision: revision.to_string(),
                verdict: Verdict::Unverifiable,
                format: None,
                fingerprint: None,
                principal: None,
                reason: Some(format!("the check stopped unexpectedly: {e}")),
            });
        Some(signature)
    }

    /// The node's reconcile recorded just before `id`, by any replica: what a notice is a
    /// transition from.
    async fn recorded_before(&self, id: i64) -> notify::Before {
        match self
            .store
            .recent_reconciles(self.settings.node_key(), HISTORY)
            .await
        {
            Ok(records) => notify::Before::Recorded(
                records
                    .iter()
                    .find(|r| r.id < id)
                    .map(|r| (r.revision.clone(), verdict(r.outcome))),
            ),
            Err(e) => {
                tracing::warn!(
                    "cannot read the reconciles recorded before this one ({e}); notifications follow what this replica saw"
                );
                notify::Before::Unknown
            }
        }
    }

    fn failed(
        &mut self,
        revision: &str,
        started_at: DateTime<Utc>,
        message: String,
    ) -> Option<Outcome> {
        tracing::error!(revision = %revision, "{message}; retrying in {}s", RETRY.as_secs());
        metrics::counter!("hromada_reconciles_total", "outcome" => "failed").increment(1);
        let finished_at = Utc::now();
        let mut progress = self.shared.progress();
        progress.source_head = Some(revision.to_string());
        progress.last_attempt = Some(Attempt {
            revision: revision.to_string(),
            started_at,
            finished_at,
            duration_ms: (finished_at - started_at).num_milliseconds(),
            outcome: "failed".into(),
            errors: 0,
            warnings: 0,
            diagnostics: Vec::new(),
            diagnostics_digest: None,
            instance: None,
            message: Some(message),
        });
        self.last_attempted = None;
        None
    }

    /// Serves `compiled` and announces it to the runners.
    fn swap(&self, compiled: Compiled, applied_at: DateTime<Utc>, restored: bool) {
        let revision = compiled.revision.id.clone();
        self.shared.publisher.publish(compiled);
        metrics::gauge!("hromada_applied_revision_timestamp_seconds")
            .set(applied_at.timestamp() as f64);
        self.shared.progress().applied = Some(Applied {
            revision,
            applied_at,
            restored,
        });
    }

    /// Serves the newest revision this node applied that can still be read: from its snapshot
    /// in the data folder or, for a commit, from the Git history of the spec root (a replica
    /// whose data folder did not survive restarts from the store's record and Git).
    async fn restore(&mut self, because: &str) {
        let node = self.settings.node_key().to_string();
        let revisions = match self.store.applied_revisions(&node, 50).await {
            Ok(revisions) => revisions,
            Err(e) => {
                tracing::error!("cannot read the applied revisions from the store: {e}");
                return;
            }
        };
        let root = self.settings.root.clone();
        let snapshots = self.snapshots.clone();
        let verifier = self.verifier.clone();
        let found = tokio::task::spawn_blocking(move || {
            read_last_good(&root, &snapshots, &revisions, verifier.as_ref())
        })
        .await
        .ok()
        .flatten();
        let Some((id, candidate, from)) = found else {
            tracing::error!(
                "the spec folder {} has no valid revision, and no revision applied here before can be read; nothing is served until a valid revision comes",
                self.settings.root.display()
            );
            return;
        };
        let revision = Revision {
            id: id.clone(),
            content_hash: candidate.revision.content_hash,
        };
        let errors = count(&candidate.diagnostics, true);
        match compile(
            candidate.loaded.spec,
            revision,
            self.settings.node.as_deref(),
            candidate.documents,
        ) {
            Ok(compiled) => {
                // Only an empty store takes the restored revision's actuation: when it holds
                // another revision, a replica sharing it has moved on, and going back is wrong.
                let actuated = match self.store.actuated_revision().await {
                    Ok(None) => self
                        .store
                        .actuate(&id, &compiled.actuation)
                        .await
                        .map(|_| ()),
                    Ok(Some(_)) => Ok(()),
                    Err(e) => Err(e),
                };
                if let Err(e) = actuated {
                    tracing::error!("cannot write revision {} to the store: {e}", short(&id));
                    return;
                }
                tracing::warn!(
                    revision = %id,
                    "serving the last good revision {} from {from}, because {because}{}",
                    short(&id),
                    if errors > 0 {
                        format!(" (checked today, that revision itself now has {errors} error(s))")
                    } else {
                        String::new()
                    }
                );
                self.swap(compiled, Utc::now(), true);
            }
            Err(d) => tracing::error!(
                "the last good revision {} cannot be served: {}; {}{}",
                short(&id),
                d.summary,
                d.detail,
                d.help.map(|h| format!(" ({h})")).unwrap_or_default()
            ),
        }
    }
}

/// This machine's name, to tell replicas apart: `HOSTNAME` (set in containers), else the
/// kernel's or `/etc/hostname` (a sandboxed unit may hide one of them).
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The newest of `revisions` that can be read: from its snapshot, else from Git when it is a
/// commit of the repository holding `root` (signed by a trusted key, when `verifier` is given).
/// Returns the revision, its tree and where it came from.
fn read_last_good(
    root: &std::path::Path,
    snapshots: &Snapshots,
    revisions: &[String],
    verifier: Option<&Verifier>,
) -> Option<(String, Candidate, &'static str)> {
    let repository = crate::git::tree::Repository::discover(root).ok();
    revisions.iter().find_map(|id| {
        if snapshots.exists(id) {
            return Some((id.clone(), read(&snapshots.path(id)), "its snapshot"));
        }
        let repository = repository.as_ref()?;
        let commit = repository.resolve(id).ok()?;
        if let Some(refusal) = verifier.and_then(|v| untrusted(&v.verify(root, &commit.id))) {
            tracing::warn!(
                "not restoring revision {} from the Git history: {}",
                short(id),
                refusal.summary
            );
            return None;
        }
        let checkout = repository.checkout(&commit).ok()?;
        Some((id.clone(), read(checkout.path()), "the Git history"))
    })
}

/// Loads and checks the tree at `root` and identifies its revision.
fn read(root: &std::path::Path) -> Candidate {
    let head = identify::head(root);
    let loaded = crate::spec::load(root);
    let diagnostics = crate::check::run(&loaded, chrono::Local::now().date_naive());
    let referenced = identify::referenced_files(&loaded.sources);
    let revision = identify::identify(&loaded.sources, &referenced, head.as_deref());
    let documents = referenced
        .iter()
        .filter_map(|path| {
            let bytes = std::fs::read(loaded.sources.root.join(path)).ok()?;
            Some((path.clone(), Arc::<[u8]>::from(bytes)))
        })
        .collect();
    Candidate {
        loaded,
        diagnostics,
        revision,
        referenced,
        documents,
    }
}

fn verdict(outcome: Outcome) -> notify::Verdict {
    match outcome {
        Outcome::Applied => notify::Verdict::Applied,
        Outcome::Refused | Outcome::Unchanged => notify::Verdict::Refused,
    }
}

fn count(diagnostics: &[Diagnostic], errors: bool) -> u32 {
    diagnostics
        .iter()
        .filter(|d| d.is_error() == errors)
        .count() as u32
}

fn diagnostics_json(
    diagnostics: &[Diagnostic],
    sources: &crate::spec::source::SourceSet,
) -> Vec<serde_json::Value> {
    crate::spec::shown::shown(diagnostics, sources)
        .iter()
        .filter_map(|d| serde_json::to_value(d.located(sources)).ok())
        .collect()
}

/// The first errors as `file:line:col summary`, for the log line of a refused revision.
fn first_errors(diagnostics: &[serde_json::Value]) -> String {
    let lines: Vec<String> = diagnostics
        .iter()
        .filter(|d| d["severity"] == "error")
        .take(3)
        .map(|d| {
            let place = status::place(d)
                .map(|p| format!("{p}: "))
                .unwrap_or_default();
            format!("{place}{}", d["summary"].as_str().unwrap_or_default())
        })
        .collect();
    if lines.is_empty() {
        String::new()
    } else {
        format!("First: {}", lines.join("; "))
    }
}
