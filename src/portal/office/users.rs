//! `/office/users` (`users-manage`): the applied spec's officials with their unit, roles and
//! access now, the form that blocks, unblocks or annuls one (`blocking.rs` judges and makes
//! the change), and every change made, with who, when and why.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::access_log;
use super::blocking::{self, Posted};
use super::official::Official;
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::cabinet::words;
use crate::portal::pages::Chrome;
use crate::portal::sign_in::query_value;
use crate::spec::model::{self, Permission};
use crate::store::{AccountAction, OfficialBlock};

/// How many of the latest account changes the page shows.
const CHANGES_SHOWN: i64 = 200;

/// `GET /office/users`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refused) = official
        .require(&portal, &compiled, Permission::UsersManage)
        .await
    {
        return refused;
    }
    let chrome = official.chrome(&compiled);
    if let Err(e) = access_log::record(
        &portal.store,
        &official,
        "users",
        None,
        "opened the users page",
    )
    .await
    {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    let (blocks, changes) = match tokio::try_join!(
        portal.store.official_blocks(),
        portal.store.official_account_changes(CHANGES_SHOWN),
    ) {
        Ok(read) => read,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let blocks: HashMap<&str, &OfficialBlock> =
        blocks.iter().map(|b| (b.official.as_str(), b)).collect();
    let now = official.now();
    let zone = blocking::zone(&compiled);
    let officials: Vec<Value> = compiled
        .spec
        .officials
        .iter()
        .map(|o| {
            let held = blocking::held(o, blocks.get(o.id.as_str()).copied(), now, zone);
            json!({
                "id": o.id,
                "name": o.name,
                "position": o.position,
                "unit": unit_title(&compiled, &o.unit),
                "roles": role_titles(&compiled, &o.roles),
                "state": held.as_ref().map_or("Активний".into(), |h| blocking::words(h.hold)),
                "held": held.is_some(),
                "by_spec": held.as_ref().is_some_and(|h| h.by_spec),
                "reason": held.as_ref().map(|h| h.reason.clone()),
                "own": o.id == official.id,
            })
        })
        .collect();
    let name_of = |id: &str| {
        model::by_id(&compiled.spec.officials, id)
            .map_or_else(|| id.to_string(), |o| o.name.clone())
    };
    let changes: Vec<Value> = changes
        .iter()
        .map(|row| {
            let c = &row.change;
            json!({
                "when": words::at(&c.at, zone),
                "official": name_of(&c.official),
                "what": change_words(c.action),
                "reason": c.reason,
                "by": name_of(&c.by),
            })
        })
        .collect();
    let changed = query_value(query.as_deref(), "changed")
        .and_then(|id| model::by_id(&compiled.spec.officials, &id).map(|o| o.name.clone()));
    portal.pages.render(
        StatusCode::OK,
        "office/users.html",
        &chrome,
        json!({ "officials": officials, "changes": changes, "changed": changed }),
    )
}

/// The form that changes official `id`'s access, with what was `posted` and its `errors`
/// (field, message): 400 when there are errors.
pub async fn change_form(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    id: &str,
    posted: &Posted,
    errors: &[(&str, &str)],
) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    change_form_status(portal, compiled, official, id, posted, errors, status).await
}

/// [`change_form`] answered with `status`.
pub async fn change_form_status(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    id: &str,
    posted: &Posted,
    errors: &[(&str, &str)],
    status: StatusCode,
) -> Response {
    let chrome = official.chrome(compiled);
    let Some(target) = model::by_id(&compiled.spec.officials, id) else {
        return no_such_official(portal, &chrome);
    };
    let stored = match portal.store.official_block(id).await {
        Ok(stored) => stored,
        Err(e) => return unavailable(portal, &chrome, &e.to_string()),
    };
    let held = blocking::held(
        target,
        stored.as_ref(),
        official.now(),
        blocking::zone(compiled),
    );
    let error_of = |field: &str| {
        errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, message)| *message)
    };
    portal.pages.render(
        status,
        "office/change-access.html",
        &chrome,
        json!({
            "id": target.id,
            "name": target.name,
            "position": target.position,
            "unit": unit_title(compiled, &target.unit),
            "state": held.as_ref().map_or("Активний".into(), |h| blocking::words(h.hold)),
            "reason_now": held.as_ref().map(|h| h.reason.clone()),
            "by_spec": held.as_ref().is_some_and(|h| h.by_spec),
            "own": target.id == official.id,
            "errors": errors.iter().map(|(field, message)| json!({"field": field, "message": message})).collect::<Vec<_>>(),
            "action": posted.action,
            "until": posted.until,
            "reason": posted.reason,
            "action_error": error_of("action"),
            "until_error": error_of("until"),
            "reason_error": error_of("reason"),
        }),
    )
}

/// What a change did, in plain words.
fn change_words(action: AccountAction) -> String {
    match action {
        AccountAction::Block { until: Some(day) } => {
            format!("Заблоковано до {} включно", day.format("%d.%m.%Y"))
        }
        AccountAction::Block { until: None } => "Заблоковано безстроково".into(),
        AccountAction::Unblock => "Розблоковано".into(),
        AccountAction::Annul => "Обліковий запис анульовано".into(),
    }
}

/// `participant/unit` as `Unit title, Participant name` when both are declared.
fn unit_title(compiled: &Compiled, unit: &str) -> String {
    let Some((p, u)) = unit.split_once('/') else {
        return unit.to_string();
    };
    let Some(participant) = compiled.spec.participant(p) else {
        return unit.to_string();
    };
    match participant.units.iter().find(|x| x.id == u) {
        Some(found) => format!("{}, {}", found.title, participant.name),
        None => format!("{u}, {}", participant.name),
    }
}

fn role_titles(compiled: &Compiled, roles: &[String]) -> Vec<String> {
    roles
        .iter()
        .map(|r| {
            model::by_id(&compiled.spec.roles, r).map_or_else(|| r.clone(), |x| x.title.clone())
        })
        .collect()
}

/// The page for an official id the applied spec does not declare.
pub fn no_such_official(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        chrome,
        "Посадову особу не знайдено",
        "Серед посадових осіб немає такого облікового запису. Поверніться до переліку \
         користувачів і оберіть зі списку.",
    )
}

/// The page shown when the store fails; `why` goes to the log, not to the page.
pub fn unavailable(portal: &PortalState, chrome: &Chrome, why: &str) -> Response {
    tracing::error!("the office cannot show a page: {why}");
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Кабінет тимчасово недоступний",
        "Не вдалося прочитати дані. Спробуйте ще раз за кілька хвилин.",
    )
}

/// The page shown before the first revision is applied.
pub fn starting(portal: &PortalState) -> Response {
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        &Chrome::default(),
        "Кабінет ще запускається",
        "Оновіть сторінку за хвилину.",
    )
}
