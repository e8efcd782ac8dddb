//! An e-service's page (`/services/{id}`, PORTAL-1; 003 §7.3): every item of Annex 1 in its
//! order, the provider's Annex 2 details and responsible official, the fee with payment details,
//! the documents required, the applicant's way through, since when the procedure applies, and
//! the way to apply online.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::PortalState;
use super::citizen::Citizen;
use super::{catalogue, home, procedure_since, statistics, way_through};
use crate::compile::Compiled;
use crate::spec::Spec;
use crate::spec::labels;
use crate::spec::model::{
    EService, FeeKind, Official, Participant, Status, SubmissionMethod, by_id,
};

/// `GET /services/{id}`.
pub async fn page(
    State(portal): State<PortalState>,
    citizen: Option<Citizen>,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return home::starting(&portal);
    };
    let chrome = citizen.map_or_else(|| home::chrome(&compiled), |c| c.chrome(&compiled));
    let spec = &compiled.spec;
    let Some(e_service) = spec.e_services.iter().find(|e| e.id == id) else {
        return portal.pages.problem(
            StatusCode::NOT_FOUND,
            &chrome,
            "Такої послуги немає",
            "Посилання застаріле або містить помилку. Знайдіть послугу в переліку.",
        );
    };
    portal.statistics.views.count(
        &e_service.id,
        statistics::collect::month_in(portal.engine.clock().now(), statistics::city_zone(spec)),
    );
    let since = procedure_since::since(&portal.store, &compiled, e_service).await;
    let context = context(&compiled, e_service, since, chrome.csrf.as_deref());
    portal.pages.render(
        StatusCode::OK,
        "e-service.html",
        &chrome,
        catalogue::redacted(context, &compiled),
    )
}

/// What the page shows of `e_service`; `csrf` is the signed-in citizen's token (`None` when
/// nobody is signed in).
fn context(
    compiled: &Compiled,
    e_service: &EService,
    since: Option<DateTime<Utc>>,
    csrf: Option<&str>,
) -> Value {
    let spec = &compiled.spec;
    let participant = e_service
        .provider
        .as_ref()
        .and_then(|p| spec.participant(&p.participant));
    let unit = e_service.provider.as_ref().and_then(|p| p.unit.as_deref());
    let suspended = participant.is_some_and(|p| p.status == Status::Suspended);
    let form = spec.form(&e_service.form);
    let workflow = by_id(&spec.workflows, &e_service.workflow);
    let online = e_service.submission.contains(&SubmissionMethod::Portal) && !suspended;
    json!({
        "e": {
            "id": e_service.id,
            "title": e_service.title,
            "code": e_service.code,
            "category": e_service.category,
            "category_href": e_service.category.as_ref().map(|c| catalogue::link("category", c)),
            "conditions": e_service.conditions,
            "appeal": e_service.appeal,
            "legal_basis": e_service.legal_basis,
            "refusal_grounds": e_service.refusal_grounds,
        },
        "provider": participant.map(|p| provider(p, unit)),
        "suspended": suspended,
        "users": e_service
            .user_category
            .iter()
            .map(|c| labels::user_category(*c))
            .collect::<Vec<_>>(),
        "faq": e_service
            .faq
            .iter()
            .map(|f| json!({ "question": f.question, "answer": f.answer }))
            .collect::<Vec<_>>(),
        "documents": e_service.documents,
        "attachments": form.map(|f| {
            f.attachments
                .iter()
                .map(|a| json!({
                    "label": a.label,
                    "required": a.required,
                    "formats": a.accept.iter().map(|x| x.to_uppercase()).collect::<Vec<_>>().join(", "),
                }))
                .collect::<Vec<_>>()
        }).unwrap_or_default(),
        "signature": form.map(|f| labels::signature(f.signature)),
        "submission": e_service
            .submission
            .iter()
            .map(|s| labels::submission(*s))
            .collect::<Vec<_>>(),
        "term": e_service.term.as_ref().map(labels::days),
        "fee": e_service.fee.as_ref().map(|f| json!({
            "paid": f.kind == FeeKind::Paid,
            "amount": f.amount.as_ref().map(|a| a.replace('.', ",")),
            "pay": f.pay.map(labels::pay_when),
            "payment": f.payment.as_ref().map(|p| json!({
                "recipient": p.recipient, "edrpou": p.edrpou, "iban": p.iban, "purpose": p.purpose,
            })),
        })),
        "result": e_service.result.as_ref().map(|r| json!({
            "description": r.description,
            "delivery": r.delivery.iter().map(|d| labels::delivery(*d)).collect::<Vec<_>>(),
        })),
        "way": workflow.map(way_through::of),
        "official": participant.and_then(|p| responsible(spec, p, unit)),
        "since": since.map(|t| moment(spec, t)),
        "apply": online.then(|| json!({
            "action": format!("/services/{}/apply", e_service.id),
            "csrf": csrf,
            "sign_in": format!("/sign-in?next=/services/{}", e_service.id),
        })),
    })
}

/// The provider as Annex 1 item 1 and Annex 2 describe it.
fn provider(p: &Participant, unit: Option<&str>) -> Value {
    json!({
        "kind": p.contacts.kind,
        "name": p.name,
        "edrpou": p.edrpou,
        "unit": unit.and_then(|u| p.units.iter().find(|x| x.id == u)).map(|u| u.title.clone()),
        "address": p.contacts.address,
        "phone": p.contacts.phone,
        "website": p.contacts.website,
        "email": p.contacts.email,
        "schedule": p.contacts.schedule,
    })
}

/// The official responsible for the service (Annex 2): of the officials of the provider's unit,
/// the one the provider names among its responsible persons, else the first of them; only
/// their name, position and work contacts.
fn responsible(spec: &Spec, p: &Participant, unit: Option<&str>) -> Option<Value> {
    let unit = format!("{}/{}", p.id, unit?);
    let in_unit: Vec<&Official> = spec.officials.iter().filter(|o| o.unit == unit).collect();
    let named = |o: &&&Official| p.contacts.responsible.iter().any(|r| r.name == o.name);
    let official = in_unit.iter().find(named).or_else(|| in_unit.first())?;
    Some(json!({
        "name": official.name,
        "position": official.position,
        "phone": official.phone,
        "email": official.email,
    }))
}

/// A moment as the page shows it: in the city's time zone, and exactly for machines.
fn moment(spec: &Spec, t: DateTime<Utc>) -> Value {
    let zone = spec
        .system()
        .and_then(|s| s.calendar.zone())
        .unwrap_or(chrono_tz::Europe::Kyiv);
    let local = t.with_timezone(&zone);
    json!({
        "datetime": t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "text": local.format("%d.%m.%Y, %H:%M").to_string(),
    })
}
