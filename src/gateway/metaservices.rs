//! X-Road's metaservices, answered by the consumer's gateway from the applied revision and logged
//! like exchanges: `listClients` (every member and subsystem, XML or JSON), `listMethods` (a
//! provider subsystem's services), `allowedMethods` (only what the caller's agreements in force
//! grant) and `getOpenAPI` (a service's description as YAML, internal addresses removed).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::call::{Answer, Call, ResponseIds, Unparsed};
use super::exchange::keeps_bodies;
use super::protocol::{ErrorKind, GatewayError, HEADER_CLIENT, HEADER_ID, new_message_id};
use super::trace::{self, Trace};
use super::{Gateway, GatewayState};
use crate::compile::Compiled;
use crate::compile::gateway::routes::member_class;
use crate::html::escape_html;
use crate::identity::ServiceId;
use crate::spec::agreement_rules::{granted_operations, inactive_party, valid_on};
use crate::spec::model::{Participant, Service};
use crate::store::Side;

const LIST_CLIENTS: &str = "listClients";
const LIST_METHODS: &str = "listMethods";
const ALLOWED_METHODS: &str = "allowedMethods";
const GET_OPENAPI: &str = "getOpenAPI";

/// `GET /listClients`: every participant and subsystem of the system, as X-Road's `clientList`
/// XML, or its JSON shape when the caller accepts `application/json`. Logged like an exchange.
pub async fn list_clients(State(app): State<GatewayState>, request: Request<Body>) -> Response {
    let Some(compiled) = app.current.load_full() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no revision applied yet\n").into_response();
    };
    let clients = clients(&compiled);
    let body = if accepts_json(request.headers()) {
        json_answer(clients_json(&compiled.gateway.routes.instance, &clients))
    } else {
        Answer {
            status: StatusCode::OK,
            headers: vec![(
                CONTENT_TYPE,
                HeaderValue::from_static("text/xml; charset=utf-8"),
            )],
            body: Bytes::from(clients_xml(&compiled.gateway.routes.instance, &clients)),
            error: None,
        }
    };
    let message_id = request
        .headers()
        .get(HEADER_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 1024)
        .map(str::to_string)
        .unwrap_or_else(new_message_id);
    let client = request
        .headers()
        .get(HEADER_CLIENT)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .take(256)
                .collect()
        })
        .unwrap_or_default();
    let request_id = new_message_id();
    let asked = Unparsed {
        message_id: message_id.clone(),
        request_id: request_id.clone(),
        client,
        service: LIST_CLIENTS.into(),
        method: request.method().as_str().chars().take(16).collect(),
        path: format!("/{LIST_CLIENTS}"),
        request_in: Utc::now(),
        request_size: 0,
        request_hash: String::new(),
    };
    let answer = log_answer(&app.gateway, &compiled, &asked, body).await;
    answer.into_response(&ResponseIds {
        message_id,
        request_id,
        request_hash: String::new(),
        client: None,
        service: None,
    })
}

/// Logs a metaservice call outside `/r1/…` and returns its answer once the log holds it.
async fn log_answer(
    gateway: &Gateway,
    compiled: &Compiled,
    asked: &Unparsed,
    answer: Answer,
) -> Answer {
    let trace = Trace {
        operation: Some(LIST_CLIENTS.into()),
        ..Trace::default()
    };
    let record = trace::exchange(
        &compiled.node,
        Side::Client,
        asked.into(),
        &trace,
        &answer,
        keeps_bodies(compiled),
    );
    match gateway.ledger.record(record, None).await {
        Ok(_) => answer,
        Err(e) => {
            tracing::error!(message_id = %asked.message_id, "the message log cannot record a listClients call, so it is refused: {e}");
            Answer::refusal(GatewayError::new(
                ErrorKind::LoggingFailed,
                "the message log could not record the call, so it was not answered; try again later",
                asked.message_id.clone(),
            ))
        }
    }
}

/// Whether the caller asked for JSON rather than X-Road's default XML.
fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// One entry of `listClients`: a member, or one of its subsystems.
struct Client<'a> {
    class: String,
    code: &'a str,
    subsystem: Option<&'a str>,
    name: &'a str,
}

fn clients(compiled: &Compiled) -> Vec<Client<'_>> {
    let mut clients = Vec::new();
    for p in &compiled.spec.participants {
        let class = member_class(p);
        clients.push(Client {
            class: class.clone(),
            code: &p.edrpou,
            subsystem: None,
            name: &p.name,
        });
        for s in &p.subsystems {
            clients.push(Client {
                class: class.clone(),
                code: &p.edrpou,
                subsystem: Some(&s.id),
                name: &p.name,
            });
        }
    }
    clients
}

