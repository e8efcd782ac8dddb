//! Data-access widening: what a consumer can reach in the new revision that it could not in the
//! old one. Each agreement is reduced to its effective access (the response fields it releases,
//! with their sensitivity, its operations and its validity) and the two are compared.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::spec::Spec;
use crate::spec::agreement_rules::{granted_operations, grants_field, parse_date};
use crate::spec::model::{
    Agreement, Connection, ConnectionProtocol, Level, Operation, Status, Validity,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// A new agreement, or one that now names another consumer or provider.
    NewAgreement,
    /// A response field newly released by an agreement.
    Field,
    /// An operation newly granted.
    Operation,
    /// The agreement no longer lists operations, so it grants every operation of the service.
    AllOperations,
    /// A released field became personal or sensitive, or more sensitive than it was.
    Sensitivity,
    /// The validity period starts earlier, ends later, or no longer ends.
    Validity,
    /// A suspended participant became active, so its agreements apply again.
    Reinstated,
    /// More systems may call as a subsystem an agreement grants: it can connect for the first
    /// time, now over plain HTTP, or lists a client certificate it did not.
    Connection,
}

/// One way in which data access widens, with who gains what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Widening {
    pub reason: Reason,
    /// The subsystem (or, for a reinstatement, the participant) that gains access.
    pub who: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<String>,
    /// The field, operation or period concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    pub message: String,
}

/// The class of a released field and the sensitivity level its data class declares.
#[derive(Debug, Clone, PartialEq)]
struct Class {
    id: String,
    level: Option<Level>,
}

/// What one agreement actually gives its consumer in one revision.
struct Access<'a> {
    agreement: &'a Agreement,
    /// Released response fields by dotted path; a granted object releases its nested fields.
    fields: BTreeMap<String, Option<Class>>,
    /// Operations reachable, as `METHOD /path`.
    operations: BTreeSet<String>,
}

impl<'a> Access<'a> {
    fn of(spec: &Spec, agreement: &'a Agreement) -> Access<'a> {
        let service = spec.service(&agreement.provider).map(|(_, s)| s);
        let mut fields = BTreeMap::new();
        for granted in &agreement.fields {
            let mut found = false;
            for at in service.iter().flat_map(|s| s.response.walk()) {
                if grants_field(granted, &at.path) {
                    let id = at.class.to_string();
                    let level = spec.data_class(&id).map(|c| c.level);
                    fields.insert(at.path, Some(Class { id, level }));
                    found = true;
                }
            }
            if !found {
                fields.insert(granted.clone(), None);
            }
        }
        let listed = match service {
            Some(service) => granted_operations(agreement, service),
            None => &agreement.operations[..],
        };
        Access {
            agreement,
            fields,
            operations: listed.iter().map(operation).collect(),
        }
    }
}

fn operation(o: &Operation) -> String {
    let method = serde_json::to_value(o.method).expect("methods serialise");
    format!("{} {}", method.as_str().unwrap_or_default(), o.path)
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Public => "public",
        Level::Personal => "personal",
        Level::Sensitive => "sensitive",
    }
}

fn describe_field(path: &str, class: &Option<Class>) -> String {
    match class.as_ref().and_then(|c| c.level) {
        Some(level) if level > Level::Public => format!("{path} ({})", level_name(level)),
        _ => path.to_string(),
    }
}

/// Every widening of data access from `from` to `to`: reinstated participants and subsystems
/// more systems may call as first, then agreements in id order.
pub fn widening(from: &Spec, to: &Spec) -> Vec<Widening> {
    let mut out = Vec::new();
    for participant in &to.participants {
        let was_suspended = from
            .participant(&participant.id)
            .is_some_and(|p| p.status == Status::Suspended);
        if was_suspended && participant.status == Status::Active {
            out.push(reinstated(to, &participant.id));
        }
        for subsystem in &participant.subsystems {
            let who = format!("{}/{}", participant.id, subsystem.id);
            let before = from
                .subsystem(&who)
                .and_then(|(_, s)| s.connection.as_ref());
            if let Some(after) = &subsystem.connection {
                out.extend(connection(to, &participant.id, who, before, after));
            }
        }
    }
    for agreement in &to.agreements {
        let new = Access::of(to, agreement);
        match from.agreements.iter().find(|a| a.id == agreement.id) {
            Some(old)
                if old.consumer == agreement.consumer && old.provider == agreement.provider =>
            {
                compare(&Access::of(from, old), &new, &mut out)
            }
            old => out.push(granted(&new, old)),
        }
    }
    out
}

