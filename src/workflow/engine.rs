//! The engine: starts cases and fires their transitions. A request first plans (judges the role
//! and guard, makes the `call`s of each state it enters, follows automatic transitions), then
//! writes the whole move in ONE transaction: case row, events, notices, mail, documents, timers.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::ArcSwapOption;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::spec::Spec;
use crate::store::{
    CaseEventRow, CaseFilter, CaseRequestRow, CaseRow, NewCaseEvent, NoticeRow, Store, StoreError,
    Tx,
};

use super::actions;
use super::calendar::Calendar;
use super::calls::{Registries, RegistryAnswer, RegistryCall};
use super::clock::SharedClock;
use super::definition::{Definition, Person, is_automatic};
use super::guards::{Facts, Guards};
use super::seals::{SealSet, Seals};

/// How many automatic transitions one request may follow before the engine stops and leaves the
/// case where it is (a workflow whose automatic transitions loop).
pub const MAX_AUTOMATIC_STEPS: usize = 16;

/// Who acts on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "id")]
pub enum Actor {
    /// The applicant, by their id (РНОКПП or the portal's user id).
    Applicant(String),
    /// An official, by their id in the spec.
    Official(String),
    /// The engine itself (automatic transitions).
    Engine,
    /// A timer (reminders, escalations, deadlines).
    Timer,
}

impl Actor {
    /// The actor as the history writes it.
    pub fn label(&self) -> String {
        match self {
            Actor::Applicant(id) => format!("applicant:{id}"),
            Actor::Official(id) => format!("official:{id}"),
            Actor::Engine => "engine".into(),
            Actor::Timer => "timer".into(),
        }
    }
}

/// The person a case is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    /// Their id: the data subject of the case's registry calls.
    pub id: String,
    pub name: String,
    /// Where e-mail notices go, if they gave an address.
    pub email: Option<String>,
}

/// A request to start a case.
#[derive(Debug, Clone, Copy)]
pub struct Start<'a> {
    /// Idempotency key: the same key again starts nothing and answers the same.
    pub key: &'a str,
    pub e_service: &'a str,
    pub applicant: &'a Applicant,
    /// The application's data (the form's fields).
    pub data: &'a Value,
    /// Acting for whom, when someone submits for the applicant (a representative, ЦНАП staff).
    pub on_behalf: Option<&'a str>,
}

/// A request to fire a transition.
#[derive(Debug, Clone, Copy)]
pub struct Fire<'a> {
    /// Idempotency key: the same key again moves nothing and answers the same.
    pub key: &'a str,
    pub case_id: &'a str,
    pub event: &'a str,
    pub actor: &'a Actor,
    pub on_behalf: Option<&'a str>,
    /// The state the caller saw the case in; if it moved since, the request is refused.
    pub seen_state: &'a str,
}

/// One transition a request made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub event: String,
    pub from: String,
    pub to: String,
    /// Fired by the engine because its guard held, not by a person.
    pub automatic: bool,
}

/// What a request did: the case's state after it and the transitions made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub case_id: String,
    pub state: String,
    pub outcome: Option<String>,
    pub version: i64,
    pub steps: Vec<Step>,
}

/// A case as the engine shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub workflow: String,
    pub revision: String,
    pub e_service: String,
    pub state: String,
    pub outcome: Option<String>,
    pub applicant: Applicant,
    pub assignee: Option<String>,
    pub role: Option<String>,
    pub data: Value,
    /// Registry answers by service id (`registry.<service id>` in guards).
    pub registry: Value,
    /// `{outcome, reason}` once decided.
    pub decision: Option<Value>,
    pub deadline_at: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub state_entered_at: String,
}

