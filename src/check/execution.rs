//! The executors' work a journal declares (H0720–H0729): `execution` names a declared workflow
//! and `control-days`, the default deadline of a resolution in calendar days, is 1 to 366.

use crate::spec::diagnostics::did_you_mean;
use crate::spec::model::Journal;
use crate::spec::{Diagnostic, Kind};

use super::Checker;

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    for j in &spec.journals {
        if let Some(workflow) = &j.execution
            && !c.loaded.map.is_declared(Kind::Workflow, workflow)
        {
            let known = spec.workflows.iter().map(|w| w.id.as_str());
            let help = did_you_mean(workflow, known).unwrap_or_else(|| {
                format!(
                    "declare `workflow \"{workflow}\"` (see spec/workflows/document-execution.kdl)"
                )
            });
            c.report(
                Diagnostic::error("H0720", format!("unknown execution workflow `{workflow}`"))
                    .at(c.at(Kind::Journal, &j.id, "/execution"))
                    .detail(format!(
                        "journal `{}` runs the executors' work on its resolutions in workflow \
                         `{workflow}`, which the spec does not declare",
                        j.id
                    ))
                    .help(help),
            );
        }
        if let Some(days) = j.control_days
            && !(1..=Journal::MAX_CONTROL_DAYS).contains(&days)
        {
            c.report(
                Diagnostic::error("H0721", format!("control-days {days} is out of range"))
                    .at(c.at(Kind::Journal, &j.id, "/control-days"))
                    .detail(format!(
                        "journal `{}` gives resolutions without a deadline {days} calendar days; a \
                     deadline runs 1 to {} days",
                        j.id,
                        Journal::MAX_CONTROL_DAYS
                    ))
                    .help(
                        "write a number of calendar days from 1 to 366; КМУ №55 gives 30 (п.171)",
                    ),
            );
        }
    }
}
