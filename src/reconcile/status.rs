//! What the appliance says about its reconciles: the applied revision, the last attempt with its
//! diagnostics, and the history kept in the store. `/api/status` serves `StatusReport` as JSON
//! and `hromada status` reads the same shape back, so the two cannot drift apart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    /// The gateway node this process serves (`null` until a revision is applied).
    pub node: Option<String>,
    /// Host and process id, to tell replicas apart.
    pub instance: String,
    /// Where revisions come from.
    pub source: String,
    pub ready: bool,
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
