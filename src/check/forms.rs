//! Form checks (H06xx): prefill and cross-checks read only what a valid portal agreement grants
//! and what the service's response declares, selects draw on declared classifiers, bounds and
//! patterns make sense, names are unique, attachments are open formats, and expressions compile.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use crate::spec::diagnostics::did_you_mean;
use crate::spec::model::{Agreement, Form, FormField, InputType};
use crate::spec::{Diagnostic, Kind, Spec};

use super::Checker;
use super::expressions::{Scope, check_expression};
use super::formats::parse_date;

/// Open formats an applicant may upload (REG-1: scans are uploaded in open formats).
const OPEN_FORMATS: [&str; 15] = [
    "pdf", "jpg", "jpeg", "png", "tif", "tiff", "odt", "ods", "docx", "xlsx", "txt", "xml", "json",
    "p7s", "asice",
];

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    let classifiers: BTreeSet<String> = c
        .loaded
        .map
        .declared(Kind::Classifier)
        .map(String::from)
        .collect();
    for form in &spec.forms {
        unique_names(c, form);
        let names = form_names(form);
        let what = format!("the fields and groups of form `{}`", form.id);
        let scope = Scope {
            names: &names,
            what: &what,
        };
        for (pi, page) in form.pages.iter().enumerate() {
            let page_ptr = format!("/pages/{pi}");
            if let Some(e) = &page.visible_if {
                check_expression(
                    c,
                    Kind::Form,
                    &form.id,
                    &format!("{page_ptr}/visible-if"),
                    e,
                    Some(&scope),
                );
            }
            for (fi, field) in page.fields.iter().enumerate() {
                let ptr = format!("{page_ptr}/fields/{fi}");
                one_field(c, &form.id, &ptr, field, &classifiers, &scope);
            }
            for (gi, group) in page.groups.iter().enumerate() {
                let ptr = format!("{page_ptr}/groups/{gi}");
                if let Some(max) = group.max
                    && group.min > max
                {
                    min_above_max(
                        c,
                        &form.id,
                        &ptr,
                        &format!("group `{}`", group.id),
                        group.min.into(),
                        max.into(),
                    );
                }
                if let Some(e) = &group.visible_if {
                    check_expression(
                        c,
                        Kind::Form,
                        &form.id,
                        &format!("{ptr}/visible-if"),
                        e,
                        Some(&scope),
                    );
                }
                let mut entry_names = names.clone();
                entry_names.extend(group.fields.iter().map(|f| f.id.clone()));
                let entry_what = format!("{what}, and the fields of group `{}`", group.id);
                let entry_scope = Scope {
                    names: &entry_names,
                    what: &entry_what,
                };
                for (fi, field) in group.fields.iter().enumerate() {
                    let ptr = format!("{ptr}/fields/{fi}");
                    one_field(c, &form.id, &ptr, field, &classifiers, &entry_scope);
                }
            }
        }
        for (ri, rule) in form.rules.iter().enumerate() {
            check_expression(
                c,
                Kind::Form,
                &form.id,
                &format!("/rules/{ri}/expr"),
                &rule.expr,
                Some(&scope),
            );
        }
        attachments(c, form);
    }
}

/// The names a form's expressions (and the guards of its workflows) may use: the fields of its
/// pages and its groups (each a list of entries).
pub(super) fn form_names(form: &Form) -> BTreeSet<String> {
    form.pages
        .iter()
        .flat_map(|p| {
            p.fields
                .iter()
                .map(|f| f.id.clone())
                .chain(p.groups.iter().map(|g| g.id.clone()))
        })
        .collect()
}

/// H0605: fields and groups of a form share one namespace; the fields of a group share another.
fn unique_names(c: &mut Checker, form: &Form) {
    let mut form_level: BTreeMap<&str, String> = BTreeMap::new();
    for (pi, page) in form.pages.iter().enumerate() {
        for (fi, field) in page.fields.iter().enumerate() {
            unique(
                c,
                form,
                &mut form_level,
                &field.id,
                format!("/pages/{pi}/fields/{fi}/id"),
            );
        }
        for (gi, group) in page.groups.iter().enumerate() {
            unique(
                c,
                form,
                &mut form_level,
                &group.id,
                format!("/pages/{pi}/groups/{gi}/id"),
            );
            let mut entry_level = BTreeMap::new();
            for (fi, field) in group.fields.iter().enumerate() {
                let ptr = format!("/pages/{pi}/groups/{gi}/fields/{fi}/id");
                unique(c, form, &mut entry_level, &field.id, ptr);
            }
        }
    }
}

