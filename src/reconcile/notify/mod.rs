//! Notifications of the GitOps loop, like Argo CD Notifications: a refused revision, a failing
//! source and the recovery from either are sent once per transition (never once per poll) to
//! the webhooks and e-mail addresses given to `serve`, and each applied or refused commit's
//! status is posted back to GitHub or GitLab. Each target has its own queue and worker, so a slow
//! or dead receiver delays no other and never the reconciler.

pub mod commit_status;
pub mod email;
pub mod webhook;

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::identity::short;
use commit_status::CommitStatus;

/// How many notices a target's queue holds while its receiver is slow; more are dropped, and
/// the log says so.
const QUEUE: usize = 64;
/// Attempts at one delivery before it is given up.
const ATTEMPTS: u32 = 5;
/// The wait before the second attempt; it doubles after each failure.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// What happened, as receivers tell notices apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The source's newest revision was refused; the last good one keeps serving.
    RevisionRefused,
    /// A revision was applied after a refused one.
    RevisionRecovered,
    /// Fetching the source failed.
    SourceFailing,
    /// Fetching the source works again.
    SourceRecovered,
}

impl Kind {
    fn words(self) -> &'static str {
        match self {
            Kind::RevisionRefused => "revision refused",
            Kind::RevisionRecovered => "revision applied again",
            Kind::SourceFailing => "source failing",
            Kind::SourceRecovered => "source recovered",
        }
    }
}

/// One notice, the JSON body a webhook receives. It names revisions, the node and the source
/// (without credentials), never a person or a secret.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    pub event: Kind,
    /// The gateway node (`default` for the portal's).
    pub node: String,
    /// Host and process id of the replica that saw it.
    pub instance: String,
    pub source: String,
    /// The revision concerned: refused, or applied on recovery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The revision serving while this one is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serving: Option<String>,
    /// For people: what happened and what to do.
    pub message: String,
    pub at: DateTime<Utc>,
}

impl Notice {
    /// A one-line subject for mail.
    pub fn subject(&self) -> String {
        let revision = self
            .revision
            .as_deref()
            .map(|r| format!(" {}", short(r)))
            .unwrap_or_default();
        format!("hromada {}: {}{revision}", self.node, self.event.words())
    }
}

/// Where notices go, from `serve`'s options.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub webhooks: Vec<webhook::Webhook>,
    pub emails: Vec<lettre::message::Mailbox>,
    pub commit_status: Option<CommitStatus>,
}

impl Targets {
    pub fn is_empty(&self) -> bool {
        self.webhooks.is_empty() && self.emails.is_empty() && self.commit_status.is_none()
    }
}

/// The state notices are transitions of, as this process saw it.
#[derive(Default)]
struct Seen {
    /// The last revision this process applied or refused.
    last: Option<(String, Verdict)>,
    source_failing: bool,
}

/// What the node's record held before an attempt: the reconcile recorded just before it, by
/// any replica sharing the store (so replicas and restarts notify a transition once), or
/// `Unknown` when the store could not be read (this process's memory decides then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Before {
    Recorded(Option<(String, Verdict)>),
    Unknown,
}

/// Tells the targets of each transition; cheap to call on every reconcile and every pull.
pub struct Notifier {
    node: String,
    instance: String,
    source: String,
    notices: Vec<mpsc::Sender<Notice>>,
    statuses: Option<mpsc::Sender<commit_status::Report>>,
    seen: Mutex<Seen>,
}

/// What the reconciler did with a revision, for [`Notifier::attempted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Applied,
    Refused,
}

