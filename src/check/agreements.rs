//! Access agreements (H04xx): granted fields and operations must exist in the provider service,
//! validity must be a real period still running, neither side may be suspended, a member as a
//! whole is named as consumer only knowingly, and (MIN-3) portal grants must be used by a form or
//! workflow and personal data must come with a purpose.

use std::collections::{BTreeSet, HashMap};

use crate::spec::agreement_rules::{glob_covers, overlaps, parse_date};
use crate::spec::diagnostics::did_you_mean;
use crate::spec::model::{Action, Agreement, Level, Participant, Service, Status};
use crate::spec::{Diagnostic, Kind, Spec};

use super::Checker;

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    let portal = spec.system().map(|s| s.portal.subsystem.as_str());
    let uses = portal_uses(spec);
    let nothing = BTreeSet::new();
    for a in &spec.agreements {
        validity(c, a);
        suspended(c, a);
        member_consumer(c, a);
        let Some((_, service)) = spec.service(&a.provider) else {
            continue;
        };
        fields(c, a, service);
        operations(c, a, service);
        personal_purpose(c, a, service);
        if portal == Some(a.consumer.as_str()) {
            let used = uses.get(a.provider.as_str()).unwrap_or(&nothing);
            unused_portal_fields(c, a, service, used);
        }
    }
}

/// H0403 (ends before it starts) and H0404 (expired as of today, a warning).
fn validity(c: &mut Checker, a: &Agreement) {
    let Some(until) = a.valid.until.as_deref().and_then(parse_date) else {
        return;
    };
    if let Some(from) = parse_date(&a.valid.from)
        && until < from
    {
        c.report(
            Diagnostic::error(
                "H0403",
                format!("agreement `{}` ends before it starts", a.id),
            )
            .at(c.at(Kind::Agreement, &a.id, "/valid/until"))
            .related(
                c.at(Kind::Agreement, &a.id, "/valid/from"),
                "validity starts here",
            )
            .detail(format!(
                "it is valid from {from} until {until}, an empty period"
            ))
            .help("swap the dates, or correct `until` to a day on or after `from`"),
        );
    }
    if until < c.today {
        c.report(
            Diagnostic::warning("H0404", format!("agreement `{}` expired on {until}", a.id))
                .at(c.at(Kind::Agreement, &a.id, "/valid/until"))
                .detail(format!(
                    "as of {} the gateway refuses every request made under it",
                    c.today
                ))
                .help("extend `until` if the agreement was renewed, or remove the agreement"),
        );
    }
}

/// H0405 (a warning): a grant to (consumer) or from (provider) a suspended participant. Suspension
/// is temporary and the agreement stays signed; the gateway refuses its exchanges meanwhile.
fn suspended(c: &mut Checker, a: &Agreement) {
    let spec = c.spec();
    for (pointer, side, reference) in [
        ("/consumer", "consumer", &a.consumer),
        ("/provider", "provider", &a.provider),
    ] {
        let Some(p) = spec.participant(reference.split('/').next().unwrap_or_default()) else {
            continue;
        };
        if p.status == Status::Suspended {
            c.report(suspended_diagnostic(c, a, pointer, side, p));
        }
    }
}

/// H0408 (a warning): the consumer is a participant as a whole, not one of its subsystems. Only
/// calls whose `X-Road-Client` names the member alone pass under it, and the message log cannot
/// tell which of the member's systems called.
fn member_consumer(c: &mut Checker, a: &Agreement) {
    if a.consumer.contains('/') {
        return;
    }
    let spec = c.spec();
    let Some(p) = spec.participant(&a.consumer) else {
        return;
    };
    let identifier = format!(
        "{}/{}/{}",
        spec.system().map(|s| s.id.as_str()).unwrap_or("INSTANCE"),
        p.class.code(),
        p.edrpou
    );
    let mut d = Diagnostic::warning(
        "H0408",
        format!(
            "agreement `{}` grants participant `{}` as a whole, not one of its subsystems",
            a.id, p.id
        ),
    )
    .at(c.at(Kind::Agreement, &a.id, "/consumer"))
    .detail(format!(
        "only calls with `X-Road-Client: {identifier}` (the member, no subsystem) pass under it, \
         and the message log records the member, not which of its information systems called"
    ));
    d = match p.subsystems.first() {
        Some(s) => d.help(format!(
            "name the subsystem that calls (`{}/{}`) unless the member itself does",
            p.id, s.id
        )),
        None => d.help("declare the information system that calls as a subsystem and name it"),
    };
    c.report(d);
}

