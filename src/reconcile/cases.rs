//! The reconciler's guard for cases in flight: a case keeps running on the definition it started
//! under, but a revision that no longer declares a state open cases sit in, and has no `migrate`
//! line saying where they go, is refused (H0714), so that no case is left in a state nobody knows.

use crate::spec::load::SourceMap;
use crate::spec::{Diagnostic, Kind, Spec};
use crate::store::OpenCases;

/// One error per workflow and state whose open cases `spec` strands.
pub fn stranded(spec: &Spec, map: &SourceMap, open: &[OpenCases]) -> Vec<Diagnostic> {
    open.iter()
        .filter(|c| c.open > 0)
        .filter_map(|c| {
            let workflow = spec.workflows.iter().find(|w| w.id == c.workflow);
            if workflow.is_some_and(|w| w.home_of(&c.state).is_some()) {
                return None;
            }
            let cases = match c.open {
                1 => "1 open case".to_string(),
                n => format!("{n} open cases"),
            };
            let diagnostic = match workflow {
                Some(_) => Diagnostic::error(
                    "H0714",
                    format!(
                        "{cases} of workflow `{}` sit in state `{}`, which this revision no longer declares",
                        c.workflow, c.state
                    ),
                )
                .at(map.at(Kind::Workflow, &c.workflow, ""))
                .help(format!(
                    "add `migrate \"{}\" to=\"…\"` to workflow `{}`, naming the declared state they move to, or keep the state until its cases are decided",
                    c.state, c.workflow
                )),
                None => Diagnostic::error(
                    "H0714",
                    format!(
                        "{cases} of workflow `{}` sit in state `{}`, and this revision no longer declares the workflow",
                        c.workflow, c.state
                    ),
                )
                .help(format!(
                    "keep workflow `{}` until its open cases are decided, or declare it with a `migrate \"{}\" to=\"…\"` line",
                    c.workflow, c.state
                )),
            };
            Some(diagnostic.detail(
                "the appliance does not apply a revision that leaves cases in a state it does not declare; `plan --against URL` shows the cases a change strands",
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(workflow: &str, state: &str, open: i64) -> OpenCases {
        OpenCases {
            workflow: workflow.into(),
            state: state.into(),
            open,
        }
    }

    #[test]
    fn only_states_the_revision_no_longer_knows_strand_cases() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let loaded = crate::spec::load(root);
        let counts = [
            open("material-aid", "received", 4),
            open("material-aid", "review-by-mayor", 2),
            open("material-aid", "gone", 0),
            open("retired-service", "checking", 1),
        ];
        let found = stranded(&loaded.spec, &loaded.map, &counts);
        let summaries: Vec<&str> = found.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(
            summaries,
            [
                "2 open cases of workflow `material-aid` sit in state `review-by-mayor`, which this revision no longer declares",
                "1 open case of workflow `retired-service` sit in state `checking`, and this revision no longer declares the workflow",
            ]
        );
        assert!(found.iter().all(|d| d.code == "H0714" && d.is_error()));
        assert!(found[0].span.is_some(), "points at the workflow");
    }
}
