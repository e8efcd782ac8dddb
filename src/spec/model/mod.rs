//! The typed model of a spec tree: one file per kind. Every struct derives `Serialize` (the
//! canonical JSON of `hromada spec export`) and `JsonSchema` (the `schemas/` and the KDL decoder,
//! which reads each field's `x-kdl` placement: `arg`, `args`, `prop`, `child` (the default),
//! `children` or `variants`).

pub mod agreement;
pub mod common;
pub mod directory;
pub mod document_kind;
pub mod eservice;
pub mod form;
pub mod participant;
pub mod policy;
pub mod poll;
pub mod retention;
pub mod scenario;
pub mod system;
pub mod template;
pub mod workflow;

pub use agreement::*;
pub use common::*;
pub use directory::*;
pub use document_kind::*;
pub use eservice::*;
pub use form::*;
pub use participant::*;
pub use policy::*;
pub use poll::*;
pub use retention::*;
pub use scenario::*;
pub use system::*;
pub use template::*;
pub use workflow::*;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Calls `$m!` with the table of kinds: KDL node name, `Spec` field, Rust type, schema file stem.
#[macro_export]
macro_rules! for_each_kind {
    ($m:ident) => {
        $m! {
            "system" => systems: System,
            "participant" => participants: Participant,
            "agreement" => agreements: Agreement,
            "e-service" => e_services: EService,
            "form" => forms: Form,
            "workflow" => workflows: Workflow,
            "template" => templates: Template,
            "retention" => retention: Retention,
            "data-class" => data_classes: DataClass,
            "policy" => policies: Policy,
            "classifier" => classifiers: Classifier,
            "role" => roles: Role,
            "official" => officials: Official,
            "journal" => journals: Journal,
            "document-kind" => document_kinds: DocumentKind,
            "case-index" => case_indexes: CaseIndex,
            "poll" => polls: Poll,
            "scenario" => scenarios: Scenario,
        }
    };
}

macro_rules! define_spec {
    ($($node:literal => $field:ident: $ty:ident,)*) => {
        /// A whole spec tree: every kind, each list sorted by id (the canonical order, which the
        /// lookups below rely on).
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        pub struct Spec {
            $(
                #[doc = concat!("Every `", $node, "` of the tree.")]
                #[serde(default)]
                pub $field: Vec<$ty>,
            )*
        }

        /// The kinds a spec file may declare at its top level.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind { $($ty,)* }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$ty,)*];

            /// The top-level KDL node name.
            pub fn node_name(self) -> &'static str {
                match self { $(Kind::$ty => $node,)* }
            }

            /// The name of the kind's list in the canonical JSON (`e-services`, `participants`, …).
            pub fn list_name(self) -> String {
                match self { $(Kind::$ty => stringify!($field).replace('_', "-"),)* }
            }

            pub fn from_node_name(name: &str) -> Option<Kind> {
                match name { $($node => Some(Kind::$ty),)* _ => None }
            }

            /// The JSON Schema of the kind.
            pub fn schema(self, generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                match self { $(Kind::$ty => generator.root_schema_for::<$ty>(),)* }
            }
        }

        $(impl Identified for $ty {
            fn id(&self) -> &str { &self.id }
        })*

        /// One top-level node of any kind.
        #[derive(Debug, Clone)]
        pub enum Declared { $($ty($ty),)* }

        impl Declared {
            /// Reads the JSON form of a node of `kind` into the typed model.
            pub fn from_json(kind: Kind, value: serde_json::Value) -> Result<Declared, serde_json::Error> {
                Ok(match kind { $(Kind::$ty => Declared::$ty(serde_json::from_value(value)?),)* })
            }
        }

        impl Spec {
            /// Appends one node to the list of its kind.
            pub fn push(&mut self, node: Declared) {
                match node { $(Declared::$ty(n) => self.$field.push(n),)* }
            }

            /// Puts every list in canonical (id) order.
            pub fn sort(&mut self) {
                $(self.$field.sort_by(|a, b| a.id.cmp(&b.id));)*
            }
        }
    };
}

/// A top-level node, named by its id.
pub trait Identified {
    fn id(&self) -> &str;
}

/// Finds a node by id in a list kept in canonical (id) order.
pub fn by_id<'a, T: Identified>(list: &'a [T], id: &str) -> Option<&'a T> {
    list.binary_search_by(|x| x.id().cmp(id))
        .ok()
        .map(|i| &list[i])
}

for_each_kind!(define_spec);

impl Spec {
    /// The system, when the tree declares exactly one.
    pub fn system(&self) -> Option<&System> {
        self.systems.first()
    }

    pub fn participant(&self, id: &str) -> Option<&Participant> {
        by_id(&self.participants, id)
    }

    /// The registry that serves `participant` (`System::registry_serving`).
    pub fn registry_of(&self, participant: &str) -> Option<&Placement> {
        let system = self.system()?;
        let p = self.participant(participant)?;
        let keeps_journals = self.journals.iter().any(|j| j.participant == p.id);
        system.registry_serving(&p.gateway, keeps_journals)
    }

    /// The participants the registry on `node` serves (none where no registry runs).
    pub fn registry_participants(&self, node: &str) -> Vec<&Participant> {
        self.participants
            .iter()
            .filter(|p| self.registry_of(&p.id).is_some_and(|r| r.node == node))
            .collect()
    }

    pub fn form(&self, id: &str) -> Option<&Form> {
        by_id(&self.forms, id)
    }

    /// Resolves `participant/service`.
    pub fn service(&self, reference: &str) -> Option<(&Participant, &Service)> {
        let (p, s) = reference.split_once('/')?;
        let participant = self.participant(p)?;
        participant
            .services
            .iter()
            .find(|x| x.id == s)
            .map(|svc| (participant, svc))
    }

    /// Resolves `participant/subsystem`.
    pub fn subsystem(&self, reference: &str) -> Option<(&Participant, &Subsystem)> {
        let (p, s) = reference.split_once('/')?;
        let participant = self.participant(p)?;
        participant
            .subsystems
            .iter()
            .find(|x| x.id == s)
            .map(|sub| (participant, sub))
    }

    /// The class of a data class id, if declared.
    pub fn data_class(&self, id: &str) -> Option<&DataClass> {
        by_id(&self.data_classes, id)
    }
}
