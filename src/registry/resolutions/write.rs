//! Writing a resolution (КМУ №55 п.64–75): who may write it, what it must name (exactly one
//! main executor, of the card's participant; a deadline not before registration, п.171), its
//! seal, and ONE transaction holding the card's change, the people it concerns, each executor's
//! case of the engine and the notices.

use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::deadline::{day_of, end_of, from_registration, parse_date};
use super::{MAX_TEXT, Opened, Refusal, WORK_OF, holds, official_of, participant_of};
use crate::portal::PortalState;
use crate::portal::office::official::Official;
use crate::spec::model::{Journal, Permission};
use crate::store::{CardChange, ResolutionExecutorRow, ResolutionRow, parse_time, time_text};
use crate::workflow::actions::OWN_INTERIM;
use crate::workflow::calendar::Calendar;
use crate::workflow::engine::EngineError;
use crate::workflow::requests::Applicant;
use crate::workflow::work::Work;

/// A resolution as an official asks for it.
#[derive(Debug, Default, Clone)]
pub struct NewResolution<'a> {
    /// The form's own key: the same form posted twice writes one resolution.
    pub key: &'a str,
    /// The resolution that reached the author, for a co-executor's own.
    pub parent: Option<&'a str>,
    pub main: Vec<&'a str>,
    pub co: Vec<&'a str>,
    pub informed: Vec<&'a str>,
    pub task: &'a str,
    /// `YYYY-MM-DD`; else `days` calendar days from registration; else the journal's.
    pub deadline: Option<&'a str>,
    pub days: Option<&'a str>,
    pub interim: Option<&'a str>,
}

/// Writes `r` on the opened card as `official`: the resolution row, sealed.
pub async fn resolve(
    portal: &PortalState,
    opened: &Opened,
    official: &Official,
    r: &NewResolution<'_>,
) -> Result<ResolutionRow, Refusal> {
    let (compiled, card) = (&opened.compiled, &opened.card);
    let store = &portal.store;
    if let Err(why) = crate::registry::cards::editable(card) {
        return Err(Refusal::new(StatusCode::CONFLICT, format!("{why}.")));
    }
    if card.status != "registered" {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            format!(
                "Документ у стані «{}»: резолюцію можна накласти лише на зареєстрований документ, \
                 що не виконаний, не списаний до справи і не в архіві.",
                card.status
            ),
        ));
    }
    let parent = match r.parent {
        Some(id) => Some(
            store
                .resolution(id)
                .await?
                .filter(|p| p.card_id == card.id)
                .ok_or_else(|| {
                    Refusal::invalid(format!("Резолюції {id} на цьому документі немає."))
                })?,
        ),
        None => None,
    };
    let acting_for = authority(portal, opened, official, parent.as_ref()).await?;
    let (main, co, informed) = people(opened, r)?;
    let task = r.task.trim();
    if task.is_empty() || task.chars().count() > MAX_TEXT {
        return Err(Refusal::invalid(format!(
            "Напишіть завдання резолюції (до {MAX_TEXT} знаків)."
        )));
    }
    let journal = compiled
        .spec
        .journals
        .iter()
        .find(|j| j.id == card.journal)
        .ok_or_else(|| {
            Refusal::invalid(format!(
                "Журналу {} документа немає в чинній специфікації.",
                card.journal
            ))
        })?;
    let workflow = journal.execution.as_deref().ok_or_else(|| {
        Refusal::invalid(format!(
            "Журнал {} не називає процесу виконання (`execution`), тож резолюції на його \
             документах не ведуться; зверніться до адміністратора специфікації.",
            journal.id
        ))
    })?;
    let calendar = Calendar::from_spec(
        &compiled
            .spec
            .system()
            .map(|s| s.calendar.clone())
            .unwrap_or_default(),
    );
    let (deadline, interim) = terms(&calendar, card, journal, parent.as_ref(), r)?;
    let id = resolution_id(&card.id, &official.id, r.key);
    if let Some(done) = store.resolution(&id).await? {
        return Ok(done);
    }
    let at = official.now();
    let participant = card.participant.clone();
    let canonical = json!({
        "id": id,
        "card": card.id,
        "participant": participant,
        "journal": card.journal,
        "reg_number": card.reg_number,
        "reg_date": card.reg_date,
        "parent": parent.as_ref().map(|p| p.id.clone()),
        "author": official.id,
        "acting_for": acting_for,
        "main_executor": main,
        "co_executors": co,
        "informed": informed,
        "task": task,
        "deadline": deadline.to_string(),
        "interim_deadline": interim.map(|d| d.to_string()),
        "created_at": time_text(&at),
    })
    .to_string();
    let seal = portal
        .engine
        .seals()
        .seal(&participant)
        .and_then(|s| s.sign_detached(canonical.as_bytes(), at))
        .map_err(|why| {
            tracing::error!(card = %card.id, "a resolution could not be sealed: {why}");
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Резолюцію не вдалося засвідчити печаткою установи; зверніться до адміністратора.",
            )
        })?;
    let row = ResolutionRow {
        id: id.clone(),
        card_id: card.id.clone(),
        parent: parent.as_ref().map(|p| p.id.clone()),
        author: official.id.clone(),
        acting_for: acting_for.clone(),
        main_executor: main.clone(),
        co_executors: json!(co).to_string(),
        informed: json!(informed).to_string(),
        task: task.to_string(),
        deadline: deadline.to_string(),
        interim_deadline: interim.map(|d| d.to_string()),
        created_at: time_text(&at),
        canonical,
        seal,
        sealed_by: participant,
    };
    write(portal, opened, official, &row, (&calendar, workflow), at).await?;
    tracing::info!(
        card = %card.id, resolution = %row.id, author = %official.id,
        "a resolution was written and its executors' work started"
    );
    Ok(row)
}

