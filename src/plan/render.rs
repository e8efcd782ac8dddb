//! Renders a plan: for people (widening first, then `+ ~ -` changes with their attributes, then
//! Terraform's summary line) and for machines (a JSON document whose shape is versioned by
//! `format_version`; fields are only ever added within a major version).

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use super::{Action, Cases, Fate, Plan, Summary};

pub const FORMAT_VERSION: &str = "1.1";

/// One side of the comparison: a commit, or the working tree.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// The revision as the user wrote it; absent for the working tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub working_tree: bool,
    /// The spec root does not exist on this side, which therefore declares nothing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub absent: bool,
}

impl Side {
    pub fn commit(revision: &str, commit: &str) -> Side {
        Side {
            revision: Some(revision.to_string()),
            commit: Some(commit.to_string()),
            working_tree: false,
            absent: false,
        }
    }

    pub fn working_tree() -> Side {
        Side {
            revision: None,
            commit: None,
            working_tree: true,
            absent: false,
        }
    }

    fn label(&self) -> String {
        let name = self.name();
        if self.absent {
            format!("{name} (no spec root there)")
        } else {
            name
        }
    }

    fn name(&self) -> String {
        match (&self.revision, &self.commit) {
            (Some(r), Some(c)) if r.starts_with(c.as_str()) || c.starts_with(r.as_str()) => {
                c[..c.len().min(12)].to_string()
            }
            (Some(r), Some(c)) => format!("{r} ({})", &c[..c.len().min(12)]),
            _ => "the working tree".to_string(),
        }
    }
}

/// What was compared: the spec root inside the repository and the two sides.
#[derive(Debug, Clone)]
pub struct Compared {
    pub root: String,
    pub from: Side,
    pub to: Side,
}

pub fn summary_line(s: Summary) -> String {
    let widen = match s.widen {
        0 => "no data access widens".to_string(),
        1 => "1 widens data access".to_string(),
        n => format!("{n} widen data access"),
    };
    let stranded = match s.stranded {
        0 => String::new(),
        1 => "; 1 open case stranded".to_string(),
        n => format!("; {n} open cases stranded"),
    };
    format!(
        "Plan: {} to add, {} to change, {} to remove; {widen}{stranded}.",
        s.add, s.change, s.remove
    )
}

fn value(v: &Option<Value>) -> String {
    v.as_ref().map_or_else(String::new, Value::to_string)
}

pub fn human(plan: &Plan, compared: &Compared) -> String {
    let mut out = String::new();
    let root = if compared.root.is_empty() {
        "."
    } else {
        compared.root.trim_end_matches('/')
    };
    let _ = writeln!(
        out,
        "Spec root {root}: {} → {}",
        compared.from.label(),
        compared.to.label()
    );
    if plan.is_empty() {
        out.push_str("\nNo changes: both revisions declare the same spec.\n");
        return out;
    }
    if !plan.widening.is_empty() {
        let _ = writeln!(out, "\nData access widening:");
        for w in &plan.widening {
            let _ = writeln!(out, "  ! {}", w.message);
        }
    }
    cases(&mut out, &plan.cases);
    let _ = writeln!(out, "\nChanges:");
    for change in &plan.changes {
        let _ = writeln!(
            out,
            "  {} {} {}",
            change.action.sign(),
            change.kind.node_name(),
            change.id
        );
        for a in &change.attributes {
            let shown = match a.action {
                Action::Add => value(&a.after),
                Action::Remove => value(&a.before),
                Action::Change => format!("{} → {}", value(&a.before), value(&a.after)),
            };
            let _ = writeln!(out, "      {} {}: {shown}", a.action.sign(), a.path);
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(plan.summary()));
    out
}

/// The cases section: stranded cases first in each workflow's lines, since they block the apply.
fn cases(out: &mut String, cases: &Cases) {
    if cases.workflows.is_empty() {
        return;
    }
    if cases.counted {
        let _ = writeln!(
            out,
            "\nCases in flight (open cases of the running appliance):"
        );
    } else {
        let _ = writeln!(
            out,
            "\nCases in flight (not counted: `plan --against URL` asks the running appliance):"
        );
    }
    for w in &cases.workflows {
        let _ = writeln!(out, "  workflow {}", w.workflow);
        let width = w
            .states
            .iter()
            .map(|s| s.state.chars().count())
            .max()
            .unwrap_or(0);
        for s in &w.states {
            let open = s
                .open
                .map_or_else(String::new, |n| format!("{n:>5} open  "));
            let fate = match &s.fate {
                Fate::Stays => "stay, on the definition they started under".to_string(),
                Fate::Moves { to } => format!("move to `{to}` (migrate)"),
                Fate::Stranded => format!(
                    "STRANDED: this revision removes the state and says nowhere for its cases to \
                     go, so the appliance refuses it while cases sit there; add \
                     `migrate \"{}\" to=\"…\"` to workflow `{}`",
                    s.state, w.workflow
                ),
            };
            let mark = if s.fate == Fate::Stranded { "!" } else { " " };
            let _ = writeln!(out, "  {mark} {:<width$}  {open}{fate}", s.state);
        }
    }
}

pub fn json(plan: &Plan, compared: &Compared) -> String {
    let document = json!({
        "format_version": FORMAT_VERSION,
        "root": compared.root.trim_end_matches('/'),
        "from": compared.from,
        "to": compared.to,
        "widening": plan.widening,
        "changes": plan.changes,
        "cases": plan.cases,
        "summary": plan.summary(),
    });
    let mut text = serde_json::to_string_pretty(&document).expect("the plan serialises");
    text.push('\n');
    text
}
