//! Policies (MIN-2, H05xx): every agreement granting a field of a class a policy applies to must
//! satisfy the policy's rules, and no retention rule may keep records shorter than a policy's
//! floor. Each diagnostic names the policy and rule and points at the rule too.

use crate::spec::model::{Agreement, Policy};
use crate::spec::{Diagnostic, Kind};

use super::Checker;
use crate::spec::model::parse_duration_days;

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    for p in &spec.policies {
        for a in &spec.agreements {
            let governed = governed_fields(c, p, a);
            if !governed.is_empty() {
                agreement_rules(c, p, a, &governed);
            }
        }
        retention_floors(c, p);
    }
}

/// The agreement's grants that release data of a class the policy applies to — the granted
/// field itself or anything nested in it (see `Response::released`) — each with the governed
/// fields it releases. Empty when the provider service is unknown.
fn governed_fields(c: &Checker, p: &Policy, a: &Agreement) -> Vec<(usize, Vec<String>)> {
    let Some((_, service)) = c.spec().service(&a.provider) else {
        return Vec::new();
    };
    a.fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let governed: Vec<String> = service
                .response
                .released(f)
                .into_iter()
                .filter(|(_, class)| p.applies_to.iter().any(|c| c == class))
                .map(|(path, _)| path)
                .collect();
            (!governed.is_empty()).then_some((i, governed))
        })
        .collect()
}

fn agreement_rules(c: &mut Checker, p: &Policy, a: &Agreement, governed: &[(usize, Vec<String>)]) {
    let classes = p
        .applies_to
        .iter()
        .map(|x| format!("`{x}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let first = &a.fields[governed[0].0];
    let why = format!(
        "it grants `{first}`, a field of class {classes} that policy `{}` governs",
        p.id
    );
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());

    if p.require_purpose && blank(&a.purpose) {
        let d = Diagnostic::error("H0501", format!("agreement `{}` states no purpose", a.id))
            .at(c.at(Kind::Agreement, &a.id, ""))
            .help("add `purpose \"…\"` saying why the consumer needs the data");
        c.report(rule(c, d, p, "require-purpose", "/require-purpose", &why));
    }
    if p.require_legal_basis && blank(&a.legal_basis) {
        let d = Diagnostic::error(
            "H0502",
            format!("agreement `{}` states no legal basis", a.id),
        )
        .at(c.at(Kind::Agreement, &a.id, ""))
        .help("add `legal-basis \"…\"` naming the law or decision that allows the exchange");
        c.report(rule(
            c,
            d,
            p,
            "require-legal-basis",
            "/require-legal-basis",
            &why,
        ));
    }
    if p.notify_subject && !a.notify_subject {
        let d = Diagnostic::error(
            "H0503",
            format!("agreement `{}` does not notify data subjects", a.id),
        )
        .at(c.at(Kind::Agreement, &a.id, "/notify-subject"))
        .help("set `notify-subject #true` so people see this exchange in their cabinet (MIN-4)");
        c.report(rule(c, d, p, "notify-subject", "/notify-subject", &why));
    }
    let mut released: Vec<&str> = governed
        .iter()
        .flat_map(|(_, paths)| paths.iter().map(String::as_str))
        .collect();
    released.sort_unstable();
    released.dedup();
    if let Some(max) = p.max_fields
        && released.len() > max as usize
    {
        let over = governed
            .iter()
            .scan(0, |count, (i, paths)| {
                *count += paths.len();
                Some((*i, *count))
            })
            .find(|(_, count)| *count > max as usize)
            .map_or(governed[0].0, |(i, _)| i);
        let names: Vec<String> = released.iter().map(|f| format!("`{f}`")).collect();
        let d = Diagnostic::error(
                "H0504",
                format!(
                    "agreement `{}` releases {} fields of class {classes}, more than {max}",
                    a.id,
                    released.len()
                ),
            )
            .at(c.at(Kind::Agreement, &a.id, &format!("/fields/{over}")))
            .help("grant only the fields the consumer needs, or split the exchange into agreements with separate purposes");
        let why = format!("it releases {}", names.join(", "));
        c.report(rule(c, d, p, "max-fields", "/max-fields", &why));
    }
}

/// Adds the policy and its rule to a diagnostic: named in the detail, pointed at as related.
fn rule(
    c: &Checker,
    mut d: Diagnostic,
    p: &Policy,
    name: &str,
    pointer: &str,
    why: &str,
) -> Diagnostic {
    d.summary = format!("{}, against rule `{name}` of policy `{}`", d.summary, p.id);
    d.detail(format!("{why}; rule `{name}` of policy `{}` applies", p.id))
        .related(
            c.at(Kind::Policy, &p.id, pointer),
            format!("rule `{name}` of policy `{}`", p.id),
        )
}

/// H0505: a retention rule keeping a record class shorter than a floor of the policy.
fn retention_floors(c: &mut Checker, p: &Policy) {
    let spec = c.spec();
    for (fi, floor) in p.retention_floors.iter().enumerate() {
        let Some(min) = parse_duration_days(&floor.period) else {
            continue;
        };
        for r in spec.retention.iter().filter(|r| r.record == floor.record) {
            let Some(kept) = parse_duration_days(&r.period) else {
                continue;
            };
            if kept >= min {
                continue;
            }
            let record = serde_json::to_value(r.record)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let name = "retention-floor";
            let d = Diagnostic::error(
                "H0505",
                format!(
                    "retention `{}` keeps `{record}` records for {}, less than {}",
                    r.id, r.period, floor.period
                ),
            )
            .at(c.at(Kind::Retention, &r.id, "/period"))
            .help(format!(
                "keep `{record}` records for at least {}",
                floor.period
            ));
            let d = d
                .detail(format!(
                    "policy `{}` requires `{record}` records to be kept at least {}; rule `{name} \"{record}\"` of policy `{}` applies",
                    p.id, floor.period, p.id
                ))
                .related(
                    c.at(Kind::Policy, &p.id, &format!("/retention-floors/{fi}")),
                    format!("rule `{name} \"{record}\"` of policy `{}`", p.id),
                );
            c.report(d);
        }
    }
}
