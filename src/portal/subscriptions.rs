//! The citizen's mailing settings (`/cabinet/subscriptions`, PORTAL-11; 001 §2.3): where notices
//! go (the identity provider's address, or one the citizen gives, confirmed by a link at
//! `/subscriptions/confirm/{token}` before anything else is sent to it) and which topics.

use std::collections::BTreeSet;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::PortalState;
use super::cabinet::{starting, unavailable};
use super::citizen::Citizen;
use super::pages::Chrome;
use super::session::{digest, random_token};
use crate::compile::Compiled;
use crate::store::{ANY_E_SERVICE, NewMail, Subscriber, SubscriberChange, Topic};

/// A confirmation link is sent again for the same address at most this often.
const RESEND_AFTER: Duration = Duration::minutes(10);
/// The longest address accepted (RFC 5321's path limit).
const MAX_ADDRESS: usize = 254;

/// The participants whose services' outages a citizen may subscribe to: those with a service
/// whose health this appliance checks, as (id, name).
pub fn registries(compiled: &Compiled) -> Vec<(String, String)> {
    compiled
        .spec
        .participants
        .iter()
        .filter(|p| p.services.iter().any(|s| s.health.is_some()))
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect()
}

/// `GET /cabinet/subscriptions` (`?saved` after a save).
pub async fn page(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let subscriber = match portal.store.subscriber(&citizen.owner).await {
        Ok(subscriber) => subscriber,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let chosen = Chosen::of(subscriber.as_ref(), &citizen);
    let saved = query.iter().any(|(k, _)| k == "saved");
    render(
        &portal,
        &compiled,
        &chrome,
        &citizen,
        StatusCode::OK,
        &chosen,
        json!({ "saved": saved, "errors": [], "address_error": null, "services_error": null,
            "pending": subscriber.as_ref().is_some_and(|s| !s.confirmed),
            "address": subscriber.as_ref().map(|s| s.address.clone()) }),
    )
}

/// What the form shows as chosen.
struct Chosen {
    address_choice: String,
    other_address: String,
    services: String,
    e_services: BTreeSet<String>,
    registries: BTreeSet<String>,
}

impl Chosen {
    fn of(subscriber: Option<&Subscriber>, citizen: &Citizen) -> Chosen {
        let idp = citizen.email.as_deref();
        let (address_choice, other_address) = match subscriber {
            Some(s) if Some(s.address.as_str()) != idp => ("other", s.address.clone()),
            _ if idp.is_none() => ("other", String::new()),
            _ => ("idp", String::new()),
        };
        let topics = subscriber.map(|s| s.topics.as_slice()).unwrap_or_default();
        let targets = |wanted: Topic| -> BTreeSet<String> {
            topics
                .iter()
                .filter(|(topic, _)| *topic == wanted)
                .map(|(_, target)| target.clone())
                .collect()
        };
        let e_services = targets(Topic::EService);
        let services = if e_services.contains(ANY_E_SERVICE) {
            "all"
        } else if e_services.is_empty() {
            "none"
        } else {
            "chosen"
        };
        Chosen {
            address_choice: address_choice.into(),
            other_address,
            services: services.into(),
            e_services,
            registries: targets(Topic::Outages),
        }
    }
}

fn render(
    portal: &PortalState,
    compiled: &Compiled,
    chrome: &Chrome,
    citizen: &Citizen,
    status: StatusCode,
    chosen: &Chosen,
    extra: Value,
) -> Response {
    let e_services: Vec<Value> = compiled
        .spec
        .e_services
        .iter()
        .map(
            |s| json!({"id": s.id, "title": s.title, "checked": chosen.e_services.contains(&s.id)}),
        )
        .collect();
    let registries: Vec<Value> = registries(compiled)
        .into_iter()
        .map(|(id, name)| json!({"checked": chosen.registries.contains(&id), "id": id, "name": name}))
        .collect();
    let mut context = json!({
        "idp_email": citizen.email,
        "address_choice": chosen.address_choice,
        "other_address": chosen.other_address,
        "services": chosen.services,
        "e_services": e_services,
        "registries": registries,
    });
    if let (Some(context), Value::Object(extra)) = (context.as_object_mut(), extra) {
        context.extend(extra);
    }
    portal
        .pages
        .render(status, "cabinet/subscriptions.html", chrome, context)
}

/// `POST /cabinet/subscriptions` (`csrf`, `address` idp|other, `other_address`, `services`
/// none|all|chosen, `service`…, `registry`…).
pub async fn save(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
    };
    let all = |name: &str| -> BTreeSet<String> {
        form.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    if let Err(refused) = citizen.check_csrf(field("csrf").as_deref()) {
        return refused;
    }
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let chosen = Chosen {
        address_choice: field("address").unwrap_or_default(),
        other_address: field("other_address").unwrap_or_default(),
        services: field("services").unwrap_or_else(|| "none".into()),
        e_services: all("service"),
        registries: all("registry"),
    };
    let topics = match topics(&compiled, &chosen) {
        Err(Refusal::Unknown(message)) => {
            return portal.pages.problem(
                StatusCode::BAD_REQUEST,
                &chrome,
                "Форму не прийнято",
                &message,
            );
        }
        Err(Refusal::Services(message)) => Err(message),
        Ok(topics) => Ok(topics),
    };
    let (topics, (address, from_provider)) = match (topics, address(&citizen, &chosen)) {
        (Ok(topics), Ok(address)) => (topics, address),
        (topics, address) => {
            return invalid(
                &portal,
                &compiled,
                &chrome,
                &citizen,
                &chosen,
                address.err(),
                topics.err(),
            );
        }
    };
    let before = match portal.store.subscriber(&citizen.owner).await {
        Ok(before) => before,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let now = Utc::now();
    let resend = !from_provider
        && before.as_ref().is_none_or(|b| {
            b.address != address
                || (!b.confirmed && b.confirm_sent_at.is_none_or(|at| now - at >= RESEND_AFTER))
        });
    let token = resend.then(random_token);
    let token_digest = token.as_deref().map(digest);
    let confirmation = match &token {
        Some(token) => match confirmation_mail(&portal, &compiled, &address, token) {
            Ok(mail) => Some(mail),
            Err(why) => return unavailable(&portal, &chrome, &why),
        },
        None => None,
    };
    let saved = portal
        .store
        .save_subscriber(&SubscriberChange {
            owner: &citizen.owner,
            address: &address,
            confirmed: from_provider,
            confirm_digest: token_digest.as_deref(),
            confirmation: confirmation.as_ref(),
            topics: &topics,
            now,
        })
        .await;
    if let Err(e) = saved {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    tracing::info!(
        topics = topics.len(),
        confirmation_sent = token.is_some(),
        "a citizen saved their mailing settings"
    );
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/cabinet/subscriptions?saved")],
    )
        .into_response()
}

enum Refusal {
    /// A value no page of the portal offers: a hostile or stale form.
    Unknown(String),
    /// A choice to correct on the page.
    Services(String),
}

/// The topics the form asks for, each target checked against the applied revision.
fn topics(compiled: &Compiled, chosen: &Chosen) -> Result<Vec<(Topic, String)>, Refusal> {
    let mut topics = Vec::new();
    match chosen.services.as_str() {
        "none" => {}
        "all" => topics.push((Topic::EService, ANY_E_SERVICE.to_string())),
        "chosen" => {
            if chosen.e_services.is_empty() {
                return Err(Refusal::Services(
                    "Позначте послуги, про зміни яких надсилати листи, або оберіть «Не надсилати»"
                        .into(),
                ));
            }
            for id in &chosen.e_services {
                if !compiled.spec.e_services.iter().any(|s| &s.id == id) {
                    return Err(Refusal::Unknown(format!(
                        "Поле «service» називає послугу «{}», якої на порталі немає. Відкрийте \
                         сторінку розсилки ще раз і оберіть послуги з переліку.",
                        short(id)
                    )));
                }
                topics.push((Topic::EService, id.clone()));
            }
        }
        other => {
            return Err(Refusal::Unknown(format!(
                "Поле «services» має значення «{}», а сторінка пропонує лише «none», «all» або \
                 «chosen». Відкрийте сторінку розсилки ще раз.",
                short(other)
            )));
        }
    }
    let known = registries(compiled);
    for id in &chosen.registries {
        if !known.iter().any(|(known, _)| known == id) {
            return Err(Refusal::Unknown(format!(
                "Поле «registry» називає реєстр «{}», про перерви якого портал не повідомляє. \
                 Відкрийте сторінку розсилки ще раз і оберіть реєстри з переліку.",
                short(id)
            )));
        }
        topics.push((Topic::Outages, id.clone()));
    }
    Ok(topics)
}

/// The address chosen, and whether it is the identity provider's (taken as confirmed).
fn address(citizen: &Citizen, chosen: &Chosen) -> Result<(String, bool), String> {
    let idp = citizen.email.as_deref().filter(|e| !e.is_empty());
    match (chosen.address_choice.as_str(), idp) {
        ("idp", Some(idp)) => return Ok((idp.to_string(), true)),
        ("other", _) => {}
        _ => return Err("Оберіть, куди надсилати листи".into()),
    }
    let typed = chosen.other_address.as_str();
    if typed.is_empty() {
        return Err("Введіть адресу електронної пошти".into());
    }
    if typed.len() > MAX_ADDRESS || typed.parse::<lettre::Address>().is_err() {
        return Err("Введіть адресу електронної пошти у форматі name@example.com".into());
    }
    Ok((typed.to_string(), idp.is_some_and(|idp| idp == typed)))
}

/// The page again with what was chosen and the error to correct (400).
fn invalid(
    portal: &PortalState,
    compiled: &Compiled,
    chrome: &Chrome,
    citizen: &Citizen,
    chosen: &Chosen,
    address_error: Option<String>,
    services_error: Option<String>,
) -> Response {
    let mut errors = Vec::new();
    if let Some(message) = &address_error {
        errors.push(json!({"field": "address", "message": message}));
    }
    if let Some(message) = &services_error {
        errors.push(json!({"field": "services", "message": message}));
    }
    render(
        portal,
        compiled,
        chrome,
        citizen,
        StatusCode::BAD_REQUEST,
        chosen,
        json!({"saved": false, "pending": false, "address": null, "errors": errors,
            "address_error": address_error, "services_error": services_error}),
    )
}

/// At most 40 characters of a posted value, to quote it in a refusal.
fn short(text: &str) -> String {
    text.chars().take(40).collect()
}

/// The portal's address as mails link to it; `Err` before `serve` knows it.
pub fn public_url(portal: &PortalState) -> Result<&str, String> {
    portal
        .settings
        .public_url
        .get()
        .map(String::as_str)
        .ok_or_else(|| "the portal's public URL is not known yet".to_string())
}

fn confirmation_mail(
    portal: &PortalState,
    compiled: &Compiled,
    address: &str,
    token: &str,
) -> Result<NewMail, String> {
    let public = public_url(portal)?;
    let site = super::home::chrome(compiled).site_title;
    Ok(NewMail {
        key: format!("subscription-confirm:{}", digest(token)),
        to: address.to_string(),
        subject: "Підтвердьте адресу для сповіщень порталу".into(),
        body: format!(
            "Добрий день!\n\nНа порталі «{site}» цю адресу вказали для сповіщень. Щоб \
             підтвердити її, відкрийте посилання і натисніть «Підтвердити адресу»:\n\
             {public}/subscriptions/confirm/{token}\n\nДоки адресу не підтверджено, інших листів \
             на неї не надсилаємо. Якщо ви не підписувалися, просто не відповідайте на цей лист.\n"
        ),
        case_id: None,
    })
}

/// `GET /subscriptions/confirm/{token}`: a button that confirms (a link opened by a mail
/// scanner confirms nothing).
pub async fn confirm_page(
    State(portal): State<PortalState>,
    Path(token): Path<String>,
) -> Response {
    confirmation(&portal, &token, false).await
}

/// `POST /subscriptions/confirm/{token}`: confirms the address; the token is the secret.
pub async fn confirm(State(portal): State<PortalState>, Path(token): Path<String>) -> Response {
    confirmation(&portal, &token, true).await
}

async fn confirmation(portal: &PortalState, token: &str, confirm: bool) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::home::starting(portal);
    };
    let chrome = super::home::chrome(&compiled);
    let unknown = || {
        portal.pages.problem(
            StatusCode::NOT_FOUND,
            &chrome,
            "Посилання недійсне",
            "Це посилання вже використано, замінено новішим або воно неправильне. Відкрийте \
             сторінку розсилки в кабінеті, щоб побачити, чи підтверджено адресу, або надіслати \
             лист ще раз.",
        )
    };
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return unknown();
    }
    if !confirm {
        return portal.pages.render(
            StatusCode::OK,
            "subscription-confirm.html",
            &chrome,
            json!({"title": "Підтвердження адреси", "done": false, "token": token}),
        );
    }
    match portal
        .store
        .confirm_subscriber(&digest(token), Utc::now())
        .await
    {
        Ok(true) => {
            tracing::info!("a subscriber confirmed their address");
            portal.pages.render(
                StatusCode::OK,
                "subscription-confirm.html",
                &chrome,
                json!({"title": "Адресу підтверджено", "done": true, "token": ""}),
            )
        }
        Ok(false) => unknown(),
        Err(e) => unavailable(portal, &chrome, &e.to_string()),
    }
}
