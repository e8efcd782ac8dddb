//! Semantic checks of a loaded spec tree: references, formats, agreements, policies (MIN-2),
//! over-grants (MIN-3), forms, workflows, e-services, retention, polls, certificates and how systems
//! connect. Each check reads the typed model and reports through one `Checker`, locating values
//! with the `SourceMap`. Checks never stop early: `validate` shows every problem of the tree in
//! one run.

mod agreements;
mod connections;
mod consents;
mod crypto;
mod documents;
mod eservices;
mod exchange;
mod execution;
mod expressions;
pub mod form_data;
pub(crate) mod formats;
mod forms;
mod handled_by;
mod nested_ids;
mod policy;
mod polls;
mod records;
mod references;
mod registry;
mod responses;
pub mod scenarios;
mod workflows;

use chrono::NaiveDate;

use crate::spec::{Diagnostic, Kind, Loaded, Span};

pub use formats::{valid_edrpou, valid_rnokpp};

/// What every check needs: the tree, where its values are written, and today's date.
pub struct Checker<'a> {
    pub loaded: &'a Loaded,
    pub today: NaiveDate,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    pub fn spec(&self) -> &'a crate::spec::Spec {
        &self.loaded.spec
    }

    /// Where the value at `pointer` inside node `id` of `kind` is written.
    pub fn at(&self, kind: Kind, id: &str, pointer: &str) -> Option<Span> {
        self.loaded.map.at(kind, id, pointer)
    }

    /// Whether `reference` (`participant/…`) points into a participant whose declaration could not
    /// be read. Its problems are reported where it is written; references into it are not judged,
    /// so that one typo does not echo as "unknown" across the tree.
    pub fn in_unreadable_participant(&self, reference: &str) -> bool {
        let participant = reference.split('/').next().unwrap_or(reference);
        self.loaded.map.is_declared(Kind::Participant, participant)
            && self.spec().participant(participant).is_none()
    }

    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}

/// Runs every check and returns the loader's diagnostics followed by the checks', in reading order.
pub fn run(loaded: &Loaded, today: NaiveDate) -> Vec<Diagnostic> {
    let mut checker = Checker {
        loaded,
        today,
        diagnostics: Vec::new(),
    };
    references::check(&mut checker);
    nested_ids::check(&mut checker);
    formats::check(&mut checker);
    agreements::check(&mut checker);
    exchange::check(&mut checker);
    responses::check(&mut checker);
    policy::check(&mut checker);
    forms::check(&mut checker);
    consents::check(&mut checker);
    workflows::check(&mut checker);
    execution::check(&mut checker);
    eservices::check(&mut checker);
    handled_by::check(&mut checker);
    records::check(&mut checker);
    registry::check(&mut checker);
    polls::check(&mut checker);
    crypto::check(&mut checker);
    connections::check(&mut checker);
    documents::check(&mut checker);
    scenarios::check(&mut checker);
    let mut all = loaded.diagnostics.clone();
    all.append(&mut checker.diagnostics);
    crate::spec::diagnostics::sort(&mut all);
    all
}