fn reinstated(to: &Spec, id: &str) -> Widening {
    let involved: Vec<&str> = to
        .agreements
        .iter()
        .filter(|a| {
            [&a.consumer, &a.provider]
                .iter()
                .any(|r| r.split('/').next() == Some(id))
        })
        .map(|a| a.id.as_str())
        .collect();
    let effect = if involved.is_empty() {
        "no agreement names it yet".to_string()
    } else {
        format!("agreements naming it: {}", involved.join(", "))
    };
    Widening {
        reason: Reason::Reinstated,
        who: id.to_string(),
        provider: None,
        agreement: None,
        subject: None,
        before: Some("suspended".into()),
        after: Some("active".into()),
        message: format!("participant {id} is reinstated (suspended → active); {effect}"),
    }
}

/// How `who`'s connection widens from `before` to `after`, if it does and `who` is the consumer
/// of an agreement, or its `member` is (a member calls as a whole from a system that could call as
/// one of its subsystems); otherwise no data is reached through it.
fn connection(
    to: &Spec,
    member: &str,
    who: String,
    before: Option<&Connection>,
    after: &Connection,
) -> Option<Widening> {
    let describe = |c: &Connection| match c.protocol {
        ConnectionProtocol::Http => "http".to_string(),
        ConnectionProtocol::Https => {
            let certs: Vec<&str> = c.clients.iter().map(|c| c.cert.as_str()).collect();
            format!("https ({})", certs.join(", "))
        }
    };
    let change = match (before, after.protocol) {
        (None, _) => format!("can call for the first time, over {}", describe(after)),
        (Some(b), ConnectionProtocol::Http) if b.protocol == ConnectionProtocol::Https => {
            "now calls over plain HTTP from the node's host, unauthenticated".to_string()
        }
        (Some(b), ConnectionProtocol::Https) if b.protocol == ConnectionProtocol::Https => {
            let added: Vec<&str> = after
                .clients
                .iter()
                .filter(|c| !b.clients.contains(c))
                .map(|c| c.cert.as_str())
                .collect();
            if added.is_empty() {
                return None;
            }
            format!("accepts the client certificate {}", added.join(", "))
        }
        _ => return None,
    };
    let granted: Vec<&str> = to
        .agreements
        .iter()
        .filter(|a| a.consumer == who || a.consumer == member)
        .map(|a| a.id.as_str())
        .collect();
    if granted.is_empty() {
        return None;
    }
    Some(Widening {
        reason: Reason::Connection,
        message: format!(
            "subsystem {who} {change}; it is the consumer of {}",
            granted.join(", ")
        ),
        who,
        provider: None,
        agreement: None,
        subject: None,
        before: before.map(describe),
        after: Some(describe(after)),
    })
}

/// A new agreement, or an existing one that now names another consumer or provider.
fn granted(new: &Access, old: Option<&Agreement>) -> Widening {
    let a = new.agreement;
    let fields: Vec<String> = new
        .fields
        .iter()
        .map(|(path, class)| describe_field(path, class))
        .collect();
    let operations = if a.operations.is_empty() {
        "every operation".to_string()
    } else {
        let list: Vec<String> = a.operations.iter().map(operation).collect();
        let noun = if list.len() == 1 {
            "operation"
        } else {
            "operations"
        };
        format!("{noun} {}", list.join(", "))
    };
    let noun = if fields.len() == 1 { "field" } else { "fields" };
    let origin = match old {
        None => format!("new agreement {}", a.id),
        Some(old) => format!(
            "agreement {} now names {} → {}, was {} → {}",
            a.id, a.consumer, a.provider, old.consumer, old.provider
        ),
    };
    let message = format!(
        "{} gains {noun} {} and {operations} of {} ({origin})",
        a.consumer,
        fields.join(", "),
        a.provider
    );
    Widening {
        reason: Reason::NewAgreement,
        who: a.consumer.clone(),
        provider: Some(a.provider.clone()),
        agreement: Some(a.id.clone()),
        subject: None,
        before: old.map(|o| format!("{} → {}", o.consumer, o.provider)),
        after: None,
        message,
    }
}

