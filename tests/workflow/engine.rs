//! The engine's core on both databases: cases started and moved by people and by themselves,
//! refusals (role, guard, moved case, closed case, reused key), double submits, the definition
//! pinned per revision, a request cut off between its call and its write, and the history chain
//! held by `audit verify`'s check.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use hromada::crypto::dev_ca::{self, LeafProfile, LeafRequest};
use hromada::crypto::{Seal, Validity};
use hromada::spec::Spec;
use hromada::spec::model::{EService, Workflow};
use hromada::store::{CaseFilter, Store};
use hromada::workflow::assignment::Assign;
use hromada::workflow::calls::{BoxFuture, Registries, RegistryAnswer, RegistryCall};
use hromada::workflow::clock::{FakeClock, SharedClock};
use hromada::workflow::engine::{Actor, Applicant, Engine, EngineError, Fire, Start};
use hromada::workflow::history;
use hromada::workflow::seals::{SealSet, Seals};
use hromada::workflow::timers::sweep;
use serde_json::{Value, json};

use hromada::gateway::in_process::InProcess;
use hromada::gateway::keys::KeyRing;
use hromada::gateway::message_log::MessageLog;
use hromada::gateway::{Gateway, Limits};
use hromada::identity::Revision;
use hromada::reconcile::identify::referenced_files;
use hromada::workflow::key_seals::KeyRingSeals;
use hromada::workflow::registries::GatewayRegistries;

use crate::both;
use crate::common::db::{Db, execute};
use crate::common::federation::Federation;

/// Registry answers set by the test; counts the calls; `hang` makes calls never answer.
#[derive(Default)]
struct Answers {
    by_service: Mutex<HashMap<String, RegistryAnswer>>,
    calls: AtomicUsize,
    hang: std::sync::atomic::AtomicBool,
    subjects: Mutex<Vec<String>>,
}

impl Answers {
    fn set(&self, service: &str, answer: RegistryAnswer) {
        self.by_service
            .lock()
            .unwrap()
            .insert(service.to_string(), answer);
    }
}

impl Registries for Answers {
    fn call<'a>(&'a self, request: RegistryCall<'a>) -> BoxFuture<'a, RegistryAnswer> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.subjects
                .lock()
                .unwrap()
                .push(format!("{} as {}", request.subject, request.consumer));
            if self.hang.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            self.by_service
                .lock()
                .unwrap()
                .get(request.service)
                .cloned()
                .unwrap_or(RegistryAnswer::Failed {
                    reason: "the registry did not answer".into(),
                })
        })
    }
}

fn test_workflow(grant_title: &str) -> Workflow {
    serde_json::from_value(json!({
        "id": "test-water", "title": "Test", "start": "checking",
        "states": [
            {"id": "checking", "transitions": [
                {"event": "auto-grant", "to": "granted",
                 "guard": "registry.balance and registry.balance.debt_uah <= 0",
                 "actions": [
                    {"call": {"service": "vodokanal/balance", "fields": ["debt_uah"]}},
                    {"decide": {"outcome": "granted", "reason": "no debt"}},
                    {"notify": {"to": "applicant", "message": "granted"}}]},
                {"event": "auto-refuse", "to": "refused",
                 "guard": "registry.balance and registry.balance.debt_uah > 0",
                 "actions": [{"decide": {"outcome": "refused", "reason": "debt"}},
                             {"notify": {"to": "applicant", "message": "refused"}}]},
                {"event": "unavailable", "to": "review", "guard": "not registry.balance",
                 "actions": [{"notify": {"to": "water-clerk", "message": "to review"}}]},
                {"event": "withdraw", "to": "withdrawn", "role": "applicant"}
            ]},
            {"id": "review", "role": "water-clerk", "transitions": [
                {"event": "grant", "title": grant_title, "to": "granted", "role": "water-clerk",
                 "guard": "account_number|length == 8",
                 "actions": [{"notify": {"to": "applicant", "message": "granted by hand"}}]},
                {"event": "refuse", "to": "refused", "role": "water-clerk",
                 "actions": [{"notify": {"to": "applicant", "message": "refused by hand"}}]},
                {"event": "withdraw", "to": "withdrawn", "role": "applicant"}
            ]},
            {"id": "granted", "outcome": "granted"},
            {"id": "refused", "outcome": "refused"},
            {"id": "withdrawn", "outcome": "withdrawn"}
        ]
    }))
    .unwrap()
}

fn looping_workflow() -> Workflow {
    serde_json::from_value(json!({
        "id": "test-loop", "title": "Loop", "start": "a",
        "states": [
            {"id": "a", "transitions": [{"event": "to-b", "to": "b"}]},
            {"id": "b", "transitions": [{"event": "to-a", "to": "a"}]},
            {"id": "done", "outcome": "granted"}
        ]
    }))
    .unwrap()
}

/// The example city with the test workflows and an e-service for each.
fn city(grant_title: &str) -> Spec {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut spec = hromada::spec::load(root).spec;
    let base: EService = spec
        .e_services
        .iter()
        .find(|e| e.id == "water-no-debt")
        .unwrap()
        .clone();
    for w in [test_workflow(grant_title), looping_workflow()] {
        spec.e_services.push(EService {
            journal: None,
            id: w.id.clone(),
            workflow: w.id.clone(),
            ..base.clone()
        });
        spec.workflows.push(w);
    }
    spec.sort();
    spec
}