impl Notifier {
    /// Starts one worker per target (on the current tokio runtime). `mailer` is the appliance's
    /// mail server; e-mail targets need it.
    pub fn start(
        targets: Targets,
        mailer: Option<std::sync::Arc<dyn email::Mailer>>,
        node: &str,
        instance: &str,
        source: &str,
    ) -> Result<Notifier, String> {
        let mut notices = Vec::new();
        for hook in targets.webhooks {
            notices.push(spawn_worker(move |notice: Notice| {
                let hook = hook.clone();
                async move { hook.post(&notice).await }
            }));
        }
        if !targets.emails.is_empty() {
            let mailer = mailer.ok_or(
                "--notify-email needs a mail server: pass --smtp and --mail-from too".to_string(),
            )?;
            for (n, to) in targets.emails.into_iter().enumerate() {
                let mail = email::Email::new(mailer.clone(), to, n + 1);
                notices.push(spawn_worker(move |notice: Notice| {
                    let mail = mail.clone();
                    async move { mail.send(&notice).await }
                }));
            }
        }
        let statuses = targets.commit_status.map(|forge| {
            spawn_worker(move |report: commit_status::Report| {
                let forge = forge.clone();
                async move { forge.post(&report).await }
            })
        });
        Ok(Notifier {
            node: node.to_string(),
            instance: instance.to_string(),
            source: source.to_string(),
            notices,
            statuses,
            seen: Mutex::new(Seen::default()),
        })
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A revision applied or refused. `serving` is the revision served after it; `summary` the
    /// refusal's places and codes; `before` what the node recorded just before.
    pub fn attempted(
        &self,
        revision: &str,
        verdict: Verdict,
        serving: Option<&str>,
        summary: &str,
        before: Before,
    ) {
        let before = {
            let mut seen = self.seen();
            let before = match before {
                Before::Recorded(before) => before,
                Before::Unknown => seen.last.clone(),
            };
            seen.last = Some((revision.to_string(), verdict));
            before
        };
        if before.as_ref() == Some(&(revision.to_string(), verdict)) {
            return;
        }
        self.post_status(revision, verdict, summary);
        let notice = {
            match (verdict, before) {
                (Verdict::Refused, _) => {
                    let keeps = serving
                        .map(|s| format!("revision {} keeps serving", short(s)))
                        .unwrap_or_else(|| "nothing is served until a valid revision comes".into());
                    Some((
                        Kind::RevisionRefused,
                        format!(
                            "revision {} was refused; {keeps}. {summary} Fix the spec and push a new commit; `hromada status` shows every diagnostic.",
                            short(revision)
                        ),
                    ))
                }
                (Verdict::Applied, Some((refused, Verdict::Refused))) => Some((
                    Kind::RevisionRecovered,
                    format!(
                        "revision {} was applied; the refused revision {} no longer blocks anything",
                        short(revision),
                        short(&refused)
                    ),
                )),
                (Verdict::Applied, _) => None,
            }
        };
        if let Some((kind, message)) = notice {
            self.notify(kind, Some(revision), serving, message);
        }
    }

    /// A fetch of the source finished: `Err` with the (credential-free) reason when it failed.
    pub fn fetched(&self, result: Result<(), &str>, serving: Option<&str>) {
        let notice = {
            let mut seen = self.seen();
            match result {
                Err(reason) if !seen.source_failing => {
                    seen.source_failing = true;
                    Some((
                        Kind::SourceFailing,
                        format!(
                            "cannot fetch the source: {reason}; the applied revision keeps serving and the fetch is retried"
                        ),
                    ))
                }
                Ok(()) if seen.source_failing => {
                    seen.source_failing = false;
                    Some((
                        Kind::SourceRecovered,
                        "the source is fetched again".to_string(),
                    ))
                }
                _ => None,
            }
        };
        if let Some((kind, message)) = notice {
            self.notify(kind, None, serving, message);
        }
    }

    fn notify(&self, event: Kind, revision: Option<&str>, serving: Option<&str>, message: String) {
        let notice = Notice {
            event,
            node: self.node.clone(),
            instance: self.instance.clone(),
            source: self.source.clone(),
            revision: revision.map(str::to_string),
            serving: serving.map(str::to_string),
            message,
            at: Utc::now(),
        };
        for queue in &self.notices {
            enqueue(queue, notice.clone());
        }
    }

    fn post_status(&self, revision: &str, verdict: Verdict, summary: &str) {
        let Some(queue) = &self.statuses else {
            return;
        };
        if !commit_status::is_commit(revision) {
            return;
        }
        let description = match verdict {
            Verdict::Applied => format!("applied on node {}", self.node),
            Verdict::Refused => format!("refused on node {}: {summary}", self.node),
        };
        enqueue(
            queue,
            commit_status::Report {
                sha: revision.to_string(),
                verdict,
                node: self.node.clone(),
                description,
            },
        );
    }
}

/// A refusal's errors as a notice names them: how many and where, with their codes, never the
/// text (which can quote a value from the spec).
pub fn summary(diagnostics: &[serde_json::Value]) -> String {
    let errors: Vec<&serde_json::Value> = diagnostics
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    let places: Vec<String> = errors
        .iter()
        .take(3)
        .map(|d| {
            let code = d["code"].as_str().unwrap_or("error");
            match super::status::place(d) {
                Some(place) => format!("{code} at {place}"),
                None => code.to_string(),
            }
        })
        .collect();
    match errors.len() {
        0 => "It could not be applied.".into(),
        n => format!("{n} error(s): {}.", places.join(", ")),
    }
}

fn enqueue<T>(queue: &mpsc::Sender<T>, item: T) {
    if let Err(mpsc::error::TrySendError::Full(_)) = queue.try_send(item) {
        tracing::error!(
            "a notification target is {QUEUE} notices behind; this notice is dropped (its receiver is slow or down, see the warnings before)"
        );
    }
}

/// A worker delivering its queue in order, each item tried up to [`ATTEMPTS`] times with a
/// doubling wait; `deliver` says whether a failure is worth another attempt.
fn spawn_worker<T, F, Fut>(deliver: F) -> mpsc::Sender<T>
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + 'static,
    T: Clone,
    Fut: std::future::Future<Output = Result<(), Failure>> + Send,
{
    let (tx, mut rx) = mpsc::channel::<T>(QUEUE);
    tokio::spawn(async move {
        while let Some(item) = rx.recv().await {
            let mut wait = FIRST_RETRY;
            for attempt in 1..=ATTEMPTS {
                match deliver(item.clone()).await {
                    Ok(()) => break,
                    Err(Failure {
                        target,
                        reason,
                        retry,
                    }) => {
                        let last = !retry || attempt == ATTEMPTS;
                        if last {
                            tracing::error!(
                                "notification to {target} given up after {attempt} attempt(s): {reason}"
                            );
                            break;
                        }
                        tracing::warn!(
                            "notification to {target} failed (attempt {attempt} of {ATTEMPTS}): {reason}; trying again in {}s",
                            wait.as_secs()
                        );
                        tokio::time::sleep(wait).await;
                        wait *= 2;
                    }
                }
            }
        }
    });
    tx
}

/// Why a delivery failed, for the log: the target as logs may name it (no credentials, no
/// address of a person), and whether another attempt may succeed.
#[derive(Debug)]
pub struct Failure {
    pub target: String,
    pub reason: String,
    pub retry: bool,
}

/// The failure of an HTTP delivery: a status of 5xx, 408 or 429 or no answer is retried.
pub(crate) fn http_failure(
    target: &str,
    result: Result<reqwest::Response, reqwest::Error>,
) -> Result<(), Failure> {
    match result {
        Ok(answer) if answer.status().is_success() => Ok(()),
        Ok(answer) => {
            let status = answer.status();
            Err(Failure {
                target: target.to_string(),
                reason: format!("it answered {status}"),
                retry: status.is_server_error()
                    || status == reqwest::StatusCode::REQUEST_TIMEOUT
                    || status == reqwest::StatusCode::TOO_MANY_REQUESTS,
            })
        }
        Err(e) => Err(Failure {
            target: target.to_string(),
            reason: if e.is_timeout() {
                format!("no answer within {}s", HTTP_TIMEOUT.as_secs())
            } else {
                format!("cannot reach it ({})", without_url(&e))
            },
            retry: true,
        }),
    }
}

/// How long one HTTP delivery may take, connecting included.
pub(crate) const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client of the deliveries: bounded connect and total time, no redirects (a redirect
/// could carry a token elsewhere).
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("hromada/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with rustls builds")
}

/// A reqwest error without the URL it names, which can hold a webhook's secret path.
fn without_url(error: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if text.is_empty() {
        "the request failed".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notifier() -> (Notifier, mpsc::Receiver<Notice>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let notifier = Notifier {
            node: "gw-core".into(),
            instance: "host:1".into(),
            source: "git /srv/spec.git".into(),
            notices: vec![tx],
            statuses: None,
            seen: Mutex::new(Seen::default()),
        };
        (notifier, rx)
    }

    fn drained(rx: &mut mpsc::Receiver<Notice>) -> Vec<(Kind, Option<String>)> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|n| (n.event, n.revision))
            .collect()
    }

