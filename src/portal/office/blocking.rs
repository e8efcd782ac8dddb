//! Blocking officials (003 §6.8, §6.11; 001 §4.6): whether an official may use the office now,
//! the stricter of the spec's `blocked` and the store's block; and `POST /office/users/{id}/block`,
//! where an official with `users-manage` blocks, unblocks or annuls another's account.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::access_log;
use super::official::Official;
use super::users;
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::sign_in::{form_value, see_other};
use crate::spec::model::{self, Permission};
use crate::store::{AccountAction, AccountChange, AccountHold, ChangeRefused, OfficialBlock};

/// An official's account held now, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub hold: AccountHold,
    /// Held by the spec (else by the office).
    pub by_spec: bool,
    pub reason: String,
}

/// Whether a block through the day `until` (or for good) holds at `now` in `zone`.
fn in_force(until: Option<NaiveDate>, now: DateTime<Utc>, zone: Tz) -> bool {
    until.is_none_or(|last| now.with_timezone(&zone).date_naive() <= last)
}

/// How `official`'s account is held at `now`: the stricter of the spec's block and `stored`
/// (annulled, then for good, then the later day); `None` when they may use the office.
pub fn held(
    official: &model::Official,
    stored: Option<&OfficialBlock>,
    now: DateTime<Utc>,
    zone: Tz,
) -> Option<Held> {
    let mut found: Vec<Held> = Vec::new();
    if let Some(blocked) = &official.blocked {
        // A day the spec writes badly (H0318) blocks for good rather than not at all.
        let until = blocked.last_day().unwrap_or(None);
        if in_force(until, now, zone) {
            found.push(Held {
                hold: AccountHold::Blocked { until },
                by_spec: true,
                reason: blocked.reason.clone(),
            });
        }
    }
    if let Some(block) = stored {
        let holds = match block.hold {
            AccountHold::Annulled => true,
            AccountHold::Blocked { until } => in_force(until, now, zone),
        };
        if holds {
            found.push(Held {
                hold: block.hold,
                by_spec: false,
                reason: block.reason.clone(),
            });
        }
    }
    found.into_iter().max_by_key(|h| strictness(h.hold))
}

/// Orders holds: a later day, then for good, then annulled.
fn strictness(hold: AccountHold) -> (u8, Option<NaiveDate>) {
    match hold {
        AccountHold::Blocked { until: Some(day) } => (0, Some(day)),
        AccountHold::Blocked { until: None } => (1, None),
        AccountHold::Annulled => (2, None),
    }
}

/// The hold in plain words: `Заблоковано до 31.01.2027 включно`, `Анульовано`, …
pub fn words(hold: AccountHold) -> String {
    match hold {
        AccountHold::Blocked { until: Some(day) } => {
            format!("Заблоковано до {} включно", day.format("%d.%m.%Y"))
        }
        AccountHold::Blocked { until: None } => "Заблоковано безстроково".into(),
        AccountHold::Annulled => "Обліковий запис анульовано".into(),
    }
}

/// The city's time zone in revision `compiled`.
pub fn zone(compiled: &Compiled) -> Tz {
    compiled.spec.system().map_or(chrono_tz::Europe::Kyiv, |s| {
        crate::portal::cabinet::words::zone_of(&s.calendar)
    })
}

/// What a posted change asks for, or what is wrong with it (by field).
#[derive(Debug, Default)]
pub struct Posted {
    pub action: String,
    pub until: String,
    pub reason: String,
}

/// `GET /office/users/{id}/block`: the form that changes one official's access.
pub async fn form(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return users::starting(&portal);
    };
    if let Err(refused) = official
        .require(&portal, &compiled, Permission::UsersManage)
        .await
    {
        return refused;
    }
    users::change_form(&portal, &compiled, &official, &id, &Posted::default(), &[]).await
}