/// The principal the official writes for (`None`: in their own right); a refusal when they may
/// not write this resolution at all.
async fn authority(
    portal: &PortalState,
    opened: &Opened,
    official: &Official,
    parent: Option<&ResolutionRow>,
) -> Result<Option<String>, Refusal> {
    let (compiled, card, reader) = (&opened.compiled, &opened.card, &opened.reader);
    let deputy_for = |may: &dyn Fn(&str) -> bool| {
        reader
            .delegations
            .iter()
            .filter(|d| d.decide == 1)
            .find(|d| may(&d.principal))
            .map(|d| d.principal.clone())
    };
    match parent {
        Some(p) => {
            let executors = portal.store.card_executors(&card.id).await?;
            let works = |who: &str| {
                executors
                    .iter()
                    .any(|e| e.resolution_id == p.id && e.official == who)
            };
            if works(&official.id) {
                return Ok(None);
            }
            deputy_for(&|principal| works(principal))
                .map(Some)
                .ok_or_else(|| {
                    Refusal::new(
                        StatusCode::FORBIDDEN,
                        "Власну резолюцію під цією може накласти лише її виконавець або той, хто \
                     його заміщує з правом рішення.",
                    )
                })
        }
        None => {
            if official.participant() == card.participant
                && official.may(compiled, Permission::DocumentsResolve)
            {
                return Ok(None);
            }
            deputy_for(&|principal| {
                official_of(compiled, principal).is_some_and(|o| {
                    participant_of(&o.unit) == card.participant
                        && holds(compiled, o, Permission::DocumentsResolve)
                })
            })
            .map(Some)
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::FORBIDDEN,
                    "Накладати резолюції на документи цієї установи може лише посадова особа з \
                     правом резолюції (documents-resolve) або її заступник з правом рішення.",
                )
            })
        }
    }
}

/// The main executor (exactly one), the co-executors and those informed, each an official of
/// the card's participant.
fn people(
    opened: &Opened,
    r: &NewResolution<'_>,
) -> Result<(String, Vec<String>, Vec<String>), Refusal> {
    let [main] = r.main.as_slice() else {
        return Err(Refusal::invalid(format!(
            "Резолюція називає рівно одного головного виконавця, а названо {}.",
            r.main.len()
        )));
    };
    let mut co: Vec<String> = Vec::new();
    for c in &r.co {
        if c == main {
            return Err(Refusal::invalid(format!(
                "{c} — головний виконавець; співвиконавцем він бути не може."
            )));
        }
        if !co.iter().any(|x| x == c) {
            co.push(c.to_string());
        }
    }
    let mut informed: Vec<String> = Vec::new();
    for i in &r.informed {
        if !informed.iter().any(|x| x == i) {
            informed.push(i.to_string());
        }
    }
    let card = &opened.card;
    for who in std::iter::once(*main)
        .chain(co.iter().map(String::as_str))
        .chain(informed.iter().map(String::as_str))
    {
        let theirs = official_of(&opened.compiled, who)
            .is_some_and(|o| participant_of(&o.unit) == card.participant);
        if !theirs {
            return Err(Refusal::invalid(format!(
                "{who} не є посадовою особою установи {}, що веде документ.",
                card.participant
            )));
        }
    }
    Ok((main.to_string(), co, informed))
}

