//! What the appliance says about its reconciles: the applied revision, the last attempt with its
//! diagnostics, and the history kept in the store. `/api/status` serves `StatusReport` as JSON
//! and `hromada status` reads the same shape back, so the two cannot drift apart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::git::verify::Signature;
use crate::identity::short;

/// The revision being served.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Applied {
    pub revision: String,
    pub applied_at: DateTime<Utc>,
    /// True when it was restored from its snapshot at start-up because the spec folder was invalid.
    pub restored: bool,
}

/// One reconcile as the status shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    pub revision: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: i64,
    /// `applied`, `refused` or `failed` (the store or the snapshot could not be written).
    pub outcome: String,
    pub errors: u32,
    pub warnings: u32,
    /// The diagnostics, shaped as `validate --format json` prints them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics_digest: Option<String>,
    /// The replica that made the attempt (host and process id), in the history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// What went wrong beyond the spec itself, for `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The whole answer of `/api/status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatusReport {
    /// The gateway node this process serves (`null` until a revision is applied).
    pub node: Option<String>,
    /// Host and process id, to tell replicas apart.
    pub instance: String,
    /// Where revisions come from.
    pub source: String,
    pub ready: bool,
    /// Whether the case engine has taken a revision (an older appliance's report says nothing
    /// of it and counts as yes).
    #[serde(default = "taken")]
    pub engine_ready: bool,
    pub applied: Option<Applied>,
    pub last_attempt: Option<Attempt>,
    /// The last failure to fetch the source (a Git pull), if the latest fetch failed.
    pub source_error: Option<String>,
    /// The latest reconciles recorded in the store, newest first.
    pub history: Vec<Attempt>,
    /// Set when the history could not be read from the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_error: Option<String>,
    /// Open cases per workflow and state (`plan --against` shows what a change does to them).
    #[serde(default)]
    pub open_cases: Vec<crate::store::OpenCases>,
    /// Set when the open cases could not be counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_cases_error: Option<String>,
    /// The revision the source holds, as last read: in sync when it is the applied one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_head: Option<String>,
    /// Set when the store does not answer its health query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_error: Option<String>,
    /// Every replica of the node that shares the store, this one included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<super::fleet::Replica>,
    /// Set when the replicas could not be read from the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_error: Option<String>,
    /// Whose keys signed the applied and the last attempted revision, when `serve` verifies
    /// commit signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Signatures>,
    /// The latest hand edit found in the `--git` checkout (and reset), since start-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<super::drift::Drift>,
    /// Whether the node follows its source, is suspended or pinned, by whom, why and since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<super::control::ControlReport>,
    /// The operators' latest acts on the node, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acts: Vec<crate::store::OperatorAct>,
    /// Set when the operators' acts could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_error: Option<String>,
}

impl StatusReport {
    /// Why the appliance is not in sync, in words; empty when it serves the source's head and
    /// its source and store answer (`hromada status` exits 0 then, 2 otherwise).
    pub fn degraded(&self) -> Vec<String> {
        let mut why = Vec::new();
        match (&self.applied, &self.source_head) {
            (None, _) => why.push("no revision is applied".to_string()),
            (Some(applied), Some(head)) if applied.revision != *head => {
                let outcome = self
                    .last_attempt
                    .as_ref()
                    .filter(|a| a.revision == *head)
                    .map_or("not applied", |a| match a.outcome.as_str() {
                        "refused" => "refused",
                        "failed" => "not applied (the attempt failed)",
                        _ => "not applied",
                    });
                why.push(format!(
                    "the source's head {} is {outcome}; {} keeps serving",
                    short(head),
                    short(&applied.revision)
                ));
            }
            _ => {}
        }
        if let Some(error) = &self.source_error {
            why.push(format!("the source cannot be fetched: {error}"));
        }
        if let Some(error) = &self.store_error {
            why.push(format!("the store is failing: {error}"));
        } else if let Some(error) = &self.history_error {
            why.push(format!("the store is failing: {error}"));
        }
        if self.applied.is_some() && !self.ready && self.store_error.is_none() {
            why.push(if self.engine_ready {
                "the appliance is not ready (it is stopping)".to_string()
            } else {
                "the case engine has not taken the applied revision yet: no case, application or \
                 resolution can start until it does (its log says why, if it cannot)"
                    .to_string()
            });
        }
        why
    }
}

