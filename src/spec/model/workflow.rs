//! The `workflow` kind: a state machine that processes applications — states with an assigned
//! role, deadlines, reminders and escalations; transitions with event, role, guard and actions
//! (notify, call a service, issue a sealed document, decide automatically); final states with outcome.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::Days;

/// The role of a transition that a provider's own information system reports (003 §5.4) for the
/// e-services it handles (`handled-by`), rather than an official fires.
pub const PROVIDER_SYSTEM: &str = "provider-system";

/// A workflow for applications of an e-service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"workflow "subsidy" {
    title "Розгляд заяви про субсидію"
    start "submitted"
    state "submitted" title="Заява на розгляді" role="subsidy-clerk" {
        deadline 5 counting="working"
        remind 1 to="assignee"
        escalate 1 to="subsidy-head"
        transition "approve" to="granted" title="Призначити субсидію" role="subsidy-clerk" {
            issue "subsidy-decision"
            notify "applicant" message="Субсидію призначено"
        }
        transition "refuse" to="refused" role="subsidy-clerk" guard="reason"
    }
    state "granted" title="Субсидію призначено" outcome="granted"
    state "refused" title="У призначенні відмовлено" outcome="refused"
    migrate "review" to="submitted"
}"#))]
pub struct Workflow {
    /// Workflow id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Name of the workflow.
    pub title: String,
    /// The state a submitted application enters.
    pub start: String,
    /// States.
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "state"))]
    pub states: Vec<State>,
    /// Where the open cases of a state that this revision no longer declares go. Without one,
    /// the appliance refuses a revision that removes or renames a state open cases sit in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "migrate"))]
    pub migrations: Vec<Migration>,
}

/// Open cases of a state no longer declared move to a declared one when the revision is applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Migration {
    /// The state that an earlier revision declared and this one does not.
    #[schemars(extend("x-kdl" = "arg"))]
    pub from: String,
    /// The declared state the cases move to.
    #[schemars(extend("x-kdl" = "prop"))]
    pub to: String,
}

/// A state of an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct State {
    /// State id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Name of the state shown to applicants and officials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub title: Option<String>,
    /// Role whose officials work applications in this state; none for automatic states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub role: Option<String>,
    /// Outcome of a final state; a state with an outcome is final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub outcome: Option<Outcome>,
    /// How long an application may stay in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Days>,
    /// Reminders before the deadline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "remind"))]
    pub reminders: Vec<Reminder>,
    /// Escalations after the deadline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "escalate"))]
    pub escalations: Vec<Escalation>,
    /// Transitions out of this state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "transition"))]
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The service was provided.
    Granted,
    /// The service was refused.
    Refused,
    /// The applicant withdrew the application.
    Withdrawn,
}

/// A reminder sent some working days before the deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Reminder {
    /// Working days before the deadline.
    #[schemars(extend("x-kdl" = "arg"))]
    pub days_before: u32,
    /// Who is reminded: `assignee` or a role id.
    #[schemars(extend("x-kdl" = "prop"))]
    pub to: String,
}

/// An escalation some working days after a missed deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Escalation {
    /// Working days after the deadline.
    #[schemars(extend("x-kdl" = "arg"))]
    pub days_after: u32,
    /// Role the application is escalated to.
    #[schemars(extend("x-kdl" = "prop"))]
    pub to: String,
}

/// A move from one state to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Transition {
    /// Event name (the button an official presses, or `auto`).
    #[schemars(extend("x-kdl" = "arg"))]
    pub event: String,
    /// Target state.
    #[schemars(extend("x-kdl" = "prop"))]
    pub to: String,
    /// Name of the action shown to officials (the button's label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub title: Option<String>,
    /// Role allowed to fire it: a role id or `applicant`; none when it is automatic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub role: Option<String>,
    /// Expression over the application's fields (and `registry` data) that must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub guard: Option<String>,
    /// Actions performed when the transition fires, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "variants"))]
    pub actions: Vec<Action>,
}

/// What a transition does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Notify the applicant, the assignee or a role.
    Notify(Notify),
    /// Call a registry service through the gateway as the portal's subsystem. The calls of a
    /// state's transitions are made when an application enters the state, before any guard is
    /// judged; the fields fetched are `registry.<service id>.<field>` in that state's guards and
    /// in every state after it.
    Call(Call),
    /// Issue a document sealed by the provider from a template.
    Issue(Issue),
    /// Decide the case automatically from registry data (003 §5.5–5.6), without an official.
    Decide(Decide),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Notify {
    /// `applicant`, `assignee` or a role id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub to: String,
    /// Text of the notice.
    #[schemars(extend("x-kdl" = "prop"))]
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Call {
    /// Provider service, `participant/service`, called as the portal's subsystem.
    #[schemars(extend("x-kdl" = "arg"))]
    pub service: String,
    /// Response fields the workflow uses, by dotted path.
    #[schemars(extend("x-kdl" = "args"))]
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Issue {
    /// Document template id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub template: String,
    /// Journal the outgoing document is registered in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub journal: Option<String>,
    /// Case of the journal keeper's case index (справа) the document is filed in, e.g. `03-10`:
    /// the `{case}` of the journal's numbering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub case: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Decide {
    /// The decision recorded.
    #[schemars(extend("x-kdl" = "arg"))]
    pub outcome: Outcome,
    /// Reason recorded with the decision and shown to the applicant.
    #[schemars(extend("x-kdl" = "prop"))]
    pub reason: String,
}

impl Outcome {
    /// The outcome as the spec writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Granted => "granted",
            Outcome::Refused => "refused",
            Outcome::Withdrawn => "withdrawn",
        }
    }
}

impl Workflow {
    /// The state an open case sitting in `state` is in under this definition: the state itself
    /// when declared, the target of its `migrate` line otherwise, or none (the case is stranded).
    pub fn home_of<'w>(&'w self, state: &'w str) -> Option<&'w str> {
        if self.states.iter().any(|s| s.id == state) {
            return Some(state);
        }
        self.migrations
            .iter()
            .find(|m| m.from == state)
            .map(|m| m.to.as_str())
    }
}

impl State {
    /// What people read for the state: its title, or its id when it has none.
    pub fn label(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.id)
    }
}

impl Transition {
    /// What people read for the transition: its title, or its event when it has none.
    pub fn label(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.event)
    }
}
