//! Form checks (H06xx): prefill and cross-checks read only what the service's response declares
//! and a valid portal agreement grants, selects draw on declared classifiers, bounds and patterns
//! make sense, names are unique, identity bindings suit their fields, attachments are open
//! formats within sane limits, and expressions compile.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;

use crate::spec::agreement_rules::{InForce, grants_field, in_force};
use crate::spec::diagnostics::did_you_mean;
use crate::spec::model::{Agreement, Attachment, Form, FormField, InputType};
use crate::spec::{Diagnostic, Kind, Span, Spec};

use super::Checker;
use super::expressions::{Scope, check_expression};

/// Open formats an applicant may upload (REG-1: scans are uploaded in open formats).
const OPEN_FORMATS: [&str; 15] = [
    "pdf", "jpg", "jpeg", "png", "tif", "tiff", "odt", "ods", "docx", "xlsx", "txt", "xml", "json",
    "p7s", "asice",
];

pub(super) fn check(c: &mut Checker) {
    let classifiers: BTreeSet<String> = c
        .loaded
        .map
        .declared(Kind::Classifier)
        .map(String::from)
        .collect();
    let grants = PortalGrants::of(c.spec());
    for form in &c.spec().forms {
        let mut f = FormCheck {
            c: &mut *c,
            form,
            classifiers: &classifiers,
            grants: &grants,
        };
        f.unique_names();
        f.pages();
        f.rules();
        f.attachments();
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

struct FormCheck<'c, 'a> {
    c: &'c mut Checker<'a>,
    form: &'a Form,
    classifiers: &'c BTreeSet<String>,
    grants: &'c PortalGrants<'a>,
}

impl FormCheck<'_, '_> {
    fn at(&self, ptr: &str) -> Option<Span> {
        self.c.at(Kind::Form, &self.form.id, ptr)
    }

    fn expression(&mut self, ptr: &str, expr: Option<&str>, scope: &Scope) {
        if let Some(e) = expr {
            check_expression(self.c, Kind::Form, &self.form.id, ptr, e, Some(scope));
        }
    }

    /// H0605: fields and groups of a form share one namespace; the fields of a group another.
    fn unique_names(&mut self) {
        let mut form_level = BTreeMap::new();
        for (pi, page) in self.form.pages.iter().enumerate() {
            for (fi, field) in page.fields.iter().enumerate() {
                let ptr = format!("/pages/{pi}/fields/{fi}/id");
                self.unique(&mut form_level, &field.id, ptr);
            }
            for (gi, group) in page.groups.iter().enumerate() {
                let ptr = format!("/pages/{pi}/groups/{gi}");
                self.unique(&mut form_level, &group.id, format!("{ptr}/id"));
                let mut entry_level = BTreeMap::new();
                for (fi, field) in group.fields.iter().enumerate() {
                    self.unique(&mut entry_level, &field.id, format!("{ptr}/fields/{fi}/id"));
                }
            }
        }
    }

    fn unique(&mut self, seen: &mut BTreeMap<String, String>, name: &str, ptr: String) {
        let Some(first) = seen.get(name) else {
            seen.insert(name.to_string(), ptr);
            return;
        };
        let d = Diagnostic::error(
            "H0605",
            format!("form `{}` uses the name `{name}` twice", self.form.id),
        )
        .at(self.at(&ptr))
        .related(self.at(first), "first used here")
        .detail("expressions, prefill and stored applications refer to fields and groups by name")
        .help("rename one of them");
        self.c.report(d);
    }

    fn pages(&mut self) {
        let form = self.form;
        let names = form_names(form);
        let what = format!("the fields and groups of form `{}`", form.id);
        let scope = Scope {
            names: &names,
            what: &what,
        };
        for (pi, page) in form.pages.iter().enumerate() {
            let page_ptr = format!("/pages/{pi}");
            self.expression(
                &format!("{page_ptr}/visible-if"),
                page.visible_if.as_deref(),
                &scope,
            );
            for (fi, field) in page.fields.iter().enumerate() {
                self.field(&format!("{page_ptr}/fields/{fi}"), field, &scope, None);
            }
            for (gi, group) in page.groups.iter().enumerate() {
                let ptr = format!("{page_ptr}/groups/{gi}");
                if let Some(max) = group.max
                    && group.min > max
                {
                    let what = format!("group `{}`", group.id);
                    self.min_above_max(&ptr, &what, group.min.into(), max.into());
                }
                self.expression(
                    &format!("{ptr}/visible-if"),
                    group.visible_if.as_deref(),
                    &scope,
                );
                let mut entry_names = names.clone();
                entry_names.extend(group.fields.iter().map(|f| f.id.clone()));
                let entry_what = format!("{what}, and the fields of group `{}`", group.id);
                let entry_scope = Scope {
                    names: &entry_names,
                    what: &entry_what,
                };
                for (fi, field) in group.fields.iter().enumerate() {
                    self.field(
                        &format!("{ptr}/fields/{fi}"),
                        field,
                        &entry_scope,
                        Some(&group.id),
                    );
                }
            }
        }
    }

    fn rules(&mut self) {
        let names = form_names(self.form);
        let what = format!("the fields and groups of form `{}`", self.form.id);
        let scope = Scope {
            names: &names,
            what: &what,
        };
        for (ri, rule) in self.form.rules.iter().enumerate() {
            self.expression(&format!("/rules/{ri}/expr"), Some(&rule.expr), &scope);
        }
    }

    /// One field, of a page or (`group`) of a repeat group's entry.
    fn field(&mut self, ptr: &str, field: &FormField, scope: &Scope, group: Option<&str>) {
        self.classifier(ptr, field);
        self.binding(ptr, field, group);
        if let (Some(min), Some(max)) = (field.min, field.max)
            && min > max
        {
            self.min_above_max(ptr, &format!("field `{}`", field.id), min, max);
        }
        if let Some(pattern) = &field.pattern
            && let Err(e) = regex::Regex::new(pattern)
        {
            let d = Diagnostic::error(
                "H0608",
                format!(
                    "pattern of field `{}` is not a regular expression",
                    field.id
                ),
            )
            .at(self.at(&format!("{ptr}/pattern")))
            .detail(e.to_string())
            .help("write the pattern in Rust `regex` syntax, e.g. `^[0-9]{8}$`");
            self.c.report(d);
        }
        if let Some(p) = &field.prefill {
            let ptr = format!("{ptr}/prefill");
            self.registry(&ptr, &p.from, &p.field, "H0601", "prefills from");
        }
        if let Some(x) = &field.cross_check {
            let ptr = format!("{ptr}/cross-check");
            self.registry(&ptr, &x.from, &x.field, "H0606", "is cross-checked against");
        }
        self.expression(
            &format!("{ptr}/visible-if"),
            field.visible_if.as_deref(),
            scope,
        );
    }

    /// H0614, H0615, H0616: a field bound to the signed-in identity has the type of what it
    /// holds, is not also prefilled, and is not in a repeat group (whose entries are other people).
    fn binding(&mut self, ptr: &str, field: &FormField, group: Option<&str>) {
        let Some(bind) = field.bind else { return };
        let bind_at = self.at(&format!("{ptr}/bind"));
        let want = bind.input_type();
        if field.ty != want {
            let want = serde_plain(want);
            let d = Diagnostic::error(
                "H0614",
                format!(
                    "field `{}` is bound to the identity's `{}` but has type `{}`",
                    field.id,
                    bind.as_str(),
                    serde_plain(field.ty)
                ),
            )
            .at(self.at(&format!("{ptr}/type")))
            .related(bind_at, "bound here")
            .detail(format!(
                "a `{}` binding fills the field with a value of type `{want}`",
                bind.as_str()
            ))
            .help(format!(
                "make the field `type=\"{want}\"`, or bind it to something else"
            ));
            self.c.report(d);
        }
        if field.prefill.is_some() {
            let d = Diagnostic::error(
                "H0615",
                format!(
                    "field `{}` is both bound to the identity and prefilled from a registry",
                    field.id
                ),
            )
            .at(bind_at)
            .related(self.at(&format!("{ptr}/prefill")), "prefilled here")
            .detail("a bound field takes the signed-in person's own value and cannot be changed; a prefill would have nothing to fill")
            .help("remove the `prefill`, or the `bind` if the registry's value is the one wanted (a `cross-check` may still compare a bound value with a registry)");
            self.c.report(d);
        }
        if let Some(group) = group {
            let d = Diagnostic::error(
                "H0616",
                format!(
                    "field `{}` of repeat group `{group}` is bound to the identity",
                    field.id
                ),
            )
            .at(bind_at)
            .detail("every entry of a repeat group is another person or thing; only the applicant's own fields on a page can hold the signed-in person's identity")
            .help("move the field out of the group, or remove the `bind`");
            self.c.report(d);
        }
    }

    /// H0602 and H0603.
    fn classifier(&mut self, ptr: &str, field: &FormField) {
        let select = field.ty == InputType::Select;
        let d = match &field.classifier {
            None if select => Diagnostic::error(
                "H0602",
                format!("select field `{}` has no classifier", field.id),
            )
            .at(self.at(&format!("{ptr}/type")))
            .detail("a select offers the items of a classifier")
            .help(match self.classifiers.first() {
                Some(k) => format!("name one with `classifier=\"…\"`, e.g. `classifier=\"{k}\"`"),
                None => "declare a `classifier` and name it with `classifier=\"…\"`".into(),
            }),
            Some(k) if select && !self.classifiers.contains(k) => Diagnostic::error(
                "H0602",
                format!("select field `{}` names unknown classifier `{k}`", field.id),
            )
            .at(self.at(&format!("{ptr}/classifier")))
            .help(
                did_you_mean(k, self.classifiers.iter().map(String::as_str))
                    .unwrap_or_else(|| format!("declare `classifier \"{k}\"`")),
            ),
            Some(_) if !select => Diagnostic::warning(
                "H0603",
                format!("field `{}` has a classifier but is not a select", field.id),
            )
            .at(self.at(&format!("{ptr}/classifier")))
            .detail("only a `select` offers classifier items; the classifier is ignored")
            .help("make it `type=\"select\"`, or remove the classifier"),
            _ => return,
        };
        self.c.report(d);
    }

    /// H0604, located at `max` with `min` related.
    fn min_above_max(&mut self, ptr: &str, what: &str, min: f64, max: f64) {
        let d = Diagnostic::error(
            "H0604",
            format!("{what} has min {min} greater than max {max}"),
        )
        .at(self.at(&format!("{ptr}/max")))
        .related(self.at(&format!("{ptr}/min")), "min given here")
        .detail("no value can satisfy both bounds")
        .help("swap the bounds, or correct one of them");
        self.c.report(d);
    }

    /// A prefill or cross-check at `ptr`: unknown service (H0202), undeclared response field
    /// (H0607), or a field no valid portal agreement grants (`ungranted`).
    fn registry(
        &mut self,
        ptr: &str,
        from: &str,
        field: &str,
        ungranted: &'static str,
        verb: &str,
    ) {
        let c = &*self.c;
        if c.in_unreadable_participant(from) {
            return;
        }
        let Some(problem) = portal_read(self.grants, c.today, from, field) else {
            return;
        };
        let (code, at) = match problem.why {
            Unreadable::Service => ("H0202", format!("{ptr}/from")),
            Unreadable::Field => ("H0607", format!("{ptr}/field")),
            Unreadable::NotGranted => (ungranted, format!("{ptr}/field")),
        };
        let d = Diagnostic::error(code, problem.summary)
            .at(self.at(&at))
            .detail(format!(
                "form `{}` {verb} `{from}` field `{field}`; {}",
                self.form.id, problem.detail
            ))
            .help(problem.help);
        self.c.report(d);
    }

    /// H0609: every accepted format is an open one; H0617: limits the portal can keep.
    fn attachments(&mut self) {
        for (ai, att) in self.form.attachments.iter().enumerate() {
            self.limits(ai, att);
            for (k, format) in att.accept.iter().enumerate() {
                if OPEN_FORMATS.contains(&format.to_ascii_lowercase().as_str()) {
                    continue;
                }
                let d = Diagnostic::error(
                    "H0609",
                    format!("attachment `{}` accepts `{format}`, which is not an open format", att.id),
                )
                .at(self.at(&format!("/attachments/{ai}/accept/{k}")))
                .detail("scans and documents are uploaded in open formats (REG-1), so that the registry can keep and show them")
                .help(did_you_mean(format, OPEN_FORMATS).unwrap_or_else(|| {
                    format!("accept only open formats: {}", OPEN_FORMATS.join(", "))
                }));
                self.c.report(d);
            }
        }
    }
}

impl FormCheck<'_, '_> {
    /// H0617: an attachment's `max-files` and `max-mib` are at least 1 and within the portal's
    /// ceilings.
    fn limits(&mut self, ai: usize, att: &Attachment) {
        let limits = [
            (
                "max-files",
                att.max_files,
                Attachment::CEILING_FILES,
                "files",
            ),
            ("max-mib", att.max_mib, Attachment::CEILING_MIB, "MiB"),
        ];
        for (prop, value, ceiling, unit) in limits {
            let Some(value) = value else { continue };
            if (1..=ceiling).contains(&value) {
                continue;
            }
            let d = Diagnostic::error(
                "H0617",
                format!(
                    "attachment `{}` has `{prop}={value}`, outside 1 to {ceiling}",
                    att.id
                ),
            )
            .at(self.at(&format!("/attachments/{ai}/{prop}")))
            .detail(format!(
                "the portal accepts from 1 to {ceiling} {unit} for one attachment"
            ))
            .help(format!(
                "write a value from 1 to {ceiling}, or leave `{prop}` out for the default"
            ));
            self.c.report(d);
        }
    }
}

/// How a unit-like enum value of the model is written in the spec (`rnokpp`, `full-name`).
fn serde_plain<T: serde::Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Why the portal cannot read a field of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unreadable {
    /// The service is not declared.
    Service,
    /// The service's response does not declare the field.
    Field,
    /// No portal agreement valid on the day grants the field.
    NotGranted,
}

/// A problem with a registry read, worded for a diagnostic.
pub(super) struct ReadProblem {
    pub why: Unreadable,
    pub summary: String,
    pub detail: String,
    pub help: String,
}

/// Whether the portal can read `field` (a dotted path) of `service` (`participant/service`) on
/// `today`: the service is declared, its response declares the field, and a valid portal
/// agreement grants it. Prefill, cross-checks and workflow `call` actions all read this way.
pub(super) fn portal_read(
    grants: &PortalGrants,
    today: NaiveDate,
    service: &str,
    field: &str,
) -> Option<ReadProblem> {
    let spec = grants.spec;
    let Some((_, svc)) = spec.service(service) else {
        return unknown_service(spec, service);
    };
    if svc.response.find(field).is_none() {
        let paths: Vec<String> = svc.response.walk().into_iter().map(|f| f.path).collect();
        return Some(ReadProblem {
            why: Unreadable::Field,
            summary: format!("service `{service}` has no response field `{field}`"),
            detail: "the service's `response` does not declare that field".into(),
            help: did_you_mean(field, paths.iter().map(String::as_str)).unwrap_or_else(|| {
                if paths.is_empty() {
                    format!("declare the field in the `response` of service `{service}`")
                } else {
                    format!("use one of: {}", paths.join(", "))
                }
            }),
        });
    }
    let help = portal_access_gap(grants, today, service, field)?;
    Some(ReadProblem {
        why: Unreadable::NotGranted,
        summary: format!("no valid portal agreement grants `{service}` field `{field}`"),
        detail: format!(
            "the portal reads a service only through an agreement valid on {today} that lists the field (MIN-1)"
        ),
        help,
    })
}

/// The agreements with the portal's subsystem as consumer, by provider service: every read the
/// portal makes (prefill, cross-check, workflow `call`) is judged against these.
pub(super) struct PortalGrants<'a> {
    spec: &'a Spec,
    portal: Option<&'a str>,
    by_provider: HashMap<&'a str, Vec<&'a Agreement>>,
}

impl<'a> PortalGrants<'a> {
    pub(super) fn of(spec: &'a Spec) -> PortalGrants<'a> {
        let portal = spec.system().map(|s| s.portal.subsystem.as_str());
        let mut by_provider: HashMap<&str, Vec<&Agreement>> = HashMap::new();
        for a in spec
            .agreements
            .iter()
            .filter(|a| Some(a.consumer.as_str()) == portal)
        {
            by_provider.entry(a.provider.as_str()).or_default().push(a);
        }
        PortalGrants {
            spec,
            portal,
            by_provider,
        }
    }
}

/// `Unreadable::Service` when `service` is not declared.
pub(super) fn unknown_service(spec: &Spec, service: &str) -> Option<ReadProblem> {
    if spec.service(service).is_some() {
        return None;
    }
    let known: Vec<String> = spec
        .participants
        .iter()
        .flat_map(|p| p.services.iter().map(move |s| format!("{}/{}", p.id, s.id)))
        .collect();
    Some(ReadProblem {
        why: Unreadable::Service,
        summary: format!("unknown service `{service}`"),
        detail: "the spec declares no such service".into(),
        help: did_you_mean(service, known.iter().map(String::as_str))
            .unwrap_or_else(|| "name a declared service as `participant/service`".into()),
    })
}

/// Whether the portal may read `field` of `service` on `today`: `None` when an agreement with the
/// portal's subsystem as consumer, valid that day, lists the field or a parent of it (or when the
/// tree declares no system to judge by); otherwise how to grant it.
pub(super) fn portal_access_gap(
    portal_grants: &PortalGrants,
    today: NaiveDate,
    service: &str,
    field: &str,
) -> Option<String> {
    let portal = portal_grants.portal?;
    let mut expired: Option<&Agreement> = None;
    let mut unlisted: Option<&Agreement> = None;
    for a in portal_grants.by_provider.get(service).into_iter().flatten() {
        let lists = a.fields.iter().any(|f| grants_field(f, field));
        // An unreadable date is H0305's to report; here it does not limit validity.
        let in_force = in_force(&a.valid, today) != InForce::No;
        match (lists, in_force) {
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::spec::load_sources;
    use crate::spec::source::SourceSet;

    const WATER: &str = r#"
participant "water" {
    name "КП «Водоканал»"
    edrpou "23456783"
    class "COM"
    gateway "gw-core"
    seal cert="pki/seals/council.crt"
    contacts {
        kind "комунальне підприємство"
        address "вул. Водна, 2"
        phone "+380 44 000 00 01"
        email "info@water.example"
        schedule "пн–пт 08:00–17:00"
    }
    service "abonent" {
        title "Абонент"
        description "Відомості про абонента"
        upstream "http://127.0.0.1:9001"
        response {
            field "debt" type="decimal"
            field "address" type="object" {
                field "street" type="string"
            }
        }
    }
}
"#;

    /// The minimal example, the `water/abonent` service and one agreement with the given lines.
    fn spec(agreement: &str) -> Spec {
        let agreement = format!("agreement \"a\" {{\n{agreement}\n}}");
        let files = vec![
            (
                "spec/system.kdl",
                include_str!("../../examples/minimal/spec/system.kdl"),
            ),
            (
                "spec/council.kdl",
                include_str!("../../examples/minimal/spec/council.kdl"),
            ),
            ("spec/water.kdl", WATER),
            ("spec/agreement.kdl", &agreement),
        ];
        let files = files
            .into_iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        let loaded = load_sources(SourceSet::from_files(PathBuf::new(), files));
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        loaded.spec
    }

    fn day(s: &str) -> NaiveDate {
        crate::spec::agreement_rules::parse_date(s).unwrap()
    }

    const PORTAL: &str = r#"consumer "council/portal"
provider "water/abonent""#;

    #[test]
    fn a_valid_portal_agreement_grants_a_field_and_its_children() {
        let s = spec(&format!(
            r#"{PORTAL}
fields "address" "debt"
valid from="2026-01-01" until="2026-12-31""#
        ));
        for today in ["2026-01-01", "2026-12-31"] {
            assert_eq!(
                portal_access_gap(
                    &PortalGrants::of(&s),
                    day(today),
                    "water/abonent",
                    "address.street"
                ),
                None
            );
            assert!(
                portal_read(&PortalGrants::of(&s), day(today), "water/abonent", "debt").is_none()
            );
        }
        let gap = portal_access_gap(
            &PortalGrants::of(&s),
            day("2027-01-01"),
            "water/abonent",
            "debt",
        )
        .unwrap();
        assert!(gap.contains("is not valid on 2027-01-01"), "{gap}");
    }

    #[test]
    fn an_agreement_that_does_not_list_the_field_grants_nothing() {
        let s = spec(&format!(
            r#"{PORTAL}
fields "debt"
valid from="2026-01-01""#
        ));
        let gap = portal_access_gap(
            &PortalGrants::of(&s),
            day("2026-06-01"),
            "water/abonent",
            "address.street",
        );
        assert_eq!(
            gap.as_deref(),
            Some("add `address.street` to the `fields` of agreement `a`")
        );
    }

    #[test]
    fn only_the_portal_subsystem_counts_as_consumer() {
        let s = spec(
            r#"consumer "council/registry"
provider "water/abonent"
fields "debt"
valid from="2026-01-01""#,
        );
        let gap = portal_access_gap(
            &PortalGrants::of(&s),
            day("2026-06-01"),
            "water/abonent",
            "debt",
        )
        .unwrap();
        assert!(
            gap.starts_with("sign an agreement with consumer `council/portal`"),
            "{gap}"
        );
    }

    #[test]
    fn reads_name_a_declared_service_and_response_field() {
        let s = spec(&format!(
            r#"{PORTAL}
fields "debt"
valid from="2026-01-01""#
        ));
        let today = day("2026-06-01");
        let p = portal_read(&PortalGrants::of(&s), today, "water/abonents", "debt").unwrap();
        assert_eq!(
            (p.why, p.help.as_str()),
            (Unreadable::Service, "did you mean `water/abonent`?")
        );
        let p = portal_read(&PortalGrants::of(&s), today, "water/abonent", "dept").unwrap();
        assert_eq!(
            (p.why, p.help.as_str()),
            (Unreadable::Field, "did you mean `debt`?")
        );
        let p = portal_read(&PortalGrants::of(&s), today, "water/abonent", "address").unwrap();
        assert_eq!(p.why, Unreadable::NotGranted);
    }
}
