//! Runs one scenario through the real case engine on its own in-memory store and a fake clock,
//! with the registries answering from the scenario (cut to the portal's agreement as the gateway
//! would), and compares what followed with what the scenario expects.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::check::form_data::application_data;
use crate::check::scenarios::moment;
use crate::crypto::Seal;
use crate::crypto::certs::Validity;
use crate::crypto::dev_ca::{self, LeafProfile, LeafRequest};
use crate::spec::minimise::Projection;
use crate::spec::model::{Act, EService, PROVIDER_SYSTEM, Scenario, Step, by_id};
use crate::spec::{Loaded, Spec};
use crate::store::Store;
use crate::workflow::calls::{BoxFuture, Registries, RegistryAnswer, RegistryCall};
use crate::workflow::clock::FakeClock;
use crate::workflow::engine::{Actor, Applicant, Engine, EngineError, Fire, Start};
use crate::workflow::seals::SealSet;
use crate::workflow::timers::sweep;

/// One way a scenario's run differs from what it expects, at the JSON pointer (inside the
/// scenario) of the expectation or step concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub pointer: String,
    pub what: String,
    pub expected: String,
    pub actual: String,
}

/// What the run of a scenario left, read back from the engine and its store.
#[derive(Debug, Default)]
struct Observed {
    states: Vec<String>,
    outcome: Option<String>,
    reason: Option<String>,
    documents: Vec<(String, Option<String>)>,
    /// (recipient kind, recipient, message)
    notices: Vec<(String, String, String)>,
    /// The deadline set when the case last entered each state.
    deadlines: BTreeMap<String, DateTime<Utc>>,
}

/// Runs `scenario` of the validated tree `loaded` and returns how it differs from its
/// expectations (empty: it passes). Only a failure to run at all is an `Err`.
pub async fn run(
    loaded: &Loaded,
    scenario: &Scenario,
    seals: Arc<SealSet>,
) -> Result<Vec<Difference>, String> {
    let spec = &loaded.spec;
    let e = by_id(&spec.e_services, &scenario.e_service)
        .ok_or_else(|| format!("unknown e-service `{}`", scenario.e_service))?;
    let form = spec
        .form(&e.form)
        .ok_or_else(|| format!("unknown form `{}`", e.form))?;
    let (data, _) = application_data(spec, form, &scenario.data);
    let submitted = at(&scenario.submitted)?;
    let clock = FakeClock::at(submitted.to_utc());
    let store = Store::connect("sqlite::memory:")
        .await
        .map_err(|e| format!("cannot open an in-memory store: {e}"))?;
    let engine = Engine::new(
        store,
        Arc::new(clock.clone()),
        Arc::new(Answers::of(spec, scenario)),
    );
    engine.set_seals(seals);
    engine
        .apply_revision("scenario", spec)
        .await
        .map_err(|e| e.to_string())?;
    let applicant = Applicant {
        id: scenario.applicant.rnokpp.clone(),
        name: scenario.applicant.name.clone(),
        email: scenario.applicant.email.clone(),
    };
    let mut differences = Vec::new();
    let mut observed = Observed::default();
    let started = engine
        .start(Start {
            key: &format!("scenario:{}:submit", scenario.id),
            e_service: &e.id,
            applicant: &applicant,
            data: &data,
            on_behalf: None,
            submitted_by: None,
        })
        .await;
    let case_id = match started {
        Ok(moved) => moved.case_id,
        Err(err) => {
            differences.push(Difference {
                pointer: "/submitted".into(),
                what: "the application is submitted".into(),
                expected: "a case starts".into(),
                actual: format!("refused: {err}"),
            });
            return Ok(differences);
        }
    };
    note_deadline(&engine, &case_id, &mut observed).await?;
    for (i, step) in scenario.steps.iter().enumerate() {
        match step {
            Step::Wait(wait) => advance(&engine, &clock, at(&wait.until)?).await?,
            Step::Step(act) => {
                if let Some(t) = &act.at {
                    advance(&engine, &clock, at(t)?).await?;
                }
                if let Err(d) = fire(&engine, scenario, e, &case_id, i, act).await {
                    // What the scenario expects after a refused step would only echo the refusal.
                    differences.push(d);
                    return Ok(differences);
                }
            }
        }
        note_deadline(&engine, &case_id, &mut observed).await?;
    }
    observe(&engine, &case_id, &mut observed).await?;
    let zone = spec
        .system()
        .and_then(|s| s.calendar.time_zone.parse::<Tz>().ok())
        .unwrap_or(Tz::Europe__Kyiv);
    compare(spec, scenario, &zone, &observed, &mut differences);
    Ok(differences)
}

