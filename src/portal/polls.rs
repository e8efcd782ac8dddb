//! `/polls` and `/polls/{id}` (003 §2.2(10)): the spec's polls, open and closed; one answer per
//! signed-in person of the poll's audience, refused a second time (only counts are kept, so an
//! answer cannot be replaced); counts and percentages public only after the close.

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::PortalState;
use super::cabinet::words::zone_of;
use super::citizen::Citizen;
use super::feedback::chrome;
use super::pages::Chrome;
use crate::compile::Compiled;
use crate::spec::labels;
use crate::spec::model::{Audience, Poll, PollPhase, UserCategory};

/// `GET /polls`: the polls this person may see, open first, then upcoming, then closed.
pub async fn list(State(portal): State<PortalState>, citizen: Option<Citizen>) -> Response {
    let chrome = chrome(&portal, citizen.as_ref());
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal, &chrome);
    };
    let today = today(&portal, &compiled);
    let mut open = Vec::new();
    let mut upcoming = Vec::new();
    let mut closed = Vec::new();
    for poll in &compiled.spec.polls {
        let Some(phase) = poll.phase(today) else {
            continue;
        };
        // Results are public: every closed poll is listed; others only to their audience.
        if phase != PollPhase::Closed && !visible(poll, citizen.as_ref()) {
            continue;
        }
        let entry = json!({
            "id": poll.id,
            "question": poll.question,
            "period": period_words(poll),
            "audience": audience_words(poll.audience),
        });
        match phase {
            PollPhase::Open => open.push(entry),
            PollPhase::Upcoming => upcoming.push(entry),
            PollPhase::Closed => closed.push(entry),
        }
    }
    portal.pages.render(
        StatusCode::OK,
        "polls.html",
        &chrome,
        json!({"open": open, "upcoming": upcoming, "closed": closed}),
    )
}

#[derive(Deserialize)]
pub struct Shown {
    answered: Option<String>,
}

/// `GET /polls/{id}`: the question and the form while it is open, the results once closed.
pub async fn page(
    State(portal): State<PortalState>,
    citizen: Option<Citizen>,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Response {
    let chrome = chrome(&portal, citizen.as_ref());
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal, &chrome);
    };
    let today = today(&portal, &compiled);
    let Some((poll, phase)) = find(&compiled, &id, today) else {
        return not_found(&portal, &chrome);
    };
    if phase != PollPhase::Closed && !visible(poll, citizen.as_ref()) {
        if citizen.is_none() {
            return to_sign_in(&id);
        }
        return not_for_you(&portal, &chrome, poll);
    }
    let mut view = base_view(poll);
    view["phase"] = json!(phase_name(phase));
    view["answered_now"] = json!(shown.answered.is_some());
    match phase {
        PollPhase::Upcoming => {}
        PollPhase::Closed => match results(&portal, poll).await {
            Ok(results) => view["results"] = results,
            Err(e) => return unavailable(&portal, &chrome, &e),
        },
        PollPhase::Open => {
            if let Some(citizen) = &citizen {
                let answered = match answered(&portal, poll, citizen).await {
                    Ok(answered) => answered,
                    Err(e) => return unavailable(&portal, &chrome, &e),
                };
                view["answered"] = json!(answered);
                view["may_answer"] = json!(!answered && in_audience(poll, citizen));
            }
        }
    }
    portal
        .pages
        .render(StatusCode::OK, "poll.html", &chrome, view)
}

