//! The policy kinds of `policies/`: `data-class` (public, personal, sensitive, …) and `policy`,
//! the rules bound to data classes that `check::policy` enforces on every agreement and
//! retention rule (MIN-2).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::retention::RecordClass;

/// A class of data that response fields are labelled with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"data-class "personal" {
    title "Персональні дані"
    level "personal"
    description "Відомості про фізичну особу, яка ідентифікована або може бути ідентифікована"
}"#))]
pub struct DataClass {
    /// Class id, used as `class=` on response fields.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Name of the class.
    pub title: String,
    /// Sensitivity level; a field moving to a higher level widens access.
    pub level: Level,
    /// What belongs to the class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Public,
    Personal,
    Sensitive,
}

/// Rules bound to data classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"policy "personal-data" {
    title "Обробка персональних даних"
    applies-to "personal" "sensitive"
    require-purpose #true
    require-legal-basis #true
    notify-subject #true
    mask "logs" "exports"
    max-fields 8
    retention-floor "message-log" period="3y"
}"#))]
pub struct Policy {
    /// Policy id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Name of the policy.
    pub title: String,
    /// Data classes the rules apply to.
    pub applies_to: Vec<String>,
    /// An agreement granting such a field must state its purpose.
    #[serde(default)]
    pub require_purpose: bool,
    /// An agreement granting such a field must state its legal basis.
    #[serde(default)]
    pub require_legal_basis: bool,
    /// An agreement granting such a field must notify the data subject.
    #[serde(default)]
    pub notify_subject: bool,
    /// Where values of such fields are masked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mask: Vec<MaskTarget>,
    /// Most fields of these classes one agreement may grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fields: Option<u32>,
    /// Shortest retention allowed for a record class.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "retention-floor"))]
    pub retention_floors: Vec<RetentionFloor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MaskTarget {
    /// Application and message logs.
    Logs,
    /// Open-data exports and statistics.
    Exports,
}

/// The shortest retention allowed for one record class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RetentionFloor {
    /// Record class.
    #[schemars(extend("x-kdl" = "arg"))]
    pub record: RecordClass,
    /// Shortest period, e.g. `3y`.
    #[schemars(extend("x-kdl" = "prop"))]
    pub period: String,
}
