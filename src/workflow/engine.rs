//! The engine: starts cases and fires their transitions. A request first plans (judges the role
//! and guard, makes the `call`s of each state it enters, follows automatic transitions), then
//! writes the whole move in ONE transaction: case row, events, notices, mail, documents, timers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::store::time_text;
use arc_swap::ArcSwapOption;
use serde_json::{Value, json};

use crate::spec::Spec;
use crate::store::{
    CaseEventRow, CaseFilter, CaseRequestRow, CaseRow, NewCaseEvent, NoticeRow, Store, Tx,
};

pub use super::errors::EngineError;
pub use super::requests::{Actor, Applicant, Case, Fire, Moved, PROVIDER_SYSTEM, Start, Step};

use super::actions;
use super::calendar::Calendar;
use super::calls::{Registries, RegistryAnswer, RegistryCall};
use super::clock::SharedClock;
use super::definition::{is_automatic, with_numbers};
use super::guards::{Facts, Guards};
use super::seals::{SealSet, Seals};
use crate::compile::workflow::{Definition, Person, WorkflowSection};

/// How many automatic transitions one request may follow before the engine stops and leaves the
/// case where it is (a workflow whose automatic transitions loop).
pub const MAX_AUTOMATIC_STEPS: usize = 16;

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
    retention: Vec<crate::spec::model::Retention>,
}