/// `POST /office/users/{id}/block` (`action` = `block` with an optional `until` day, `unblock`
/// or `annul`; `reason` required; `csrf`): recorded with who and when, effective at the
/// official's next request.
pub async fn submit(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return users::starting(&portal);
    };
    if let Err(refused) = official
        .require(&portal, &compiled, Permission::UsersManage)
        .await
    {
        return refused;
    }
    if let Err(refused) = official.check_csrf(form_value(&body, "csrf").as_deref()) {
        return refused;
    }
    let chrome = official.chrome(&compiled);
    let Some(target) = model::by_id(&compiled.spec.officials, &id) else {
        return users::no_such_official(&portal, &chrome);
    };
    let posted = Posted {
        action: form_value(&body, "action").unwrap_or_default(),
        until: form_value(&body, "until")
            .unwrap_or_default()
            .trim()
            .to_string(),
        reason: form_value(&body, "reason")
            .unwrap_or_default()
            .trim()
            .to_string(),
    };
    let now = official.now();
    let action = match judge(&posted, &official.id, &target.id, now, zone(&compiled)) {
        Ok(action) => action,
        Err(errors) => {
            return users::change_form(&portal, &compiled, &official, &id, &posted, &errors).await;
        }
    };
    let change = AccountChange {
        official: target.id.clone(),
        action,
        reason: posted.reason.clone(),
        by: official.id.clone(),
        at: now,
    };
    match portal.store.change_official_account(&change).await {
        Ok(Ok(())) => {}
        Ok(Err(refused)) => {
            let error = match refused {
                ChangeRefused::Annulled => (
                    "action",
                    "Обліковий запис анульовано: його вже не можна ні заблокувати, ні \
                     розблокувати.",
                ),
                ChangeRefused::NotBlocked => (
                    "action",
                    "Обліковий запис не заблоковано в кабінеті, тож розблоковувати нічого. \
                     Блокування, записане в специфікації, знімають у специфікації.",
                ),
            };
            return users::change_form_status(
                &portal,
                &compiled,
                &official,
                &id,
                &posted,
                &[error],
                StatusCode::CONFLICT,
            )
            .await;
        }
        Err(e) => return users::unavailable(&portal, &chrome, &e.to_string()),
    }
    let detail = match action {
        AccountAction::Block { until: Some(day) } => {
            format!("official {} blocked through {day}", target.id)
        }
        AccountAction::Block { until: None } => format!("official {} blocked for good", target.id),
        AccountAction::Unblock => format!("official {} unblocked", target.id),
        AccountAction::Annul => format!("official {} annulled", target.id),
    };
    official.security_event(
        crate::portal::security_log::EventKind::AccountChanged,
        &detail,
    );
    if let Err(e) =
        access_log::record(&portal.store, &official, action.as_str(), None, &detail).await
    {
        tracing::error!("the access log did not take an account change ({detail}): {e}");
    }
    see_other(&format!("/office/users?changed={}", target.id), &[])
}