fn at(text: &str) -> Result<DateTime<FixedOffset>, String> {
    moment(text).ok_or_else(|| format!("`{text}` is not a moment"))
}

/// Moves the clock to `to` and lets every timer due by then take effect.
async fn advance(
    engine: &Engine,
    clock: &FakeClock,
    to: DateTime<FixedOffset>,
) -> Result<(), String> {
    clock.set(to.to_utc());
    sweep(engine.store(), to.to_utc(), engine)
        .await
        .map(|_| ())
        .map_err(|e| format!("the timers due by {to} could not fire: {e}"))
}

/// Fires one step in the state the case is in now.
async fn fire(
    engine: &Engine,
    scenario: &Scenario,
    e_service: &EService,
    case_id: &str,
    i: usize,
    act: &Act,
) -> Result<(), Difference> {
    let ptr = format!("/steps/{i}/step");
    let differs = |actual: String| Difference {
        pointer: ptr.clone(),
        what: format!("step `{}` by `{}`", act.event, act.by),
        expected: "the transition fires".into(),
        actual,
    };
    let case = engine
        .case(case_id)
        .await
        .map_err(|e| differs(e.to_string()))?;
    let actor = match act.by.as_str() {
        "applicant" => Actor::Applicant(scenario.applicant.rnokpp.clone()),
        PROVIDER_SYSTEM => Actor::System(
            e_service
                .handled_by
                .as_ref()
                .map_or_else(|| PROVIDER_SYSTEM.to_string(), |h| h.subsystem.clone()),
        ),
        official => Actor::Official(official.to_string()),
    };
    let fired = engine
        .fire(Fire {
            key: &format!("scenario:{}:step:{i}", scenario.id),
            case_id,
            event: &act.event,
            actor: &actor,
            on_behalf: None,
            seen_state: &case.state,
        })
        .await;
    match (fired, act.refused) {
        (Ok(_), false) => Ok(()),
        (Err(e), true) if refusal(&e) => Ok(()),
        (Err(e), _) => Err(Difference {
            expected: match act.refused {
                true => "the engine refuses it for the case's own reasons".into(),
                false => "the transition fires".into(),
            },
            ..differs(format!("refused in state `{}`: {e}", case.state))
        }),
        (Ok(moved), true) => Err(Difference {
            expected: "the engine refuses it".into(),
            ..differs(format!("it fired: `{}` → `{}`", case.state, moved.state))
        }),
    }
}

/// Whether the engine refused a step for what the case is (its state, decision, guard, who
/// acts), not because it could not carry it out (a broken definition, the store).
fn refusal(e: &EngineError) -> bool {
    matches!(
        e,
        EngineError::UnknownEvent { .. }
            | EngineError::NotAllowed { .. }
            | EngineError::GuardFailed { .. }
            | EngineError::Closed { .. }
    )
}

async fn note_deadline(
    engine: &Engine,
    case_id: &str,
    observed: &mut Observed,
) -> Result<(), String> {
    let case = engine.case(case_id).await.map_err(|e| e.to_string())?;
    if let Some(due) = case
        .deadline_at
        .as_deref()
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
    {
        observed.deadlines.insert(case.state.clone(), due.to_utc());
    }
    Ok(())
}