struct Setup {
    engine: Arc<Engine>,
    answers: Arc<Answers>,
    store: Store,
    clock: FakeClock,
}

async fn setup(db: &Db) -> Setup {
    let store = Store::connect(&db.url).await.unwrap();
    let answers = Arc::new(Answers::default());
    // Monday 2 March 2026, 09:00 UTC.
    let clock = FakeClock::at(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let engine = Arc::new(Engine::new(store.clone(), shared, answers.clone()));
    engine.apply_revision("r1", &city("Видати")).await.unwrap();
    Setup {
        engine,
        answers,
        store,
        clock,
    }
}

/// A seal of `participant` from a throwaway development CA, valid from 2025 to the start of
/// `until`.
fn seal(participant: &str, until: i32) -> Seal {
    let validity = dev_ca::validity_from_now(3650);
    let name = dev_ca::ca_name("Тестовий ЦСК", "Тест").unwrap();
    let ca = dev_ca::self_signed_ca(dev_ca::new_key().unwrap(), &name, &validity).unwrap();
    let key = dev_ca::new_key().unwrap();
    let request = LeafRequest {
        common_name: format!("Печатка {participant}"),
        organisation: participant.into(),
        profile: LeafProfile::Seal {
            edrpou: "04053915".into(),
        },
        validity: Validity {
            not_before: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            not_after: Utc.with_ymd_and_hms(until, 1, 1, 0, 0, 0).unwrap(),
        },
    };
    let cert = dev_ca::issue(&ca, &request, &key).unwrap();
    Seal::new(participant, cert, key).unwrap()
}

impl Setup {
    fn clock_now(&self) -> chrono::DateTime<Utc> {
        hromada::workflow::clock::Clock::now(&self.clock)
    }
}

fn applicant() -> Applicant {
    Applicant {
        id: "3182736455".into(),
        name: "Тест Тестович".into(),
        email: Some("test@example.org".into()),
    }
}

fn data() -> Value {
    json!({"rnokpp": "3182736455", "account_number": "12345678", "purpose": "01",
           "email": "test@example.org"})
}

fn debt(uah: &str) -> RegistryAnswer {
    RegistryAnswer::Answered {
        data: serde_json::from_str(&format!(r#"{{"debt_uah": {uah}}}"#)).unwrap(),
    }
}

async fn start(
    engine: &Engine,
    key: &str,
    e_service: &str,
) -> Result<hromada::workflow::engine::Moved, EngineError> {
    engine
        .start(Start {
            key,
            e_service,
            applicant: &applicant(),
            data: &data(),
            on_behalf: None,
            submitted_by: None,
        })
        .await
}

fn fire<'a>(
    key: &'a str,
    case_id: &'a str,
    event: &'a str,
    actor: &'a Actor,
    seen: &'a str,
) -> Fire<'a> {
    Fire {
        key,
        case_id,
        event,
        actor,
        on_behalf: None,
        seen_state: seen,
    }
}

async fn assign(
    engine: &Engine,
    case_id: &str,
    key: &str,
    assignee: Option<&str>,
    actor: &Actor,
    seen_version: i64,
) -> Result<hromada::workflow::engine::Moved, EngineError> {
    engine
        .assign(Assign {
            key,
            case_id,
            assignee,
            actor,
            on_behalf: None,
            seen_version,
        })
        .await
}

/// The kinds of a case's events, in order.
async fn kinds(engine: &Engine, case_id: &str) -> Vec<String> {
    engine
        .history(case_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| match e.event {
            Some(ev) => format!("{}:{ev}", e.kind),
            None => e.kind,
        })
        .collect()
}

async fn intact(store: &Store) -> bool {
    let report = history::verify(store).await.unwrap();
    assert!(report.intact(), "{:?}", report.problems);
    true
}

both! {
    async fn the_water_certificate_is_issued_sealed_numbered_and_mailed_in_one_request(db: Db) {
        let s = setup(&db).await;
        s.answers.set("vodokanal/balance", RegistryAnswer::Answered {
            data: serde_json::from_str(r#"{"debt_uah": 0.00, "balance_date": "2026-03-01",
                "address": {"street": "Соборна", "building": "12", "apartment": "5"}}"#).unwrap(),
        });
        // Without vodokanal's seal the whole move is refused and nothing of it stays.
        let e = start(&s.engine, "k1", "water-no-debt").await.unwrap_err();
        assert!(e.to_string().contains("participant `vodokanal` has no seal key"), "{e}");
        assert!(s.engine.cases(&Default::default()).await.unwrap().is_empty());
        assert_eq!(s.store.case_events_head().await.unwrap().0, 0);
        assert_eq!(s.store.queued_mail().await.unwrap(), 0);
        // With an expired seal it fails after the journal gave it a number: the number is given
        // back with the rest.
        let mut seals = SealSet::default();
        seals.insert(seal("vodokanal", 2026));
        s.engine.set_seals(Arc::new(seals));
        let e = start(&s.engine, "k1", "water-no-debt").await.unwrap_err();
        assert!(e.to_string().contains("renew it before issuing documents"), "{e}");
        assert!(s.engine.cases(&Default::default()).await.unwrap().is_empty());

        let mut seals = SealSet::default();
        seals.insert(seal("vodokanal", 2030));
        s.engine.set_seals(Arc::new(seals));
        let moved = start(&s.engine, "k1", "water-no-debt").await.unwrap();
        assert_eq!((moved.state.as_str(), moved.outcome.as_deref()), ("issued", Some("granted")));
        let documents = s.store.documents_of_case(&moved.case_id).await.unwrap();
        assert_eq!(documents.len(), 1);
        assert_eq!(documents[0].number.as_deref(), Some("АВ-1/2026"), "no number lost to the failed tries");
        assert_eq!(documents[0].sealed_by, "vodokanal");
        assert!(documents[0].text.contains("вул. Соборна, буд. 12, кв. 5"), "{}", documents[0].text);
        assert!(documents[0].text.contains(&format!("№ {} від 02.03.2026", moved.case_id)), "{}", documents[0].text);
        assert_eq!(s.store.queued_mail().await.unwrap(), 1, "one mail to the applicant");
        assert!(s.store.pending_timers(&moved.case_id).await.unwrap().is_empty(), "checking's deadline was cancelled on leaving it");
        let kinds = kinds(&s.engine, &moved.case_id).await;
        assert!(kinds.contains(&"issued:auto-issue".to_string()), "{kinds:?}");

        // The same request again issues nothing more.
        let again = start(&s.engine, "k1", "water-no-debt").await.unwrap();
        assert_eq!(again, moved);
        assert_eq!(s.store.documents_of_case(&moved.case_id).await.unwrap().len(), 1);
        assert_eq!(s.store.queued_mail().await.unwrap(), 1);
        assert!(intact(&s.store).await);
    }

    async fn reminders_escalations_and_the_deadline_fire_from_the_timers(db: Db) {
        let s = setup(&db).await;
        let data = json!({"monthly_income": 4200});
        let moved = s.engine.start(Start {
            key: "k1", e_service: "material-aid", applicant: &applicant(), data: &data,
            on_behalf: None,
            submitted_by: None,
        }).await.unwrap();
        let id = moved.case_id;
        let case = s.engine.case(&id).await.unwrap();
        assert_eq!((case.state.as_str(), case.role.as_deref()), ("received", Some("social-clerk")));
        // 5 working days from Monday 2 March: the end of Monday 9 March in Kyiv.
        assert!(case.deadline_at.as_deref().unwrap().starts_with("2026-03-09T22:00:00"), "{:?}", case.deadline_at);
        let timers = s.store.pending_timers(&id).await.unwrap();
        assert_eq!(timers.len(), 3, "deadline, one reminder, one escalation: {timers:?}");

        // A week later the reminder (2 working days before) is due: the clerks are reminded.
        s.clock.set(Utc.with_ymd_and_hms(2026, 3, 6, 9, 0, 0).unwrap());
        assert_eq!(sweep(&s.store, s.clock_now(), s.engine.as_ref()).await.unwrap(), 1);
        let notices = s.engine.notices(&id).await.unwrap();
        let mut reminded: Vec<&str> = notices.iter().map(|n| n.recipient.as_str()).collect();
        reminded.sort();
        assert_eq!(reminded, ["koval-o", "moroz-v"], "no assignee: the role's officials are reminded");
        // Past the deadline and a working day more: overdue, then escalated to the head.
        s.clock.set(Utc.with_ymd_and_hms(2026, 3, 12, 9, 0, 0).unwrap());
        assert_eq!(sweep(&s.store, s.clock_now(), s.engine.as_ref()).await.unwrap(), 2);
        let case = s.engine.case(&id).await.unwrap();
        assert_eq!(case.role.as_deref(), Some("social-head"));
        assert_eq!(case.state, "received");
        let kinds = kinds(&s.engine, &id).await;
        assert!(kinds.contains(&"overdue".to_string()) && kinds.contains(&"escalated".to_string()), "{kinds:?}");
        assert!(s.engine.notices(&id).await.unwrap().iter().any(|n| n.recipient == "tkachenko-o"));
        assert_eq!(sweep(&s.store, s.clock_now(), s.engine.as_ref()).await.unwrap(), 0, "each fires once");

        // Moving on cancels what was left and schedules the next state's timers.
        let clerk = Actor::Official("koval-o".into());
        s.engine.fire(fire("f1", &id, "to-commission", &clerk, "received")).await.unwrap();
        let timers = s.store.pending_timers(&id).await.unwrap();
        assert_eq!(timers.len(), 3, "commission: deadline, reminder, escalation: {timers:?}");
        assert!(timers.iter().all(|t| t.key.starts_with("commission#")), "{timers:?}");
        assert!(intact(&s.store).await);
    }

    async fn the_gateway_answers_a_call_in_process_projected_and_logged(db: Db) {
        let dir = tempfile::tempdir().unwrap();
        let federation = Federation::new(dir.path()).await;
        let loaded = hromada::spec::load(&federation.root);
        // The checks read (and so name) the certificates a revision references, as serve's do.
        hromada::check::run(&loaded, Utc::now().date_naive());
        let documents = referenced_files(&loaded.sources)
            .into_iter()
            .filter_map(|path| {
                let bytes = std::fs::read(loaded.sources.root.join(&path)).ok()?;
                Some((path, Arc::<[u8]>::from(bytes)))
            })
            .collect();
        let revision = Revision { id: "r1".into(), content_hash: "0".repeat(64) };
        let compiled = Arc::new(
            hromada::compile::compile(loaded.spec, revision, Some("gw-core"), documents).unwrap(),
        );
        let store = Store::connect(&db.url).await.unwrap();
        let gateway = Arc::new(Gateway::new(
            MessageLog::new(store.clone()),
            KeyRing::new(federation.root.join("dev-keys")),
            Limits::default(),
        ));
        // The participants' seals come from the keys folder with the revision's certificates.
        let seals = KeyRingSeals::new(KeyRing::new(federation.root.join("dev-keys")), compiled.clone());
        assert_eq!(seals.seal("council").unwrap().participant(), "council");
        let e = seals.seal("nobody").unwrap_err();
        assert!(e.contains("`nobody` is not declared"), "{e}");
        let registries = GatewayRegistries::new(InProcess::new(gateway, Arc::new(move || Some(compiled.clone()))));
        let call = |consumer: &'static str, data: Value| {
            let registries = &registries;
            async move {
                registries.call(RegistryCall {
                    case_id: "c0ffee",
                    consumer,
                    service: "council/residents",
                    fields: &[],
                    subject: "3182736455",
                    data: &data,
                }).await
            }
        };

        let answer = call("council/registry", json!({"purpose": "01"})).await;
        let RegistryAnswer::Answered { data } = answer else { panic!("{answer:?}") };
        assert_eq!(data["full_name"], "Іваненко Марія Петрівна");
        assert!(data.get("note").is_none() && data.get("rnokpp").is_none(), "projected to the grant: {data}");
        let seen = federation.upstream.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].get("x-road-userid").unwrap(), "3182736455");
        let uses = store.subject_uses("3182736455", 1, 10).await.unwrap();
        assert_eq!(uses.total, 1, "the data subject's record is written");
        assert_eq!(uses.uses[0].provider, "council/residents");

        // The portal holds no agreement for the register: refused by the gateway, and logged.
        let answer = call("council/portal", json!({})).await;
        let RegistryAnswer::Failed { reason } = answer else { panic!("{answer:?}") };
        assert!(reason.to_lowercase().contains("agreement"), "{reason}");
        assert_eq!(federation.upstream.seen.lock().unwrap().len(), 1, "the upstream was not asked");
        let heads = store.message_log_heads().await.unwrap();
        assert_eq!(heads.iter().map(|h| h.seq).sum::<i64>(), 2, "both calls are in the message log");
        // A consumer the spec does not declare is refused before anything is sent.
        let answer = call("council/nobody", json!({})).await;
        assert!(matches!(answer, RegistryAnswer::Failed { .. }), "{answer:?}");
    }

    async fn a_case_with_no_debt_is_decided_automatically_in_one_request(db: Db) {
        let s = setup(&db).await;
        s.answers.set("vodokanal/balance", debt("0.00"));
        let moved = start(&s.engine, "k1", "test-water").await.unwrap();
        assert_eq!(moved.state, "granted");
        assert_eq!(moved.outcome.as_deref(), Some("granted"));
        assert_eq!(moved.steps.len(), 1);
        assert!(moved.steps[0].automatic);
        let case = s.engine.case(&moved.case_id).await.unwrap();
        assert_eq!(case.decision, Some(json!({"outcome": "granted", "reason": "no debt"})));
        assert_eq!(case.registry["balance"]["debt_uah"].to_string(), "0.00");
        assert_eq!(case.revision, "r1");
        assert_eq!(
            kinds(&s.engine, &moved.case_id).await,
            ["started", "called", "transition:auto-grant", "decided:auto-grant", "notified"]
        );
        let notices = s.engine.notices(&moved.case_id).await.unwrap();
        assert_eq!(notices.len(), 1);
        assert_eq!((notices[0].recipient_kind.as_str(), notices[0].recipient.as_str()), ("applicant", "3182736455"));
        // The call was made as the portal's subsystem for the applicant as data subject.
        assert_eq!(s.answers.subjects.lock().unwrap().as_slice(), ["3182736455 as city-council/portal"]);
        assert!(intact(&s.store).await);
    }

    async fn a_debt_given_as_a_numeral_string_is_judged_as_the_number_it_is(db: Db) {
        let s = setup(&db).await;
        for (key, debt, state) in [("k1", "0.00", "granted"), ("k2", "12.50", "refused")] {
            s.answers.set("vodokanal/balance", RegistryAnswer::Answered {
                data: json!({"debt_uah": debt}),
            });
            let moved = start(&s.engine, key, "test-water").await.unwrap();
            assert_eq!(moved.state, state, "a debt of \"{debt}\"");
            let case = s.engine.case(&moved.case_id).await.unwrap();
            assert_eq!(case.registry["balance"]["debt_uah"].to_string(), debt, "its digits kept");
        }
    }

    async fn a_case_with_debt_is_refused_and_a_silent_registry_sends_it_to_an_official(db: Db) {
        let s = setup(&db).await;
        s.answers.set("vodokanal/balance", debt("12.50"));
        let refused = start(&s.engine, "k1", "test-water").await.unwrap();
        assert_eq!((refused.state.as_str(), refused.outcome.as_deref()), ("refused", Some("refused")));

        s.answers.by_service.lock().unwrap().clear();
        let review = start(&s.engine, "k2", "test-water").await.unwrap();
        assert_eq!((review.state.as_str(), review.outcome), ("review", None));
        let case = s.engine.case(&review.case_id).await.unwrap();
        assert_eq!(case.role.as_deref(), Some("water-clerk"));
        assert_eq!(case.registry, json!({}));
        let notices = s.engine.notices(&review.case_id).await.unwrap();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!((notices[0].recipient_kind.as_str(), notices[0].recipient.as_str()), ("official", "honcharenko-n"));
        assert!(intact(&s.store).await);
    }

    async fn an_official_decides_and_the_wrong_people_are_refused(db: Db) {
        let s = setup(&db).await;
        let review = start(&s.engine, "k1", "test-water").await.unwrap();
        let id = review.case_id.clone();
        let before = s.engine.case(&id).await.unwrap();

        // An official without the role.
        let koval = Actor::Official("koval-o".into());
        let e = s.engine.fire(fire("f1", &id, "grant", &koval, "review")).await.unwrap_err();
        assert_eq!(e.code(), "not-allowed", "{e}");
        assert!(e.to_string().contains("`koval-o` does not hold role `water-clerk`"), "{e}");
        // The applicant may not grant; an official may not withdraw for the applicant.
        let me = Actor::Applicant("3182736455".into());
        let e = s.engine.fire(fire("f2", &id, "grant", &me, "review")).await.unwrap_err();
        assert_eq!(e.code(), "not-allowed", "{e}");
        let clerk = Actor::Official("honcharenko-n".into());
        let e = s.engine.fire(fire("f3", &id, "withdraw", &clerk, "review")).await.unwrap_err();
        assert!(e.to_string().contains("only the case's applicant"), "{e}");
        // Someone else's applicant id.
        let other = Actor::Applicant("1111111111".into());
        let e = s.engine.fire(fire("f4", &id, "withdraw", &other, "review")).await.unwrap_err();
        assert_eq!(e.code(), "not-allowed");
        // An automatic transition is nobody's to fire; an unknown one names the ones there are.
        let e = s.engine.fire(fire("f5", &id, "auto-grant", &clerk, "review")).await.unwrap_err();
        assert_eq!(e.code(), "unknown-event", "{e}");
        assert!(e.to_string().contains("grant, refuse, withdraw"), "{e}");
        assert_eq!(s.engine.case(&id).await.unwrap(), before, "a refusal changes nothing");

        let moved = s.engine.fire(fire("f6", &id, "grant", &clerk, "review")).await.unwrap();
        assert_eq!((moved.state.as_str(), moved.outcome.as_deref()), ("granted", Some("granted")));
        let history = s.engine.history(&id).await.unwrap();
        let last = history.iter().rev().find(|e| e.kind == "transition").unwrap();
        assert_eq!(last.actor, "official:honcharenko-n");
        assert_eq!((last.from_state.as_deref(), last.to_state.as_deref()), (Some("review"), Some("granted")));
        // A closed case does not move.
        let e = s.engine.fire(fire("f7", &id, "withdraw", &me, "granted")).await.unwrap_err();
        assert_eq!(e.code(), "closed", "{e}");
        assert!(intact(&s.store).await);
    }

    async fn officials_of_the_role_take_and_hand_over_a_case(db: Db) {
        let s = setup(&db).await;
        let moved = s.engine.start(Start {
            key: "k1", e_service: "material-aid", applicant: &applicant(),
            data: &json!({"monthly_income": 4200}), on_behalf: None, submitted_by: None,
        }).await.unwrap();
        let id = moved.case_id;
        let koval = Actor::Official("koval-o".into());
        let head = Actor::Official("tkachenko-o".into());
        let e = assign(&s.engine, &id, "a0", Some("tkachenko-o"), &koval, 1).await.unwrap_err();
        assert!(e.to_string().contains("`tkachenko-o` does not hold role `social-clerk`"), "{e}");
        let e = assign(&s.engine, &id, "a1", Some("koval-o"), &head, 1).await.unwrap_err();
        assert_eq!(e.code(), "not-allowed", "{e}");
        let taken = assign(&s.engine, &id, "a2", Some("koval-o"), &koval, 1).await.unwrap();
        assert_eq!(taken.version, 2);
        assert_eq!(assign(&s.engine, &id, "a2", Some("koval-o"), &koval, 1).await.unwrap(), taken, "a double submit");
        let e = assign(&s.engine, &id, "a3", Some("moroz-v"), &koval, 1).await.unwrap_err();
        assert_eq!(e.code(), "stale", "{e}");
        let case = s.engine.case(&id).await.unwrap();
        assert_eq!(case.assignee.as_deref(), Some("koval-o"));
        let assigned: Vec<_> = s.engine.history(&id).await.unwrap().into_iter()
            .filter(|e| e.kind == "assigned").collect();
        assert_eq!(assigned.len(), 1);
        assert_eq!(assigned[0].actor, "official:koval-o");
        // The reminder now reaches the assignee alone.
        s.clock.set(Utc.with_ymd_and_hms(2026, 3, 6, 9, 0, 0).unwrap());
        sweep(&s.store, s.clock_now(), s.engine.as_ref()).await.unwrap();
        let reminded: Vec<String> = s.engine.notices(&id).await.unwrap().into_iter().map(|n| n.recipient).collect();
        assert_eq!(reminded, ["koval-o"]);
        // In the commission's state the head's role works it, and the clerk no longer holds it.
        s.engine.fire(fire("f1", &id, "to-commission", &koval, "received")).await.unwrap();
        let case = s.engine.case(&id).await.unwrap();
        assert_eq!((case.role.as_deref(), case.assignee), (Some("social-head"), None));
        assert!(intact(&s.store).await);
    }

    async fn an_officials_decision_details_reach_the_decision_and_the_history(db: Db) {
        let s = setup(&db).await;
        let id = start(&s.engine, "k1", "test-water").await.unwrap().case_id;
        let clerk = Actor::Official("honcharenko-n".into());
        let e = s.engine.fire_with(fire("f0", &id, "grant", &clerk, "review"), Some(&json!("12.50"))).await.unwrap_err();
        assert_eq!(e.code(), "invalid", "{e}");
        let details: Value = serde_json::from_str(r#"{"amount": 1500.50}"#).unwrap();
        s.engine.fire_with(fire("f1", &id, "grant", &clerk, "review"), Some(&details)).await.unwrap();
        let case = s.engine.case(&id).await.unwrap();
        assert_eq!(case.decision.unwrap()["amount"].to_string(), "1500.50");
        let history = s.engine.history(&id).await.unwrap();
        let grant = history.iter().find(|e| e.event.as_deref() == Some("grant")).unwrap();
        assert!(grant.detail.contains("1500.50"), "{}", grant.detail);
    }

    async fn a_guard_that_does_not_hold_refuses_the_transition(db: Db) {
        let s = setup(&db).await;
        let moved = s.engine.start(Start {
            key: "k1", e_service: "test-water", applicant: &applicant(),
            data: &json!({"account_number": "123"}), on_behalf: None, submitted_by: None,
        }).await.unwrap();
        let clerk = Actor::Official("honcharenko-n".into());
        let e = s.engine.fire(fire("f1", &moved.case_id, "grant", &clerk, "review")).await.unwrap_err();
        assert_eq!(e.code(), "guard-failed");
        assert!(e.to_string().contains("`account_number|length == 8` does not hold"), "{e}");
        assert_eq!(s.engine.case(&moved.case_id).await.unwrap().state, "review");
        // The refusal used no idempotency key: the same key may carry the next request.
        let ok = s.engine.fire(fire("f1", &moved.case_id, "refuse", &clerk, "review")).await.unwrap();
        assert_eq!(ok.state, "refused");
    }

    async fn a_case_someone_else_moved_is_not_moved_again(db: Db) {
        let s = setup(&db).await;
        let id = start(&s.engine, "k1", "test-water").await.unwrap().case_id;
        let clerk = Actor::Official("honcharenko-n".into());
        let me = Actor::Applicant("3182736455".into());
        s.engine.fire(fire("w1", &id, "withdraw", &me, "review")).await.unwrap();
        let e = s.engine.fire(fire("g1", &id, "refuse", &clerk, "review")).await.unwrap_err();
        assert_eq!(e.code(), "closed", "{e}");
        let e = s.engine.fire(fire("g2", &id, "refuse", &clerk, "checking")).await.unwrap_err();
        assert_eq!(e.code(), "closed", "{e}");

        // Two officials press different buttons on the same case at once: one wins.
        let id = start(&s.engine, "k2", "test-water").await.unwrap().case_id;
        let (a, b) = tokio::join!(
            s.engine.fire(fire("a", &id, "grant", &clerk, "review")),
            s.engine.fire(fire("b", &id, "refuse", &clerk, "review")),
        );
        assert!(a.is_ok() != b.is_ok(), "exactly one of two racing transitions is made: {a:?} {b:?}");
        let loser = a.err().or(b.err()).unwrap();
        assert!(matches!(loser.code(), "stale" | "closed"), "{loser}");
        let transitions = kinds(&s.engine, &id).await.iter().filter(|k| k.starts_with("transition:")).count();
        assert_eq!(transitions, 2, "unavailable, then one of grant or refuse");
        assert!(intact(&s.store).await);
    }

    async fn a_double_submit_makes_one_transition_and_answers_the_same(db: Db) {
        let s = setup(&db).await;
        let first = start(&s.engine, "k1", "test-water").await.unwrap();
        let again = start(&s.engine, "k1", "test-water").await.unwrap();
        assert_eq!(first, again);
        assert_eq!(s.answers.calls.load(Ordering::SeqCst), 1, "a replay makes no registry call");
        let id = first.case_id;
        let clerk = Actor::Official("honcharenko-n".into());
        let (a, b) = tokio::join!(
            s.engine.fire(fire("g", &id, "grant", &clerk, "review")),
            s.engine.fire(fire("g", &id, "grant", &clerk, "review")),
        );
        assert_eq!(a.unwrap(), b.unwrap());
        let third = s.engine.fire(fire("g", &id, "grant", &clerk, "review")).await.unwrap();
        assert_eq!(third.state, "granted");
        let grants = kinds(&s.engine, &id).await.iter().filter(|k| *k == "transition:grant").count();
        assert_eq!(grants, 1);
        assert_eq!(s.engine.notices(&id).await.unwrap().len(), 2, "one for review, one for the grant");
        // The same key for a different request is refused and moves nothing.
        let e = s.engine.fire(fire("g", &id, "refuse", &clerk, "review")).await.unwrap_err();
        assert_eq!(e.code(), "key-reused", "{e}");
        let e = start(&s.engine, "g", "test-water").await.unwrap_err();
        assert_eq!(e.code(), "key-reused", "{e}");
        assert_eq!(s.engine.cases(&Default::default()).await.unwrap().len(), 1);
        start(&s.engine, "k2", "test-water").await.unwrap();
        let open = CaseFilter { state: Some("review".into()), open_only: true, ..Default::default() };
        assert_eq!(s.engine.cases(&open).await.unwrap().len(), 1, "one granted, one in review");
        assert_eq!(s.engine.cases(&Default::default()).await.unwrap().len(), 2);
    }

    async fn a_request_cut_off_after_its_call_leaves_the_case_where_it_was(db: Db) {
        let s = setup(&db).await;
        s.answers.hang.store(true, Ordering::SeqCst);
        let cut = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            start(&s.engine, "k1", "test-water"),
        ).await;
        assert!(cut.is_err(), "the request was cut off while its call was out");
        assert_eq!(s.answers.calls.load(Ordering::SeqCst), 1);
        assert!(s.engine.cases(&Default::default()).await.unwrap().is_empty(), "no case half-made");
        assert_eq!(s.store.case_events_head().await.unwrap().0, 0, "no event written");

        // The retry with the same key makes the case once, with one notice.
        s.answers.hang.store(false, Ordering::SeqCst);
        s.answers.set("vodokanal/balance", debt("0"));
        let moved = start(&s.engine, "k1", "test-water").await.unwrap();
        assert_eq!(moved.state, "granted");
        assert_eq!(s.engine.cases(&Default::default()).await.unwrap().len(), 1);
        assert_eq!(s.engine.notices(&moved.case_id).await.unwrap().len(), 1);
        assert!(intact(&s.store).await);
    }

    async fn a_case_runs_on_the_definition_it_started_under(db: Db) {
        let s = setup(&db).await;
        let id = start(&s.engine, "k1", "test-water").await.unwrap().case_id;
        // Revision r2 drops the `refuse` transition from review.
        let mut spec = city("Видати (r2)");
        let w = spec.workflows.iter_mut().find(|w| w.id == "test-water").unwrap();
        w.states[1].transitions.retain(|t| t.event != "refuse");
        s.engine.apply_revision("r2", &spec).await.unwrap();
        let clerk = Actor::Official("honcharenko-n".into());
        let moved = s.engine.fire(fire("f", &id, "refuse", &clerk, "review")).await.unwrap();
        assert_eq!(moved.state, "refused", "the r1 case still has r1's transitions");
        let new = start(&s.engine, "k2", "test-water").await.unwrap().case_id;
        assert_eq!(s.engine.case(&new).await.unwrap().revision, "r2");
        let e = s.engine.fire(fire("f2", &new, "refuse", &clerk, "review")).await.unwrap_err();
        assert_eq!(e.code(), "unknown-event", "{e}");
        // Re-applying r1 with other content is refused: a pinned revision never changes.
        let e = s.engine.apply_revision("r1", &spec).await.unwrap_err();
        assert!(e.to_string().contains("already pinned"), "{e}");
    }

    async fn automatic_transitions_that_loop_come_to_rest(db: Db) {
        let s = setup(&db).await;
        let moved = start(&s.engine, "k1", "test-loop").await.unwrap();
        assert_eq!(moved.steps.len(), hromada::workflow::engine::MAX_AUTOMATIC_STEPS);
        assert!(moved.outcome.is_none());
        assert!(intact(&s.store).await);
    }

    async fn a_rewritten_event_or_case_row_is_noticed(db: Db) {
        let s = setup(&db).await;
        s.answers.set("vodokanal/balance", debt("0"));
        let a = start(&s.engine, "k1", "test-water").await.unwrap().case_id;
        let b = start(&s.engine, "k2", "test-water").await.unwrap().case_id;
        assert!(intact(&s.store).await);
        let out = crate::common::hromada(&["audit", "verify", "--database-url", &db.url]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("case history intact: 10 event(s) of 2 case(s)"), "{stdout}");

        // A case row changed without an event.
        execute(&db.url, &format!("UPDATE cases SET state = 'checking', outcome = NULL WHERE id = '{a}'")).await;
        let report = history::verify(&s.store).await.unwrap();
        assert!(report.problems.iter().any(|p| p.contains(&a) && p.contains("changed without an event")), "{:?}", report.problems);
        execute(&db.url, &format!("UPDATE cases SET state = 'granted', outcome = 'granted' WHERE id = '{a}'")).await;
        assert!(intact(&s.store).await);

        // An event's content rewritten.
        execute(&db.url, &format!("UPDATE case_events SET actor = 'official:someone' WHERE case_id = '{b}' AND kind = 'started'")).await;
        let report = history::verify(&s.store).await.unwrap();
        assert!(report.problems.iter().any(|p| p.contains(&b) && p.contains("changed after it was written")), "{:?}", report.problems);
        // `hromada audit verify` says so and exits 1.
        let out = crate::common::hromada(&["audit", "verify", "--database-url", &db.url]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("case history BROKEN") && stdout.contains(&b), "{stdout}");

        // A whole case deleted with its events.
        let fresh = Db::sqlite();
        let t = setup(&fresh).await;
        t.answers.set("vodokanal/balance", debt("0"));
        let a = start(&t.engine, "k1", "test-water").await.unwrap().case_id;
        start(&t.engine, "k2", "test-water").await.unwrap();
        execute(&fresh.url, &format!("DELETE FROM case_events WHERE case_id = '{a}'")).await;
        execute(&fresh.url, &format!("DELETE FROM cases WHERE id = '{a}'")).await;
        let report = history::verify(&t.store).await.unwrap();
        assert!(report.problems.iter().any(|p| p.contains("missing") && p.contains("deleted")), "{:?}", report.problems);
    }
}