fn unique<'f>(
    c: &mut Checker,
    form: &Form,
    seen: &mut BTreeMap<&'f str, String>,
    name: &'f str,
    ptr: String,
) {
    match seen.get(name) {
        Some(first) => {
            let first = c.at(Kind::Form, &form.id, first);
            c.report(
                Diagnostic::error("H0605", format!("form `{}` uses the name `{name}` twice", form.id))
                    .at(c.at(Kind::Form, &form.id, &ptr))
                    .related(first, "first used here")
                    .detail("expressions, prefill and the stored application refer to fields and groups by name, so each name means one thing")
                    .help("rename one of them"),
            );
        }
        None => {
            seen.insert(name, ptr);
        }
    }
}

fn one_field(
    c: &mut Checker,
    form: &str,
    ptr: &str,
    field: &FormField,
    classifiers: &BTreeSet<String>,
    scope: &Scope,
) {
    match (&field.classifier, field.ty) {
        (None, InputType::Select) => c.report(
            Diagnostic::error(
                "H0602",
                format!("select field `{}` has no classifier", field.id),
            )
            .at(c.at(Kind::Form, form, &format!("{ptr}/type")))
            .detail("a select offers the items of a classifier")
            .help(match classifiers.iter().next() {
                Some(k) => format!("add `classifier=\"…\"` naming one, e.g. `classifier=\"{k}\"`"),
                None => "declare a `classifier` and name it with `classifier=\"…\"`".into(),
            }),
        ),
        (Some(k), InputType::Select) if !classifiers.contains(k) => c.report(
            Diagnostic::error(
                "H0602",
                format!("select field `{}` names unknown classifier `{k}`", field.id),
            )
            .at(c.at(Kind::Form, form, &format!("{ptr}/classifier")))
            .help(
                did_you_mean(k, classifiers.iter().map(String::as_str)).unwrap_or_else(|| {
                    format!("declare `classifier \"{k}\"`, or name a declared one")
                }),
            ),
        ),
        (Some(_), ty) if ty != InputType::Select => c.report(
            Diagnostic::warning(
                "H0603",
                format!("field `{}` has a classifier but is not a select", field.id),
            )
            .at(c.at(Kind::Form, form, &format!("{ptr}/classifier")))
            .detail("only a `select` offers classifier items; the classifier is ignored")
            .help("make it `type=\"select\"`, or remove the classifier"),
        ),
        _ => {}
    }
    if let (Some(min), Some(max)) = (field.min, field.max)
        && min > max
    {
        min_above_max(c, form, ptr, &format!("field `{}`", field.id), min, max);
    }
    if let Some(pattern) = &field.pattern
        && let Err(e) = regex::Regex::new(pattern)
    {
        c.report(
            Diagnostic::error(
                "H0608",
                format!(
                    "pattern of field `{}` is not a valid regular expression",
                    field.id
                ),
            )
            .at(c.at(Kind::Form, form, &format!("{ptr}/pattern")))
            .detail(e.to_string())
            .help("write the pattern in Rust `regex` syntax, e.g. `^[0-9]{8}$`"),
        );
    }
    if let Some(p) = &field.prefill {
        registry_field(
            c,
            form,
            &format!("{ptr}/prefill"),
            &p.from,
            &p.field,
            ("H0601", "prefills from"),
        );
    }
    if let Some(x) = &field.cross_check {
        registry_field(
            c,
            form,
            &format!("{ptr}/cross-check"),
            &x.from,
            &x.field,
            ("H0606", "is cross-checked against"),
        );
    }
    if let Some(e) = &field.visible_if {
        check_expression(
            c,
            Kind::Form,
            form,
            &format!("{ptr}/visible-if"),
            e,
            Some(scope),
        );
    }
}

fn min_above_max(c: &mut Checker, form: &str, ptr: &str, what: &str, min: f64, max: f64) {
    c.report(
        Diagnostic::error(
            "H0604",
            format!("{what} has min {min} greater than max {max}"),
        )
        .at(c.at(Kind::Form, form, &format!("{ptr}/max")))
        .related(
            c.at(Kind::Form, form, &format!("{ptr}/min")),
            "min given here",
        )
        .detail("no value can satisfy both bounds")
        .help("swap the bounds, or correct one of them"),
    );
}