fn compare(old: &Access, new: &Access, out: &mut Vec<Widening>) {
    let a = new.agreement;
    let entry = |reason,
                 subject: String,
                 before: Option<String>,
                 after: Option<String>,
                 message: String| Widening {
        reason,
        who: a.consumer.clone(),
        provider: Some(a.provider.clone()),
        agreement: Some(a.id.clone()),
        subject: Some(subject),
        before,
        after,
        message,
    };
    for (path, class) in &new.fields {
        match old.fields.get(path) {
            None => {
                let level = class
                    .as_ref()
                    .and_then(|c| c.level)
                    .filter(|l| *l > Level::Public);
                let adjective = level.map_or(String::new(), |l| format!("{} ", level_name(l)));
                out.push(entry(
                    Reason::Field,
                    path.clone(),
                    None,
                    None,
                    format!(
                        "{} gains {adjective}field {path} of {} (agreement {})",
                        a.consumer, a.provider, a.id
                    ),
                ));
            }
            Some(Some(was)) => {
                let Some(now) = class else { continue };
                let (Some(before), Some(after)) = (was.level, now.level) else {
                    continue;
                };
                if after <= before {
                    continue;
                }
                let cause = if was.id == now.id {
                    format!(
                        "data class {} raised from {} to {}",
                        now.id,
                        level_name(before),
                        level_name(after)
                    )
                } else {
                    format!("class {} → {}", was.id, now.id)
                };
                out.push(entry(
                    Reason::Sensitivity,
                    path.clone(),
                    Some(level_name(before).into()),
                    Some(level_name(after).into()),
                    format!(
                        "{} now receives {} data in field {path} of {}: {cause} (agreement {})",
                        a.consumer,
                        level_name(after),
                        a.provider,
                        a.id
                    ),
                ));
            }
            Some(None) => {}
        }
    }
    if a.operations.is_empty() && !old.agreement.operations.is_empty() {
        out.push(entry(
            Reason::AllOperations,
            "operations".into(),
            Some(
                old.agreement
                    .operations
                    .iter()
                    .map(operation)
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Some("every operation".into()),
            format!(
                "{} gains every operation of {}: agreement {} no longer lists operations",
                a.consumer, a.provider, a.id
            ),
        ));
    } else {
        for op in new.operations.difference(&old.operations) {
            out.push(entry(
                Reason::Operation,
                op.clone(),
                None,
                None,
                format!(
                    "{} gains operation {op} of {} (agreement {})",
                    a.consumer, a.provider, a.id
                ),
            ));
        }
    }
    for (subject, before, after, message) in extended(&old.agreement.valid, a) {
        out.push(entry(Reason::Validity, subject, before, after, message));
    }
}

/// How the validity of `a` grew compared with `old`: (property, before, after, message).
fn extended(
    old: &Validity,
    a: &Agreement,
) -> Vec<(String, Option<String>, Option<String>, String)> {
    let new = &a.valid;
    let mut out = Vec::new();
    let earlier = match (parse_date(&old.from), parse_date(&new.from)) {
        (Some(o), Some(n)) => n < o,
        _ => new.from < old.from,
    };
    if earlier {
        out.push((
            "valid.from".into(),
            Some(old.from.clone()),
            Some(new.from.clone()),
            format!(
                "{} gains access to {} from {} instead of {} (agreement {})",
                a.consumer, a.provider, new.from, old.from, a.id
            ),
        ));
    }
    let later = match (&old.until, &new.until) {
        (Some(_), None) => true,
        (Some(o), Some(n)) => match (parse_date(o), parse_date(n)) {
            (Some(o), Some(n)) => n > o,
            _ => n > o,
        },
        (None, _) => false,
    };
    if later {
        let until = match &new.until {
            Some(n) => format!("until {n}"),
            None => "with no end date".to_string(),
        };
        out.push((
            "valid.until".into(),
            old.until.clone(),
            new.until.clone(),
            format!(
                "{} keeps access to {} {until} instead of until {} (agreement {})",
                a.consumer,
                a.provider,
                old.until.as_deref().unwrap_or_default(),
                a.id
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::source::SourceSet;

    /// A provider whose response has `fields` (KDL), data classes, and `agreements` (KDL).
    fn spec(fields: &str, personal_level: &str, agreements: &str) -> Spec {
        let text = format!(
            r#"data-class "public" {{ title "P"; level "public"; }}
data-class "contact" {{ title "C"; level "{personal_level}"; }}
participant "water" {{
    name "W"; edrpou "03327121"; class "COM"; gateway "gw"; seal cert="w.crt"
    contacts {{ kind "k"; address "a"; phone "p"; email "e"; schedule "s"; }}
    service "debt" {{
        title "D"; description "D"; upstream "http://u"
        operation "GET" "/a/*"
        operation "POST" "/a/*"
        response {{
{fields}
        }}
    }}
}}
{agreements}"#
        );
        let loaded = crate::spec::load_sources(SourceSet::from_files(
            ".".into(),
            vec![("spec/t.kdl".into(), text)],
        ));
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        loaded.spec
    }

    fn agreement(consumer: &str, fields: &str) -> String {
        format!(
            r#"agreement "a" {{ consumer "{consumer}"; provider "water/debt"; fields {fields}; operation "GET" "/a/*"; valid from="2026-01-01"; }}"#
        )
    }

    const ADDRESS: &str = r#"field "address" type="object" { field "street" type="string"; }"#;

    fn messages(from: &Spec, to: &Spec) -> Vec<String> {
        widening(from, to).into_iter().map(|w| w.message).collect()
    }

    /// Participant `x` whose subsystem `y` declares `connection` (KDL, possibly empty), and
    /// agreement `a` granting `consumer` when given.
    fn connecting(connection: &str, consumer: Option<&str>) -> Spec {
        let agreement = consumer.map_or(String::new(), |consumer| {
            format!(
                r#"agreement "a" {{ consumer "{consumer}"; provider "x/s"; fields "f"; operation "GET" "/a"; valid from="2026-01-01"; }}"#
            )
        });
        let text = format!(
            r#"participant "x" {{
    name "X"; edrpou "03327121"; class "COM"; gateway "gw"; seal cert="x.crt"
    contacts {{ kind "k"; address "a"; phone "p"; email "e"; schedule "s"; }}
    subsystem "y" title="Y" {{
        {connection}
    }}
}}
{agreement}"#
        );
        let loaded = crate::spec::load_sources(SourceSet::from_files(
            ".".into(),
            vec![("spec/t.kdl".into(), text)],
        ));
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        loaded.spec
    }

    #[test]
    fn more_systems_calling_as_a_subsystem_widen_access() {
        let none = connecting("", Some("x/y"));
        let one = connecting(
            r#"connection "https" { client cert="a.crt"; }"#,
            Some("x/y"),
        );
        let two = connecting(
            r#"connection "https" { client cert="a.crt"; client cert="b.crt"; }"#,
            Some("x/y"),
        );
        let http = connecting(r#"connection "http""#, Some("x/y"));
        assert_eq!(
            messages(&none, &one),
            [
                "subsystem x/y can call for the first time, over https (a.crt); it is the consumer of a"
            ]
        );
        assert_eq!(
            messages(&one, &two),
            ["subsystem x/y accepts the client certificate b.crt; it is the consumer of a"]
        );
        assert_eq!(
            messages(&two, &http),
            [
                "subsystem x/y now calls over plain HTTP from the node's host, unauthenticated; it is the consumer of a"
            ]
        );
        assert_eq!(widening(&one, &two)[0].reason, Reason::Connection);
        let ungranted = connecting(r#"connection "http""#, None);
        assert!(
            widening(&none, &ungranted).is_empty(),
            "no agreement, no data"
        );
        for narrower in [(&two, &one), (&one, &none), (&http, &one), (&one, &one)] {
            assert!(widening(narrower.0, narrower.1).is_empty());
        }
    }

    #[test]
    fn a_subsystem_connecting_widens_what_its_member_is_granted_as_a_whole() {
        let one = connecting(r#"connection "https" { client cert="a.crt"; }"#, Some("x"));
        let two = connecting(
            r#"connection "https" { client cert="a.crt"; client cert="b.crt"; }"#,
            Some("x"),
        );
        assert_eq!(
            messages(&one, &two),
            ["subsystem x/y accepts the client certificate b.crt; it is the consumer of a"]
        );
    }

    #[test]
    fn a_field_added_inside_a_granted_object_is_released() {
        let from = spec(ADDRESS, "personal", &agreement("x/y", r#""address""#));
        let wider = r#"field "address" type="object" { field "street" type="string"; field "flat" type="string" class="contact"; }"#;
        let to = spec(wider, "personal", &agreement("x/y", r#""address""#));
        assert_eq!(
            messages(&from, &to),
            ["x/y gains personal field address.flat of water/debt (agreement a)"]
        );
        assert!(messages(&to, &from).is_empty());
    }

    #[test]
    fn a_new_consumer_on_an_existing_agreement_is_a_new_grant() {
        let from = spec(ADDRESS, "personal", &agreement("x/y", r#""address""#));
        let to = spec(ADDRESS, "personal", &agreement("x/z", r#""address""#));
        let found = widening(&from, &to);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].reason, Reason::NewAgreement);
        assert_eq!(found[0].who, "x/z");
        assert_eq!(found[0].before.as_deref(), Some("x/y → water/debt"));
        assert_eq!(
            found[0].message,
            "x/z gains fields address, address.street and operation GET /a/* of water/debt \
             (agreement a now names x/z → water/debt, was x/y → water/debt)"
        );
    }

    #[test]
    fn a_class_level_raised_reaches_only_agreements_releasing_its_fields() {
        let fields = r#"field "id" type="string"; field "phone" type="string" class="contact";"#;
        let from = spec(fields, "public", &agreement("x/y", r#""id""#));
        let to = spec(fields, "sensitive", &agreement("x/y", r#""id""#));
        assert!(widening(&from, &to).is_empty());

        let from = spec(fields, "public", &agreement("x/y", r#""id" "phone""#));
        let to = spec(fields, "sensitive", &agreement("x/y", r#""id" "phone""#));
        let found = widening(&from, &to);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].reason, Reason::Sensitivity);
        assert_eq!(
            (found[0].before.as_deref(), found[0].after.as_deref()),
            (Some("public"), Some("sensitive"))
        );
        // Lowering it back is not a widening.
        assert!(widening(&to, &from).is_empty());
    }

    #[test]
    fn validity_widens_when_it_starts_earlier_or_ends_later() {
        let dated = |from: &str, until: &str| {
            let until = if until.is_empty() {
                String::new()
            } else {
                format!(" until=\"{until}\"")
            };
            let a = format!(
                r#"agreement "a" {{ consumer "x/y"; provider "water/debt"; fields "id"; valid from="{from}"{until}; }}"#
            );
            spec(r#"field "id" type="string";"#, "public", &a)
        };
        let base = dated("2026-01-01", "2026-12-31");
        let reasons = |to: &Spec| {
            widening(&base, to)
                .iter()
                .map(|w| w.subject.clone().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(reasons(&dated("2025-06-01", "2026-12-31")), ["valid.from"]);
        assert_eq!(reasons(&dated("2026-01-01", "2027-12-31")), ["valid.until"]);
        assert_eq!(reasons(&dated("2026-01-01", "")), ["valid.until"]);
        assert!(reasons(&dated("2026-02-01", "2026-06-30")).is_empty());
    }
}
