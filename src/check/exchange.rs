//! The registries' exchange (H0150–H0155, H0410): one registry a node; an exchange service has
//! no upstream, only `POST /messages`, no health check, and is provided by the registry's
//! subsystem on its participant's node; an agreement to it lets the XML body through.

use std::collections::BTreeMap;

use crate::spec::model::{ExchangeProtocol, Method, Participant, Service};
use crate::spec::{Diagnostic, Kind};

use super::Checker;

pub(super) fn check(c: &mut Checker) {
    registries(c);
    let spec = c.spec();
    for p in &spec.participants {
        for (i, s) in p.services.iter().enumerate() {
            upstream_or_exchange(c, p, i, s);
            if s.exchange.is_some() {
                exchange_service(c, p, i, s);
            }
        }
    }
    for a in &spec.agreements {
        let Some((_, service)) = spec.service(&a.provider) else {
            continue;
        };
        if service.exchange.is_some() && !a.allow_non_json {
            c.report(
                Diagnostic::error(
                    "H0410",
                    format!(
                        "agreement `{}` to the exchange service `{}` does not let its XML messages through",
                        a.id, a.provider
                    ),
                )
                .at(c.at(Kind::Agreement, &a.id, "/provider"))
                .detail("an exchange service receives СЕВ ОВВ messages, XML, which the gateway refuses under an agreement that allows only JSON request bodies")
                .help("add `allow-non-json #true` to the agreement"),
            );
        }
    }
}

/// H0154: two registries on one node.
fn registries(c: &mut Checker) {
    let spec = c.spec();
    for s in &spec.systems {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, r) in s.registries.iter().enumerate() {
            if let Some(first) = seen.insert(r.node.as_str(), i) {
                c.report(
                    Diagnostic::error(
                        "H0154",
                        format!("node `{}` runs two registries", r.node),
                    )
                    .at(c.at(Kind::System, &s.id, &format!("/registries/{i}/node")))
                    .related(
                        c.at(Kind::System, &s.id, &format!("/registries/{first}/node")),
                        "first placed here",
                    )
                    .detail("a node's registry serves every participant on it that keeps journals, as one subsystem")
                    .help("keep one `registry` line for the node"),
                );
                seen.insert(r.node.as_str(), first);
            }
        }
    }
}

/// H0150: a service with both an upstream and an exchange, or neither.
fn upstream_or_exchange(c: &mut Checker, p: &Participant, i: usize, s: &Service) {
    let (summary, pointer, help) = match (&s.upstream, &s.exchange) {
        (Some(_), Some(_)) => (
            format!(
                "service `{}/{}` has both an upstream and an exchange",
                p.id, s.id
            ),
            "/upstream",
            "an exchange service is received by the registry itself: remove `upstream`, or remove `exchange` for a service of the participant's system",
        ),
        (None, None) => (
            format!("service `{}/{}` has no upstream", p.id, s.id),
            "/id",
            "add `upstream \"https://…\"`, the base URL of the provider's system, or `exchange=\"sev\"` for the registry's receiving end",
        ),
        _ => return,
    };
    c.report(
        Diagnostic::error("H0150", summary)
            .at(c.at(Kind::Participant, &p.id, &format!("/services/{i}{pointer}")))
            .help(help),
    );
}

/// H0151 operations other than `POST /messages`; H0152 not the subsystem of the registry on
/// the participant's node; H0153 a health check.
fn exchange_service(c: &mut Checker, p: &Participant, i: usize, s: &Service) {
    let (method, path) = ExchangeProtocol::OPERATION;
    let only = s.operations.len() == 1
        && s.operations[0].method == Method::Post
        && s.operations[0].path == path;
    if !only {
        c.report(
            Diagnostic::error(
                "H0151",
                format!(
                    "exchange service `{}/{}` must have exactly the operation `{method} {path}`",
                    p.id, s.id
                ),
            )
            .at(c.at(Kind::Participant, &p.id, &format!("/services/{i}/id")))
            .detail("other registries post each message to it; it answers nothing else")
            .help(format!(
                "declare `operation \"{method}\" \"{path}\"` and no other"
            )),
        );
    }
    if s.health.is_some() {
        c.report(
            Diagnostic::error(
                "H0153",
                format!("exchange service `{}/{}` has a health check", p.id, s.id),
            )
            .at(c.at(Kind::Participant, &p.id, &format!("/services/{i}/health")))
            .detail("it has no upstream to check: the registry on the node receives it")
            .help("remove `health`"),
        );
    }
    let spec = c.spec();
    let Some(system) = spec.system() else {
        return;
    };
    let subsystem = s
        .subsystem
        .as_deref()
        .or_else(|| p.subsystems.first().map(|x| x.id.as_str()))
        .unwrap_or_default();
    let provided_as = format!("{}/{subsystem}", p.id);
    let registry = system.registry_on(&p.gateway);
    if registry.is_some_and(|r| r.subsystem == provided_as) {
        return;
    }
    let mut d = Diagnostic::error(
        "H0152",
        format!(
            "exchange service `{}/{}` is not provided by the registry on node `{}`",
            p.id, s.id, p.gateway
        ),
    )
    .at(c.at(Kind::Participant, &p.id, &format!("/services/{i}/id")));
    d = match registry {
        Some(r) => d
            .detail(format!(
                "the registry on node `{}` runs as `{}`, and this service is published as `{provided_as}`",
                p.gateway, r.subsystem
            ))
            .help(format!(
                "publish it in the registry's subsystem: `subsystem=\"{}\"`",
                r.subsystem.split('/').nth(1).unwrap_or_default()
            )),
        None => d
            .detail(format!("no registry runs on node `{}`", p.gateway))
            .help(format!(
                "add `registry node=\"{}\" subsystem=\"{provided_as}\"` to the system",
                p.gateway
            )),
    };
    c.report(d);
}