/// `POST /polls/{id}`: `choice` and `csrf`; someone not signed in is sent to sign in first.
pub async fn answer(
    State(portal): State<PortalState>,
    citizen: Option<Citizen>,
    Path(id): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let Some(citizen) = citizen else {
        return to_sign_in(&id);
    };
    let pairs = form.map(|Form(pairs)| pairs).unwrap_or_default();
    if let Err(refused) = citizen.check_csrf(super::forms::posted_csrf(&pairs)) {
        return refused;
    }
    let chrome = chrome(&portal, Some(&citizen));
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal, &chrome);
    };
    let today = today(&portal, &compiled);
    let Some((poll, phase)) = find(&compiled, &id, today) else {
        return not_found(&portal, &chrome);
    };
    match phase {
        PollPhase::Open => {}
        PollPhase::Upcoming => {
            return refused(
                &portal,
                &chrome,
                "Опитування ще не почалося",
                &format!(
                    "Відповісти можна з {}. Поверніться до опитування тоді.",
                    day_words(&poll.period.from)
                ),
            );
        }
        PollPhase::Closed => {
            return refused(
                &portal,
                &chrome,
                "Опитування завершено",
                "Відповіді вже не приймаються. Результати опитування можна переглянути на його \
                 сторінці.",
            );
        }
    }
    if !in_audience(poll, &citizen) {
        return not_for_you(&portal, &chrome, poll);
    }
    let choice = pairs
        .iter()
        .find(|(k, _)| k == "choice")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if poll.option(choice).is_none() {
        let mut view = base_view(poll);
        view["phase"] = json!("open");
        view["answered"] = json!(false);
        view["may_answer"] = json!(true);
        view["answered_now"] = json!(false);
        let first = poll.options.first().map_or("", |o| o.id.as_str());
        view["errors"] = json!([{"field": format!("choice-{first}"),
            "message": "Оберіть одну з відповідей"}]);
        return portal
            .pages
            .render(StatusCode::BAD_REQUEST, "poll.html", &chrome, view);
    }
    let voter = match portal.digests.voter(&poll.id, &citizen.owner) {
        Ok(voter) => voter,
        Err(e) => return unavailable(&portal, &chrome, &e),
    };
    match portal.store.answer_poll(&poll.id, &voter, choice).await {
        Ok(true) => {
            let location = format!("/polls/{}?answered=1", poll.id);
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(location) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Ok(false) => refused(
            &portal,
            &chrome,
            "Ви вже відповіли на це опитування",
            "Кожна людина відповідає один раз, і змінити відповідь не можна: портал зберігає лише \
             кількість відповідей, а не те, хто що обрав.",
        ),
        Err(e) => unavailable(&portal, &chrome, &e.to_string()),
    }
}

/// Today in the system's calendar, by the engine's clock.
pub(crate) fn today(portal: &PortalState, compiled: &Compiled) -> NaiveDate {
    let zone = compiled
        .spec
        .system()
        .map_or(chrono_tz::Europe::Kyiv, |s| zone_of(&s.calendar));
    portal
        .engine
        .clock()
        .now()
        .with_timezone(&zone)
        .date_naive()
}

fn find<'c>(compiled: &'c Compiled, id: &str, today: NaiveDate) -> Option<(&'c Poll, PollPhase)> {
    let poll = compiled.spec.polls.iter().find(|p| p.id == id)?;
    Some((poll, poll.phase(today)?))
}

/// Whether the poll's question is shown to `citizen` (or to nobody signed in) while open.
fn visible(poll: &Poll, citizen: Option<&Citizen>) -> bool {
    poll.audience == Audience::Everyone || citizen.is_some()
}

/// Whether `citizen` is of the poll's audience.
fn in_audience(poll: &Poll, citizen: &Citizen) -> bool {
    poll.audience
        .category()
        .is_none_or(|category| category_of(citizen) == category)
}

/// What a person signed in as: a legal entity's representative (an 8-digit EDRPOU), an
/// entrepreneur (a 10-digit code, the RNOKPP an entrepreneur is registered under) or an
/// individual.
fn category_of(citizen: &Citizen) -> UserCategory {
    match citizen.edrpou.as_deref().map(str::trim) {
        Some(code) if code.len() == 8 => UserCategory::LegalEntity,
        Some(code) if code.len() == 10 => UserCategory::Entrepreneur,
        _ => UserCategory::Individual,
    }
}

async fn answered(portal: &PortalState, poll: &Poll, citizen: &Citizen) -> Result<bool, String> {
    let voter = portal.digests.voter(&poll.id, &citizen.owner)?;
    portal
        .store
        .has_answered(&poll.id, &voter)
        .await
        .map_err(|e| e.to_string())
}

