//! X-Road's metaservices, answered by the consumer's gateway from the applied revision:
//! `listClients` (every subsystem of the system), `listMethods` (a provider subsystem's
//! services), `allowedMethods` (only what the caller's agreements in force grant) and
//! `getOpenAPI` (a service's description with the provider's internal addresses removed).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::access::{granted_operations, inactive_party, valid_on};
use super::call::{Answer, Call};
use super::protocol::{ErrorKind, GatewayError, ServiceId};
use crate::compile::Compiled;
use crate::compile::routes::member_class;
use crate::serve::AppState;
use crate::spec::model::{Participant, Service};

const LIST_METHODS: &str = "listMethods";
const ALLOWED_METHODS: &str = "allowedMethods";
const GET_OPENAPI: &str = "getOpenAPI";

/// `GET /listClients`: every participant and subsystem of the system, X-Road's JSON shape.
pub async fn list_clients(State(app): State<AppState>) -> Response {
    let Some(compiled) = app.shared.current.load_full() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no revision applied yet\n").into_response();
    };
    let instance = &compiled.routes.instance;
    let mut members = Vec::new();
    for p in &compiled.spec.participants {
        let class = member_class(p);
        members.push(json!({
            "id": {"object_type": "MEMBER", "xroad_instance": instance, "member_class": class, "member_code": p.edrpou},
            "name": p.name,
        }));
        for s in &p.subsystems {
            members.push(json!({
                "id": {"object_type": "SUBSYSTEM", "xroad_instance": instance, "member_class": class,
                       "member_code": p.edrpou, "subsystem_code": s.id},
                "name": p.name,
            }));
        }
    }
    Json(json!({ "member": members })).into_response()
}

/// The answer to a metaservice call, or `None` when the call is for a real service.
pub fn answer(compiled: &Compiled, call: &Call) -> Option<Answer> {
    let code = call.service.service.as_str();
    if ![LIST_METHODS, ALLOWED_METHODS, GET_OPENAPI].contains(&code) {
        return None;
    }
    let refuse = |kind, message: String| {
        Answer::refusal(GatewayError::new(kind, message, call.message_id.clone()))
    };
    let routes = &compiled.routes;
    let spec = &compiled.spec;
    let provider = call.service.subsystem_id();
    let participant = (provider.instance == routes.instance)
        .then(|| {
            spec.participants.iter().find(|p| {
                member_class(p) == provider.member_class && p.edrpou == provider.member_code
            })
        })
        .flatten()
        .filter(|p| p.subsystems.iter().any(|s| s.id == provider.subsystem));
    let Some(participant) = participant else {
        return Some(refuse(
            ErrorKind::UnknownService,
            format!("no subsystem `{provider}` is declared in this system"),
        ));
    };
    let services: Vec<&Service> = participant
        .services
        .iter()
        .filter(|s| participant.provider_subsystem(s) == Some(provider.subsystem.as_str()))
        .collect();
    Some(match code {
        LIST_METHODS => json_answer(methods(compiled, participant, &services, |_| None)),
        ALLOWED_METHODS => {
            let consumer = routes.client_by_id(&call.client);
            let today = chrono::Local::now().date_naive();
            json_answer(methods(compiled, participant, &services, |service| {
                let Some(consumer) = consumer else {
                    return Some(Vec::new());
                };
                let provider_ref = format!("{}/{}", participant.id, service.id);
                let operations: Vec<Value> = routes
                    .agreements(spec, consumer, &provider_ref)
                    .into_iter()
                    .filter(|a| valid_on(a, today) && inactive_party(spec, a).is_none())
                    .flat_map(|a| granted_operations(a, service))
                    .map(|op| json!({"method": op.method.as_str(), "path": op.path}))
                    .collect();
                Some(operations)
            }))
        }
        _ => {
            let wanted = call
                .query_pairs()
                .into_iter()
                .find(|(k, _)| k == "serviceCode")
                .map(|(_, v)| v);
            let Some(wanted) = wanted else {
                return Some(refuse(
                    ErrorKind::BadRequest,
                    "getOpenAPI needs the query parameter serviceCode".into(),
                ));
            };
            let Some(service) = services.iter().find(|s| s.id == wanted) else {
                return Some(refuse(
                    ErrorKind::UnknownService,
                    format!("the subsystem `{provider}` publishes no service `{wanted}`"),
                ));
            };
            let document = service
                .openapi
                .as_ref()
                .and_then(|path| compiled.documents.get(path));
            let Some(document) = document else {
                return Some(refuse(
                    ErrorKind::UnknownService,
                    format!("the service `{provider}/{wanted}` has no OpenAPI description"),
                ));
            };
            let id = ServiceId {
                service: service.id.clone(),
                ..call.service.clone()
            };
            match super::catalogue::published_openapi(compiled, document, &id) {
                Ok((text, content_type)) => Answer {
                    status: StatusCode::OK,
                    headers: vec![(CONTENT_TYPE, HeaderValue::from_static(content_type))],
                    body: Bytes::from(text),
                    error: None,
                },
                Err(e) => refuse(
                    ErrorKind::ClientProxyInternalError,
                    format!("the OpenAPI description of `{provider}/{wanted}` cannot be read: {e}"),
                ),
            }
        }
    })
}

/// The services in X-Road's `listMethods` shape; `endpoints` gives the operations to list for a
/// service (its own when `None`), and a service with none listed is left out.
fn methods(
    compiled: &Compiled,
    participant: &Participant,
    services: &[&Service],
    endpoints: impl Fn(&Service) -> Option<Vec<Value>>,
) -> Value {
    let class = member_class(participant);
    let list: Vec<Value> = services
        .iter()
        .filter_map(|service| {
            let endpoints = match endpoints(service) {
                Some(granted) if granted.is_empty() => return None,
                Some(granted) => granted,
                None => service
                    .operations
                    .iter()
                    .map(|op| json!({"method": op.method.as_str(), "path": op.path}))
                    .collect(),
            };
            Some(json!({
                "object_type": "SERVICE",
                "xroad_instance": compiled.routes.instance,
                "member_class": class,
                "member_code": participant.edrpou,
                "subsystem_code": participant.provider_subsystem(service),
                "service_code": service.id,
                "service_type": "REST",
                "title": service.title,
                "endpoint_list": endpoints,
            }))
        })
        .collect();
    json!({ "service": list })
}

fn json_answer(value: Value) -> Answer {
    Answer {
        status: StatusCode::OK,
        headers: vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body: Bytes::from(value.to_string()),
        error: None,
    }
}
