//! Scenario checks (H11xx): a scenario names a declared e-service, fires transitions its workflow
//! has by people who may fire them, answers for exactly the services the workflow calls, gives
//! data the form takes, moves time forwards only, and expects what the workflow can produce.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};

use crate::spec::diagnostics::did_you_mean;
use crate::spec::minimise::Projection;
use crate::spec::model::{Action, EService, PROVIDER_SYSTEM, Scenario, Step, Workflow, by_id};
use crate::spec::{Diagnostic, Kind, Span};

use super::Checker;
use super::form_data::application_data;
use super::formats::{valid_email, valid_rnokpp};

/// A scenario's moment: `YYYY-MM-DDTHH:MM[:SS]` with a UTC offset (`+02:00`, `Z`).
pub fn moment(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .or_else(|| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%:z").ok())
        .or_else(|| {
            let local = text.strip_suffix('Z')?;
            let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M").ok()?;
            Some(naive.and_utc().fixed_offset())
        })
}

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    for s in &spec.scenarios {
        let mut at = At {
            c: &mut *c,
            id: &s.id,
        };
        applicant(&mut at, s);
        times(&mut at, s);
        let Some(e) = by_id(&spec.e_services, &s.e_service) else {
            if !at.c.loaded.map.is_declared(Kind::EService, &s.e_service) {
                let known = spec.e_services.iter().map(|e| e.id.as_str());
                let help = did_you_mean(&s.e_service, known).unwrap_or_else(|| {
                    format!(
                        "declare `e-service \"{}\"`, or name one the spec declares",
                        s.e_service
                    )
                });
                at.report(
                    Diagnostic::error("H1101", format!("scenario `{}` applies for unknown e-service `{}`", s.id, s.e_service))
                        .detail("a scenario runs an application of a declared e-service through that e-service's workflow")
                        .help(help),
                    "/e-service",
                );
            }
            continue;
        };
        if let Some(form) = spec.form(&e.form) {
            let (_, problems) = application_data(spec, form, &s.data);
            for p in problems {
                at.report(
                    Diagnostic::error(
                        "H1105",
                        format!("the form `{}` refuses the data: {}", form.id, p.message),
                    )
                    .detail(format!(
                        "scenario `{}` submits this data to e-service `{}`, whose form is `{}`",
                        s.id, e.id, form.id
                    ))
                    .help(p.help),
                    &format!("/data{}", p.pointer),
                );
            }
        }
        let Some(w) = by_id(&spec.workflows, &e.workflow) else {
            continue;
        };
        steps(&mut at, s, e, w);
        registry(&mut at, s, w);
        expectations(&mut at, s, w);
    }
}

/// Reports at a pointer inside one scenario, falling back to the scenario's node.
struct At<'c, 'a> {
    c: &'c mut Checker<'a>,
    id: &'c str,
}

impl At<'_, '_> {
    fn span(&self, ptr: &str) -> Option<Span> {
        self.c
            .at(Kind::Scenario, self.id, ptr)
            .or_else(|| self.c.at(Kind::Scenario, self.id, ""))
    }

    fn report(&mut self, d: Diagnostic, ptr: &str) {
        let span = self.span(ptr);
        self.c.report(d.at(span));
    }
}

/// H0302, H0306 for the applicant's taxpayer number and e-mail.
fn applicant(at: &mut At, s: &Scenario) {
    if !valid_rnokpp(&s.applicant.rnokpp) {
        at.report(
            Diagnostic::error("H0302", format!("`{}` is not a valid РНОКПП", s.applicant.rnokpp))
                .help("10 digits whose last is the check digit; a fictional applicant needs a number with a right check digit"),
            "/applicant/rnokpp",
        );
    }
    if let Some(email) = &s.applicant.email
        && !valid_email(email)
    {
        at.report(
            Diagnostic::error("H0306", format!("`{email}` is not an e-mail address"))
                .help("write it like `name@example.com`"),
            "/applicant/email",
        );
    }
}

