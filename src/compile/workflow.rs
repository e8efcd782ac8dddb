//! The case engine's section of a revision: each workflow with everything its cases need to run
//! to their end (its e-services, templates, journals, officials, calendar, the portal's
//! subsystem), compiled once per revision; the engine pins each definition in the store when it
//! takes the revision, so that a merged change never rewrites a case in flight.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::Spec;
use crate::spec::model::{
    Action, Calendar, EService, FieldType, Journal, Official, Placement, ResponseField, State,
    Template, Workflow,
};

/// What the engine takes from one revision.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkflowSection {
    /// Every workflow's definition, in the spec's order.
    pub definitions: Vec<Definition>,
    /// The revision's officials, for role checks of new requests.
    pub officials: Vec<Person>,
    /// The workflow of each e-service, by e-service id.
    pub e_services: BTreeMap<String, String>,
    /// The retention schedule: which rule keeps the originals cases make.
    pub retention: Vec<crate::spec::model::Retention>,
}

impl WorkflowSection {
    /// The section of `spec`, applied as `revision`.
    pub fn compile(spec: &Spec, revision: &str) -> WorkflowSection {
        WorkflowSection {
            definitions: spec
                .workflows
                .iter()
                .filter_map(|w| Definition::from_spec(spec, revision, &w.id))
                .collect(),
            officials: spec.officials.iter().map(Person::from).collect(),
            e_services: spec
                .e_services
                .iter()
                .map(|e| (e.id.clone(), e.workflow.clone()))
                .collect(),
            retention: spec.retention.clone(),
        }
    }

    /// The definition of `workflow`.
    pub fn definition(&self, workflow: &str) -> Option<&Definition> {
        self.definitions.iter().find(|d| d.workflow.id == workflow)
    }
}

/// A workflow as one revision declares it, with what running its cases needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    pub revision: String,
    pub workflow: Workflow,
    /// The e-services served by the workflow.
    pub e_services: Vec<EService>,
    /// The templates and journals its `issue` actions name.
    pub templates: Vec<Template>,
    pub journals: Vec<Journal>,
    /// Officials holding a role the workflow names (for role checks, notices and e-mail).
    pub officials: Vec<Person>,
    pub calendar: Calendar,
    /// The subsystem the workflow's calls are made as.
    pub portal: Placement,
    /// Per called service (`participant/service`), the dotted paths of the response fields it
    /// declares as integer or decimal: an answer giving one as a numeral string is read as the
    /// number it is, so guards compare numbers.
    #[serde(default)]
    pub numbers: BTreeMap<String, Vec<String>>,
}

/// An official as the engine needs them: no more personal data than a notice or e-mail takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub position: String,
    pub roles: Vec<String>,
    pub email: String,
}

impl From<&Official> for Person {
    fn from(o: &Official) -> Person {
        Person {
            id: o.id.clone(),
            name: o.name.clone(),
            position: o.position.clone(),
            roles: o.roles.clone(),
            email: o.email.clone(),
        }
    }
}

impl Definition {
    /// The definition of `workflow` in `spec`; `None` when the spec does not declare it or has
    /// no system (a checked spec always has one).
    pub fn from_spec(spec: &Spec, revision: &str, workflow: &str) -> Option<Definition> {
        let w = spec.workflows.iter().find(|w| w.id == workflow)?.clone();
        let system = spec.system()?;
        let issues = || {
            w.states
                .iter()
                .flat_map(|s| &s.transitions)
                .flat_map(|t| &t.actions)
                .filter_map(|a| match a {
                    Action::Issue(i) => Some(i),
                    _ => None,
                })
        };
        let templates = spec
            .templates
            .iter()
            .filter(|t| issues().any(|i| i.template == t.id))
            .cloned()
            .collect();
        let journals = spec
            .journals
            .iter()
            .filter(|j| issues().any(|i| i.journal.as_deref() == Some(&j.id)))
            .cloned()
            .collect();
        let numbers = w
            .states
            .iter()
            .flat_map(|s| &s.transitions)
            .flat_map(|t| &t.actions)
            .filter_map(|a| match a {
                Action::Call(call) => Some(call.service.as_str()),
                _ => None,
            })
            .filter_map(|service| {
                let (_, declared) = spec.service(service)?;
                let mut paths = Vec::new();
                numeric_paths(&declared.response.fields, "", &mut paths);
                Some((service.to_string(), paths))
            })
            .collect();
        let roles = roles_named(&w);
        let officials = spec
            .officials
            .iter()
            .filter(|o| o.roles.iter().any(|r| roles.contains(r)))
            .map(Person::from)
            .collect();
        Some(Definition {
            revision: revision.to_string(),
            e_services: spec
                .e_services
                .iter()
                .filter(|e| e.workflow == w.id)
                .cloned()
                .collect(),
            templates,
            journals,
            officials,
            calendar: system.calendar.clone(),
            portal: system.portal.clone(),
            numbers,
            workflow: w,
        })
    }

    pub fn state(&self, id: &str) -> Option<&State> {
        self.workflow.states.iter().find(|s| s.id == id)
    }

    pub fn e_service(&self, id: &str) -> Option<&EService> {
        self.e_services.iter().find(|e| e.id == id)
    }

    pub fn template(&self, id: &str) -> Option<&Template> {
        self.templates.iter().find(|t| t.id == id)
    }

    pub fn journal(&self, id: &str) -> Option<&Journal> {
        self.journals.iter().find(|j| j.id == id)
    }

    pub fn official(&self, id: &str) -> Option<&Person> {
        self.officials.iter().find(|o| o.id == id)
    }

    /// Officials holding `role`, by id.
    pub fn officials_with(&self, role: &str) -> impl Iterator<Item = &Person> {
        self.officials
            .iter()
            .filter(move |o| o.roles.iter().any(|r| r == role))
    }
}

/// The dotted paths of integer and decimal fields, objects' fields included.
fn numeric_paths(fields: &[ResponseField], prefix: &str, paths: &mut Vec<String>) {
    for f in fields {
        let path = format!("{prefix}{}", f.name);
        match f.ty {
            FieldType::Integer | FieldType::Decimal => paths.push(path),
            FieldType::Object => numeric_paths(&f.fields, &format!("{path}."), paths),
            _ => {}
        }
    }
}

/// Every role a workflow names: states', transitions', reminders', escalations' and notices'.
fn roles_named(w: &Workflow) -> Vec<String> {
    let mut roles = Vec::new();
    for s in &w.states {
        roles.extend(s.role.clone());
        roles.extend(s.reminders.iter().map(|r| r.to.clone()));
        roles.extend(s.escalations.iter().map(|e| e.to.clone()));
        for t in &s.transitions {
            roles.extend(t.role.clone());
            roles.extend(t.actions.iter().filter_map(|a| match a {
                Action::Notify(n) => Some(n.to.clone()),
                _ => None,
            }));
        }
    }
    roles.sort();
    roles.dedup();
    roles
}
