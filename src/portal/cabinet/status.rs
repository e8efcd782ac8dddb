//! An application's status in plain words, derived from its case's pinned workflow: a final
//! state is decided, a state where the applicant has a step to take (other than withdrawing) is
//! waiting for them, the start state is received, anything else is in progress.

use serde::Serialize;

use crate::spec::model::{Outcome, Transition, Workflow};

/// Where an application stands, as its applicant reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Received,
    InProgress,
    WaitingForYou,
    Decided,
}

impl Status {
    /// The status as the cabinet writes it.
    pub fn words(self) -> &'static str {
        match self {
            Status::Received => "Отримано",
            Status::InProgress => "Розглядається",
            Status::WaitingForYou => "Потрібна ваша дія",
            Status::Decided => "Розглянуто",
        }
    }
}

/// An outcome as the cabinet writes it.
pub fn outcome_words(outcome: &str) -> &'static str {
    match outcome {
        "granted" => "послугу надано",
        "refused" => "у наданні послуги відмовлено",
        "withdrawn" => "заяву відкликано",
        _ => "розгляд завершено",
    }
}

/// The status of a case in `state` (with `outcome` once closed) under `workflow`.
pub fn status_of(workflow: &Workflow, state: &str, outcome: Option<&str>) -> Status {
    let declared = workflow.states.iter().find(|s| s.id == state);
    if outcome.is_some() || declared.is_some_and(|s| s.outcome.is_some()) {
        return Status::Decided;
    }
    let waits_for_applicant = declared.is_some_and(|s| {
        s.transitions
            .iter()
            .any(|t| by_applicant(t) && !withdraws(workflow, t))
    });
    if waits_for_applicant {
        Status::WaitingForYou
    } else if state == workflow.start {
        Status::Received
    } else {
        Status::InProgress
    }
}

/// The transition by which the applicant withdraws a case sitting in `state`, if the workflow
/// gives one there: the applicant's own transition into a state whose outcome is `withdrawn`.
pub fn withdrawal<'w>(workflow: &'w Workflow, state: &str) -> Option<&'w Transition> {
    workflow
        .states
        .iter()
        .find(|s| s.id == state && s.outcome.is_none())?
        .transitions
        .iter()
        .find(|t| by_applicant(t) && withdraws(workflow, t))
}

fn by_applicant(t: &Transition) -> bool {
    t.role.as_deref() == Some("applicant")
}

fn withdraws(workflow: &Workflow, t: &Transition) -> bool {
    workflow
        .states
        .iter()
        .any(|s| s.id == t.to && s.outcome == Some(Outcome::Withdrawn))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow(kdl_states: &str) -> Workflow {
        let states: serde_json::Value = serde_json::from_str(kdl_states).unwrap();
        serde_json::from_value(serde_json::json!({
            "id": "w", "title": "W", "start": "received", "states": states,
        }))
        .unwrap()
    }

    /// The example city's material aid, reduced to what the statuses depend on.
    fn material_aid() -> Workflow {
        workflow(
            r#"[
            {"id": "received", "role": "clerk", "transitions": [
                {"event": "ask", "to": "awaiting", "role": "clerk"},
                {"event": "withdraw", "to": "withdrawn", "role": "applicant"}]},
            {"id": "awaiting", "role": "clerk", "transitions": [
                {"event": "sent", "to": "received", "role": "applicant"},
                {"event": "withdraw", "to": "withdrawn", "role": "applicant"}]},
            {"id": "commission", "role": "head", "transitions": [
                {"event": "grant", "to": "granted", "role": "head"}]},
            {"id": "granted", "outcome": "granted"},
            {"id": "withdrawn", "outcome": "withdrawn"}
        ]"#,
        )
    }

    #[test]
    fn each_state_reads_as_the_applicant_would_say_it() {
        let w = material_aid();
        assert_eq!(status_of(&w, "received", None), Status::Received);
        assert_eq!(status_of(&w, "awaiting", None), Status::WaitingForYou);
        assert_eq!(status_of(&w, "commission", None), Status::InProgress);
        assert_eq!(status_of(&w, "granted", Some("granted")), Status::Decided);
        // A case whose state a later revision dropped still reads by its outcome.
        assert_eq!(status_of(&w, "gone", Some("refused")), Status::Decided);
        assert_eq!(status_of(&w, "gone", None), Status::InProgress);
    }

    #[test]
    fn withdrawing_is_offered_only_where_the_applicant_may_withdraw() {
        let w = material_aid();
        assert_eq!(withdrawal(&w, "received").unwrap().event, "withdraw");
        assert_eq!(withdrawal(&w, "awaiting").unwrap().event, "withdraw");
        assert!(withdrawal(&w, "commission").is_none());
        assert!(withdrawal(&w, "granted").is_none());
        assert!(withdrawal(&w, "nowhere").is_none());
    }
}
