//! Unknown references (H0202): every id one node uses to name another — gateway nodes,
//! subsystems, services, units, data classes, roles, forms, workflows, templates, journals,
//! cases — must be declared, and a near miss gets a "did you mean".

use std::collections::BTreeSet;

use crate::spec::diagnostics::did_you_mean;
use crate::spec::{Diagnostic, Kind};

use super::Checker;

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    let nodes: BTreeSet<String> = spec
        .systems
        .iter()
        .flat_map(|s| s.nodes.iter().map(|n| n.id.clone()))
        .collect();
    let subsystems: BTreeSet<String> = spec
        .participants
        .iter()
        .flat_map(|p| {
            p.subsystems
                .iter()
                .map(move |s| format!("{}/{}", p.id, s.id))
        })
        .collect();
    let services: BTreeSet<String> = spec
        .participants
        .iter()
        .flat_map(|p| p.services.iter().map(move |s| format!("{}/{}", p.id, s.id)))
        .collect();
    let units: BTreeSet<String> = spec
        .participants
        .iter()
        .flat_map(|p| p.units.iter().map(move |u| format!("{}/{}", p.id, u.id)))
        .collect();
    let cases: BTreeSet<String> = spec
        .case_indexes
        .iter()
        .flat_map(|i| i.cases.iter().map(|c| c.code.clone()))
        .collect();

    if spec.systems.is_empty()
        && !c.loaded.sources.files.is_empty()
        && !c.loaded.map.declared(Kind::System).any(|_| true)
    {
        c.report(
            Diagnostic::error("H0109", "the spec declares no `system`")
                .detail("every spec tree declares its system once: instance id, holder, administrator, gateway nodes, trust anchors")
                .help("add a file such as `spec/system.kdl` with `system \"my-city\" { … }`"),
        );
    }
    let first = spec
        .systems
        .iter()
        .min_by_key(|s| c.at(Kind::System, &s.id, "").map(|sp| (sp.file, sp.offset)));
    if let Some(first) = first {
        for extra in spec.systems.iter().filter(|s| s.id != first.id) {
            c.report(
                Diagnostic::error(
                    "H0109",
                    format!("a second `system` (`{}`) is declared", extra.id),
                )
                .at(c.at(Kind::System, &extra.id, ""))
                .related(c.at(Kind::System, &first.id, ""), "the first system")
                .help("a spec tree describes one system; merge them"),
            );
        }
    }

    for p in &spec.participants {
        for (i, service) in p.services.iter().enumerate() {
            if let Some(named) = &service.subsystem {
                let mut r = Refs {
                    c: &mut *c,
                    kind: Kind::Participant,
                    id: &p.id,
                };
                r.one(
                    &format!("/services/{i}/subsystem"),
                    "subsystem",
                    &format!("{}/{named}", p.id),
                    &subsystems,
                );
            } else if p.subsystems.len() != 1 {
                let declared: Vec<&str> = p.subsystems.iter().map(|s| s.id.as_str()).collect();
                c.report(
                    Diagnostic::error(
                        "H0205",
                        format!("service `{}/{}` does not say which subsystem provides it", p.id, service.id),
                    )
                    .at(c.at(Kind::Participant, &p.id, &format!("/services/{i}/id")))
                    .detail(format!(
                        "a service's X-Road identifier names the provider's subsystem; `{}` declares {}",
                        p.id,
                        if declared.is_empty() {
                            "no subsystem".to_string()
                        } else {
                            format!("{} subsystems: {}", declared.len(), declared.join(", "))
                        }
                    ))
                    .help(if declared.is_empty() {
                        "declare the subsystem that provides it, e.g. `subsystem \"registry\" title=\"…\"`".to_string()
                    } else {
                        format!("add `subsystem=\"{}\"` (or another of them) to the service", declared[0])
                    }),
                );
            }
        }
    }

    for s in &spec.systems {
        let r = Refs {
            c: &mut *c,
            kind: Kind::System,
            id: &s.id,
        };
        let mut r = r;
        r.one("/portal/node", "gateway node", &s.portal.node, &nodes);
        r.one(
            "/portal/subsystem",
            "subsystem",
            &s.portal.subsystem,
            &subsystems,
        );
        for (i, registry) in s.registries.iter().enumerate() {
            r.one(
                &format!("/registries/{i}/node"),
                "gateway node",
                &registry.node,
                &nodes,
            );
            r.one(
                &format!("/registries/{i}/subsystem"),
                "subsystem",
                &registry.subsystem,
                &subsystems,
            );
        }
    }

    let classes: BTreeSet<String> = c
        .loaded
        .map
        .declared(Kind::DataClass)
        .map(String::from)
        .chain(["public".to_string()])
        .collect();
    for p in &spec.participants {
        let local_units: BTreeSet<String> = p.units.iter().map(|u| u.id.clone()).collect();
        let mut r = Refs {
            c: &mut *c,
            kind: Kind::Participant,
            id: &p.id,
        };
        r.one("/gateway", "gateway node", &p.gateway, &nodes);
        for (i, resp) in p.contacts.responsible.iter().enumerate() {
            if let Some(u) = &resp.unit {
                r.one(
                    &format!("/contacts/responsible/{i}/unit"),
                    "unit of this participant",
                    u,
                    &local_units,
                );
            }
        }
        for (si, svc) in p.services.iter().enumerate() {
            for at in svc.response.walk() {
                if let Some(class) = &at.field.class {
                    r.one(
                        &format!("/services/{si}/response{}/class", at.pointer),
                        "data class",
                        class,
                        &classes,
                    );
                }
            }
        }
    }

    let participants: BTreeSet<String> = c
        .loaded
        .map
        .declared(Kind::Participant)
        .map(String::from)
        .collect();
    // A consumer is a subsystem (`participant/subsystem`) or a member as a whole (`participant`).
    let consumers: BTreeSet<String> = subsystems.union(&participants).cloned().collect();
    for a in &spec.agreements {
        let mut r = Refs {
            c: &mut *c,
            kind: Kind::Agreement,
            id: &a.id,
        };
        let what = if a.consumer.contains('/') {
            "subsystem"
        } else {
            "participant"
        };
        r.one("/consumer", what, &a.consumer, &consumers);
        r.one("/provider", "service", &a.provider, &services);
    }
    let forms: BTreeSet<String> = c
        .loaded
        .map
        .declared(Kind::Form)
        .map(String::from)
        .collect();
    let workflows: BTreeSet<String> = c
        .loaded
        .map
        .declared(Kind::Workflow)
        .map(String::from)
        .collect();
    let roles: BTreeSet<String> = c
        .loaded
        .map
        .declared(Kind::Role)
        .map(String::from)
        .collect();
    for e in &spec.e_services {
        let mut r = Refs {
            c: &mut *c,
            kind: Kind::EService,
            id: &e.id,
        };
        if let Some(p) = &e.provider
            && r.one(
                "/provider/participant",
                "participant",
                &p.participant,
                &participants,
            )
            && let Some(u) = &p.unit
        {
            r.one(
                "/provider/unit",
                "unit",
                &format!("{}/{u}", p.participant),
                &units,
            );
        }
        r.one("/form", "form", &e.form, &forms);
        r.one("/workflow", "workflow", &e.workflow, &workflows);
    }

    for p in &spec.policies {
        let mut r = Refs {
            c: &mut *c,
            kind: Kind::Policy,
            id: &p.id,
        };
        for (i, class) in p.applies_to.iter().enumerate() {
            r.one(&format!("/applies-to/{i}"), "data class", class, &classes);
        }
    }

    for o in &spec.officials {
        let mut r = Refs {
            c: &mut *c,
            kind: Kind::Official,
            id: &o.id,
        };
        r.one("/unit", "unit (`participant/unit`)", &o.unit, &units);
        for (i, role) in o.roles.iter().enumerate() {
            r.one(&format!("/roles/{i}"), "role", role, &roles);
        }
    }

    for j in &spec.journals {
        let mut r = Refs {
            c: &mut *c,
            kind: Kind::Journal,
            id: &j.id,
        };
        r.one("/participant", "participant", &j.participant, &participants);
    }
    for ci in &spec.case_indexes {
        let mut r = Refs {
            c: &mut *c,
            kind: Kind::CaseIndex,
            id: &ci.id,
        };
        r.one(
            "/participant",
            "participant",
            &ci.participant,
            &participants,
        );
    }
    for ret in &spec.retention {
        if let Some(case) = &ret.case {
            let mut r = Refs {
                c: &mut *c,
                kind: Kind::Retention,
                id: &ret.id,
            };
            r.one("/case", "case of the case index", case, &cases);
        }
    }
}

