//! `plan`: what applying one revision of the spec would change against another — the changed
//! nodes by kind and id with attribute-level detail, and the widenings of data access, which a
//! reviewer must see first. Revisions are read from Git; the diff works on two checked `Spec`s.

pub mod diff;
pub mod render;
pub mod widening;

use serde::Serialize;

use crate::spec::Spec;

pub use diff::{Action, Attribute, Change};
pub use widening::{Reason, Widening};

/// The difference between two revisions of a spec tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub widening: Vec<Widening>,
    pub changes: Vec<Change>,
}

/// How many nodes are added, changed and removed, and how many ways data access widens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub remove: usize,
    pub widen: usize,
}

impl Plan {
    pub fn new(from: &Spec, to: &Spec) -> Plan {
        Plan {
            widening: widening::widening(from, to),
            changes: diff::changes(from, to),
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
        }
    }
}