/// The deadline and interim deadline: not before registration, an interim one within the term,
/// a co-executor's own not after the one that reached them.
fn terms(
    calendar: &Calendar,
    card: &crate::store::CardRow,
    journal: &Journal,
    parent: Option<&ResolutionRow>,
    r: &NewResolution<'_>,
) -> Result<(NaiveDate, Option<NaiveDate>), Refusal> {
    let registered_at = card
        .registered_at
        .as_deref()
        .and_then(parse_time)
        .ok_or_else(|| Refusal::invalid("Документ не має часу реєстрації."))?;
    let registered = registered_day(calendar, registered_at);
    let deadline = match (r.deadline, r.days) {
        (Some(text), _) => parse_date(text).ok_or_else(|| {
            Refusal::invalid(format!("Строк «{text}» не є датою у вигляді РРРР-ММ-ДД."))
        })?,
        (None, Some(text)) => {
            let days = text
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=Journal::MAX_CONTROL_DAYS).contains(d))
                .ok_or_else(|| {
                    Refusal::invalid(format!(
                        "Кількість днів «{text}» має бути числом від 1 до {}.",
                        Journal::MAX_CONTROL_DAYS
                    ))
                })?;
            from_registration(calendar, registered_at, days)
        }
        (None, None) => from_registration(calendar, registered_at, journal.control_days()),
    };
    if deadline < registered {
        return Err(Refusal::invalid(format!(
            "Строк {deadline} раніший за дату реєстрації документа {registered}."
        )));
    }
    if let Some(p) = parent
        && parse_date(&p.deadline).is_some_and(|pd| deadline > pd)
    {
        return Err(Refusal::invalid(format!(
            "Строк {deadline} пізніший за строк резолюції, якою вам доручено ({}).",
            p.deadline
        )));
    }
    let interim = match r.interim {
        Some(text) => {
            let d = parse_date(text).ok_or_else(|| {
                Refusal::invalid(format!(
                    "Проміжний строк «{text}» не є датою у вигляді РРРР-ММ-ДД."
                ))
            })?;
            if d < registered || d > deadline {
                return Err(Refusal::invalid(format!(
                    "Проміжний строк {d} має бути між датою реєстрації {registered} і строком \
                     {deadline}."
                )));
            }
            Some(d)
        }
        None => None,
    };
    Ok((deadline, interim))
}

/// The city's day of a registration.
fn registered_day(calendar: &Calendar, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&calendar.zone()).date_naive()
}

/// A resolution's id: the same form of the same official on the same card names the same one.
fn resolution_id(card: &str, official: &str, key: &str) -> String {
    let digest = crate::crypto::sha256(format!("{card}\n{official}\n{key}").as_bytes());
    format!("res-{}", &hex::encode(digest)[..32])
}

