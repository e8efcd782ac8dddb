//! Renders a plan: for people (widening first, then `+ ~ -` changes with their attributes, then
//! Terraform's summary line) and for machines (a JSON document whose shape is versioned by
//! `format_version`; fields are only ever added within a major version).

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use super::{Action, Plan, Summary};

pub const FORMAT_VERSION: &str = "1.0";

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
    format!(
        "Plan: {} to add, {} to change, {} to remove; {widen}.",
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

pub fn json(plan: &Plan, compared: &Compared) -> String {
    let document = json!({
        "format_version": FORMAT_VERSION,
        "root": compared.root.trim_end_matches('/'),
        "from": compared.from,
        "to": compared.to,
        "widening": plan.widening,
        "changes": plan.changes,
        "summary": plan.summary(),
    });
    let mut text = serde_json::to_string_pretty(&document).expect("the plan serialises");
    text.push('\n');
    text
}