/// A prefill or cross-check: the service is declared, its response declares the field, and a
/// valid portal agreement grants it (reported with `uncovered.0`).
fn registry_field(
    c: &mut Checker,
    form: &str,
    ptr: &str,
    from: &str,
    field: &str,
    uncovered: (&'static str, &str),
) {
    let spec = c.spec();
    let Some((_, service)) = spec.service(from) else {
        let known: Vec<String> = spec
            .participants
            .iter()
            .flat_map(|p| p.services.iter().map(move |s| format!("{}/{}", p.id, s.id)))
            .collect();
        c.report(
            Diagnostic::error("H0202", format!("unknown service `{from}`"))
                .at(c.at(Kind::Form, form, &format!("{ptr}/from")))
                .detail(format!(
                    "form `{form}` reads service `{from}`, which the spec does not declare"
                ))
                .help(
                    did_you_mean(from, known.iter().map(String::as_str))
                        .unwrap_or_else(|| "name a service as `participant/service`".into()),
                ),
        );
        return;
    };
    let at = c.at(Kind::Form, form, &format!("{ptr}/field"));
    if service.response.find(field).is_none() {
        let paths: Vec<String> = service
            .response
            .walk()
            .into_iter()
            .map(|f| f.path)
            .collect();
        c.report(
            Diagnostic::error("H0607", format!("service `{from}` has no response field `{field}`"))
                .at(at)
                .detail(format!("form `{form}` {} `{from}` field `{field}`, which the service's response does not declare", uncovered.1))
                .help(did_you_mean(field, paths.iter().map(String::as_str)).unwrap_or_else(|| {
                    if paths.is_empty() {
                        format!("declare the field in the `response` of service `{from}`")
                    } else {
                        format!("use one of: {}", paths.join(", "))
                    }
                })),
        );
        return;
    }
    if let Some(help) = portal_access_gap(spec, c.today, from, field) {
        c.report(
            Diagnostic::error(uncovered.0, format!("no valid portal agreement grants `{from}` field `{field}`"))
                .at(at)
                .detail(format!(
                    "form `{form}` {} `{from}` field `{field}`; the portal reads a service only through an agreement valid on {} that lists the field (MIN-1)",
                    uncovered.1, c.today
                ))
                .help(help),
        );
    }
}

/// Whether the portal may read `field` of `service` on `today`: `None` when an agreement with the
/// portal's subsystem as consumer, valid that day, lists the field or a parent of it (or when the
/// tree declares no system to judge by); otherwise how to grant it.
pub(super) fn portal_access_gap(
    spec: &Spec,
    today: NaiveDate,
    service: &str,
    field: &str,
) -> Option<String> {
    let portal = &spec.system()?.portal.subsystem;
    let mut expired: Option<&Agreement> = None;
    let mut unlisted: Option<&Agreement> = None;
    for a in spec
        .agreements
        .iter()
        .filter(|a| &a.consumer == portal && a.provider == service)
    {
        let lists = a.fields.iter().any(|f| grants(f, field));
        match (lists, valid_on(a, today)) {
            (true, true) => return None,
            (true, false) => expired = Some(a),
            (false, _) => unlisted = unlisted.or(Some(a)),
        }
    }
    Some(match (expired, unlisted) {
        (Some(a), _) => format!(
            "agreement `{}` lists `{field}` but is not valid on {today} (valid from {}{}); extend it or sign a new one",
            a.id,
            a.valid.from,
            a.valid
                .until
                .as_ref()
                .map(|u| format!(" until {u}"))
                .unwrap_or_default()
        ),
        (None, Some(a)) => format!("add `{field}` to the `fields` of agreement `{}`", a.id),
        (None, None) => format!(
            "sign an agreement with consumer `{portal}` and provider `{service}` that lists `{field}`"
        ),
    })
}

/// A granted dotted path grants itself and everything beneath it.
fn grants(granted: &str, field: &str) -> bool {
    field == granted
        || field
            .strip_prefix(granted)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// An unreadable date is reported by the format checks; here it does not limit validity.
fn valid_on(a: &Agreement, today: NaiveDate) -> bool {
    let from_ok = parse_date(&a.valid.from).is_none_or(|from| from <= today);
    let until_ok = a
        .valid
        .until
        .as_deref()
        .and_then(parse_date)
        .is_none_or(|until| today <= until);
    from_ok && until_ok
}

/// H0609: every accepted format is an open one.
fn attachments(c: &mut Checker, form: &Form) {
    for (ai, att) in form.attachments.iter().enumerate() {
        for (k, format) in att.accept.iter().enumerate() {
            if OPEN_FORMATS.contains(&format.to_ascii_lowercase().as_str()) {
                continue;
            }
            c.report(
                Diagnostic::error("H0609", format!("attachment `{}` accepts `{format}`, which is not an open format", att.id))
                    .at(c.at(Kind::Form, &form.id, &format!("/attachments/{ai}/accept/{k}")))
                    .detail("scans and documents are uploaded in open formats (REG-1), so that the registry can keep and show them")
                    .help(did_you_mean(format, OPEN_FORMATS).unwrap_or_else(|| {
                        format!("accept only open formats: {}", OPEN_FORMATS.join(", "))
                    })),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_granted_path_covers_its_children_only() {
        assert!(grants("address", "address"));
        assert!(grants("address", "address.street"));
        assert!(!grants("address", "addresses"));
        assert!(!grants("address.street", "address"));
    }
}