/// The one transaction: each executor's case, the resolution and its executors, the people the
/// card concerns, the card's change and the notices.
async fn write(
    portal: &PortalState,
    opened: &Opened,
    official: &Official,
    row: &ResolutionRow,
    (calendar, workflow): (&Calendar, &str),
    at: DateTime<Utc>,
) -> Result<(), Refusal> {
    let store = &portal.store;
    let card = &opened.card;
    let mut tx = store.begin().await?;
    let Some(before) = store.card_in(&mut tx, &card.id).await? else {
        return Err(Refusal::new(StatusCode::NOT_FOUND, "Документа немає."));
    };
    if before.version != card.version {
        return Err(stale());
    }
    let actor = official.actor();
    let on_behalf = row.acting_for.as_ref().map(|p| format!("official:{p}"));
    let subject = Applicant {
        id: card.id.clone(),
        name: card.reg_number.clone().unwrap_or_else(|| card.id.clone()),
        email: None,
    };
    let deadline_date = parse_date(&row.deadline).expect("a checked date");
    let deadline = end_of(calendar, deadline_date);
    debug_assert_eq!(day_of(calendar, deadline), deadline_date);
    let co: Vec<String> = serde_json::from_str(&row.co_executors).unwrap_or_default();
    let informed: Vec<String> = serde_json::from_str(&row.informed).unwrap_or_default();
    let executors: Vec<(&str, &str)> = std::iter::once((row.main_executor.as_str(), "main"))
        .chain(co.iter().map(|c| (c.as_str(), "co")))
        .collect();
    let mut cases = Vec::new();
    for (who, relation) in &executors {
        let mut data = json!({
            "card": card.id, "resolution": row.id, "relation": relation, "task": row.task,
        });
        if let Some(interim) = row.interim_deadline.as_deref().and_then(parse_date) {
            data[OWN_INTERIM] = json!(time_text(&end_of(calendar, interim)));
        }
        let moved = portal
            .engine
            .start_work(
                &mut tx,
                Work {
                    key: &format!("{}/{who}", row.id),
                    workflow,
                    of: WORK_OF,
                    subject: &subject,
                    data: &data,
                    assignee: who,
                    deadline,
                    actor: &actor,
                    on_behalf: on_behalf.as_deref(),
                },
            )
            .await
            .map_err(engine_refusal)?;
        cases.push(moved.case_id);
    }
    store.insert_resolution(&mut tx, row).await?;
    for ((who, relation), case_id) in executors.iter().zip(&cases) {
        store
            .add_resolution_executor(
                &mut tx,
                &ResolutionExecutorRow {
                    resolution_id: row.id.clone(),
                    official: who.to_string(),
                    relation: relation.to_string(),
                    case_id: case_id.clone(),
                },
            )
            .await?;
        let relation = if *relation == "main" {
            "executor"
        } else {
            "co-executor"
        };
        store
            .add_card_person(&mut tx, &card.id, who, relation)
            .await?;
    }
    for who in &informed {
        store
            .add_card_person(&mut tx, &card.id, who, "informed")
            .await?;
    }
    store
        .add_card_person(&mut tx, &card.id, &row.author, "author")
        .await?;
    let mut after = before.clone();
    if row.parent.is_none() {
        after.executor = Some(row.main_executor.clone());
        after.unit = official_of(&opened.compiled, &row.main_executor).map(|o| o.unit.clone());
        after.deadline = Some(row.deadline.clone());
        after.interim_deadline = row.interim_deadline.clone();
        after.control = "on".into();
    }
    after.version = before.version + 1;
    after.updated_at = time_text(&at);
    let written = store
        .write_card(
            &mut tx,
            &CardChange {
                before: Some(&before),
                after: &after,
                actor: &actor.label(),
                on_behalf: on_behalf.as_deref(),
                kind: "resolved",
                note: json!({"resolution": row.id, "parent": row.parent}),
                at,
            },
        )
        .await?;
    if !written {
        return Err(stale());
    }
    let number = card.reg_number.as_deref().unwrap_or(&card.id);
    let message = format!(
        "Вам доручено документ № {number}: {}. Строк — {}.",
        row.task, row.deadline
    );
    let mut to: Vec<super::notices::Recipient> = executors
        .iter()
        .zip(&cases)
        .map(|((who, _), case_id)| super::notices::Recipient {
            official: who,
            case_id,
        })
        .collect();
    let informed_message = format!("До відома: документ № {number}, резолюція: {}.", row.task);
    super::notices::tell(
        store,
        &mut tx,
        &opened.compiled,
        &to,
        (
            &row.id,
            &format!("Доручення: документ № {number}"),
            &message,
        ),
        at,
    )
    .await?;
    to = informed
        .iter()
        .map(|who| super::notices::Recipient {
            official: who,
            case_id: &card.id,
        })
        .collect();
    super::notices::tell(
        store,
        &mut tx,
        &opened.compiled,
        &to,
        (
            &row.id,
            &format!("До відома: документ № {number}"),
            &informed_message,
        ),
        at,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The refusal for a card another official changed since this one opened it.
pub fn stale() -> Refusal {
    Refusal::new(
        StatusCode::CONFLICT,
        "Документ змінився, поки ви його переглядали; відкрийте його знову і повторіть.",
    )
}

/// What an engine error means to the official.
pub fn engine_refusal(e: EngineError) -> Refusal {
    match &e {
        EngineError::Stale { .. } | EngineError::Closed { .. } => Refusal::new(
            StatusCode::CONFLICT,
            "Доручення змінилося, поки ви його переглядали; відкрийте його знову.",
        ),
        EngineError::NotAllowed { .. } => Refusal::new(
            StatusCode::FORBIDDEN,
            "Це доручення не ваше і ви не заміщуєте його виконавця.",
        ),
        EngineError::Store(_) | EngineError::Definition(_) | EngineError::NoRevision => {
            tracing::error!("the case engine refused the registry's work: {e}");
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Процес виконання тимчасово недоступний; спробуйте ще раз за кілька хвилин.",
            )
        }
        _ => Refusal::invalid(format!("Не виконано: {e}")),
    }
}