fn clients_json(instance: &str, clients: &[Client<'_>]) -> Value {
    let members: Vec<Value> = clients
        .iter()
        .map(|c| {
            let mut id = json!({
                "object_type": if c.subsystem.is_some() { "SUBSYSTEM" } else { "MEMBER" },
                "xroad_instance": instance, "member_class": c.class, "member_code": c.code,
            });
            if let Some(subsystem) = c.subsystem {
                id["subsystem_code"] = json!(subsystem);
            }
            json!({"id": id, "name": c.name})
        })
        .collect();
    json!({ "member": members })
}

/// X-Road's `clientList` element (namespaces of `xroad.xsd` and `identifiers.xsd`).
fn clients_xml(instance: &str, clients: &[Client<'_>]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xrd:clientList \
         xmlns:xrd=\"http://x-road.eu/xsd/xroad.xsd\" \
         xmlns:id=\"http://x-road.eu/xsd/identifiers\">\n",
    );
    for c in clients {
        let kind = if c.subsystem.is_some() {
            "SUBSYSTEM"
        } else {
            "MEMBER"
        };
        out.push_str(&format!(
            "  <xrd:member>\n    <xrd:id id:objectType=\"{kind}\">\n      \
             <id:xRoadInstance>{}</id:xRoadInstance>\n      \
             <id:memberClass>{}</id:memberClass>\n      <id:memberCode>{}</id:memberCode>\n",
            xml_text(instance),
            xml_text(&c.class),
            xml_text(c.code)
        ));
        if let Some(subsystem) = c.subsystem {
            out.push_str(&format!(
                "      <id:subsystemCode>{}</id:subsystemCode>\n",
                xml_text(subsystem)
            ));
        }
        out.push_str(&format!(
            "    </xrd:id>\n    <xrd:name>{}</xrd:name>\n  </xrd:member>\n",
            xml_text(c.name)
        ));
    }
    out.push_str("</xrd:clientList>\n");
    out
}

/// `text` escaped for XML character data; characters XML 1.0 cannot hold become U+FFFD.
fn xml_text(text: &str) -> String {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}'
    };
    let cleaned: String = text
        .chars()
        .map(|c| if allowed(c) { c } else { '\u{FFFD}' })
        .collect();
    escape_html(&cleaned)
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
    let routes = &compiled.gateway.routes;
    let spec = &compiled.spec;
    let provider = call.service.subsystem_id();
    let participant = (provider.instance == routes.instance)
        .then(|| {
            spec.participants.iter().find(|p| {
                member_class(p) == provider.member_class && p.edrpou == provider.member_code
            })
        })
        .flatten()
        .filter(|p| p.subsystems.iter().any(|s| s.id == call.service.subsystem));
    let Some(participant) = participant else {
        return Some(refuse(
            ErrorKind::UnknownService,
            format!("no subsystem `{provider}` is declared in this system"),
        ));
    };
    let services: Vec<&Service> = participant
        .services
        .iter()
        .filter(|s| participant.provider_subsystem(s) == Some(call.service.subsystem.as_str()))
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
            match super::catalogue::published_openapi(compiled, document, &id)
                .and_then(|(text, _)| as_yaml(&text))
            {
                Ok(yaml) => Answer {
                    status: StatusCode::OK,
                    headers: vec![(
                        CONTENT_TYPE,
                        HeaderValue::from_static("text/yaml; charset=utf-8"),
                    )],
                    body: Bytes::from(yaml),
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

/// What the message log records of a metaservice call: the caller, where the spec declares it,
/// and the metaservice as the operation.
pub fn trace(compiled: &Compiled, call: &Call) -> Trace {
    Trace {
        consumer: compiled
            .gateway
            .routes
            .client_by_id(&call.client)
            .map(str::to_string),
        operation: Some(call.service.service.clone()),
        ..Trace::default()
    }
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
                "xroad_instance": compiled.gateway.routes.instance,
                "member_class": class,
                "member_code": participant.edrpou,
                "subsystem_code": participant.provider_subsystem(service),
                "service_code": service.id,
                "service_type": if service.openapi.is_some() { "OPENAPI3" } else { "REST" },
                "title": service.title,
                "endpoint_list": endpoints,
            }))
        })
        .collect();
    json!({ "service": list })
}

/// An OpenAPI document (JSON or YAML text) written as YAML, keys in their order.
fn as_yaml(text: &str) -> Result<String, String> {
    use yaml_rust2::{YamlEmitter, YamlLoader};
    let docs = YamlLoader::load_from_str(text)
        .map_err(|e| format!("the document cannot be read as YAML: {e}"))?;
    let [doc] = docs.as_slice() else {
        return Err(format!(
            "the document holds {} YAML documents, not one",
            docs.len()
        ));
    };
    let mut out = String::new();
    YamlEmitter::new(&mut out)
        .dump(doc)
        .map_err(|e| format!("cannot write the document as YAML: {e}"))?;
    out.push('\n');
    Ok(out)
}

fn json_answer(value: Value) -> Answer {
    Answer {
        status: StatusCode::OK,
        headers: vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body: Bytes::from(value.to_string()),
        error: None,
    }
}
