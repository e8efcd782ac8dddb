//! The applicant's way through an e-service, in plain words: the workflow's titled states in the
//! order an application reaches them from the start, what happens in each (who acts, for how
//! long), and how it can end.

use std::collections::{BTreeSet, VecDeque};

use serde::Serialize;

use crate::spec::labels;
use crate::spec::model::{Outcome, Workflow};

/// The role a workflow's transition names for the applicant.
pub const APPLICANT: &str = "applicant";

/// One stage the applicant sees their application in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The state's title.
    pub title: String,
    /// How long the stage may take at most, in words (`5 робочих днів`).
    pub deadline: Option<String>,
    /// No official acts: the appliance decides from registry data.
    pub automatic: bool,
    /// The applicant has something to do here (other than withdrawing).
    pub waits_for_you: bool,
}

/// How an application goes, from submission to its end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WayThrough {
    pub steps: Vec<Step>,
    /// How it can end: the titles of the final states other than a withdrawal, the service
    /// provided first.
    pub outcomes: Vec<String>,
    /// The applicant may withdraw the application on the way.
    pub withdrawable: bool,
}

/// The way through `workflow`: states reached from its start, breadth first, each transition in
/// the order it is declared; states without a title are internal and left out.
pub fn of(workflow: &Workflow) -> WayThrough {
    let state = |id: &str| workflow.states.iter().find(|s| s.id == id);
    let mut outcomes = Vec::new();
    let mut seen = BTreeSet::from([workflow.start.as_str()]);
    let mut queue = VecDeque::from([workflow.start.as_str()]);
    let mut way = WayThrough {
        steps: Vec::new(),
        outcomes: Vec::new(),
        withdrawable: false,
    };
    while let Some(id) = queue.pop_front() {
        let Some(current) = state(id) else {
            continue;
        };
        let withdraws = |to: &str| state(to).is_some_and(|s| s.outcome == Some(Outcome::Withdrawn));
        let by_applicant = current
            .transitions
            .iter()
            .filter(|t| t.role.as_deref() == Some(APPLICANT));
        let mut waits_for_you = false;
        for t in by_applicant {
            if withdraws(&t.to) {
                way.withdrawable = true;
            } else {
                waits_for_you = true;
            }
        }
        match (&current.title, current.outcome) {
            (_, Some(Outcome::Withdrawn)) => {}
            (Some(title), Some(outcome)) => outcomes.push((outcome, title.clone())),
            (Some(title), None) => way.steps.push(Step {
                title: title.clone(),
                deadline: current.deadline.as_ref().map(labels::days),
                automatic: current.role.is_none(),
                waits_for_you,
            }),
            (None, _) => {}
        }
        for t in &current.transitions {
            if seen.insert(t.to.as_str()) {
                queue.push_back(t.to.as_str());
            }
        }
    }
    outcomes.sort_by_key(|(outcome, _)| *outcome != Outcome::Granted);
    way.outcomes = outcomes.into_iter().map(|(_, title)| title).collect();
    way
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow(id: &str) -> Workflow {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        crate::spec::load(root)
            .spec
            .workflows
            .into_iter()
            .find(|w| w.id == id)
            .expect("the example city declares the workflow")
    }

    #[test]
    fn material_aid_goes_from_receipt_through_the_commission_to_a_decision() {
        let way = of(&workflow("material-aid"));
        let titles: Vec<&str> = way.steps.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Заяву отримано",
                "Розгляд комісією",
                "Очікування документів"
            ]
        );
        assert_eq!(way.steps[0].deadline.as_deref(), Some("5 робочих днів"));
        assert!(!way.steps[0].waits_for_you && !way.steps[0].automatic);
        assert!(way.steps[2].waits_for_you, "the applicant sends documents");
        assert_eq!(way.outcomes, ["Послугу надано", "У наданні відмовлено"]);
        assert!(way.withdrawable);
    }

    #[test]
    fn an_automatic_service_says_no_official_acts() {
        let way = of(&workflow("water-no-debt"));
        assert!(way.steps.iter().any(|s| s.automatic), "{way:#?}");
        assert!(!way.outcomes.is_empty());
    }
}