/// The change `posted` asks `by` to make to `target`'s account, or the errors by field.
fn judge(
    posted: &Posted,
    by: &str,
    target: &str,
    now: DateTime<Utc>,
    zone: Tz,
) -> Result<AccountAction, Vec<(&'static str, &'static str)>> {
    let mut errors = Vec::new();
    if by == target {
        errors.push((
            "action",
            "Ви не можете змінити доступ власного облікового запису: це робить інший \
             адміністратор.",
        ));
    }
    let action = match posted.action.as_str() {
        "block" => {
            let until = if posted.until.is_empty() {
                None
            } else {
                match NaiveDate::parse_from_str(&posted.until, "%Y-%m-%d") {
                    Ok(day) if day >= now.with_timezone(&zone).date_naive() => Some(day),
                    Ok(_) => {
                        errors.push((
                            "until",
                            "Дата закінчення блокування має бути сьогодні або пізніше.",
                        ));
                        None
                    }
                    Err(_) => {
                        errors.push((
                            "until",
                            "Введіть дату закінчення блокування у форматі РРРР-ММ-ДД, \
                             наприклад 2027-01-31, або залиште поле порожнім.",
                        ));
                        None
                    }
                }
            };
            Some(AccountAction::Block { until })
        }
        "unblock" => Some(AccountAction::Unblock),
        "annul" => Some(AccountAction::Annul),
        _ => {
            errors.push(("action", "Оберіть, що зробити з обліковим записом."));
            None
        }
    };
    if posted.reason.is_empty() {
        errors.push(("reason", "Вкажіть причину: її побачать у журналі змін."));
    } else if posted.reason.chars().count() > 500 {
        errors.push(("reason", "Причина має бути не довшою за 500 символів."));
    }
    match action {
        Some(action) if errors.is_empty() => Ok(action),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn official(blocked: Option<(&str, &str)>) -> model::Official {
        model::Official {
            id: "koval-o".into(),
            name: "Коваль Оксана".into(),
            position: "Спеціаліст".into(),
            unit: "city-council/social-aid".into(),
            roles: vec!["social-clerk".into()],
            email: "k@city.example".into(),
            phone: None,
            rnokpp: None,
            blocked: blocked.map(|(until, reason)| model::OfficialBlocked {
                until: (!until.is_empty()).then(|| until.into()),
                reason: reason.into(),
            }),
        }
    }

    fn stored(hold: AccountHold) -> OfficialBlock {
        OfficialBlock {
            official: "koval-o".into(),
            hold,
            reason: "store".into(),
            by: "romanenko-y".into(),
            at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        }
    }

    fn day(d: &str) -> Option<NaiveDate> {
        Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap())
    }

    #[test]
    fn a_block_holds_through_its_last_day_in_the_city_and_the_stricter_one_wins() {
        let kyiv = chrono_tz::Europe::Kyiv;
        // 22:30 UTC on 31 January is already 1 February in Kyiv.
        let last_evening = Utc.with_ymd_and_hms(2027, 1, 31, 21, 30, 0).unwrap();
        let next_day = Utc.with_ymd_and_hms(2027, 1, 31, 22, 30, 0).unwrap();
        let spec = official(Some(("2027-01-31", "spec")));
        assert!(held(&spec, None, last_evening, kyiv).is_some());
        assert_eq!(held(&spec, None, next_day, kyiv), None);

        let later = stored(AccountHold::Blocked {
            until: day("2027-03-01"),
        });
        let h = held(&spec, Some(&later), last_evening, kyiv).unwrap();
        assert_eq!((h.hold, h.by_spec), (later.hold, false));
        // The store says nothing (or a block long over): the spec's block still holds.
        let over = stored(AccountHold::Blocked {
            until: day("2026-12-01"),
        });
        let h = held(&spec, Some(&over), last_evening, kyiv).unwrap();
        assert!(h.by_spec);
        let for_good = official(Some(("", "spec")));
        let h = held(&for_good, Some(&later), next_day, kyiv).unwrap();
        assert_eq!(h.hold, AccountHold::Blocked { until: None });
        let annulled = stored(AccountHold::Annulled);
        let h = held(&for_good, Some(&annulled), next_day, kyiv).unwrap();
        assert_eq!(h.hold, AccountHold::Annulled);
        assert_eq!(held(&official(None), None, next_day, kyiv), None);
        // A day the spec writes badly blocks rather than lets in.
        let bad = official(Some(("31.01.2027", "spec")));
        assert!(held(&bad, None, next_day, kyiv).is_some());
    }

    #[test]
    fn a_change_needs_an_action_a_reason_and_a_day_not_past_and_never_ones_own() {
        let now = Utc.with_ymd_and_hms(2026, 12, 21, 9, 0, 0).unwrap();
        let kyiv = chrono_tz::Europe::Kyiv;
        let posted = |action: &str, until: &str, reason: &str| Posted {
            action: action.into(),
            until: until.into(),
            reason: reason.into(),
        };
        assert_eq!(
            judge(
                &posted("block", "2026-12-31", "Відпустка"),
                "a",
                "b",
                now,
                kyiv
            ),
            Ok(AccountAction::Block {
                until: day("2026-12-31")
            })
        );
        assert_eq!(
            judge(&posted("annul", "", "Звільнення"), "a", "b", now, kyiv),
            Ok(AccountAction::Annul)
        );
        let fields = |r: Result<AccountAction, Vec<(&'static str, &'static str)>>| {
            r.unwrap_err()
                .into_iter()
                .map(|(f, _)| f)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(judge(&posted("block", "", ""), "a", "b", now, kyiv)),
            ["reason"]
        );
        assert_eq!(
            fields(judge(
                &posted("block", "2026-12-20", "x"),
                "a",
                "b",
                now,
                kyiv
            )),
            ["until"]
        );
        assert_eq!(
            fields(judge(
                &posted("block", "31.12.2026", "x"),
                "a",
                "b",
                now,
                kyiv
            )),
            ["until"]
        );
        assert_eq!(
            fields(judge(&posted("drop", "", "x"), "a", "b", now, kyiv)),
            ["action"]
        );
        assert_eq!(
            fields(judge(&posted("block", "", "x"), "a", "a", now, kyiv)),
            ["action"]
        );
    }
}