fn suspended_diagnostic(
    c: &Checker,
    a: &Agreement,
    pointer: &str,
    side: &str,
    p: &Participant,
) -> Diagnostic {
    let direction = if side == "consumer" { "to" } else { "from" };
    Diagnostic::warning(
        "H0405",
        format!("agreement `{}` grants access {direction} suspended participant `{}` ({side})", a.id, p.id),
    )
    .at(c.at(Kind::Agreement, &a.id, pointer))
    .related(c.at(Kind::Participant, &p.id, "/status"), "suspended here")
    .detail(format!(
        "the {side} `{}` belongs to `{}`, whose participation in electronic interaction is suspended (000 §16): \
         the gateway refuses every exchange under this agreement until the participant is reinstated",
        if side == "consumer" { &a.consumer } else { &a.provider },
        p.id
    ))
    .help("remove the agreement while the participant is suspended, or restore its `status`")
}

/// H0401: every granted field is a dotted path the service's response declares.
fn fields(c: &mut Checker, a: &Agreement, service: &Service) {
    for (i, field) in a.fields.iter().enumerate() {
        if service.response.find(field).is_some() {
            continue;
        }
        let known: Vec<String> = service
            .response
            .walk()
            .into_iter()
            .map(|f| f.path)
            .collect();
        let d = Diagnostic::error(
            "H0401",
            format!(
                "agreement `{}` grants field `{field}`, which service `{}` does not return",
                a.id, a.provider
            ),
        )
        .at(c.at(Kind::Agreement, &a.id, &format!("/fields/{i}")))
        .detail(format!(
            "the response of `{}` declares: {}",
            a.provider,
            list_or_none(&known)
        ));
        let help = did_you_mean(field, known.iter().map(String::as_str))
            .unwrap_or_else(|| "grant only fields the service's `response` declares, by dotted path (`address.street`)".into());
        c.report(d.help(help));
    }
}

/// H0402: every granted operation is covered by an operation of the service with a method that
/// admits it (its own, or `GET` for `HEAD`).
///
/// A granted path may be narrower than the offered one: the service's `/accounts/*` covers a grant
/// of `/accounts/*` and of `/accounts/123`, and `/a/**` covers any path under `/a`.
fn operations(c: &mut Checker, a: &Agreement, service: &Service) {
    for (i, op) in a.operations.iter().enumerate() {
        if service
            .operations
            .iter()
            .any(|s| s.method.admits(op.method) && glob_covers(&s.path, &op.path))
        {
            continue;
        }
        let path_offered = service
            .operations
            .iter()
            .any(|s| glob_covers(&s.path, &op.path));
        let wrong = if path_offered { "method" } else { "path" };
        let offered: Vec<String> = service
            .operations
            .iter()
            .map(|o| format!("{} {}", o.method.as_str(), o.path))
            .collect();
        let wanted = format!("{} {}", op.method.as_str(), op.path);
        let help = did_you_mean(&wanted, offered.iter().map(String::as_str)).unwrap_or_else(|| {
            "grant an operation the service offers, or a narrower path under one of its globs"
                .into()
        });
        c.report(
            Diagnostic::error(
                "H0402",
                format!(
                    "agreement `{}` grants `{wanted}`, which service `{}` does not offer",
                    a.id, a.provider
                ),
            )
            .at(c.at(Kind::Agreement, &a.id, &format!("/operations/{i}/{wrong}")))
            .detail(format!(
                "`{}` offers: {}",
                a.provider,
                list_or_none(&offered)
            ))
            .help(help),
        );
    }
}

