//! Calls the appliance makes as one of its own subsystems (the case engine's registry calls, as
//! `system.portal`; the registries' posts of СЕВ ОВВ messages, as a `system.registry`), in-process through the same path as `/r1/…`: the request is built and parsed as any
//! other, routed (agreement check, rate limit, upstream or peer node, projection) and logged with
//! its data-subject record before its answer is used. Only `systems::authenticate` is skipped:
//! the appliance is that subsystem, so no connection is crossed.

use std::sync::Arc;

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;

use super::Gateway;
use super::call::{self, HEADER_ISSUE, HEADER_USER_ID};
use super::exchange::{finish, route};
use super::protocol::HEADER_CLIENT;
use super::trace::Trace;
use crate::compile::Compiled;
use crate::compile::gateway::routes::member_class;
use crate::spec::model::{Operation, Service};

/// The applied revision, as the caller holds it (read once per call).
pub type CurrentRevision = Arc<dyn Fn() -> Option<Arc<Compiled>> + Send + Sync>;

/// One call made as one of the appliance's own subsystems.
#[derive(Debug, Clone, Copy)]
pub struct OwnCall<'a> {
    /// The consumer subsystem the call is made as, `participant/subsystem`.
    pub consumer: &'a str,
    /// The provider service, `participant/service`.
    pub service: &'a str,
    /// The data subject's id, sent as `X-Road-UserId`.
    pub subject: &'a str,
    /// What the call is for (a case id), sent as `X-Road-Issue`.
    pub issue: &'a str,
    /// The data the request's path is filled from.
    pub data: &'a Value,
}

/// The gateway answering the appliance's own calls.
pub struct InProcess {
    gateway: Arc<Gateway>,
    current: CurrentRevision,
}

impl InProcess {
    pub fn new(gateway: Arc<Gateway>, current: CurrentRevision) -> InProcess {
        InProcess { gateway, current }
    }

    /// Makes `request` and returns the JSON released to the consumer, or why there is none.
    pub async fn call(&self, request: OwnCall<'_>) -> Result<Value, String> {
        self.ask(request).await.map_err(|failure| failure.reason)
    }

    /// As [`InProcess::call`], telling a service's own error answer (a 404 for a record it does
    /// not hold) from a call that got no usable answer.
    pub async fn ask(&self, request: OwnCall<'_>) -> Result<Value, CallFailure> {
        let compiled = (self.current)()
            .ok_or_else(|| failed("the gateway has no applied revision yet".into()))?;
        let spec = &compiled.spec;
        let (_, service) = spec
            .service(request.service)
            .ok_or_else(|| failed(format!("service `{}` is not declared", request.service)))?;
        let today = chrono::Utc::now().date_naive();
        let agreements =
            compiled
                .gateway
                .routes
                .agreements(spec, request.consumer, request.service);
        // With no agreement the call still goes the whole way: the gateway refuses and logs it.
        let operations = agreements
            .iter()
            .find(|a| crate::spec::agreement_rules::valid_on(a, today))
            .or(agreements.first())
            .map_or(&service.operations, |a| &a.operations);
        let path = path_of(operations, service, &request).map_err(failed)?;
        let own = Own {
            consumer: request.consumer,
            service: request.service,
            subject: request.subject,
            issue: request.issue,
        };
        self.exchange(&compiled, own, Method::GET, &path, None)
            .await
    }

    /// `POST`s `request.body` (JSON) to the service as one of the appliance's own subsystems:
    /// routed, authorised against the agreement's body fields and logged like any call; the JSON
    /// the agreement releases of the answer, or why there is none.
    pub async fn post(&self, request: OwnPost<'_>) -> Result<Value, CallFailure> {
        let compiled = (self.current)()
            .ok_or_else(|| failed("the gateway has no applied revision yet".into()))?;
        let body = serde_json::to_vec(request.body)
            .map_err(|e| failed(format!("cannot write the request body: {e}")))?;
        let own = Own {
            consumer: request.consumer,
            service: request.service,
            subject: request.subject,
            issue: request.issue,
        };
        let body = Some((body, "application/json"));
        self.exchange(&compiled, own, Method::POST, request.path, body)
            .await
    }

    /// `POST`s a message that is not JSON (a registry's СЕВ ОВВ XML) to the service as one of
    /// the appliance's own subsystems, about no data subject: routed, authorised (the agreement
    /// must allow a body that is not JSON) and logged like any call; the JSON the agreement
    /// releases of the answer, or why there is none.
    pub async fn post_message(&self, request: OwnMessage<'_>) -> Result<Value, CallFailure> {
        let compiled = (self.current)()
            .ok_or_else(|| failed("the gateway has no applied revision yet".into()))?;
        let own = Own {
            consumer: request.consumer,
            service: request.service,
            subject: "",
            issue: request.issue,
        };
        let body = Some((request.body.to_vec(), request.content_type));
        self.exchange(&compiled, own, Method::POST, request.path, body)
            .await
    }