/// Why the engine refused or failed a request; the message says what, to which case, and what
/// to do.
#[derive(Debug)]
pub enum EngineError {
    /// No revision has been applied to the engine yet.
    NoRevision,
    UnknownEService(String),
    UnknownCase(String),
    /// The event is not a transition of the case's state.
    UnknownEvent {
        case_id: String,
        state: String,
        event: String,
        events: Vec<String>,
    },
    /// The actor may not fire the transition.
    NotAllowed {
        case_id: String,
        message: String,
    },
    /// The transition's guard does not hold.
    GuardFailed {
        case_id: String,
        event: String,
        guard: String,
        why: Option<String>,
    },
    /// The case is no longer in the state the caller saw (someone else moved it).
    Stale {
        case_id: String,
        seen: String,
        now: String,
    },
    /// The case has an outcome; nothing moves it any more.
    Closed {
        case_id: String,
        outcome: String,
    },
    /// The idempotency key was used for a different request.
    KeyReused {
        key: String,
    },
    /// A request is malformed (empty key, data that is not an object, …).
    Invalid(String),
    /// The pinned definition is missing or broken, or an action cannot be done.
    Definition(String),
    Store(StoreError),
}

impl EngineError {
    /// A stable short name of the error's kind, for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::NoRevision => "no-revision",
            EngineError::UnknownEService(_) => "unknown-e-service",
            EngineError::UnknownCase(_) => "unknown-case",
            EngineError::UnknownEvent { .. } => "unknown-event",
            EngineError::NotAllowed { .. } => "not-allowed",
            EngineError::GuardFailed { .. } => "guard-failed",
            EngineError::Stale { .. } => "stale",
            EngineError::Closed { .. } => "closed",
            EngineError::KeyReused { .. } => "key-reused",
            EngineError::Invalid(_) => "invalid",
            EngineError::Definition(_) => "definition",
            EngineError::Store(_) => "store",
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::NoRevision => f.write_str(
                "the case engine has no revision of the spec yet; wait until the appliance has \
                 applied one (see /api/status)",
            ),
            EngineError::UnknownEService(id) => write!(
                f,
                "e-service `{id}` is not declared in the applied revision; check its id in the catalogue"
            ),
            EngineError::UnknownCase(id) => write!(f, "there is no case `{id}`"),
            EngineError::UnknownEvent {
                case_id,
                state,
                event,
                events,
            } => write!(
                f,
                "case {case_id} is in state `{state}`, which has no transition `{event}`; it has: {}",
                if events.is_empty() {
                    "none".to_string()
                } else {
                    events.join(", ")
                }
            ),
            EngineError::NotAllowed { case_id, message } => {
                write!(f, "case {case_id}: {message}")
            }
            EngineError::GuardFailed {
                case_id,
                event,
                guard,
                why,
            } => {
                write!(
                    f,
                    "case {case_id}: transition `{event}` is not allowed now: its condition \
                     `{guard}` does not hold"
                )?;
                match why {
                    Some(why) => write!(f, " (it could not be judged: {why})"),
                    None => Ok(()),
                }
            }
            EngineError::Stale { case_id, seen, now } => write!(
                f,
                "case {case_id} is no longer in state `{seen}`: someone else moved it to `{now}`; \
                 reload the case and decide again"
            ),
            EngineError::Closed { case_id, outcome } => write!(
                f,
                "case {case_id} is closed with outcome `{outcome}`; nothing can move it any more"
            ),
            EngineError::KeyReused { key } => write!(
                f,
                "the idempotency key `{key}` was already used for a different request; send a new \
                 key for a new request"
            ),
            EngineError::Invalid(message) => f.write_str(message),
            EngineError::Definition(message) => f.write_str(message),
            EngineError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> EngineError {
        EngineError::Store(e)
    }
}

/// A pinned definition with its guards and calendar compiled.
pub struct Runnable {
    pub definition: Definition,
    pub guards: Guards,
    pub calendar: Calendar,
}

/// The applied revision: what new cases start on, and who holds which role now.
struct Current {
    revision: String,
    officials: Vec<Person>,
    /// e-service id → workflow id.
    e_services: HashMap<String, String>,
}

/// The case engine. Cheap to share behind an `Arc`.
pub struct Engine {
    store: Store,
    clock: SharedClock,
    registries: Arc<dyn Registries>,
    current: ArcSwapOption<Current>,
    runnables: Mutex<HashMap<(String, String), Arc<Runnable>>>,
    seals: RwLock<Arc<dyn Seals>>,
}