    #[test]
    fn one_notice_per_transition_never_one_per_attempt() {
        let (notifier, mut rx) = notifier();
        let attempted = |revision: &str, verdict| {
            notifier.attempted(revision, verdict, Some("a"), "1 error(s).", Before::Unknown)
        };
        attempted("a", Verdict::Applied);
        assert_eq!(drained(&mut rx), []);
        attempted("b", Verdict::Refused);
        attempted("b", Verdict::Refused);
        attempted("c", Verdict::Refused);
        attempted("d", Verdict::Applied);
        attempted("e", Verdict::Applied);
        assert_eq!(
            drained(&mut rx),
            [
                (Kind::RevisionRefused, Some("b".into())),
                (Kind::RevisionRefused, Some("c".into())),
                (Kind::RevisionRecovered, Some("d".into())),
            ]
        );
        for _ in 0..3 {
            notifier.fetched(Err("cannot connect"), Some("e"));
        }
        notifier.fetched(Ok(()), Some("e"));
        notifier.fetched(Ok(()), Some("e"));
        assert_eq!(
            drained(&mut rx),
            [(Kind::SourceFailing, None), (Kind::SourceRecovered, None)]
        );
    }

    #[test]
    fn what_another_replica_recorded_first_is_not_notified_again() {
        let (notifier, mut rx) = notifier();
        let refused = || Some(("b".to_string(), Verdict::Refused));
        // Another replica (or this node before a restart) refused b already: nothing new.
        notifier.attempted("b", Verdict::Refused, None, "", Before::Recorded(refused()));
        assert_eq!(drained(&mut rx), []);
        // It then applied c before this replica did: the recovery is its to tell.
        let applied = Some(("c".to_string(), Verdict::Applied));
        notifier.attempted("c", Verdict::Applied, None, "", Before::Recorded(applied));
        assert_eq!(drained(&mut rx), []);
        // A refusal after an applied revision is news, whatever this process remembers.
        let applied = Some(("c".to_string(), Verdict::Applied));
        notifier.attempted("b", Verdict::Refused, None, "", Before::Recorded(applied));
        notifier.attempted("d", Verdict::Applied, None, "", Before::Recorded(refused()));
        assert_eq!(
            drained(&mut rx),
            [
                (Kind::RevisionRefused, Some("b".into())),
                (Kind::RevisionRecovered, Some("d".into())),
            ]
        );
    }