/// H1108: every moment parses, and none comes before the one before it.
fn times(at: &mut At, s: &Scenario) {
    let mut moments = vec![("/submitted".to_string(), s.submitted.as_str())];
    for (i, step) in s.steps.iter().enumerate() {
        match step {
            Step::Step(act) => {
                if let Some(t) = &act.at {
                    moments.push((format!("/steps/{i}/step/at"), t));
                }
            }
            Step::Wait(wait) => moments.push((format!("/steps/{i}/wait/until"), &wait.until)),
        }
    }
    let mut last: Option<(DateTime<FixedOffset>, &str)> = None;
    for (ptr, text) in &moments {
        let Some(t) = moment(text) else {
            at.report(
                Diagnostic::error("H1108", format!("`{text}` is not a moment"))
                    .detail("a scenario's moments are a date and time with the UTC offset, so that they mean one instant")
                    .help("write it like `2026-03-02T10:00+02:00` (`+03:00` in summer time)"),
                ptr,
            );
            continue;
        };
        if let Some((before, written)) = last
            && t < before
        {
            at.report(
                Diagnostic::error(
                    "H1108",
                    format!("`{text}` comes before `{written}`, the moment before it"),
                )
                .detail("steps happen in the order they are written; time only moves forwards")
                .help("put the steps in the order they happen, or correct the moment"),
                ptr,
            );
        }
        last = Some((t, text));
    }
}

