//! What callers hand the engine — who acts, for whom, a start or a transition with its
//! idempotency key and the state the caller saw — and what it answers: the move made, the case.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who acts on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "id")]
pub enum Actor {
    /// The applicant, by their id (РНОКПП or the portal's user id).
    Applicant(String),
    /// An official, by their id in the spec.
    Official(String),
    /// The engine itself (automatic transitions).
    Engine,
    /// A timer (reminders, escalations, deadlines).
    Timer,
    /// A provider's own information system (003 §5.4), `participant/subsystem`, reporting the
    /// progress of an application delivered to it; it fires transitions of role
    /// [`PROVIDER_SYSTEM`] only.
    System(String),
}

pub use crate::spec::model::PROVIDER_SYSTEM;

impl Actor {
    /// The actor as the history writes it.
    pub fn label(&self) -> String {
        match self {
            Actor::Applicant(id) => format!("applicant:{id}"),
            Actor::Official(id) => format!("official:{id}"),
            Actor::Engine => "engine".into(),
            Actor::Timer => "timer".into(),
            Actor::System(id) => format!("system:{id}"),
        }
    }
}

/// The person a case is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    /// Their id: the data subject of the case's registry calls.
    pub id: String,
    pub name: String,
    /// Where e-mail notices go, if they gave an address.
    pub email: Option<String>,
}

/// A request to start a case.
#[derive(Debug, Clone, Copy)]
pub struct Start<'a> {
    /// Idempotency key: the same key again starts nothing and answers the same.
    pub key: &'a str,
    pub e_service: &'a str,
    pub applicant: &'a Applicant,
    /// The application's data (the form's fields).
    pub data: &'a Value,
    /// Acting for whom, when the applicant's representative submits as the applicant.
    pub on_behalf: Option<&'a str>,
    /// Who submits, when not the applicant (an official of a front office, ЦНАП): the history
    /// then records them, acting for the applicant.
    pub submitted_by: Option<&'a Actor>,
}

/// A request to fire a transition.
#[derive(Debug, Clone, Copy)]
pub struct Fire<'a> {
    /// Idempotency key: the same key again moves nothing and answers the same.
    pub key: &'a str,
    pub case_id: &'a str,
    pub event: &'a str,
    pub actor: &'a Actor,
    pub on_behalf: Option<&'a str>,
    /// The state the caller saw the case in; if it moved since, the request is refused.
    pub seen_state: &'a str,
}

/// One transition a request made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub event: String,
    pub from: String,
    pub to: String,
    /// Fired by the engine because its guard held, not by a person.
    pub automatic: bool,
}

/// What a request did: the case's state after it and the transitions made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub case_id: String,
    pub state: String,
    pub outcome: Option<String>,
    pub version: i64,
    pub steps: Vec<Step>,
}

/// A case as the engine shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub workflow: String,
    pub revision: String,
    pub e_service: String,
    pub state: String,
    pub outcome: Option<String>,
    pub applicant: Applicant,
    pub assignee: Option<String>,
    pub role: Option<String>,
    pub data: Value,
    /// Registry answers by service id (`registry.<service id>` in guards).
    pub registry: Value,
    /// `{outcome, reason}` once decided.
    pub decision: Option<Value>,
    pub deadline_at: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub state_entered_at: String,
}
