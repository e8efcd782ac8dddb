//! What a case runs on: a workflow with everything its actions reference, taken from one
//! revision and pinned in the store, so that a merged change never rewrites a case in flight.

use serde::{Deserialize, Serialize};

use crate::spec::Spec;
use crate::spec::model::{
    Action, Calendar, EService, Journal, Official, Placement, State, Template, Transition, Workflow,
};

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

/// Whether a transition fires by itself: it names no role.
pub fn is_automatic(t: &Transition) -> bool {
    t.role.is_none()
}
