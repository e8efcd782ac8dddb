//! The cases API (`/api/cases…`): start a case, read one, list them a page at a time, fire a
//! transition, read a case's history. Its own state (`CasesApi`, an axum `FromRef` substate);
//! `serve` composes it. Every answer is the shape `docs/api/cases.openapi.json` declares.

pub mod access;
mod directory;
mod errors;
pub mod view;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::compile::Compiled;
use crate::store::{CaseQuery, CaseRow};
use access::Caller;
use directory::Directory;
use errors::{Refusal, bad_request, error, error_with, not_ready, store_failed};

use super::engine::{Actor, Applicant, Engine, EngineError, Fire, Moved, Start};

/// The OpenAPI 3.1 document of this API, as served at `/api/cases/openapi.json`.
pub const OPENAPI: &str = include_str!("../../../docs/api/cases.openapi.json");

const DEFAULT_PER_PAGE: i64 = 20;
const MAX_PER_PAGE: i64 = 100;
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// What the cases API's handlers share: the engine, the API token, and who is who in the
/// applied revision.
#[derive(Clone)]
pub struct CasesApi {
    engine: Arc<Engine>,
    token: Option<Arc<str>>,
    directory: Arc<ArcSwapOption<Directory>>,
}

impl CasesApi {
    pub fn new(engine: Arc<Engine>, token: Option<Arc<str>>) -> CasesApi {
        CasesApi {
            engine,
            token,
            directory: Arc::new(ArcSwapOption::empty()),
        }
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Makes the applied revision `compiled` the one new cases start on (its workflow section
    /// pinned in the store) and the one actors are checked against.
    pub async fn apply(&self, compiled: &Compiled) -> Result<(), EngineError> {
        self.engine
            .apply(&compiled.revision.id, &compiled.workflow)
            .await?;
        self.directory
            .store(Some(Arc::new(Directory::from_spec(&compiled.spec))));
        Ok(())
    }
}

/// The cases API's routes, over any state that holds a `CasesApi`.
pub fn router<S>() -> Router<S>
where
    CasesApi: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/api/cases", post(start).get(list))
        .route("/api/cases/openapi.json", get(openapi))
        .route("/api/cases/{id}", get(read))
        .route("/api/cases/{id}/transitions/{event}", post(fire))
        .route("/api/cases/{id}/history", get(history))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// The caller of a request that carries the token and names a known actor; else the refusal.
fn admit(api: &CasesApi, headers: &HeaderMap) -> Result<(Caller, Arc<Directory>), Refusal> {
    if let Some(refused) = crate::gateway::ledger_api::token_refusal(api.token.as_deref(), headers)
    {
        return Err(Box::new(refused));
    }
    let directory = api
        .directory
        .load_full()
        .ok_or_else(|| Box::new(not_ready()))?;
    let caller = access::caller(headers, &directory)?;
    Ok((caller, directory))
}

fn idempotency_key(headers: &HeaderMap) -> Result<&str, Refusal> {
    match headers.get(IDEMPOTENCY_KEY).map(|v| v.to_str()) {
        Some(Ok(key)) if !key.trim().is_empty() && key.len() <= 200 => Ok(key.trim()),
        Some(_) => Err(Box::new(bad_request(
            "`Idempotency-Key` must be 1 to 200 visible ASCII characters",
        ))),
        None => Err(Box::new(bad_request(
            "send an `Idempotency-Key` header: a fresh random key for each new request, the \
             same key when repeating one (a double submit then moves the case once)",
        ))),
    }
}

/// The JSON object of a request body, or what is wrong with it.
fn body_object(body: &Bytes) -> Result<serde_json::Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(Box::new(bad_request(
            "the request body must be a JSON object",
        ))),
        Err(e) => Err(Box::new(bad_request(&format!(
            "the request body is not valid JSON: {e}"
        )))),
    }
}

fn text_field<'a>(
    fields: &'a serde_json::Map<String, Value>,
    name: &str,
    required: bool,
) -> Result<Option<&'a str>, Refusal> {
    match fields.get(name) {
        None | Some(Value::Null) if !required => Ok(None),
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(Some(text)),
        _ => Err(Box::new(bad_request(&format!(
            "`{name}` must be a non-empty string{}",
            if required { " and is required" } else { "" }
        )))),
    }
}