/// The case as a transition is planned on it.
#[derive(Clone)]
pub(super) struct Draft {
    pub row: CaseRow,
    pub data: Value,
    /// Registry answers by service id: always a JSON object.
    pub registry: Value,
    pub decision: Option<Value>,
}

/// One transition planned: what fired and what the state it enters answered.
pub(super) struct PlannedStep {
    pub state: String,
    pub event: String,
    pub automatic: bool,
    /// The registry answers of the target state's calls, by service id.
    pub answers: Vec<(String, String, RegistryAnswer)>,
}

pub(super) fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

impl Engine {
    pub fn new(store: Store, clock: SharedClock, registries: Arc<dyn Registries>) -> Engine {
        Engine {
            store,
            clock,
            registries,
            current: ArcSwapOption::empty(),
            runnables: Mutex::new(HashMap::new()),
            seals: RwLock::new(Arc::new(SealSet::default())),
        }
    }

    /// Where `issue` actions take participants' seals from (none until set: issuing fails with
    /// a message naming the participant).
    pub fn set_seals(&self, seals: Arc<dyn Seals>) {
        *self.seals.write().expect("seals lock") = seals;
    }

    pub(super) fn seals(&self) -> Arc<dyn Seals> {
        self.seals.read().expect("seals lock").clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Makes `revision` the one new cases start on: pins every workflow of `spec` in the store
    /// (a revision pinned before stays as it was), takes its officials for role checks, and
    /// moves the open cases its `migrate` lines name.
    pub async fn apply_revision(&self, revision: &str, spec: &Spec) -> Result<(), EngineError> {
        for w in &spec.workflows {
            let Some(definition) = Definition::from_spec(spec, revision, &w.id) else {
                continue;
            };
            let text = serde_json::to_string(&definition).map_err(|e| {
                EngineError::Definition(format!("cannot encode workflow `{}`: {e}", w.id))
            })?;
            self.store.put_definition(revision, &w.id, &text).await?;
        }
        self.current.store(Some(Arc::new(Current {
            revision: revision.to_string(),
            officials: spec.officials.iter().map(Person::from).collect(),
            e_services: spec
                .e_services
                .iter()
                .map(|e| (e.id.clone(), e.workflow.clone()))
                .collect(),
        })));
        let moved = self.migrate_cases(revision, spec).await?;
        if moved > 0 {
            tracing::info!(
                revision,
                moved,
                "moved {moved} open case(s) as the workflows' `migrate` lines say"
            );
        }
        Ok(())
    }

    /// The revision new cases start on, if one was applied.
    pub fn revision(&self) -> Option<String> {
        self.current.load().as_ref().map(|c| c.revision.clone())
    }

    /// The pinned definition of `workflow` in `revision`, compiled once.
    pub async fn runnable(
        &self,
        revision: &str,
        workflow: &str,
    ) -> Result<Arc<Runnable>, EngineError> {
        if let Some(r) = self.cached(revision, workflow) {
            return Ok(r);
        }
        let row = self.store.definition(revision, workflow).await?;
        self.compile(revision, workflow, row)
    }

    /// As `runnable`, reading the store inside `tx` (a timer's transaction holds its connection).
    pub async fn runnable_in(
        &self,
        tx: &mut Tx,
        revision: &str,
        workflow: &str,
    ) -> Result<Arc<Runnable>, EngineError> {
        if let Some(r) = self.cached(revision, workflow) {
            return Ok(r);
        }
        let row = self.store.definition_in(tx, revision, workflow).await?;
        self.compile(revision, workflow, row)
    }

    fn cached(&self, revision: &str, workflow: &str) -> Option<Arc<Runnable>> {
        let key = (revision.to_string(), workflow.to_string());
        self.runnables
            .lock()
            .expect("runnables lock")
            .get(&key)
            .cloned()
    }

    fn compile(
        &self,
        revision: &str,
        workflow: &str,
        row: Option<crate::store::DefinitionRow>,
    ) -> Result<Arc<Runnable>, EngineError> {
        let row = row.ok_or_else(|| {
            EngineError::Definition(format!(
                "the store holds no definition of workflow `{workflow}` for revision {revision}; \
                 cases of it cannot move until it is restored (from a backup of the store)"
            ))
        })?;
        let digest = hex::encode(openssl::sha::sha256(row.definition.as_bytes()));
        if digest != row.digest {
            return Err(EngineError::Definition(format!(
                "the pinned definition of workflow `{workflow}` for revision {revision} does not \
                 match its digest: the store was changed by hand; restore it from a backup"
            )));
        }
        let definition: Definition = serde_json::from_str(&row.definition).map_err(|e| {
            EngineError::Definition(format!(
                "the pinned definition of workflow `{workflow}` for revision {revision} cannot be \
                 read: {e}"
            ))
        })?;
        let guards = Guards::compile(&definition.workflow).map_err(EngineError::Definition)?;
        let calendar = Calendar::from_spec(&definition.calendar);
        let runnable = Arc::new(Runnable {
            definition,
            guards,
            calendar,
        });
        self.runnables.lock().expect("runnables lock").insert(
            (revision.to_string(), workflow.to_string()),
            runnable.clone(),
        );
        Ok(runnable)
    }

    /// A case by id.
    pub async fn case(&self, id: &str) -> Result<Case, EngineError> {
        let row = self
            .store
            .case(id)
            .await?
            .ok_or_else(|| EngineError::UnknownCase(id.to_string()))?;
        case_of(&row)
    }

    /// Cases matching `filter`.
    pub async fn cases(&self, filter: &CaseFilter) -> Result<Vec<Case>, EngineError> {
        self.store
            .cases(filter)
            .await?
            .iter()
            .map(case_of)
            .collect()
    }

    /// The history of a case, oldest first.
    pub async fn history(&self, id: &str) -> Result<Vec<CaseEventRow>, EngineError> {
        Ok(self.store.case_events(id).await?)
    }

    /// The cabinet messages a case left, oldest first.
    pub async fn notices(&self, id: &str) -> Result<Vec<NoticeRow>, EngineError> {
        Ok(self.store.case_notices(id).await?)
    }

    /// Starts a case of `request.e_service` in its workflow's `start` state, on the applied
    /// revision, and follows what fires by itself.
    pub async fn start(&self, request: Start<'_>) -> Result<Moved, EngineError> {
        check_key(request.key)?;
        if !request.data.is_object() {
            return Err(EngineError::Invalid(
                "the application's data must be a JSON object of its fields".into(),
            ));
        }
        let fingerprint = fingerprint(&json!({
            "start": request.e_service, "applicant": request.applicant.id,
            "data": request.data, "on-behalf": request.on_behalf,
        }));
        if let Some(done) = self.replay(request.key, &fingerprint).await? {
            return Ok(done);
        }
        let current = self.current.load_full().ok_or(EngineError::NoRevision)?;
        let workflow = current
            .e_services
            .get(request.e_service)
            .ok_or_else(|| EngineError::UnknownEService(request.e_service.to_string()))?;
        let runnable = self.runnable(&current.revision, workflow).await?;
        let def = &runnable.definition;
        let now = time_text(&self.clock.now());
        let id = new_case_id();
        let start = def.state(&def.workflow.start).ok_or_else(|| {
            EngineError::Definition(format!(
                "workflow `{}` starts in `{}`, which it does not declare",
                def.workflow.id, def.workflow.start
            ))
        })?;
        let row = CaseRow {
            id: id.clone(),
            workflow: def.workflow.id.clone(),
            revision: def.revision.clone(),
            e_service: request.e_service.to_string(),
            state: start.id.clone(),
            outcome: None,
            applicant: request.applicant.id.clone(),
            applicant_name: request.applicant.name.clone(),
            applicant_email: request.applicant.email.clone(),
            assignee: None,
            role: start.role.clone(),
            data: request.data.to_string(),
            registry: "{}".into(),
            decision: None,
            deadline_at: None,
            version: 0,
            created_at: now.clone(),
            updated_at: now.clone(),
            state_entered_at: now,
        };
        let blank = Draft {
            row,
            data: request.data.clone(),
            registry: json!({}),
            decision: None,
        };
        let mut draft = blank.clone();
        let entered = self.enter(&runnable, &mut draft, &start.id).await;
        let mut steps = vec![PlannedStep {
            state: start.id.clone(),
            event: String::new(),
            automatic: false,
            answers: entered,
        }];
        self.follow(&runnable, &mut draft, &mut steps).await;
        let actor = Actor::Applicant(request.applicant.id.clone());
        let mut tx = self.store.begin().await?;
        if let Some(done) = self.replay_in(&mut tx, request.key, &fingerprint).await? {
            return Ok(done);
        }
        let mut initial = blank;
        let moved = actions::write(
            self,
            &mut tx,
            &runnable,
            &actor,
            request.on_behalf,
            &mut initial,
            &steps,
            None,
        )
        .await?;
        self.finish(tx, request.key, &fingerprint, &moved).await
    }

    /// Fires transition `request.event` of a case, by `request.actor`, and follows what fires
    /// by itself after it.
    pub async fn fire(&self, request: Fire<'_>) -> Result<Moved, EngineError> {
        check_key(request.key)?;
        let fingerprint = fingerprint(&json!({
            "fire": request.event, "case": request.case_id, "actor": request.actor,
            "on-behalf": request.on_behalf, "seen": request.seen_state,
        }));
        if let Some(done) = self.replay(request.key, &fingerprint).await? {
            return Ok(done);
        }
        let row = self
            .store
            .case(request.case_id)
            .await?
            .ok_or_else(|| EngineError::UnknownCase(request.case_id.to_string()))?;
        let runnable = self.runnable(&row.revision, &row.workflow).await?;
        let mut draft = draft_of(row)?;
        self.allowed(&runnable, &draft, &request)?;
        let state = draft.row.state.clone();
        let t = transition(&runnable, &state, request.event)?.clone();
        apply_decision(&mut draft, &t);
        let answers = self.enter(&runnable, &mut draft, &t.to).await;
        let mut steps = vec![PlannedStep {
            state: t.to.clone(),
            event: t.event.clone(),
            automatic: false,
            answers,
        }];
        self.follow(&runnable, &mut draft, &mut steps).await;
        let written = self
            .write_fire(&request, &fingerprint, &runnable, &draft, &steps, state)
            .await;
        match written {
            // The same request under the same key, committed meanwhile, answers for this one.
            Err(e @ EngineError::Stale { .. }) => {
                match self.replay(request.key, &fingerprint).await? {
                    Some(done) => Ok(done),
                    None => Err(e),
                }
            }
            other => other,
        }
    }

    async fn write_fire(
        &self,
        request: &Fire<'_>,
        fingerprint: &str,
        runnable: &Runnable,
        draft: &Draft,
        steps: &[PlannedStep],
        state: String,
    ) -> Result<Moved, EngineError> {
        let mut tx = self.store.begin().await?;
        if let Some(done) = self.replay_in(&mut tx, request.key, fingerprint).await? {
            return Ok(done);
        }
        let mut current = draft_of(
            self.store
                .case_in(&mut tx, request.case_id)
                .await?
                .ok_or_else(|| EngineError::UnknownCase(request.case_id.to_string()))?,
        )?;
        if current.row.version != draft.row.version {
            if current.row.state != request.seen_state {
                return Err(EngineError::Stale {
                    case_id: request.case_id.to_string(),
                    seen: request.seen_state.to_string(),
                    now: current.row.state,
                });
            }
            return Err(EngineError::Stale {
                case_id: request.case_id.to_string(),
                seen: request.seen_state.to_string(),
                now: format!("{} (changed meanwhile)", current.row.state),
            });
        }
        let moved = actions::write(
            self,
            &mut tx,
            runnable,
            request.actor,
            request.on_behalf,
            &mut current,
            steps,
            Some(state),
        )
        .await?;
        self.finish(tx, request.key, fingerprint, &moved).await
    }

    /// Refuses a request the actor may not make: a closed case, a moved case, an unknown event,
    /// a role the actor lacks, a guard that does not hold.
    fn allowed(
        &self,
        runnable: &Runnable,
        draft: &Draft,
        request: &Fire,
    ) -> Result<(), EngineError> {
        let row = &draft.row;
        if let Some(outcome) = &row.outcome {
            return Err(EngineError::Closed {
                case_id: row.id.clone(),
                outcome: outcome.clone(),
            });
        }
        if row.state != request.seen_state {
            return Err(EngineError::Stale {
                case_id: row.id.clone(),
                seen: request.seen_state.to_string(),
                now: row.state.clone(),
            });
        }
        let t = transition(runnable, &row.state, request.event)?;
        let denied = |message: String| EngineError::NotAllowed {
            case_id: row.id.clone(),
            message,
        };
        match (t.role.as_deref(), request.actor) {
            (None, _) => {
                return Err(denied(format!(
                    "transition `{}` fires by itself when its condition holds; nobody fires it",
                    t.event
                )));
            }
            (Some("applicant"), Actor::Applicant(id)) if *id == row.applicant => {}
            (Some("applicant"), _) => {
                return Err(denied(format!(
                    "only the case's applicant may fire `{}`",
                    t.event
                )));
            }
            (Some(role), Actor::Official(id)) => {
                if !self.holds_role(runnable, id, role) {
                    return Err(denied(format!(
                        "official `{id}` does not hold role `{role}`, which transition `{}` needs",
                        t.event
                    )));
                }
            }
            (Some(role), other) => {
                return Err(denied(format!(
                    "transition `{}` is fired by an official with role `{role}`, not by {}",
                    t.event,
                    other.label()
                )));
            }
        }
        let facts = facts(draft);
        match runnable.guards.holds(&row.state, &t.event, &facts) {
            Ok(true) => Ok(()),
            Ok(false) => Err(EngineError::GuardFailed {
                case_id: row.id.clone(),
                event: t.event.clone(),
                guard: t.guard.clone().unwrap_or_default(),
                why: None,
            }),
            Err(why) => Err(EngineError::GuardFailed {
                case_id: row.id.clone(),
                event: t.event.clone(),
                guard: t.guard.clone().unwrap_or_default(),
                why: Some(why),
            }),
        }
    }

    /// Whether official `id` holds `role`: by the applied revision's officials, or by the
    /// case's own revision when none is applied.
    pub fn holds_role(&self, runnable: &Runnable, id: &str, role: &str) -> bool {
        let has = |p: &Person| p.id == id && p.roles.iter().any(|r| r == role);
        match self.current.load().as_ref() {
            Some(current) => current.officials.iter().any(has),
            None => runnable.definition.officials.iter().any(has),
        }
    }

    /// The officials holding `role` now (the applied revision's, or the case's own).
    pub(super) fn officials_with(&self, runnable: &Runnable, role: &str) -> Vec<Person> {
        let current = self.current.load();
        let people = match current.as_ref() {
            Some(c) => &c.officials,
            None => &runnable.definition.officials,
        };
        people
            .iter()
            .filter(|p| p.roles.iter().any(|r| r == role))
            .cloned()
            .collect()
    }

    /// Makes the `call`s of the transitions of `state` for the case (before any guard of the
    /// state is judged) and keeps the answers with the draft.
    async fn enter(
        &self,
        runnable: &Runnable,
        draft: &mut Draft,
        state: &str,
    ) -> Vec<(String, String, RegistryAnswer)> {
        let def = &runnable.definition;
        let Some(s) = def.state(state) else {
            return Vec::new();
        };
        let mut made: Vec<(String, String, RegistryAnswer)> = Vec::new();
        for t in &s.transitions {
            for a in &t.actions {
                let crate::spec::model::Action::Call(call) = a else {
                    continue;
                };
                if made.iter().any(|(service, _, _)| *service == call.service) {
                    continue;
                }
                let answer = self
                    .registries
                    .call(RegistryCall {
                        case_id: &draft.row.id,
                        consumer: &def.portal.subsystem,
                        service: &call.service,
                        fields: &call.fields,
                        subject: &draft.row.applicant,
                        data: &draft.data,
                    })
                    .await;
                let key = service_key(&call.service).to_string();
                if let Some(registry) = draft.registry.as_object_mut() {
                    match &answer {
                        RegistryAnswer::Answered { data } => {
                            registry.insert(key.clone(), data.clone());
                        }
                        RegistryAnswer::Failed { .. } => {
                            registry.remove(&key);
                        }
                    }
                }
                made.push((call.service.clone(), key, answer));
            }
        }
        made
    }

    /// Follows the automatic transitions of the draft's last planned state: the first (in the
    /// spec's order) with no role whose guard holds fires, up to `MAX_AUTOMATIC_STEPS`.
    async fn follow(&self, runnable: &Runnable, draft: &mut Draft, steps: &mut Vec<PlannedStep>) {
        while steps.len() <= MAX_AUTOMATIC_STEPS {
            let state = steps.last().expect("a step").state.clone();
            let Some(s) = runnable.definition.state(&state) else {
                return;
            };
            if s.outcome.is_some() {
                return;
            }
            let facts = facts(draft);
            let next = s.transitions.iter().find(|t| {
                is_automatic(t) && runnable.guards.holds(&s.id, &t.event, &facts) == Ok(true)
            });
            let Some(t) = next else { return };
            let t = t.clone();
            apply_decision(draft, &t);
            let answers = self.enter(runnable, draft, &t.to).await;
            steps.push(PlannedStep {
                state: t.to.clone(),
                event: t.event.clone(),
                automatic: true,
                answers,
            });
        }
        tracing::warn!(
            case = %draft.row.id,
            workflow = %draft.row.workflow,
            "the automatic transitions of the case did not come to rest after {MAX_AUTOMATIC_STEPS} \
             steps; it stays where they led, and the workflow's guards should be fixed"
        );
    }

    /// The answer recorded under `key`, if the same request was made before.
    async fn replay(&self, key: &str, fingerprint: &str) -> Result<Option<Moved>, EngineError> {
        match self.store.case_request_by_key(key).await? {
            Some(row) => result_of(&row, key, fingerprint).map(Some),
            None => Ok(None),
        }
    }

    async fn replay_in(
        &self,
        tx: &mut Tx,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<Moved>, EngineError> {
        match self.store.case_request(tx, key).await? {
            Some(row) => result_of(&row, key, fingerprint).map(Some),
            None => Ok(None),
        }
    }

    /// Records the request under its key and commits. When another request under the same key
    /// committed first, answers what that one made.
    async fn finish(
        &self,
        mut tx: Tx,
        key: &str,
        fingerprint: &str,
        moved: &Moved,
    ) -> Result<Moved, EngineError> {
        let record = CaseRequestRow {
            key: key.to_string(),
            case_id: moved.case_id.clone(),
            fingerprint: fingerprint.to_string(),
            result: serde_json::to_string(moved).expect("a result serialises"),
            created_at: time_text(&self.clock.now()),
        };
        if !self.store.record_case_request(&mut tx, &record).await? {
            drop(tx);
            return self
                .replay(key, fingerprint)
                .await?
                .ok_or_else(|| EngineError::KeyReused { key: key.into() });
        }
        tx.commit().await?;
        Ok(moved.clone())
    }

    /// The error for a case that another request changed between this one's read and write.
    pub(super) async fn moved_meanwhile(&self, case_id: &str, seen: &str) -> EngineError {
        match self.store.case(case_id).await {
            Ok(Some(row)) => EngineError::Stale {
                case_id: case_id.to_string(),
                seen: seen.to_string(),
                now: row.state,
            },
            Ok(None) => EngineError::UnknownCase(case_id.to_string()),
            Err(e) => e.into(),
        }
    }
}

/// The transition `event` of `state`.
fn transition<'r>(
    runnable: &'r Runnable,
    state: &str,
    event: &str,
) -> Result<&'r crate::spec::model::Transition, EngineError> {
    let s = runnable.definition.state(state).ok_or_else(|| {
        EngineError::Definition(format!(
            "workflow `{}` of revision {} has no state `{state}`",
            runnable.definition.workflow.id, runnable.definition.revision
        ))
    })?;
    s.transitions
        .iter()
        .find(|t| t.event == event)
        .ok_or_else(|| EngineError::UnknownEvent {
            case_id: String::new(),
            state: state.to_string(),
            event: event.to_string(),
            events: s.transitions.iter().map(|t| t.event.clone()).collect(),
        })
}