/// Reports unknown references made by one node.
pub(super) struct Refs<'c, 'a> {
    pub c: &'c mut Checker<'a>,
    pub kind: Kind,
    pub id: &'c str,
}

impl Refs<'_, '_> {
    /// Checks that `value` is among `known`; returns whether it is.
    pub fn one(
        &mut self,
        pointer: &str,
        what: &str,
        value: &str,
        known: &BTreeSet<String>,
    ) -> bool {
        if known.contains(value) || self.c.in_unreadable_participant(value) {
            return true;
        }
        let mut d = Diagnostic::error("H0202", format!("unknown {what} `{value}`"))
            .at(self.c.at(self.kind, self.id, pointer))
            .detail(format!(
                "`{}` `{}` refers to {what} `{value}`, which the spec does not declare",
                self.kind.node_name(),
                self.id
            ));
        d = match did_you_mean(value, known.iter().map(String::as_str)) {
            Some(h) => d.help(h),
            None if known.is_empty() => d.help(format!("declare the {what} first")),
            None => d.help(format!("declare it, or use one of: {}", preview(known))),
        };
        self.c.report(d);
        false
    }
}

fn preview(known: &BTreeSet<String>) -> String {
    let mut list: Vec<&str> = known.iter().map(String::as_str).take(8).collect();
    if known.len() > 8 {
        list.push("…");
    }
    list.join(", ")
}