/// `hromada test` runs the engine on an in-memory store: a whole case there, timers included.
#[tokio::test]
async fn the_engine_runs_on_an_in_memory_store() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let answers = Arc::new(Answers::default());
    let clock = FakeClock::at(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
    let engine = Engine::new(store.clone(), Arc::new(clock.clone()), answers.clone());
    engine.apply_revision("r1", &city("Видати")).await.unwrap();
    let moved = engine
        .start(Start {
            key: "k1",
            e_service: "material-aid",
            applicant: &applicant(),
            data: &json!({"monthly_income": 4200}),
            on_behalf: None,
            submitted_by: None,
        })
        .await
        .unwrap();
    clock.set(Utc.with_ymd_and_hms(2026, 3, 12, 9, 0, 0).unwrap());
    let now = hromada::workflow::clock::Clock::now(&clock);
    assert_eq!(sweep(&store, now, &engine).await.unwrap(), 3);
    let clerk = Actor::Official("koval-o".into());
    let e = engine
        .fire(fire(
            "f0",
            &moved.case_id,
            "to-commission",
            &clerk,
            "commission",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "stale", "{e}");
    let moved = engine
        .fire(fire(
            "f1",
            &moved.case_id,
            "to-commission",
            &clerk,
            "received",
        ))
        .await
        .unwrap();
    assert_eq!(moved.state, "commission");
    assert!(intact(&store).await);
}

both! {
    async fn only_the_providers_system_reports_its_transitions_and_it_fires_no_other(db: Db) {
        let s = setup(&db).await;
        let started = start(&s.engine, "h1", "heating-recalculation").await.unwrap();
        let id = started.case_id.clone();
        assert_eq!(started.state, "received");
        let before = s.engine.case(&id).await.unwrap();

        // An official holding the state's role cannot report for the provider's system.
        let clerk = Actor::Official("shevchuk-o".into());
        let e = s.engine.fire(fire("s1", &id, "accepted", &clerk, "received")).await.unwrap_err();
        assert_eq!(e.code(), "not-allowed", "{e}");
        assert!(e.to_string().contains("reported by the provider's own system"), "{e}");
        // The system fires no official's transition, nor the applicant's.
        let zbut = Actor::System("teplomerezhi/zbut".into());
        let e = s.engine.fire(fire("s2", &id, "refuse", &zbut, "received")).await.unwrap_err();
        assert_eq!(e.code(), "not-allowed", "{e}");
        assert!(e.to_string().contains("not by system:teplomerezhi/zbut"), "{e}");
        let e = s.engine.fire(fire("s3", &id, "withdraw", &zbut, "received")).await.unwrap_err();
        assert_eq!(e.code(), "not-allowed", "{e}");
        assert_eq!(s.engine.case(&id).await.unwrap(), before, "a refusal changes nothing");

        let moved = s.engine.fire(fire("s4", &id, "accepted", &zbut, "received")).await.unwrap();
        assert_eq!(moved.state, "calculating");
        let history = s.engine.history(&id).await.unwrap();
        let last = history.iter().rev().find(|e| e.kind == "transition").unwrap();
        assert_eq!(last.actor, "system:teplomerezhi/zbut");
        assert!(intact(&s.store).await);
    }
}
