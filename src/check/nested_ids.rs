//! Ids inside a node are unique too (H0201, as for top-level ids): a participant's units,
//! subsystems and services, the system's gateway nodes and trust anchors, a workflow's states,
//! a form's pages, attachments and consents, a classifier's items, a poll's options, and the fields at one level of a response.

use std::collections::HashMap;

use crate::spec::model::ResponseField;
use crate::spec::{Diagnostic, Kind};

use super::Checker;

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    for s in &spec.systems {
        unique(
            c,
            Kind::System,
            &s.id,
            "/nodes",
            ("gateway node", "id"),
            s.nodes.iter().map(|n| n.id.as_str()),
        );
        unique(
            c,
            Kind::System,
            &s.id,
            "/trust-anchors",
            ("trust anchor", "id"),
            s.trust_anchors.iter().map(|t| t.id.as_str()),
        );
    }
    for p in &spec.participants {
        unique(
            c,
            Kind::Participant,
            &p.id,
            "/units",
            ("unit", "id"),
            p.units.iter().map(|u| u.id.as_str()),
        );
        unique(
            c,
            Kind::Participant,
            &p.id,
            "/subsystems",
            ("subsystem", "id"),
            p.subsystems.iter().map(|s| s.id.as_str()),
        );
        unique(
            c,
            Kind::Participant,
            &p.id,
            "/services",
            ("service", "id"),
            p.services.iter().map(|s| s.id.as_str()),
        );
        for (i, service) in p.services.iter().enumerate() {
            response_fields(
                c,
                &p.id,
                &format!("/services/{i}/response"),
                &service.response.fields,
            );
        }
    }
    for w in &spec.workflows {
        unique(
            c,
            Kind::Workflow,
            &w.id,
            "/states",
            ("state", "id"),
            w.states.iter().map(|s| s.id.as_str()),
        );
    }
    for f in &spec.forms {
        unique(
            c,
            Kind::Form,
            &f.id,
            "/pages",
            ("page", "id"),
            f.pages.iter().map(|p| p.id.as_str()),
        );
        unique(
            c,
            Kind::Form,
            &f.id,
            "/attachments",
            ("attachment", "id"),
            f.attachments.iter().map(|a| a.id.as_str()),
        );
        unique(
            c,
            Kind::Form,
            &f.id,
            "/consents",
            ("consent", "id"),
            f.consents.iter().map(|k| k.id.as_str()),
        );
    }
    for poll in &spec.polls {
        unique(
            c,
            Kind::Poll,
            &poll.id,
            "/options",
            ("poll option", "id"),
            poll.options.iter().map(|o| o.id.as_str()),
        );
    }
    for cl in &spec.classifiers {
        unique(
            c,
            Kind::Classifier,
            &cl.id,
            "/items",
            ("item code", "code"),
            cl.items.iter().map(|i| i.code.as_str()),
        );
    }
}

fn response_fields(c: &mut Checker, participant: &str, pointer: &str, fields: &[ResponseField]) {
    unique(
        c,
        Kind::Participant,
        participant,
        &format!("{pointer}/fields"),
        ("response field", "name"),
        fields.iter().map(|f| f.name.as_str()),
    );
    for (i, f) in fields.iter().enumerate() {
        response_fields(c, participant, &format!("{pointer}/fields/{i}"), &f.fields);
    }
}

/// Reports every repeat of an id within one list, pointing at both declarations.
fn unique<'a>(
    c: &mut Checker,
    kind: Kind,
    id: &str,
    list: &str,
    (what, key): (&str, &str),
    ids: impl Iterator<Item = &'a str>,
) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, item) in ids.enumerate() {
        match first.get(item) {
            None => {
                first.insert(item, i);
            }
            Some(&earlier) => {
                c.report(
                    Diagnostic::error(
                        "H0201",
                        format!("duplicate {what} `{item}` in {} `{id}`", kind.node_name()),
                    )
                    .at(c.at(kind, id, &format!("{list}/{i}/{key}")))
                    .related(
                        c.at(kind, id, &format!("{list}/{earlier}/{key}")),
                        "first declared here",
                    )
                    .help("rename one of them, or merge the two declarations"),
                );
            }
        }
    }
}
