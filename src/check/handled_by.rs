//! E-services whose provider handles applications in its own system (003 §5.4, H0810–H0814):
//! the `handled-by` subsystem is the provider's, its service takes a `POST`, an agreement lets
//! the portal's subsystem deliver to it, and the workflow has transitions that system reports.

use crate::spec::agreement_rules::{granted_operations, valid_on};
use crate::spec::model::{EService, HandledBy, Method, PROVIDER_SYSTEM, Service, Workflow};
use crate::spec::{Diagnostic, Kind};

use super::Checker;

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    for e in &spec.e_services {
        let workflow = spec.workflows.iter().find(|w| w.id == e.workflow);
        match &e.handled_by {
            Some(handled) => {
                if c.in_unreadable_participant(&handled.subsystem) {
                    continue;
                }
                if subsystem(c, e, handled)
                    && let Some(service) = service(c, e, handled)
                {
                    agreement(c, e, handled, service);
                }
                if let Some(w) = workflow
                    && !reports(w)
                {
                    c.report(
                        Diagnostic::error(
                            "H0813",
                            format!(
                                "e-service `{}` is handled by `{}`, but its workflow `{}` has no transition that system may report",
                                e.id, handled.subsystem, w.id
                            ),
                        )
                        .at(c.at(Kind::EService, &e.id, "/handled-by/subsystem"))
                        .related(c.at(Kind::Workflow, &w.id, ""), "workflow declared here")
                        .detail("the provider's system reports the case's progress by transitions of role `provider-system`; with none the case never moves")
                        .help("give the transitions the provider's system reports `role=\"provider-system\"`"),
                    );
                }
            }
            None => {
                if let Some(w) = workflow
                    && reports(w)
                    && e.on_portal()
                {
                    c.report(
                        Diagnostic::warning(
                            "H0814",
                            format!(
                                "workflow `{}` has transitions of role `provider-system`, but e-service `{}` names no `handled-by` system to report them",
                                w.id, e.id
                            ),
                        )
                        .at(c.at(Kind::EService, &e.id, ""))
                        .related(c.at(Kind::Workflow, &w.id, ""), "workflow declared here")
                        .detail("applications of this e-service are delivered to no system, so nobody can fire those transitions")
                        .help("add `handled-by \"participant/subsystem\" service=\"…\"`, or give the transitions an officials' role"),
                    );
                }
            }
        }
    }
}

/// Whether `w` has a transition a provider's system reports.
fn reports(w: &Workflow) -> bool {
    w.states
        .iter()
        .flat_map(|s| &s.transitions)
        .any(|t| t.role.as_deref() == Some(PROVIDER_SYSTEM))
}

/// H0810: the subsystem is a declared subsystem of the e-service's provider.
fn subsystem(c: &mut Checker, e: &EService, handled: &HandledBy) -> bool {
    let spec = c.spec();
    let provider = e.provider.as_ref().map(|p| p.participant.as_str());
    let problem = match spec.subsystem(&handled.subsystem) {
        None => format!(
            "e-service `{}` is handled by `{}`, which is not a declared subsystem",
            e.id, handled.subsystem
        ),
        Some((participant, _)) if Some(participant.id.as_str()) != provider => format!(
            "e-service `{}` is handled by `{}`, a subsystem of `{}`, not of its provider `{}`",
            e.id,
            handled.subsystem,
            participant.id,
            provider.unwrap_or("(none)")
        ),
        Some(_) => return true,
    };
    c.report(
        Diagnostic::error("H0810", problem)
            .at(c.at(Kind::EService, &e.id, "/handled-by/subsystem"))
            .detail("a provider's own system receives its applications (003 §5.4)")
            .help("name a subsystem of the provider as `participant/subsystem`"),
    );
    false
}

/// H0811: the service is declared by the provider, published under that subsystem, with a
/// `POST` operation to deliver to.
fn service<'a>(c: &mut Checker<'a>, e: &EService, handled: &HandledBy) -> Option<&'a Service> {
    let spec = c.spec();
    let reference = handled.service_id();
    let subsystem = handled.subsystem.split_once('/').map_or("", |(_, s)| s);
    let problem = match spec.service(&reference) {
        None => format!(
            "e-service `{}` delivers applications to service `{reference}`, which is not declared",
            e.id
        ),
        Some((participant, service)) => {
            let published = service
                .subsystem
                .as_deref()
                .or(participant.subsystems.first().map(|s| s.id.as_str()));
            if published != Some(subsystem) {
                format!(
                    "e-service `{}` delivers applications to service `{reference}`, which subsystem `{}` does not publish",
                    e.id, handled.subsystem
                )
            } else if !service.operations.iter().any(|o| o.method == Method::Post) {
                format!(
                    "e-service `{}` delivers applications to service `{reference}`, which has no `POST` operation",
                    e.id
                )
            } else {
                return Some(service);
            }
        }
    };
    c.report(
        Diagnostic::error("H0811", problem)
            .at(c.at(Kind::EService, &e.id, "/handled-by/service"))
            .detail("the signed application is sent to this service with a `POST` through the gateway")
            .help("declare the service in the subsystem (`subsystem \"…\"`) with an `operation \"POST\" \"/…\"`"),
    );
    None
}

/// H0812: an agreement in force lets the portal's subsystem `POST` to the service.
fn agreement(c: &mut Checker, e: &EService, handled: &HandledBy, service: &Service) {
    let spec = c.spec();
    let Some(portal) = spec.system().map(|s| s.portal.subsystem.as_str()) else {
        return;
    };
    let reference = handled.service_id();
    let granted = spec.agreements.iter().any(|a| {
        a.consumer == portal
            && a.provider == reference
            && valid_on(a, c.today)
            && granted_operations(a, service)
                .iter()
                .any(|o| o.method == Method::Post)
    });
    if !granted {
        c.report(
            Diagnostic::error(
                "H0812",
                format!(
                    "no agreement in force lets the portal's subsystem `{portal}` deliver applications of e-service `{}` to `{reference}`",
                    e.id
                ),
            )
            .at(c.at(Kind::EService, &e.id, "/handled-by/service"))
            .detail("every call through the gateway needs an agreement; without one every delivery is refused and retried")
            .help(format!(
                "add an agreement with `consumer \"{portal}\"`, `provider \"{reference}\"` and its `POST` operation"
            )),
        );
    }
}