/// H1102 (a transition the workflow lacks) and H1103 (a person who may not fire it).
fn steps(at: &mut At, s: &Scenario, e: &EService, w: &Workflow) {
    let spec = at.c.spec();
    let events: BTreeSet<&str> = w
        .states
        .iter()
        .flat_map(|st| st.transitions.iter().map(|t| t.event.as_str()))
        .collect();
    for (i, step) in s.steps.iter().enumerate() {
        let Step::Step(act) = step else { continue };
        let ptr = format!("/steps/{i}/step");
        let transitions: Vec<_> = w
            .states
            .iter()
            .flat_map(|st| st.transitions.iter().map(move |t| (st, t)))
            .filter(|(_, t)| t.event == act.event)
            .collect();
        if transitions.is_empty() {
            at.report(
                Diagnostic::error(
                    "H1102",
                    format!("workflow `{}` has no transition `{}`", w.id, act.event),
                )
                .detail(format!(
                    "e-service `{}` runs on workflow `{}`; a step fires one of its transitions",
                    e.id, w.id
                ))
                .help(
                    did_you_mean(&act.event, events.iter().copied()).unwrap_or_else(|| {
                        format!(
                            "use one of: {}",
                            events.iter().copied().collect::<Vec<_>>().join(", ")
                        )
                    }),
                ),
                &format!("{ptr}/event"),
            );
            continue;
        }
        let official = by_id(&spec.officials, &act.by);
        let system = act.by == PROVIDER_SYSTEM;
        if system && e.handled_by.is_none() {
            at.report(
                Diagnostic::error(
                    "H1103",
                    format!(
                        "e-service `{}` names no `handled-by` system to take step `{}`",
                        e.id, act.event
                    ),
                )
                .detail("`provider-system` steps are reported by the provider's own system")
                .help("name an official's id, or `applicant`"),
                &format!("{ptr}/by"),
            );
            continue;
        }
        if act.by != "applicant" && !system && official.is_none() {
            let known = spec
                .officials
                .iter()
                .map(|o| o.id.as_str())
                .chain(["applicant"]);
            at.report(
                Diagnostic::error(
                    "H1103",
                    format!("`{}` is neither an official nor `applicant`", act.by),
                )
                .detail("a step is taken by the applicant or by an official the spec declares")
                .help(
                    did_you_mean(&act.by, known)
                        .unwrap_or_else(|| "name an official's id, or `applicant`".into()),
                ),
                &format!("{ptr}/by"),
            );
            continue;
        }
        let may = |role: &str| match official {
            None if system => role == PROVIDER_SYSTEM,
            None => role == "applicant",
            Some(o) => o.roles.iter().any(|r| r == role),
        };
        if transitions
            .iter()
            .any(|(_, t)| t.role.as_deref().is_some_and(may))
        {
            continue;
        }
        let roles: BTreeSet<&str> = transitions
            .iter()
            .filter_map(|(_, t)| t.role.as_deref())
            .collect();
        let why = if roles.is_empty() {
            "it has no role: it fires by itself when its guard holds".to_string()
        } else {
            let holder = match official {
                None => "the applicant".to_string(),
                Some(o) => format!(
                    "official `{}` holds {}",
                    o.id,
                    o.roles
                        .iter()
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            format!(
                "it is fired by {}; {holder}",
                roles
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        };
        let holders: Vec<&str> = spec
            .officials
            .iter()
            .filter(|o| o.roles.iter().any(|r| roles.contains(r.as_str())))
            .map(|o| o.id.as_str())
            .collect();
        let help = if roles.is_empty() {
            "remove the step: the engine fires the transition itself".to_string()
        } else if roles.contains("applicant") {
            "write `by=\"applicant\"`".to_string()
        } else if holders.is_empty() {
            "no official holds that role; give the role to an official".to_string()
        } else {
            format!("let one of them take the step: {}", holders.join(", "))
        };
        at.report(
            Diagnostic::error(
                "H1103",
                format!("`{}` may not fire transition `{}`", act.by, act.event),
            )
            .detail(why)
            .help(help),
            &format!("{ptr}/by"),
        );
    }
}

/// The services the workflow's `call` actions call.
fn called(w: &Workflow) -> BTreeSet<&str> {
    w.states
        .iter()
        .flat_map(|s| &s.transitions)
        .flat_map(|t| &t.actions)
        .filter_map(|a| match a {
            Action::Call(call) => Some(call.service.as_str()),
            _ => None,
        })
        .collect()
}

/// H1104 (answers for services the workflow does not call, twice, or not at all) and H1106
/// (an answer that is not one JSON object, or that is both given and unavailable).
fn registry(at: &mut At, s: &Scenario, w: &Workflow) {
    let called = called(w);
    let mut answered = BTreeSet::new();
    for (i, r) in s.registry.iter().enumerate() {
        let ptr = format!("/registry/{i}");
        if !called.contains(r.service.as_str()) {
            at.report(
                Diagnostic::error("H1104", format!("workflow `{}` does not call `{}`", w.id, r.service))
                    .detail("a scenario answers for the registry services its workflow's `call` actions call, in their place")
                    .help(match called.is_empty() {
                        true => "remove the answer: the workflow calls no service".to_string(),
                        false => did_you_mean(&r.service, called.iter().copied())
                            .unwrap_or_else(|| format!("the workflow calls: {}", called.iter().copied().collect::<Vec<_>>().join(", "))),
                    }),
                &format!("{ptr}/service"),
            );
        } else if !answered.insert(r.service.as_str()) {
            at.report(
                Diagnostic::error("H1104", format!("`{}` is answered twice", r.service))
                    .help("keep one answer per service"),
                &format!("{ptr}/service"),
            );
        }
        match (&r.answer, r.unavailable) {
            (Some(_), true) => at.report(
                Diagnostic::error("H1106", format!("the answer of `{}` is given and `unavailable`", r.service))
                    .help("keep the JSON answer, or `unavailable=#true`, not both"),
                &format!("{ptr}/unavailable"),
            ),
            (None, false) => at.report(
                Diagnostic::error("H1106", format!("`{}` has no answer", r.service))
                    .help("write its JSON answer after the service, e.g. `registry \"participant/service\" #\"{\"field\": 1}\"#`, or `unavailable=#true`"),
                &ptr,
            ),
            (Some(json), false) => match serde_json::from_str::<serde_json::Value>(json) {
                Ok(answer @ serde_json::Value::Object(_)) => mistyped(at, &ptr, &r.service, answer),
                Ok(_) => at.report(
                    Diagnostic::error("H1106", format!("the answer of `{}` is not a JSON object", r.service))
                        .help("a registry service answers an object: `{\"field\": …}`"),
                    &format!("{ptr}/answer"),
                ),
                Err(e) => at.report(
                    Diagnostic::error("H1106", format!("the answer of `{}` is not JSON", r.service))
                        .detail(format!("{e}"))
                        .help("write the JSON in a raw string, `#\"{\"field\": 1}\"#`, so that its quotes need no escapes"),
                    &format!("{ptr}/answer"),
                ),
            },
            (None, true) => {}
        }
    }
    let given: BTreeSet<&str> = s.registry.iter().map(|r| r.service.as_str()).collect();
    for service in called.difference(&given) {
        at.report(
            Diagnostic::error("H1104", format!("scenario `{}` does not say what `{service}` answers", s.id))
                .detail(format!("workflow `{}` calls `{service}`; a scenario makes no live call, so it must answer in its place", w.id))
                .help(format!("add `registry \"{service}\" #\"{{…}}\"#`, or `registry \"{service}\" unavailable=#true`")),
            "/e-service",
        );
    }
}

/// H1106: an answer's values that are not of the types the service declares for them (the
/// gateway would release them as `null`, so guards and templates would not see what is written).
fn mistyped(at: &mut At, ptr: &str, service: &str, answer: serde_json::Value) {
    let Some((_, declared)) = at.c.spec().service(service) else {
        return;
    };
    let fields = &declared.response.fields;
    let everything = Projection::new(fields.iter().map(|f| f.name.as_str()));
    let cut = everything.project(fields, answer);
    for path in cut.mistyped {
        at.report(
            Diagnostic::error("H1106", format!("`{path}` in the answer of `{service}` is not of its declared type"))
                .detail(format!("service `{service}` declares the type of each field of its answer; the gateway releases a value of another type as `null`"))
                .help("write the value as the service declares it (a number without quotes, a date as YYYY-MM-DD, …)"),
            &format!("{ptr}/answer"),
        );
    }
}

/// H1107: expectations name states and templates of the workflow, the states start where the
/// workflow starts, and deadlines are dates.
fn expectations(at: &mut At, s: &Scenario, w: &Workflow) {
    let x = &s.expect;
    let nothing = x.states.is_none()
        && x.outcome.is_none()
        && x.reason.is_none()
        && x.documents.is_empty()
        && x.notices.is_empty()
        && x.deadlines.is_empty();
    if nothing {
        at.report(
            Diagnostic::error("H1107", format!("scenario `{}` expects nothing", s.id))
                .detail("a scenario that expects nothing passes whatever the workflow does")
                .help("say what must follow, e.g. `states …`, `outcome \"granted\"`, `document …`"),
            "/expect",
        );
    }
    let states: Vec<&str> = w.states.iter().map(|st| st.id.as_str()).collect();
    let unknown_state = |at: &mut At, ptr: &str, name: &str| {
        at.report(
            Diagnostic::error(
                "H1107",
                format!("workflow `{}` has no state `{name}`", w.id),
            )
            .help(
                did_you_mean(name, states.iter().copied())
                    .unwrap_or_else(|| format!("use one of: {}", states.join(", "))),
            ),
            ptr,
        );
    };
    if let Some(list) = &s.expect.states {
        for (i, name) in list.iter().enumerate() {
            if !states.contains(&name.as_str()) {
                unknown_state(at, &format!("/expect/states/{i}"), name);
            }
        }
        if list
            .first()
            .is_some_and(|first| first != &w.start && states.contains(&first.as_str()))
        {
            at.report(
                Diagnostic::error("H1107", format!("the states begin with `{}`, but workflow `{}` starts in `{}`", list[0], w.id, w.start))
                    .detail("`states` lists every state the application is in, from the one it is submitted into")
                    .help(format!("begin the list with `{}`", w.start)),
                "/expect/states/0",
            );
        }
    }
    for (i, d) in s.expect.deadlines.iter().enumerate() {
        if !states.contains(&d.state.as_str()) {
            unknown_state(at, &format!("/expect/deadlines/{i}/state"), &d.state);
        } else if w
            .states
            .iter()
            .any(|st| st.id == d.state && st.deadline.is_none())
        {
            at.report(
                Diagnostic::error("H1107", format!("state `{}` has no deadline", d.state))
                    .help("remove the expectation, or give the state a `deadline`"),
                &format!("/expect/deadlines/{i}/state"),
            );
        }
        if NaiveDate::parse_from_str(&d.due, "%Y-%m-%d").is_err() {
            at.report(
                Diagnostic::error("H1107", format!("`{}` is not a date", d.due))
                    .help("write YYYY-MM-DD"),
                &format!("/expect/deadlines/{i}/due"),
            );
        }
    }
    let spec = at.c.spec();
    for (i, n) in s.expect.notices.iter().enumerate() {
        let known = n.to == "applicant"
            || by_id(&spec.officials, &n.to).is_some()
            || by_id(&spec.roles, &n.to).is_some();
        if !known {
            let names = spec
                .officials
                .iter()
                .map(|o| o.id.as_str())
                .chain(spec.roles.iter().map(|r| r.id.as_str()))
                .chain(["applicant"]);
            at.report(
                Diagnostic::error("H1107", format!("notice to unknown `{}`", n.to))
                    .detail(
                        "a notice goes to the applicant, an official or the officials of a role",
                    )
                    .help(did_you_mean(&n.to, names).unwrap_or_else(|| {
                        "name `applicant`, an official's id or a role id".into()
                    })),
                &format!("/expect/notices/{i}/to"),
            );
        }
    }
    let issued: BTreeSet<&str> = w
        .states
        .iter()
        .flat_map(|st| &st.transitions)
        .flat_map(|t| &t.actions)
        .filter_map(|a| match a {
            Action::Issue(issue) => Some(issue.template.as_str()),
            _ => None,
        })
        .collect();
    for (i, d) in s.expect.documents.iter().enumerate() {
        if !issued.contains(d.template.as_str()) {
            at.report(
                Diagnostic::error(
                    "H1107",
                    format!("workflow `{}` never issues `{}`", w.id, d.template),
                )
                .help(match issued.is_empty() {
                    true => "the workflow issues no document; remove the expectation".to_string(),
                    false => {
                        did_you_mean(&d.template, issued.iter().copied()).unwrap_or_else(|| {
                            format!(
                                "it issues: {}",
                                issued.iter().copied().collect::<Vec<_>>().join(", ")
                            )
                        })
                    }
                }),
                &format!("/expect/documents/{i}/template"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::moment;

    #[test]
    fn moments_carry_an_offset() {
        let t = moment("2026-03-02T10:00+02:00").unwrap();
        assert_eq!(t.to_utc().to_rfc3339(), "2026-03-02T08:00:00+00:00");
        assert_eq!(
            moment("2026-03-02T10:00:30+02:00").unwrap().timestamp() % 60,
            30
        );
        assert_eq!(
            moment("2026-03-02T10:00Z").unwrap().to_utc(),
            moment("2026-03-02T12:00+02:00").unwrap().to_utc()
        );
        for bad in [
            "2026-03-02 10:00",
            "2026-03-02T10:00",
            "2026-03-02",
            "завтра",
            "",
        ] {
            assert!(moment(bad).is_none(), "{bad}");
        }
    }
}