fn taken() -> bool {
    true
}

/// Commit signatures, when `serve` is given `--git-allowed-signers` or `--git-trusted-keys`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Signatures {
    /// The files the trusted keys come from.
    pub keys: Vec<String>,
    /// Who signed the applied revision; `null` for one restored from its snapshot.
    pub applied: Option<Signature>,
    /// Who signed the last revision attempted, applied or refused.
    pub last_attempt: Option<Signature>,
}

impl Attempt {
    pub fn from_record(record: &crate::store::ReconcileRecord) -> Attempt {
        Attempt {
            revision: record.revision.clone(),
            started_at: record.started_at,
            finished_at: record.finished_at,
            duration_ms: (record.finished_at - record.started_at).num_milliseconds(),
            outcome: record.outcome.as_str().to_string(),
            errors: record.errors,
            warnings: record.warnings,
            diagnostics: Vec::new(),
            diagnostics_digest: Some(record.diagnostics_digest.clone()),
            instance: Some(record.instance.clone()),
            message: None,
        }
    }
}

/// Where a diagnostic (as `validate --format json` shapes it) points: `file:line:col`, or
/// `None` for one about the tree as a whole.
pub fn place(diagnostic: &serde_json::Value) -> Option<String> {
    let range = &diagnostic["range"];
    let file = range["filename"].as_str()?;
    Some(format!(
        "{file}:{}:{}",
        range["start"]["line"], range["start"]["column"]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(applied: Option<&str>, head: Option<&str>, outcome: &str) -> StatusReport {
        let now = Utc::now();
        StatusReport {
            node: Some("gw-core".into()),
            instance: "host:1".into(),
            source: "folder spec".into(),
            ready: applied.is_some(),
            engine_ready: true,
            applied: applied.map(|revision| Applied {
                revision: revision.into(),
                applied_at: now,
                restored: false,
            }),
            last_attempt: head.map(|revision| Attempt {
                revision: revision.into(),
                started_at: now,
                finished_at: now,
                duration_ms: 0,
                outcome: outcome.into(),
                errors: 1,
                warnings: 0,
                diagnostics: Vec::new(),
                diagnostics_digest: None,
                instance: None,
                message: None,
            }),
            source_error: None,
            history: Vec::new(),
            history_error: None,
            open_cases: Vec::new(),
            open_cases_error: None,
            source_head: head.map(Into::into),
            ..StatusReport::default()
        }
    }

    #[test]
    fn in_sync_only_when_the_head_is_served_and_source_and_store_answer() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        assert!(report(Some(&a), Some(&a), "applied").degraded().is_empty());
        let refused = report(Some(&a), Some(&b), "refused").degraded();
        assert_eq!(
            refused,
            [format!(
                "the source's head {} is refused; {} keeps serving",
                &b[..12],
                &a[..12]
            )]
        );
        assert_eq!(
            report(None, Some(&b), "refused").degraded(),
            ["no revision is applied"]
        );
        let mut fetch = report(Some(&a), Some(&a), "applied");
        fetch.source_error = Some("git failed to fetch".into());
        assert_eq!(
            fetch.degraded(),
            ["the source cannot be fetched: git failed to fetch"]
        );
        let mut store = report(Some(&a), Some(&a), "applied");
        store.store_error = Some("no answer".into());
        store.ready = false;
        assert_eq!(store.degraded(), ["the store is failing: no answer"]);
    }

    #[test]
    fn a_node_whose_case_engine_has_no_revision_yet_says_so() {
        let mut waiting = report(Some("sha256:aaaa"), Some("sha256:aaaa"), "applied");
        waiting.ready = false;
        waiting.engine_ready = false;
        let why = waiting.degraded();
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(
            why[0].starts_with("the case engine has not taken"),
            "{why:?}"
        );
    }

    #[test]
    fn a_report_of_an_older_appliance_still_reads() {
        let old = r#"{"node":"gw-core","instance":"h:1","source":"folder","ready":true,
            "applied":null,"last_attempt":null,"source_error":null,"history":[]}"#;
        let report: StatusReport = serde_json::from_str(old).unwrap();
        assert!(report.replicas.is_empty() && report.source_head.is_none());
        assert!(
            report.engine_ready,
            "an older appliance's engine counts as ready"
        );
    }
}