async fn start(State(api): State<CasesApi>, headers: HeaderMap, body: Bytes) -> Response {
    let (caller, _) = match admit(&api, &headers) {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    let key = match idempotency_key(&headers) {
        Ok(key) => key,
        Err(refused) => return *refused,
    };
    let fields = match body_object(&body) {
        Ok(fields) => fields,
        Err(refused) => return *refused,
    };
    if let Some(unknown) = fields.keys().find(|k| {
        ![
            "e_service",
            "applicant",
            "applicant_name",
            "applicant_email",
            "data",
        ]
        .contains(&k.as_str())
    }) {
        return bad_request(&format!(
            "the body has a field `{unknown}` this API does not know; it takes e_service, \
             applicant, applicant_name, applicant_email and data"
        ));
    }
    let (e_service, named, name, email) = match (
        text_field(&fields, "e_service", true),
        text_field(&fields, "applicant", false),
        text_field(&fields, "applicant_name", true),
        text_field(&fields, "applicant_email", false),
    ) {
        (Ok(Some(s)), Ok(a), Ok(Some(n)), Ok(e)) => (s, a, n, e),
        (Err(r), ..) | (_, Err(r), ..) | (_, _, Err(r), _) | (.., Err(r)) => return *r,
        _ => unreachable!("required fields are present when Ok"),
    };
    let Some(data) = fields.get("data").filter(|d| d.is_object()) else {
        return bad_request("`data` must be a JSON object of the application's fields");
    };
    let (applicant, submitted_by) = match (&caller, named) {
        (Caller::Applicant(own), None) => (own.clone(), None),
        (Caller::Applicant(own), Some(named)) if named == own => (own.clone(), None),
        (Caller::Applicant(_), Some(_)) => {
            return error(
                StatusCode::FORBIDDEN,
                "not_allowed",
                "an applicant starts cases for themselves only: leave out `applicant`, or name \
                 your own RNOKPP",
            );
        }
        (Caller::Official(_), Some(named)) if crate::check::formats::valid_rnokpp(named) => {
            (named.to_string(), Some(caller.actor()))
        }
        (Caller::Official(_), _) => {
            return bad_request(
                "an official starting a case names the applicant's RNOKPP (10 digits with its \
                 check digit) in `applicant`",
            );
        }
    };
    let applicant = Applicant {
        id: applicant,
        name: name.to_string(),
        email: email.map(str::to_string),
    };
    let request = Start {
        key,
        e_service,
        applicant: &applicant,
        data,
        on_behalf: None,
        submitted_by: submitted_by.as_ref(),
    };
    match api.engine.start(request).await {
        Ok(moved) => answer(&api, StatusCode::CREATED, &moved).await,
        Err(e) => refusal(&e),
    }
}

async fn fire(
    State(api): State<CasesApi>,
    Path((id, event)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (caller, _) = match admit(&api, &headers) {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    let key = match idempotency_key(&headers) {
        Ok(key) => key,
        Err(refused) => return *refused,
    };
    let fields = match body_object(&body) {
        Ok(fields) => fields,
        Err(refused) => return *refused,
    };
    if let Some(unknown) = fields.keys().find(|k| *k != "seen_state") {
        return bad_request(&format!(
            "the body has a field `{unknown}` this API does not know; it takes seen_state"
        ));
    }
    let seen_state = match text_field(&fields, "seen_state", true) {
        Ok(Some(seen)) => seen,
        Ok(None) => unreachable!("a required field is present when Ok"),
        Err(_) => {
            return bad_request(
                "`seen_state` must name the state you saw the case in (its `state.id`), so that \
                 a case someone else moved meanwhile is not moved twice",
            );
        }
    };
    if let Err(refused) = visible_case(&api, &caller, &id).await {
        return *refused;
    }
    let actor = caller.actor();
    let request = Fire {
        key,
        case_id: &id,
        event: &event,
        actor: &actor,
        on_behalf: None,
        seen_state,
    };
    match api.engine.fire(request).await {
        Ok(moved) => answer(&api, StatusCode::OK, &moved).await,
        Err(e) => refusal(&e),
    }
}

async fn read(State(api): State<CasesApi>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let (caller, _) = match admit(&api, &headers) {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    match visible_case(&api, &caller, &id).await {
        Ok(row) => show(&api, &row, None).await,
        Err(refused) => *refused,
    }
}

async fn history(
    State(api): State<CasesApi>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (caller, _) = match admit(&api, &headers) {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    if let Err(refused) = visible_case(&api, &caller, &id).await {
        return *refused;
    }
    match api.engine.history(&id).await {
        Ok(events) => axum::Json(json!({
            "case": id,
            "events": events.iter().map(view::event).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => refusal(&e),
    }
}

async fn list(
    State(api): State<CasesApi>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (caller, directory) = match admit(&api, &headers) {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    let wanted = match ListQuery::parse(&query) {
        Ok(wanted) => wanted,
        Err(wrong) => return bad_request(&wrong),
    };
    let mut store_query = CaseQuery {
        workflow: wanted.workflow.clone(),
        state: wanted.state.clone(),
        overdue_at: wanted.overdue.then(|| api.engine.clock().now()),
        open_only: wanted.open,
        page: wanted.page,
        per_page: wanted.per_page,
        ..CaseQuery::default()
    };
    match &caller {
        Caller::Applicant(rnokpp) => {
            if wanted.role.is_some() || wanted.assignee.is_some() {
                return error(
                    StatusCode::FORBIDDEN,
                    "not_allowed",
                    "an applicant lists their own cases; `role` and `assignee` are for officials",
                );
            }
            store_query.applicant = Some(rnokpp.clone());
        }
        Caller::Official(official) => {
            let roles = directory.roles_of(official).to_vec();
            match &wanted.role {
                Some(role) if !roles.iter().any(|r| r == role) => {
                    return error(
                        StatusCode::FORBIDDEN,
                        "not_allowed",
                        format!(
                            "official `{official}` does not hold role `{role}`; they hold: {}",
                            if roles.is_empty() {
                                "none".to_string()
                            } else {
                                roles.join(", ")
                            }
                        ),
                    );
                }
                Some(role) => store_query.roles = Some(vec![role.clone()]),
                None => {
                    store_query.roles = Some(roles.clone());
                    store_query.or_assignee = Some(official.clone());
                }
            }
            store_query.assignee = match wanted.assignee.as_deref() {
                Some("me") => Some(official.clone()),
                other => other.map(str::to_string),
            };
        }
    }
    let found = match api.engine.store().list_cases(&store_query).await {
        Ok(found) => found,
        Err(e) => return store_failed("list cases", &e),
    };
    let now = api.engine.clock().now();
    let mut cases = Vec::with_capacity(found.cases.len());
    for row in &found.cases {
        let runnable = api.engine.runnable(&row.revision, &row.workflow).await.ok();
        cases.push(view::summary(
            row,
            runnable.as_ref().map(|r| &r.definition),
            now,
        ));
    }
    axum::Json(json!({
        "page": wanted.page,
        "per_page": wanted.per_page,
        "total": found.total,
        "cases": cases,
    }))
    .into_response()
}

/// The list's query parameters, checked.
struct ListQuery {
    workflow: Option<String>,
    state: Option<String>,
    role: Option<String>,
    assignee: Option<String>,
    overdue: bool,
    open: bool,
    page: i64,
    per_page: i64,
}

impl ListQuery {
    fn parse(query: &HashMap<String, String>) -> Result<ListQuery, String> {
        const KNOWN: [&str; 8] = [
            "workflow", "state", "role", "assignee", "overdue", "open", "page", "per_page",
        ];
        if let Some(unknown) = query.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(format!(
                "unknown query parameter `{unknown}`; the list takes {}",
                KNOWN.join(", ")
            ));
        }
        let text = |name: &str| query.get(name).filter(|v| !v.is_empty()).cloned();
        let flag = |name: &str| match query.get(name).map(String::as_str) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(format!("`{name}` must be true or false, not `{other}`")),
        };
        Ok(ListQuery {
            workflow: text("workflow"),
            state: text("state"),
            role: text("role"),
            assignee: text("assignee"),
            overdue: flag("overdue")?,
            open: flag("open")?,
            page: number(query, "page", 1, i64::MAX / MAX_PER_PAGE)?,
            per_page: number(query, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)?,
        })
    }
}

/// A whole number query parameter within `1..=max`, or `default` when absent.
fn number(
    query: &HashMap<String, String>,
    name: &str,
    default: i64,
    max: i64,
) -> Result<i64, String> {
    let Some(text) = query.get(name) else {
        return Ok(default);
    };
    match text.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{name}` must be a whole number from 1 to {max}, not `{text}`"
        )),
    }
}

/// The case `id` if the caller may see it: an applicant their own cases, an official the cases
/// of a workflow that names one of their roles, or assigned to them. Another applicant's case
/// is answered as unknown, so that ids cannot be probed.
async fn visible_case(api: &CasesApi, caller: &Caller, id: &str) -> Result<CaseRow, Refusal> {
    let unknown = || {
        Box::new(error(
            StatusCode::NOT_FOUND,
            "unknown_case",
            format!("there is no case `{id}` you may see"),
        ))
    };
    let row = match api.engine.store().case(id).await {
        Ok(Some(row)) => row,
        Ok(None) => return Err(unknown()),
        Err(e) => return Err(Box::new(store_failed("read a case", &e))),
    };
    match caller {
        Caller::Applicant(rnokpp) if *rnokpp == row.applicant => Ok(row),
        Caller::Applicant(_) => Err(unknown()),
        Caller::Official(official) => {
            let directory = api
                .directory
                .load_full()
                .ok_or_else(|| Box::new(not_ready()))?;
            let roles = directory.roles_of(official);
            let runnable = api
                .engine
                .runnable(&row.revision, &row.workflow)
                .await
                .map_err(|e| Box::new(refusal(&e)))?;
            let definition = &runnable.definition;
            let works_it = definition.official(official).is_some()
                || definition.workflow.states.iter().any(|s| {
                    s.role.as_ref().is_some_and(|r| roles.contains(r))
                        || s.transitions
                            .iter()
                            .any(|t| t.role.as_ref().is_some_and(|r| roles.contains(r)))
                });
            if works_it || row.assignee.as_deref() == Some(official) {
                Ok(row)
            } else {
                Err(Box::new(error(
                    StatusCode::FORBIDDEN,
                    "not_allowed",
                    format!(
                        "official `{official}` holds no role of workflow `{}`, and the case is \
                         not assigned to them",
                        row.workflow
                    ),
                )))
            }
        }
    }
}

/// The case a request moved, as it stands now, with the transitions the request made.
async fn answer(api: &CasesApi, status: StatusCode, moved: &Moved) -> Response {
    match api.engine.store().case(&moved.case_id).await {
        Ok(Some(row)) => {
            let mut response = show(api, &row, Some(moved)).await;
            *response.status_mut() = status;
            response
        }
        Ok(None) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!(
                "case {} was written but cannot be read back; report this to the appliance's \
                 operators",
                moved.case_id
            ),
        ),
        Err(e) => store_failed("read a case back", &e),
    }
}

async fn show(api: &CasesApi, row: &CaseRow, moved: Option<&Moved>) -> Response {
    let runnable = match api.engine.runnable(&row.revision, &row.workflow).await {
        Ok(runnable) => runnable,
        Err(e) => return refusal(&e),
    };
    let mut case = view::case(row, Some(&runnable.definition), api.engine.clock().now());
    if let Some(moved) = moved {
        case["steps"] = json!(moved.steps);
    }
    axum::Json(case).into_response()
}

/// The HTTP refusal of an engine error.
fn refusal(e: &EngineError) -> Response {
    let message = e.to_string();
    match e {
        EngineError::NoRevision => not_ready(),
        EngineError::UnknownEService(_) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_e_service",
            &message,
        ),
        EngineError::UnknownCase(_) => error(StatusCode::NOT_FOUND, "unknown_case", &message),
        EngineError::UnknownEvent { state, events, .. } => error_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_event",
            &message,
            json!({"state": state, "events": events}),
        ),
        EngineError::NotAllowed { .. } => error(StatusCode::FORBIDDEN, "not_allowed", &message),
        EngineError::GuardFailed { guard, .. } => error_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "guard_failed",
            &message,
            json!({"guard": guard}),
        ),
        EngineError::Stale { seen, now, .. } => error_with(
            StatusCode::CONFLICT,
            "stale_state",
            &message,
            json!({"seen_state": seen, "state": now}),
        ),
        EngineError::Closed { outcome, .. } => error_with(
            StatusCode::CONFLICT,
            "closed",
            &message,
            json!({"outcome": outcome}),
        ),
        EngineError::KeyReused { .. } => {
            error(StatusCode::CONFLICT, "idempotency_key_reused", &message)
        }
        EngineError::Invalid(_) => bad_request(&message),
        EngineError::Definition(_) => {
            tracing::error!("the cases API cannot run a case: {message}");
            error(StatusCode::INTERNAL_SERVER_ERROR, "definition", &message)
        }
        EngineError::Store(e) => store_failed("reach the store", e),
    }
}

impl Caller {
    /// The caller as the engine's actor.
    fn actor(&self) -> Actor {
        match self {
            Caller::Official(id) => Actor::Official(id.clone()),
            Caller::Applicant(id) => Actor::Applicant(id.clone()),
        }
    }
}