/// The case engine. Cheap to share behind an `Arc`.
pub struct Engine {
    store: Store,
    clock: SharedClock,
    registries: Arc<dyn Registries>,
    current: ArcSwapOption<Current>,
    runnables: Mutex<HashMap<(String, String), Arc<Runnable>>>,
    seals: RwLock<Arc<dyn Seals>>,
    /// The portal's address as people reach it: documents say where to verify them under it.
    public_url: std::sync::OnceLock<String>,
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
    /// What the official gave with the decision (`decision.<field>` in templates and guards).
    pub details: Option<Value>,
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
            public_url: std::sync::OnceLock::new(),
        }
    }

    /// The address (without a trailing slash) under which the portal's `/verify` is reached,
    /// printed on each document issued after; the first one set stays.
    pub fn set_public_url(&self, url: &str) {
        let _ = self.public_url.set(url.trim_end_matches('/').to_string());
    }

    /// Where documents say they are verified: `<public url>/verify`, or `/verify` before serve
    /// knows its address (scenarios).
    pub(super) fn verify_url(&self) -> String {
        format!(
            "{}/verify",
            self.public_url.get().map(String::as_str).unwrap_or("")
        )
    }

    /// The applied revision's retention rules (none before a revision is applied).
    pub(super) fn retention(&self) -> Vec<crate::spec::model::Retention> {
        self.current
            .load()
            .as_ref()
            .map(|c| c.retention.clone())
            .unwrap_or_default()
    }

    /// Official `id` as the applied revision (or else the case's definition) declares them.
    pub(super) fn official(&self, runnable: &Runnable, id: &str) -> Option<Person> {
        let current = self.current.load();
        let people = match current.as_ref() {
            Some(c) => &c.officials,
            None => &runnable.definition.officials,
        };
        people.iter().find(|p| p.id == id).cloned()
    }

    /// Where `issue` actions take participants' seals from (none until set: issuing fails with
    /// a message naming the participant).
    pub fn set_seals(&self, seals: Arc<dyn Seals>) {
        *self.seals.write().expect("seals lock") = seals;
    }

    pub fn seals(&self) -> Arc<dyn Seals> {
        self.seals.read().expect("seals lock").clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Makes `revision` (as `spec` declares it) the one new cases start on; see `apply`.
    pub async fn apply_revision(&self, revision: &str, spec: &Spec) -> Result<(), EngineError> {
        self.apply(revision, &WorkflowSection::compile(spec, revision))
            .await
    }

    /// Makes `revision`, compiled into `section`, the one new cases start on: pins every
    /// workflow in the store (a revision pinned before stays as it was), takes its officials for
    /// role checks, and moves the open cases its `migrate` lines name.
    pub async fn apply(
        &self,
        revision: &str,
        section: &WorkflowSection,
    ) -> Result<(), EngineError> {
        for definition in &section.definitions {
            let id = &definition.workflow.id;
            let text = serde_json::to_string(definition).map_err(|e| {
                EngineError::Definition(format!("cannot encode workflow `{id}`: {e}"))
            })?;
            self.store.put_definition(revision, id, &text).await?;
        }
        self.current.store(Some(Arc::new(Current {
            revision: revision.to_string(),
            officials: section.officials.clone(),
            e_services: section
                .e_services
                .iter()
                .map(|(e, w)| (e.clone(), w.clone()))
                .collect(),
            retention: section.retention.clone(),
        })));
        let moved = self.migrate_cases(revision, section).await?;
        if moved > 0 {
            tracing::info!(
                revision,
                moved,
                "moved {moved} open case(s) as the workflows' `migrate` lines say"
            );
        }
        Ok(())
    }

    /// Whether `id` is an e-service of the applied revision.
    pub(super) fn is_e_service(&self, id: &str) -> bool {
        self.current
            .load()
            .as_ref()
            .is_some_and(|c| c.e_services.contains_key(id))
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
        let digest = crate::crypto::sha256_hex(row.definition.as_bytes());
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
            "submitted-by": request.submitted_by.map(Actor::label),
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
            details: None,
        }];
        self.follow(&runnable, &mut draft, &mut steps).await;
        let applicant = Actor::Applicant(request.applicant.id.clone());
        let (actor, on_behalf) = match request.submitted_by {
            Some(by) => (by.clone(), Some(applicant.label())),
            None => (applicant, request.on_behalf.map(str::to_string)),
        };
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
            on_behalf.as_deref(),
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
        self.fire_with(request, None).await
    }

    /// As `fire`, with what the official decided beyond the transition itself (an amount, a
    /// building number): an object merged into the case's `decision` before the guard is judged
    /// and the actions run, and recorded in the transition's event.
    pub async fn fire_with(
        &self,
        request: Fire<'_>,
        details: Option<&Value>,
    ) -> Result<Moved, EngineError> {
        check_key(request.key)?;
        let done = self.fire_once(request, details).await;
        match done {
            // The same request under the same key, committed meanwhile, answers for this one.
            Err(e) if !matches!(e, EngineError::KeyReused { .. }) => {
                match self
                    .replay(request.key, &fire_fingerprint(&request, details))
                    .await
                {
                    Ok(Some(done)) => Ok(done),
                    _ => Err(e),
                }
            }
            other => other,
        }
    }

    async fn fire_once(
        &self,
        request: Fire<'_>,
        details: Option<&Value>,
    ) -> Result<Moved, EngineError> {
        if details.is_some_and(|d| !d.is_object()) {
            return Err(EngineError::Invalid(
                "the decision's details must be a JSON object of named values".into(),
            ));
        }
        let fingerprint = fire_fingerprint(&request, details);
        if let Some(done) = self.replay(request.key, &fingerprint).await? {
            return Ok(done);
        }
        let (runnable, draft, steps, state) = self.plan_fire(&request, details).await?;
        self.write_fire(&request, &fingerprint, &runnable, &draft, &steps, state)
            .await
    }

    /// Plans transition `request.event` on the case as stored: the role and guard judged, the
    /// calls of the states entered made, the automatic transitions followed; the state it leaves.
    pub(super) async fn plan_fire(
        &self,
        request: &Fire<'_>,
        details: Option<&Value>,
    ) -> Result<(Arc<Runnable>, Draft, Vec<PlannedStep>, String), EngineError> {
        let row = self
            .store
            .case(request.case_id)
            .await?
            .ok_or_else(|| EngineError::UnknownCase(request.case_id.to_string()))?;
        let runnable = self.runnable(&row.revision, &row.workflow).await?;
        let mut draft = draft_of(row)?;
        if let Some(details) = details {
            merge_decision(&mut draft, details);
        }
        self.allowed(&runnable, &draft, request)?;
        let state = draft.row.state.clone();
        let t = transition(&runnable, &state, request.event)?.clone();
        apply_decision(&mut draft, &t);
        let answers = self.enter(&runnable, &mut draft, &t.to).await;
        let mut steps = vec![PlannedStep {
            state: t.to.clone(),
            event: t.event.clone(),
            automatic: false,
            answers,
            details: details.cloned(),
        }];
        self.follow(&runnable, &mut draft, &mut steps).await;
        Ok((runnable, draft, steps, state))
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
            (Some(PROVIDER_SYSTEM), Actor::System(_)) => {}
            (Some(PROVIDER_SYSTEM), other) => {
                return Err(denied(format!(
                    "transition `{}` is reported by the provider's own system, not fired by {}",
                    t.event,
                    other.label()
                )));
            }
            // The caller vouches for `on_behalf` (the registry fires for a deputy only within a
            // delegation in force).
            (Some(actions::ASSIGNEE), Actor::Official(id)) => {
                let assignee = row.assignee.as_deref();
                let principal = request.on_behalf.and_then(|b| b.strip_prefix("official:"));
                if assignee.is_none() || (assignee != Some(id) && assignee != principal) {
                    return Err(denied(format!(
                        "only the official the case was given to may fire `{}`; official                          `{id}` is not them and does not act for them",
                        t.event
                    )));
                }
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
    pub(super) async fn enter(
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
                let answer = match answer {
                    RegistryAnswer::Answered { data } => RegistryAnswer::Answered {
                        data: with_numbers(
                            data,
                            def.numbers.get(&call.service).map_or(&[], Vec::as_slice),
                        ),
                    },
                    failed => failed,
                };
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
    pub(super) async fn follow(
        &self,
        runnable: &Runnable,
        draft: &mut Draft,
        steps: &mut Vec<PlannedStep>,
    ) {
        while steps.len() <= MAX_AUTOMATIC_STEPS {
            let state = steps.last().expect("a step").state.clone();
            let Some(s) = runnable.definition.state(&state) else {
                return;
            };
            if s.outcome.is_some() {
                return;
            }
            let facts = facts(draft);
            let next = s.transitions.iter().filter(|t| is_automatic(t)).find(|t| {
                match runnable.guards.holds(&s.id, &t.event, &facts) {
                    Ok(holds) => holds,
                    Err(why) => {
                        tracing::warn!(
                            case = %draft.row.id,
                            workflow = %draft.row.workflow,
                            "the condition of automatic transition `{}` in state `{}` could not \
                             be judged, so it does not fire: {why}; fix the workflow's guard",
                            t.event,
                            s.id
                        );
                        false
                    }
                }
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
                details: None,
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
    pub(super) async fn replay(
        &self,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<Moved>, EngineError> {
        match self.store.case_request_by_key(key).await? {
            Some(row) => result_of(&row, key, fingerprint).map(Some),
            None => Ok(None),
        }
    }

    pub(super) async fn replay_in(
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
    pub(super) async fn finish(
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
    /// Read inside the caller's transaction: an in-memory store may have no other connection.
    pub(super) async fn moved_meanwhile(
        &self,
        tx: &mut Tx,
        case_id: &str,
        seen: &str,
    ) -> EngineError {
        match self.store.case_in(tx, case_id).await {
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
            merge_decision(draft, &json!({"outcome": d.outcome, "reason": d.reason}));
        }
    }
}

/// Merges the fields of `fields` into the case's decision, keeping what it held.
pub(super) fn merge_decision(draft: &mut Draft, fields: &Value) {
    let mut decision = match draft.decision.take() {
        Some(Value::Object(held)) => held,
        _ => serde_json::Map::new(),
    };
    if let Value::Object(fields) = fields {
        for (k, v) in fields {
            decision.insert(k.clone(), v.clone());
        }
    }
    draft.decision = Some(Value::Object(decision));
}

/// The last segment of `participant/service`: the key of its answers in `registry`.
pub fn service_key(service: &str) -> &str {
    service.rsplit('/').next().unwrap_or(service)
}

pub(super) fn check_key(key: &str) -> Result<(), EngineError> {
    if key.is_empty() || key.len() > 200 {
        return Err(EngineError::Invalid(
            "the idempotency key must be 1 to 200 characters; send a fresh random key with each \
             new request and the same key when repeating it"
                .into(),
        ));
    }
    Ok(())
}

pub(super) fn fire_fingerprint(request: &Fire, details: Option<&Value>) -> String {
    fingerprint(&json!({
        "fire": request.event, "case": request.case_id, "actor": request.actor,
        "on-behalf": request.on_behalf, "seen": request.seen_state, "details": details,
    }))
}

pub(super) fn fingerprint(request: &Value) -> String {
    crate::crypto::sha256_hex(request.to_string().as_bytes())
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
pub(super) fn new_case_id() -> String {
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
