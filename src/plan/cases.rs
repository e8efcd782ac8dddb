//! The cases a change moves or strands. A case runs on the workflow of the revision it started
//! under, but a revision that no longer declares the state open cases sit in is refused unless the
//! workflow's `migrate` line says where they go; the plan shows that before anyone merges.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::spec::{Kind, Spec};

use super::Change;

/// How many open cases of a workflow sit in one state, as the running appliance counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InState {
    pub workflow: String,
    pub state: String,
    pub open: u64,
}

/// Where the open cases of a state are under the new revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "fate", rename_all = "kebab-case")]
pub enum Fate {
    /// The state is still declared: the cases stay, on the definition they started under.
    Stays,
    /// The state is gone and a `migrate` line moves the cases to `to`.
    Moves { to: String },
    /// The state is gone and nothing says where its cases go: the revision would be refused.
    Stranded,
}

impl Fate {
    /// The fate of the cases in `state` of `workflow` under `to`.
    pub fn of(to: &Spec, workflow: &str, state: &str) -> Fate {
        let home = to
            .workflows
            .iter()
            .find(|w| w.id == workflow)
            .and_then(|w| w.home_of(state));
        match home {
            Some(home) if home == state => Fate::Stays,
            Some(home) => Fate::Moves {
                to: home.to_string(),
            },
            None => Fate::Stranded,
        }
    }
}

/// A state of a workflow with its open cases (when counted) and their fate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateCases {
    pub state: String,
    /// Open cases in the state; absent when the plan was not given the appliance's counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<u64>,
    #[serde(flatten)]
    pub fate: Fate,
}

/// The cases of one workflow that the change touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkflowCases {
    pub workflow: String,
    pub states: Vec<StateCases>,
}

/// The cases section of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cases {
    /// Whether the running appliance's counts were read (`plan --against URL`).
    pub counted: bool,
    pub workflows: Vec<WorkflowCases>,
}

impl Cases {
    /// For each workflow the change touches, and each other workflow that holds cases the new
    /// revision strands: with counts, every state holding open cases; without, the states the
    /// change removes (whose cases would move or be stranded).
    pub fn new(from: &Spec, to: &Spec, changes: &[Change], counts: Option<&[InState]>) -> Cases {
        let touched: BTreeSet<&str> = changes
            .iter()
            .filter(|c| c.kind == Kind::Workflow)
            .map(|c| c.id.as_str())
            .collect();
        let mut by_workflow: BTreeMap<String, Vec<StateCases>> = BTreeMap::new();
        match counts {
            Some(counts) => {
                for c in counts.iter().filter(|c| c.open > 0) {
                    let fate = Fate::of(to, &c.workflow, &c.state);
                    if touched.contains(c.workflow.as_str()) || fate == Fate::Stranded {
                        by_workflow
                            .entry(c.workflow.clone())
                            .or_default()
                            .push(StateCases {
                                state: c.state.clone(),
                                open: Some(c.open),
                                fate,
                            });
                    }
                }
            }
            None => {
                for w in from
                    .workflows
                    .iter()
                    .filter(|w| touched.contains(w.id.as_str()))
                {
                    for s in &w.states {
                        let fate = Fate::of(to, &w.id, &s.id);
                        if s.outcome.is_none() && fate != Fate::Stays {
                            by_workflow
                                .entry(w.id.clone())
                                .or_default()
                                .push(StateCases {
                                    state: s.id.clone(),
                                    open: None,
                                    fate,
                                });
                        }
                    }
                }
            }
        }
        Cases {
            counted: counts.is_some(),
            workflows: by_workflow
                .into_iter()
                .map(|(workflow, mut states)| {
                    states.sort_by(|a, b| a.state.cmp(&b.state));
                    WorkflowCases { workflow, states }
                })
                .collect(),
        }
    }

    /// The open cases the new revision strands (counted ones only).
    pub fn stranded(&self) -> u64 {
        self.workflows
            .iter()
            .flat_map(|w| &w.states)
            .filter(|s| s.fate == Fate::Stranded)
            .filter_map(|s| s.open)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::{Migration, State, Workflow};

    fn workflow(states: &[(&str, bool)], migrations: &[(&str, &str)]) -> Workflow {
        Workflow {
            id: "aid".into(),
            title: "Aid".into(),
            start: states[0].0.into(),
            states: states
                .iter()
                .map(|(id, last)| State {
                    id: (*id).into(),
                    title: None,
                    role: None,
                    outcome: last.then_some(crate::spec::model::Outcome::Granted),
                    deadline: None,
                    reminders: Vec::new(),
                    escalations: Vec::new(),
                    transitions: Vec::new(),
                })
                .collect(),
            migrations: migrations
                .iter()
                .map(|(from, to)| Migration {
                    from: (*from).into(),
                    to: (*to).into(),
                })
                .collect(),
        }
    }

    fn spec(w: Workflow) -> Spec {
        Spec {
            workflows: vec![w],
            ..Spec::default()
        }
    }

    fn changed() -> Vec<Change> {
        vec![Change {
            kind: Kind::Workflow,
            id: "aid".into(),
            action: super::super::Action::Change,
            attributes: Vec::new(),
        }]
    }

    fn count(state: &str, open: u64) -> InState {
        InState {
            workflow: "aid".into(),
            state: state.into(),
            open,
        }
    }

    #[test]
    fn a_removed_state_moves_its_cases_by_migrate_or_strands_them() {
        let from = spec(workflow(
            &[("received", false), ("commission", false), ("done", true)],
            &[],
        ));
        let to = spec(workflow(
            &[("received", false), ("review", false), ("done", true)],
            &[("commission", "review")],
        ));
        let counts = [
            count("received", 3),
            count("commission", 2),
            count("gone", 1),
        ];
        let cases = Cases::new(&from, &to, &changed(), Some(&counts));
        let fates: Vec<(&str, Option<u64>, &Fate)> = cases.workflows[0]
            .states
            .iter()
            .map(|s| (s.state.as_str(), s.open, &s.fate))
            .collect();
        assert_eq!(
            fates,
            [
                (
                    "commission",
                    Some(2),
                    &Fate::Moves {
                        to: "review".into()
                    }
                ),
                ("gone", Some(1), &Fate::Stranded),
                ("received", Some(3), &Fate::Stays),
            ]
        );
        assert_eq!(cases.stranded(), 1);
    }

    #[test]
    fn an_untouched_workflow_shows_only_when_it_strands_cases() {
        let w = spec(workflow(&[("received", false), ("done", true)], &[]));
        let cases = Cases::new(&w, &w, &[], Some(&[count("received", 4)]));
        assert!(cases.workflows.is_empty());
        let cases = Cases::new(&w, &w, &[], Some(&[count("lost", 4)]));
        assert_eq!(cases.stranded(), 4);
    }

    #[test]
    fn without_counts_the_removed_open_states_are_listed() {
        let from = spec(workflow(
            &[("received", false), ("commission", false), ("done", true)],
            &[],
        ));
        let to = spec(workflow(&[("received", false), ("done", true)], &[]));
        let cases = Cases::new(&from, &to, &changed(), None);
        assert!(!cases.counted);
        assert_eq!(
            cases.workflows[0].states,
            [StateCases {
                state: "commission".into(),
                open: None,
                fate: Fate::Stranded
            }]
        );
        assert_eq!(
            cases.stranded(),
            0,
            "nothing is counted, so nothing is known stranded"
        );
    }
}