    #[test]
    fn a_full_queue_drops_the_notice_rather_than_waiting() {
        let (notifier, mut rx) = notifier();
        for n in 0..QUEUE + 5 {
            notifier.attempted(&n.to_string(), Verdict::Refused, None, "", Before::Unknown);
        }
        assert_eq!(drained(&mut rx).len(), QUEUE);
    }

    #[test]
    fn only_unanswered_server_errors_timeouts_and_rate_limits_are_retried() {
        let answer = |code: u16| {
            let response = axum::http::Response::builder()
                .status(code)
                .body(Vec::<u8>::new())
                .unwrap();
            http_failure(
                "webhook http://127.0.0.1",
                Ok(reqwest::Response::from(response)),
            )
        };
        assert!(answer(201).is_ok());
        for code in [500, 503, 408, 429] {
            assert!(answer(code).unwrap_err().retry, "{code}");
        }
        for code in [400, 401, 404, 422] {
            let failure = answer(code).unwrap_err();
            assert!(!failure.retry, "{code}");
            assert!(failure.reason.contains(&code.to_string()));
        }
    }

    #[test]
    fn the_summary_names_places_and_codes_never_the_text() {
        let diagnostics = vec![serde_json::json!({
            "severity": "error",
            "code": "H0101",
            "summary": "official 3012345678 is unknown",
            "range": {"filename": "spec/officials.kdl", "start": {"line": 4, "column": 2}},
        })];
        let summary = summary(&diagnostics);
        assert_eq!(summary, "1 error(s): H0101 at spec/officials.kdl:4:2.");
    }
}
