//! The `retention` kind: how long each class of record is kept, from which event, and what
//! happens when the period ends (destroy, archive, review, anonymise), with legal hold.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A retention rule for one class of records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"retention "applications" {
    record "application"
    period "5y"
    trigger "closed"
    action "archive"
    legal-hold #false
}"#))]
pub struct Retention {
    /// Rule id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Class of records the rule applies to.
    pub record: RecordClass,
    /// How long records are kept, e.g. `5y`, `18mo`, `90d`, or `permanent`.
    pub period: String,
    /// The event the period counts from.
    pub trigger: Trigger,
    /// What happens when the period ends.
    pub action: RetentionAction,
    /// Records under legal hold are never disposed of while the hold stands.
    #[serde(default)]
    pub legal_hold: bool,
    /// Case of the case index whose file holds these records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RecordClass {
    /// Registered documents of the registry.
    Document,
    /// Applications for e-services.
    Application,
    /// Gateway message log.
    MessageLog,
    /// Security and change audit log.
    AuditLog,
    /// Records of exchanges about data subjects (MIN-4).
    SubjectLog,
    /// Operational monitoring records.
    OperationalLog,
    /// Notices sent to people.
    Notification,
    /// Citizens' unfinished applications on the portal (003 §4.6(5)); the period counts from
    /// when the draft was started, and an expired draft is destroyed.
    Draft,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// When the record is created.
    Created,
    /// When the case or application is closed.
    Closed,
    /// When the last decision on it is taken.
    Decided,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RetentionAction {
    Destroy,
    Archive,
    Review,
    Anonymise,
}
