//! How the cabinet tells a case's history and times in plain words: what happened and who did
//! it, from the case's pinned definition, with an official named only by name and position and
//! nothing of the engine's internals (registry answers, reminders to officials).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::compile::workflow::Definition;
use crate::store::{CaseEventRow, parse_time};

/// The city's time zone for `definition`'s cases.
pub fn zone_of(calendar: &crate::spec::model::Calendar) -> Tz {
    calendar.zone().unwrap_or(chrono_tz::Europe::Kyiv)
}

/// A stored time (RFC 3339) as people in the city read it: `21.12.2026 11:00`.
pub fn when(text: &str, zone: Tz) -> String {
    parse_time(text).map_or_else(|| text.to_string(), |t| at(&t, zone))
}

/// `t` as people in the city read it.
pub fn at(t: &DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format("%d.%m.%Y %H:%M").to_string()
}

/// The events of a case's history the applicant is told of, oldest first, each as
/// `{when, what, who}`.
pub fn history(events: &[CaseEventRow], definition: &Definition, applicant: &str) -> Vec<Value> {
    let zone = zone_of(&definition.calendar);
    events
        .iter()
        .filter_map(|e| {
            let what = what(e, definition)?;
            Some(json!({
                "when": when(&e.at, zone),
                "what": what,
                "who": who(&e.actor, definition, applicant),
            }))
        })
        .collect()
}

fn state_title(definition: &Definition, state: Option<&str>) -> String {
    let state = state.unwrap_or_default();
    definition
        .state(state)
        .map_or_else(|| state.to_string(), |s| s.label().to_string())
}

/// What an event did, or `None` for an event the applicant is not told of.
fn what(e: &CaseEventRow, definition: &Definition) -> Option<String> {
    let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
    let to = || state_title(definition, e.to_state.as_deref());
    Some(match e.kind.as_str() {
        "started" => format!("Заяву зареєстровано: «{}»", to()),
        "transition" => {
            let from = e.from_state.as_deref().unwrap_or_default();
            let title = definition
                .state(from)
                .and_then(|s| {
                    s.transitions
                        .iter()
                        .find(|t| Some(&t.event) == e.event.as_ref())
                })
                .map(|t| t.label().to_string());
            let said = match title {
                Some(title) => format!("{title}. Новий стан: «{}»", to()),
                None => format!("Новий стан: «{}»", to()),
            };
            match detail
                .pointer("/details/documents_requested")
                .and_then(Value::as_str)
            {
                Some(needed) => format!("{said}. Потрібно надати: {needed}"),
                None => said,
            }
        }
        "decided" => match detail["reason"].as_str() {
            Some(reason) => format!("Прийнято рішення: {reason}"),
            None => "Прийнято рішення".to_string(),
        },
        "issued" => match detail["number"].as_str() {
            Some(number) => format!("Видано документ № {number}"),
            None => "Видано документ".to_string(),
        },
        "overdue" => "Сплив строк розгляду в цьому стані".to_string(),
        "escalated" => "Заяву передано керівнику через сплив строку".to_string(),
        "assigned" if detail["to"].is_string() => "Заяву передано виконавцю".to_string(),
        "migrated" => format!("Порядок розгляду оновлено; заява в стані «{}»", to()),
        // Registry calls, notices (shown apart), reminders to officials, an unassignment.
        _ => return None,
    })
}

/// Who acted, as the applicant is told: they themselves, an official by name and position, or
/// the system.
fn who(actor: &str, definition: &Definition, applicant: &str) -> String {
    match actor.split_once(':') {
        Some(("applicant", id)) if id == applicant => "Ви".to_string(),
        Some(("applicant", _)) => "Заявник".to_string(),
        Some(("official", id)) => definition
            .officials
            .iter()
            .find(|p| p.id == id)
            .map_or_else(
                || "Посадова особа".to_string(),
                |p| format!("{}, {}", p.name, p.position),
            ),
        Some(("system", _)) => "Інформаційна система надавача послуги".to_string(),
        _ => "Система".to_string(),
    }
}