async fn observe(engine: &Engine, case_id: &str, observed: &mut Observed) -> Result<(), String> {
    let case = engine.case(case_id).await.map_err(|e| e.to_string())?;
    observed.outcome = case.outcome.clone();
    observed.reason = case
        .decision
        .as_ref()
        .and_then(|d| d["reason"].as_str())
        .map(String::from);
    for event in engine.history(case_id).await.map_err(|e| e.to_string())? {
        match event.kind.as_str() {
            "started" | "transition" => observed.states.extend(event.to_state),
            "issued" => {
                let detail: Value = serde_json::from_str(&event.detail).unwrap_or_default();
                observed.documents.push((
                    detail["template"].as_str().unwrap_or_default().to_string(),
                    detail["number"].as_str().map(String::from),
                ));
            }
            _ => {}
        }
    }
    for n in engine.notices(case_id).await.map_err(|e| e.to_string())? {
        observed
            .notices
            .push((n.recipient_kind, n.recipient, n.message));
    }
    Ok(())
}

/// Compares what was observed with the expectations.
fn compare(spec: &Spec, s: &Scenario, zone: &Tz, seen: &Observed, out: &mut Vec<Difference>) {
    let mut differ = |pointer: String, what: &str, expected: String, actual: String| {
        out.push(Difference {
            pointer,
            what: what.to_string(),
            expected,
            actual,
        })
    };
    let x = &s.expect;
    if let Some(states) = &x.states
        && states != &seen.states
    {
        differ(
            "/expect/states".into(),
            "states",
            states.join(" → "),
            seen.states.join(" → "),
        );
    }
    if let Some(outcome) = x.outcome {
        let expected = outcome.outcome().map(|o| kebab(&o));
        if expected != seen.outcome {
            let show = |o: &Option<String>| o.clone().unwrap_or_else(|| "open".into());
            differ(
                "/expect/outcome".into(),
                "outcome",
                show(&expected),
                show(&seen.outcome),
            );
        }
    }
    if let Some(reason) = &x.reason
        && !seen
            .reason
            .as_deref()
            .is_some_and(|r| r.contains(reason.as_str()))
    {
        differ(
            "/expect/reason".into(),
            "decision's reason",
            format!("containing «{reason}»"),
            seen.reason
                .clone()
                .map_or("no decision".into(), |r| format!("«{r}»")),
        );
    }
    let shown = |docs: &mut dyn Iterator<Item = (&str, Option<&str>)>| {
        let list: Vec<String> = docs
            .map(|(t, n)| match n {
                Some(n) => format!("{t} №{n}"),
                None => t.to_string(),
            })
            .collect();
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    let documents_match = x.documents.len() == seen.documents.len()
        && x.documents
            .iter()
            .zip(&seen.documents)
            .all(|(want, (template, number))| {
                want.template == *template
                    && want
                        .number
                        .as_deref()
                        .is_none_or(|p| number.as_deref().is_some_and(|n| glob(p, n)))
            });
    if !documents_match {
        differ(
            match x.documents.is_empty() {
                true => "/expect".into(),
                false => "/expect/documents/0".into(),
            },
            "documents issued",
            shown(
                &mut x
                    .documents
                    .iter()
                    .map(|d| (d.template.as_str(), d.number.as_deref())),
            ),
            shown(
                &mut seen
                    .documents
                    .iter()
                    .map(|(t, n)| (t.as_str(), n.as_deref())),
            ),
        );
    }
    for (i, n) in x.notices.iter().enumerate() {
        let to_them = |kind: &str, recipient: &str| match n.to.as_str() {
            "applicant" => kind == "applicant",
            to => {
                kind == "official"
                    && (recipient == to
                        || by_id(&spec.officials, recipient)
                            .is_some_and(|o| o.roles.iter().any(|r| r == to)))
            }
        };
        let theirs: Vec<&str> = seen
            .notices
            .iter()
            .filter(|(kind, recipient, _)| to_them(kind, recipient))
            .map(|(_, _, m)| m.as_str())
            .collect();
        let found = theirs
            .iter()
            .any(|m| n.contains.as_deref().is_none_or(|c| m.contains(c)));
        if !found {
            differ(
                format!("/expect/notices/{i}"),
                &format!("notice to `{}`", n.to),
                n.contains
                    .as_ref()
                    .map_or("any notice".into(), |c| format!("containing «{c}»")),
                if theirs.is_empty() {
                    "none sent to them".into()
                } else {
                    theirs
                        .iter()
                        .map(|m| format!("«{m}»"))
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            );
        }
    }
    for (i, d) in x.deadlines.iter().enumerate() {
        let actual = seen
            .deadlines
            .get(&d.state)
            .map(|due| last_day(*due, zone).to_string());
        if actual.as_deref() != Some(d.due.as_str()) {
            differ(
                format!("/expect/deadlines/{i}"),
                &format!("deadline in state `{}`", d.state),
                d.due.clone(),
                actual.unwrap_or_else(|| "none set".into()),
            );
        }
    }
}

/// The last day, in the city's zone, of a period that ends at `due`: a period ending at
/// midnight ends with the day before it.
fn last_day(due: DateTime<Utc>, zone: &Tz) -> chrono::NaiveDate {
    (due - chrono::Duration::nanoseconds(1))
        .with_timezone(zone)
        .date_naive()
}

/// Throwaway seals for every participant of the tree, from a throwaway CA: a scenario shows a
/// document's text and number, not a participant's key (which never is in the spec).
pub fn throwaway_seals(spec: &Spec) -> Result<SealSet, String> {
    let failed = |e: openssl::error::ErrorStack| format!("cannot make the scenarios' seals: {e}");
    let validity = Validity {
        not_before: DateTime::parse_from_rfc3339("2000-01-01T00:00:00Z")
            .map_err(|e| e.to_string())?
            .to_utc(),
        not_after: DateTime::parse_from_rfc3339("2099-12-31T00:00:00Z")
            .map_err(|e| e.to_string())?
            .to_utc(),
    };
    let name = dev_ca::ca_name("Сценарії hromada test", "hromada").map_err(failed)?;
    let ca = dev_ca::self_signed_ca(dev_ca::new_key().map_err(failed)?, &name, &validity)
        .map_err(failed)?;
    let mut seals = SealSet::default();
    for p in &spec.participants {
        let key = dev_ca::new_key().map_err(failed)?;
        let request = LeafRequest {
            common_name: format!("Печатка {} (сценарії)", p.id),
            organisation: p.name.clone(),
            profile: LeafProfile::Seal {
                edrpou: p.edrpou.clone(),
            },
            validity,
        };
        let cert = dev_ca::issue(&ca, &request, &key).map_err(failed)?;
        seals.insert(Seal::new(p.id.clone(), cert, key)?);
    }
    Ok(seals)
}

fn kebab<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The registries of a scenario: each service answers what the scenario says, cut to the
/// fields the consumer's agreement grants, as the gateway would release it.
struct Answers {
    spec: Spec,
    /// The answer's JSON text by service; `None`: the service is unavailable.
    by_service: BTreeMap<String, Option<String>>,
}

impl Answers {
    fn of(spec: &Spec, scenario: &Scenario) -> Answers {
        let by_service = scenario
            .registry
            .iter()
            .map(|r| {
                let answer = r.answer.clone().filter(|_| !r.unavailable);
                (r.service.clone(), answer)
            })
            .collect();
        Answers {
            spec: spec.clone(),
            by_service,
        }
    }

    /// The answer as the consumer receives it: only what its agreement grants. Of several
    /// agreements for the service, the one granting every field the call uses (as the gateway
    /// picks the agreement whose operation the request matches).
    fn released(&self, request: &RegistryCall, json: &str) -> RegistryAnswer {
        let failed = |reason: String| RegistryAnswer::Failed { reason };
        let service = request.service;
        let Ok(value) = serde_json::from_str::<Value>(json) else {
            return failed(format!("the scenario's answer of `{service}` is not JSON"));
        };
        let Some((_, declared)) = self.spec.service(service) else {
            return failed(format!("the spec declares no service `{service}`"));
        };
        let agreements: Vec<_> = self
            .spec
            .agreements
            .iter()
            .filter(|a| a.consumer == request.consumer && a.provider == service)
            .collect();
        let grants_all = |a: &&&crate::spec::model::Agreement| {
            request.fields.iter().all(|f| {
                a.fields
                    .iter()
                    .any(|g| crate::spec::agreement_rules::grants_field(g, f))
            })
        };
        let Some(agreement) = agreements.iter().find(grants_all).or(agreements.first()) else {
            return failed(format!(
                "no agreement lets `{}` call `{service}`",
                request.consumer
            ));
        };
        let cut = Projection::of(agreement).project(&declared.response.fields, value);
        RegistryAnswer::Answered { data: cut.value }
    }
}

impl Registries for Answers {
    fn call<'a>(&'a self, request: RegistryCall<'a>) -> BoxFuture<'a, RegistryAnswer> {
        let answer = match self.by_service.get(request.service) {
            Some(Some(json)) => self.released(&request, json),
            Some(None) => RegistryAnswer::Failed {
                reason: format!(
                    "`{}` does not answer (the scenario says it is unavailable)",
                    request.service
                ),
            },
            None => RegistryAnswer::Failed {
                reason: format!("the scenario gives no answer of `{}`", request.service),
            },
        };
        Box::pin(async move { answer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// examples/minimal with the small tree of tests/data/scenarios laid over it.
    fn small_tree() -> Loaded {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["examples/minimal", "tests/data/scenarios"] {
            for sub in ["spec", "policies"] {
                let Ok(entries) = std::fs::read_dir(root.join(dir).join(sub)) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let text = std::fs::read_to_string(entry.path()).unwrap();
                    let name = format!("{sub}/{}", entry.file_name().to_string_lossy());
                    files.push((name, text));
                }
            }
        }
        let sources =
            crate::spec::source::SourceSet::from_files(root.join("examples/minimal"), files);
        crate::spec::load_sources(sources)
    }

    #[tokio::test]
    async fn answers_are_cut_to_the_agreement_and_unavailable_ones_fail() {
        let loaded = small_tree();
        let mut scenario = loaded.spec.scenarios[0].clone();
        scenario.registry[0].answer = Some(
            r#"{"account": "12345678", "debt-uah": 5, "owner_phone": "+380 67 000 00 00"}"#.into(),
        );
        let answers = Answers::of(&loaded.spec, &scenario);
        let fields = vec!["debt-uah".to_string()];
        let data = serde_json::json!({});
        let call = |service| RegistryCall {
            case_id: "c",
            consumer: "council/portal",
            service,
            fields: &fields,
            subject: "3012345670",
            data: &data,
        };
        let RegistryAnswer::Answered { data: released } = answers.call(call("water/abonent")).await
        else {
            panic!("the service answers");
        };
        assert_eq!(
            released,
            serde_json::json!({"account": "12345678", "debt-uah": 5})
        );
        let other = answers.call(call("water/outages")).await;
        assert!(matches!(other, RegistryAnswer::Failed { .. }), "{other:?}");
        scenario.registry[0].unavailable = true;
        let down = Answers::of(&loaded.spec, &scenario)
            .call(call("water/abonent"))
            .await;
        assert!(matches!(down, RegistryAnswer::Failed { .. }), "{down:?}");
    }

    #[test]
    fn globs_match_any_run_of_characters() {
        assert!(glob("АВ-1/2026", "АВ-1/2026"));
        assert!(!glob("АВ-1/2026", "АВ-2/2026"));
        assert!(glob("АВ-*/2026", "АВ-17/2026"));
        assert!(glob("*/1", "01-05/1"));
        assert!(!glob("*/1", "01-05/11"));
        assert!(glob("*-*", "a-b-c"));
        assert!(!glob("a*a", "a"));
    }
}