    async fn exchange(
        &self,
        compiled: &Arc<Compiled>,
        request: Own<'_>,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<Value, CallFailure> {
        let spec = &compiled.spec;
        let (consumer_participant, consumer_subsystem) =
            spec.subsystem(request.consumer).ok_or_else(|| {
                failed(format!(
                    "the call is made as `{}`, which the spec does not declare",
                    request.consumer
                ))
            })?;
        if consumer_participant.gateway != compiled.node {
            return Err(failed(format!(
                "the call is made as `{}`, which gateway node `{}` serves, not this node `{}`",
                request.consumer, consumer_participant.gateway, compiled.node
            )));
        }
        let (provider, service) = spec
            .service(request.service)
            .ok_or_else(|| failed(format!("service `{}` is not declared", request.service)))?;
        let target = format!(
            "/r1/{}/{}/{}/{}/{}{path}",
            compiled.gateway.routes.instance,
            member_class(provider),
            provider.edrpou,
            provider_subsystem(provider, service),
            service.id
        );
        let client = format!(
            "{}/{}/{}/{}",
            compiled.gateway.routes.instance,
            member_class(consumer_participant),
            consumer_participant.edrpou,
            consumer_subsystem.id
        );
        let created_counts = method == Method::POST;
        let mut builder = Request::builder()
            .method(method)
            .uri(&target)
            .header(HEADER_CLIENT, client)
            .header(HEADER_ISSUE, request.issue);
        if !request.subject.is_empty() {
            builder = builder.header(HEADER_USER_ID, request.subject);
        }
        let http = match body {
            Some((bytes, content_type)) => builder
                .header(CONTENT_TYPE, content_type)
                .body(Body::from(bytes)),
            None => builder.body(Body::empty()),
        }
        .map_err(|e| failed(format!("cannot build the request: {e}")))?;
        let call = call::parse(http, &self.gateway.limits)
            .await
            .map_err(|refused| failed(refused.0.to_string()))?;
        let mut trace = Trace {
            consumer: Some(request.consumer.to_string()),
            on_behalf_of: Some(request.subject.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            ..Trace::default()
        };
        let (side, answer) =
            route(&self.gateway, compiled, &call, request.consumer, &mut trace).await;
        let answer = finish(&self.gateway, compiled, side, &call, &trace, answer).await;
        if let Some(error) = &answer.error {
            return Err(failed(error.to_string()));
        }
        let accepted =
            answer.status == StatusCode::OK || (created_counts && answer.status.is_success());
        if !accepted {
            return Err(CallFailure {
                answered: Some(answer.status),
                reason: format!("the service answered with status {}", answer.status),
            });
        }
        serde_json::from_slice(&answer.body)
            .map_err(|e| failed(format!("the service's answer is not JSON: {e}")))
    }
}

/// Who a call is made as, about whom and what for.
#[derive(Clone, Copy)]
struct Own<'a> {
    consumer: &'a str,
    service: &'a str,
    subject: &'a str,
    issue: &'a str,
}

/// One `POST` of a JSON document made as one of the appliance's own subsystems.
#[derive(Debug, Clone, Copy)]
pub struct OwnPost<'a> {
    /// The consumer subsystem, `participant/subsystem`.
    pub consumer: &'a str,
    /// The provider service, `participant/service`.
    pub service: &'a str,
    /// The data subject's id, sent as `X-Road-UserId`.
    pub subject: &'a str,
    /// What the call is for (a case id), sent as `X-Road-Issue`.
    pub issue: &'a str,
    /// The service path, starting with `/`.
    pub path: &'a str,
    pub body: &'a Value,
}

/// One `POST` of a message that is not JSON, made as one of the appliance's own subsystems.
#[derive(Debug, Clone, Copy)]
pub struct OwnMessage<'a> {
    /// The consumer subsystem, `participant/subsystem`.
    pub consumer: &'a str,
    /// The provider service, `participant/service`.
    pub service: &'a str,
    /// What the call is for (the message's id), sent as `X-Road-Issue`.
    pub issue: &'a str,
    /// The service path, starting with `/`.
    pub path: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

fn failed(reason: String) -> CallFailure {
    CallFailure {
        answered: None,
        reason,
    }
}

/// Why a call made as one of the appliance's own subsystems gave no JSON answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    /// The status the service itself answered with (404: it holds no such record); `None` when
    /// a gateway refused or failed the call, or the answer could not be read.
    pub answered: Option<StatusCode>,
    /// What happened, for the log.
    pub reason: String,
}

/// The application field whose value fills a service's subject segment of the path: the name of
/// the service's first response field (its identifier: `account_number`, `rnokpp`, …).
pub fn path_key(service: &Service) -> Option<&str> {
    service.response.fields.first().map(|f| f.name.as_str())
}

/// The subsystem a service is published under: the one its participant declares it in, or the
/// participant's first subsystem.
fn provider_subsystem(provider: &crate::spec::model::Participant, service: &Service) -> String {
    service
        .subsystem
        .clone()
        .or_else(|| provider.subsystems.first().map(|s| s.id.clone()))
        .unwrap_or_default()
}

/// The path of the first `GET` operation (of the agreement) whose `*` segments the call can fill:
/// the service's subject segment (`subject path-segment=N`) takes the application field named as
/// the service's first response field (its identifier: `account_number`, `rnokpp`, …), or else
/// the data subject's id; an operation with another `*` is skipped.
fn path_of(
    operations: &[Operation],
    service: &Service,
    request: &OwnCall,
) -> Result<String, String> {
    let subject_segment = service
        .subject
        .as_ref()
        .and_then(|s| s.path_segment)
        .map(|n| n as usize);
    let key_field = path_key(service);
    let subject_value = key_field
        .and_then(|name| request.data.get(name))
        .and_then(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| request.subject.to_string());
    let encoded =
        percent_encoding::utf8_percent_encode(&subject_value, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    for op in operations
        .iter()
        .filter(|o| o.method == crate::spec::model::Method::Get)
    {
        let mut filled = Vec::new();
        let mut usable = true;
        for (i, segment) in op.path.split('/').enumerate() {
            match segment {
                "*" if Some(i) == subject_segment => filled.push(encoded.clone()),
                "*" | "**" => {
                    usable = false;
                    break;
                }
                literal => filled.push(literal.to_string()),
            }
        }
        if usable {
            return Ok(filled.join("/"));
        }
    }
    Err(format!(
        "service `{}` has no GET operation whose path the case's data can fill",
        request.service
    ))
}