/// Counts and percentages of each option, in the spec's order.
async fn results(portal: &PortalState, poll: &Poll) -> Result<Value, String> {
    let (total, counts) = portal
        .store
        .poll_counts(&poll.id)
        .await
        .map_err(|e| e.to_string())?;
    let counts: HashMap<String, i64> = counts.into_iter().collect();
    let options: Vec<Value> = poll
        .options
        .iter()
        .map(|o| {
            let count = counts.get(&o.id).copied().unwrap_or(0);
            json!({"label": o.label, "count": count, "percent": percent(count, total)})
        })
        .collect();
    Ok(json!({"total": total, "options": options}))
}

/// `count` of `total` as Ukrainian writes a percentage, one decimal: `66,7 %`.
fn percent(count: i64, total: i64) -> String {
    if total == 0 {
        return "0 %".into();
    }
    let tenths = (count * 1000 + total / 2) / total;
    format!("{},{} %", tenths / 10, tenths % 10)
}

fn base_view(poll: &Poll) -> Value {
    json!({
        "id": poll.id,
        "question": poll.question,
        "description": poll.description,
        "period": period_words(poll),
        "audience": audience_words(poll.audience),
        "options": poll.options.iter().map(|o| json!({"id": o.id, "label": o.label})).collect::<Vec<_>>(),
        "answered": false,
        "may_answer": false,
        "results": Value::Null,
        "errors": [],
    })
}

fn phase_name(phase: PollPhase) -> &'static str {
    match phase {
        PollPhase::Upcoming => "upcoming",
        PollPhase::Open => "open",
        PollPhase::Closed => "closed",
    }
}

fn day_words(day: &str) -> String {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_or_else(|_| day.to_string(), |d| d.format("%d.%m.%Y").to_string())
}

fn period_words(poll: &Poll) -> String {
    match &poll.period.until {
        Some(until) => format!(
            "з {} до {} включно",
            day_words(&poll.period.from),
            day_words(until)
        ),
        None => format!("з {}, без дати завершення", day_words(&poll.period.from)),
    }
}

fn audience_words(audience: Audience) -> String {
    match audience.category() {
        Some(category) => format!("для: {}", labels::user_category(category)),
        None if audience == Audience::SignedIn => "для всіх, хто увійшов на портал".into(),
        None => "для всіх".into(),
    }
}

fn to_sign_in(id: &str) -> Response {
    let next: String =
        url::form_urlencoded::byte_serialize(format!("/polls/{id}").as_bytes()).collect();
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/sign-in?next={next}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn not_found(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        chrome,
        "Опитування не знайдено",
        "Такого опитування немає. Перелік опитувань — на сторінці «Опитування».",
    )
}

fn not_for_you(portal: &PortalState, chrome: &Chrome, poll: &Poll) -> Response {
    portal.pages.problem(
        StatusCode::FORBIDDEN,
        chrome,
        "Це опитування не для вас",
        &format!(
            "Опитування «{}» проводиться {}. Інші опитування — на сторінці «Опитування».",
            poll.question,
            audience_words(poll.audience)
        ),
    )
}

fn refused(portal: &PortalState, chrome: &Chrome, title: &str, message: &str) -> Response {
    portal
        .pages
        .problem(StatusCode::CONFLICT, chrome, title, message)
}

fn starting(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Портал ще запускається",
        "Оновіть сторінку за хвилину.",
    )
}

fn unavailable(portal: &PortalState, chrome: &Chrome, why: &str) -> Response {
    tracing::error!("a poll's page cannot be served: {why}");
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Опитування тимчасово недоступне",
        "Не вдалося прочитати дані опитування. Спробуйте ще раз за кілька хвилин.",
    )
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percentages_are_rounded_to_a_tenth_with_a_decimal_comma() {
        assert_eq!(percent(2, 3), "66,7 %");
        assert_eq!(percent(1, 3), "33,3 %");
        assert_eq!(percent(0, 0), "0 %");
        assert_eq!(percent(5, 5), "100,0 %");
    }
}