/// H0407 (MIN-3): granting personal or sensitive data requires a stated purpose.
fn personal_purpose(c: &mut Checker, a: &Agreement, service: &Service) {
    if a.purpose.as_deref().is_some_and(|p| !p.trim().is_empty()) {
        return;
    }
    let spec = c.spec();
    let personal: Vec<(usize, &String, &str)> = a
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let (class, level) = service
                .response
                .released(f)
                .into_iter()
                .filter_map(|(_, class)| Some((class, spec.data_class(class)?.level)))
                .max_by_key(|(_, level)| *level)?;
            (level >= Level::Personal).then_some((i, f, class))
        })
        .collect();
    let Some(&(first, _, _)) = personal.first() else {
        return;
    };
    let named: Vec<String> = personal
        .iter()
        .map(|(_, f, class)| format!("`{f}` ({class})"))
        .collect();
    c.report(
        Diagnostic::error(
            "H0407",
            format!(
                "agreement `{}` grants personal data but states no purpose",
                a.id
            ),
        )
        .at(c.at(Kind::Agreement, &a.id, &format!("/fields/{first}")))
        .detail(format!(
            "it grants {}; every grant of personal data states why (MIN-3)",
            named.join(", ")
        ))
        .help("add `purpose \"…\"` saying why the consumer needs these fields"),
    );
}

/// H0406 (MIN-3): a field granted to the portal that no form or workflow uses.
///
/// A use of `address.street` uses a grant of `address` and the other way round.
/// Fields the service does not return are left to H0401.
fn unused_portal_fields(c: &mut Checker, a: &Agreement, service: &Service, used: &BTreeSet<&str>) {
    for (i, field) in a.fields.iter().enumerate() {
        if service.response.find(field).is_none() || used.iter().any(|u| overlaps(u, field)) {
            continue;
        }
        c.report(
            Diagnostic::warning(
                "H0406",
                format!("portal agreement `{}` grants field `{field}`, which no form or workflow uses", a.id),
            )
            .at(c.at(Kind::Agreement, &a.id, &format!("/fields/{i}")))
            .detail(format!(
                "no form prefills or cross-checks `{field}` from `{}`, and no workflow `call`s it for that field; \
                 the portal would receive data it never needs (MIN-3)",
                a.provider
            ))
            .help("remove the field from `fields`, or use it in a form's `prefill`/`cross-check` or a workflow's `call`"),
        );
    }
}

/// For every service, the fields that forms and workflows read from it through the portal.
fn portal_uses(spec: &Spec) -> HashMap<&str, BTreeSet<&str>> {
    let mut used: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for form in &spec.forms {
        let fields = form.pages.iter().flat_map(|p| {
            p.fields
                .iter()
                .chain(p.groups.iter().flat_map(|g| &g.fields))
        });
        for f in fields {
            let prefill = f.prefill.as_ref().map(|p| (&p.from, &p.field));
            let cross = f.cross_check.as_ref().map(|x| (&x.from, &x.field));
            for (from, field) in prefill.into_iter().chain(cross) {
                used.entry(from.as_str())
                    .or_default()
                    .insert(field.as_str());
            }
        }
    }
    for w in &spec.workflows {
        for t in w.states.iter().flat_map(|s| &s.transitions) {
            for action in &t.actions {
                if let Action::Call(call) = action {
                    used.entry(call.service.as_str())
                        .or_default()
                        .extend(call.fields.iter().map(String::as_str));
                }
            }
        }
    }
    // A provider's own system answers a delivered application with its reference, the first
    // field of the receiving service's response (003 §5.4).
    for a in &spec.agreements {
        let delivered_to = spec
            .e_services
            .iter()
            .filter_map(|e| e.handled_by.as_ref())
            .any(|h| h.service_id() == a.provider);
        if delivered_to
            && let Some((_, service)) = spec.service(&a.provider)
            && let Some(first) = service.response.fields.first()
        {
            used.entry(a.provider.as_str())
                .or_default()
                .insert(first.name.as_str());
        }
    }
    used
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