/// What guards see of a draft.
pub(super) fn facts(draft: &Draft) -> Facts<'_> {
    Facts {
        data: &draft.data,
        registry: &draft.registry,
        decision: draft.decision.as_ref(),
    }
}

/// A `decide` action of a transition, applied to the draft (so later guards see `decision`).
pub(super) fn apply_decision(draft: &mut Draft, t: &crate::spec::model::Transition) {
    for a in &t.actions {
        if let crate::spec::model::Action::Decide(d) = a {
            draft.decision = Some(json!({"outcome": d.outcome, "reason": d.reason}));
        }
    }
}

/// The last segment of `participant/service`: the key of its answers in `registry`.
pub fn service_key(service: &str) -> &str {
    service.rsplit('/').next().unwrap_or(service)
}

fn check_key(key: &str) -> Result<(), EngineError> {
    if key.is_empty() || key.len() > 200 {
        return Err(EngineError::Invalid(
            "the idempotency key must be 1 to 200 characters; send a fresh random key with each \
             new request and the same key when repeating it"
                .into(),
        ));
    }
    Ok(())
}

fn fingerprint(request: &Value) -> String {
    hex::encode(openssl::sha::sha256(request.to_string().as_bytes()))
}

fn result_of(row: &CaseRequestRow, key: &str, fingerprint: &str) -> Result<Moved, EngineError> {
    if row.fingerprint != fingerprint {
        return Err(EngineError::KeyReused { key: key.into() });
    }
    serde_json::from_str(&row.result).map_err(|e| {
        EngineError::Definition(format!(
            "the answer stored under idempotency key `{key}` cannot be read: {e}"
        ))
    })
}

