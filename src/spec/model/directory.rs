//! The reference kinds: `classifier` (єдині класифікатори та довідники, 000 §7), `role` with its
//! permissions, `official` (who works in which unit with which roles), `journal` (document
//! journals with numbering patterns) and `case-index` (номенклатура справ with retention).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A classifier or reference book that select fields draw their items from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"classifier "benefit-category" {
    title "Категорії пільговиків"
    item "01" "Особи з інвалідністю внаслідок війни"
    item "02" "Учасники бойових дій"
}"#))]
pub struct Classifier {
    /// Classifier id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Name of the classifier.
    pub title: String,
    /// Items.
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "item"))]
    pub items: Vec<ClassifierItem>,
}

/// One classifier item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClassifierItem {
    /// Code.
    #[schemars(extend("x-kdl" = "arg"))]
    pub code: String,
    /// Label.
    #[schemars(extend("x-kdl" = "arg"))]
    pub label: String,
}

/// A role: a named set of permissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"role "subsidy-clerk" {
    title "Спеціаліст з призначення субсидій"
    permissions "applications-read" "applications-decide"
}"#))]
pub struct Role {
    /// Role id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Name of the role.
    pub title: String,
    /// What holders of the role may do.
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// See applications in the role's queue.
    ApplicationsRead,
    /// Decide applications.
    ApplicationsDecide,
    /// Register incoming and outgoing documents.
    DocumentsRegister,
    /// Read registration cards.
    DocumentsRead,
    /// Write resolutions and assign executors.
    DocumentsResolve,
    /// Execute assigned documents.
    DocumentsExecute,
    /// Send and receive documents between participants.
    DocumentsExchange,
    /// Keep documents on control: change deadlines, remove from control (КМУ №55 п.172–175).
    DocumentsControl,
    /// Keep the archive: expert review, acts of destruction, legal holds, transfer to archive.
    DocumentsArchive,
    /// Read the message log and the audit log.
    AuditRead,
    /// Block and restore user access.
    UsersManage,
}

impl Permission {
    /// The permissions of the document registry: holding any of them opens `/registry`.
    pub const DOCUMENTS: &'static [Permission] = &[
        Permission::DocumentsRead,
        Permission::DocumentsRegister,
        Permission::DocumentsResolve,
        Permission::DocumentsExecute,
        Permission::DocumentsExchange,
        Permission::DocumentsControl,
        Permission::DocumentsArchive,
    ];
}

/// An official (посадова особа).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"official "koval-o" {
    name "Коваль Оксана Миколаївна"
    position "Головний спеціаліст"
    unit "social-dept/subsidies"
    roles "subsidy-clerk"
    email "koval@social.city.example"
}"#))]
pub struct Official {
    /// Official id (their login).
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Full name.
    pub name: String,
    /// Position, printed on issued documents.
    pub position: String,
    /// Unit, `participant/unit`.
    pub unit: String,
    /// Roles held.
    pub roles: Vec<String>,
    /// Work e-mail.
    pub email: String,
    /// Work phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Taxpayer number (РНОКПП), matched against the official's qualified signature certificate
    /// and against the identity provider's claim when they sign in to the office.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rnokpp: Option<String>,
    /// Blocked from the office (003 §6.8, §6.11): through the day `until`, or for good without
    /// it. The stricter of this and a block set in the office applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<OfficialBlocked>,
}

/// Why and how long an official is blocked, e.g. `blocked until="2027-01-31" reason="Відпустка"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OfficialBlocked {
    /// The last day of the block, `YYYY-MM-DD` in the system's time zone; for good without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub until: Option<String>,
    /// Why, as those who manage users read it.
    #[schemars(extend("x-kdl" = "prop"))]
    pub reason: String,
}

impl OfficialBlocked {
    /// The last day of the block; `Err` when `until` is no date, `Ok(None)` for good.
    pub fn last_day(&self) -> Result<Option<chrono::NaiveDate>, chrono::ParseError> {
        self.until
            .as_deref()
            .map(|d| chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d"))
            .transpose()
    }
}

/// A document journal with its own numbering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"journal "incoming" {
    title "Журнал реєстрації вхідних документів"
    participant "city-council"
    direction "incoming"
    numbering "{seq}/01-{yyyy}"
    reset "yearly"
}"#))]
pub struct Journal {
    /// Journal id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Name of the journal.
    pub title: String,
    /// Participant that keeps the journal.
    pub participant: String,
    /// Which documents it registers.
    pub direction: Direction,
    /// Registration number pattern; placeholders `{seq}`, `{yyyy}`, `{yy}`, `{mm}`, `{dd}`, `{case}`.
    pub numbering: String,
    /// When `{seq}` starts again from 1.
    #[serde(default)]
    pub reset: Reset,
    /// The document kinds it registers (`document-kind` ids); none: every kind of its direction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    /// The file formats a card's files may have (`pdf`, `pdf-a`, `odt`, …); none: PDF/A and ODF.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub formats: Vec<String>,
    /// Workflow of the executors' work on a resolution of a card of this journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// Calendar days a resolution's deadline runs when it names none (КМУ №55, п.171: 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_days: Option<u32>,
}

impl Journal {
    /// The longest `control-days` a journal may give (a year).
    pub const MAX_CONTROL_DAYS: u32 = 366;

    /// Calendar days a resolution's deadline runs when it names none.
    pub fn control_days(&self) -> u32 {
        self.control_days.unwrap_or(30)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Incoming,
    Outgoing,
    Internal,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Reset {
    #[default]
    Yearly,
    Never,
}

/// The case index (номенклатура справ) of a participant for a year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"case-index "city-council-2026" {
    participant "city-council"
    year 2026
    case "01-05" title="Звернення громадян" retention="5y" article="ст. 82 Переліку"
}"#))]
pub struct CaseIndex {
    /// Case index id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Participant whose case index this is.
    pub participant: String,
    /// Year.
    pub year: u32,
    /// Cases.
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "case"))]
    pub cases: Vec<Case>,
}

/// A case (справа) of the case index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Case {
    /// Case code.
    #[schemars(extend("x-kdl" = "arg"))]
    pub code: String,
    /// Heading of the case.
    #[schemars(extend("x-kdl" = "prop"))]
    pub title: String,
    /// Retention period, e.g. `5y`, or `permanent`.
    #[schemars(extend("x-kdl" = "prop"))]
    pub retention: String,
    /// Article of the list of standard documents that sets the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub article: Option<String>,
}
