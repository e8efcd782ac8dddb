//! `plan`: what applying one revision of the spec would change against another — the changed
//! nodes by kind and id with attribute-level detail, and the widenings of data access, which a
//! reviewer must see first. Revisions are read from Git; the diff works on two checked `Spec`s.

pub mod cases;
pub mod diff;
pub mod render;
pub mod widening;

use serde::Serialize;

use crate::spec::Spec;

pub use cases::{Cases, Fate, InState};
pub use diff::{Action, Attribute, Change};
pub use widening::{Reason, Widening};

/// The difference between two revisions of a spec tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub widening: Vec<Widening>,
    pub changes: Vec<Change>,
    /// The open cases of the workflows the change touches, and where they go.
    pub cases: Cases,
}

/// How many nodes are added, changed and removed, and how many ways data access widens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub remove: usize,
    pub widen: usize,
    /// Open cases in states the new revision removes with no `migrate` for them.
    pub stranded: u64,
}

impl Plan {
    /// `counts`: the open cases per workflow and state of the appliance running `from`, when known.
    pub fn new(from: &Spec, to: &Spec, counts: Option<&[InState]>) -> Plan {
        let changes = diff::changes(from, to);
        Plan {
            widening: widening::widening(from, to),
            cases: Cases::new(from, to, &changes, counts),
            changes,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let count = |action| self.changes.iter().filter(|c| c.action == action).count();
        Summary {
            add: count(Action::Add),
            change: count(Action::Change),
            remove: count(Action::Remove),
            widen: self.widening.len(),
            stranded: self.cases.stranded(),
        }
    }
}