/// An opaque, unguessable case id: 128 random bits, hex.
fn new_case_id() -> String {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).expect("the system's random source works");
    hex::encode(bytes)
}

fn parse(what: &str, id: &str, text: &str) -> Result<Value, EngineError> {
    serde_json::from_str(text).map_err(|e| {
        EngineError::Definition(format!(
            "the {what} of case {id} in the store is not JSON ({e}); the row was changed by hand: \
             restore it from a backup"
        ))
    })
}

pub(super) fn draft_of(row: CaseRow) -> Result<Draft, EngineError> {
    let data = parse("data", &row.id, &row.data)?;
    let registry = match parse("registry answers", &row.id, &row.registry)? {
        Value::Object(m) => Value::Object(m),
        _ => json!({}),
    };
    let decision = match &row.decision {
        Some(d) => Some(parse("decision", &row.id, d)?),
        None => None,
    };
    Ok(Draft {
        row,
        data,
        registry,
        decision,
    })
}

fn case_of(row: &CaseRow) -> Result<Case, EngineError> {
    let d = draft_of(row.clone())?;
    Ok(Case {
        id: row.id.clone(),
        workflow: row.workflow.clone(),
        revision: row.revision.clone(),
        e_service: row.e_service.clone(),
        state: row.state.clone(),
        outcome: row.outcome.clone(),
        applicant: Applicant {
            id: row.applicant.clone(),
            name: row.applicant_name.clone(),
            email: row.applicant_email.clone(),
        },
        assignee: row.assignee.clone(),
        role: row.role.clone(),
        data: d.data,
        registry: d.registry,
        decision: d.decision,
        deadline_at: row.deadline_at.clone(),
        version: row.version,
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
        state_entered_at: row.state_entered_at.clone(),
    })
}

pub(super) fn new_event(
    case_id: &str,
    at: &str,
    actor: &Actor,
    on_behalf: Option<&str>,
    kind: &str,
) -> NewCaseEvent {
    NewCaseEvent {
        case_id: case_id.to_string(),
        at: at.to_string(),
        actor: actor.label(),
        on_behalf: on_behalf.map(str::to_string),
        kind: kind.to_string(),
        event: None,
        from_state: None,
        to_state: None,
        detail: "{}".into(),
    }
}
