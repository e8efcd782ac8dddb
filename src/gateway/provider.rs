//! The provider's side of an exchange: decide the call under its agreement, apply the rate
//! limit, call the provider's system and project its JSON answer to exactly the granted
//! fields before anything leaves this node (MIN-1); note what was released about whom (MIN-4).

use axum::body::Bytes;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use chrono::Utc;

use super::Gateway;
use super::authorise::{decide, is_json};
use super::call::{Answer, Call};
use super::minimise::Projection;
use super::protocol::{ErrorKind, GatewayError, percent_decode};
use super::rate_limit::Refusal;
use super::record::SubjectUse;
use super::trace::Trace;
use super::upstream;
use crate::compile::Compiled;
use crate::spec::model::{Participant, RateLimit, Service, SubjectLocation};

/// Serves `call` from the provider's system; `trace` collects what the message log needs.
pub async fn provide(
    gateway: &Gateway,
    compiled: &Compiled,
    call: &Call,
    consumer: &str,
    provider: (&Participant, &Service),
    trace: &mut Trace,
) -> Answer {
    let (participant, service) = provider;
    let spec = &compiled.spec;
    let provider_ref = format!("{}/{}", participant.id, service.id);
    let granted = match decide(compiled, call, consumer, provider) {
        Ok(granted) => granted,
        Err(e) => return Answer::refusal(e),
    };
    let agreement = granted.agreement;
    trace.agreement = Some(agreement.id.clone());
    trace.operation = Some(granted.operation.to_string());

    if let Some(limit) = &agreement.rate_limit
        && let Err(refusal) = gateway
            .rate_limits
            .check(&compiled.node, &agreement.id, limit)
            .await
    {
        return rate_refusal(refusal, &agreement.id, limit, call);
    }

    trace.request_out = Some(Utc::now());
    let answered = upstream::call(
        &gateway.upstream,
        &service.upstream,
        call,
        gateway.limits.upstream_timeout,
        gateway.limits.max_body,
    )
    .await;
    trace.response_in = Some(Utc::now());
    let upstream = match answered {
        Ok(upstream) => upstream,
        Err(e) => return Answer::refusal(e),
    };

    let content_type = upstream
        .headers
        .iter()
        .find(|(n, _)| *n == CONTENT_TYPE)
        .and_then(|(_, v)| v.to_str().ok())
        .map(str::to_string);
    let mut answer = Answer {
        status: upstream.status,
        headers: upstream.headers,
        body: upstream.body,
        error: None,
    };
    if !upstream.status.is_success() || answer.body.is_empty() {
        return answer;
    }
    if is_json(content_type.as_deref()) {
        let value: serde_json::Value = match serde_json::from_slice(&answer.body) {
            Ok(value) => value,
            Err(_) => {
                return Answer::refusal(GatewayError::new(
                    ErrorKind::ServiceFailed,
                    format!(
                        "the provider's system answered {} with a body that is not valid JSON",
                        call.service
                    ),
                    call.message_id.clone(),
                ));
            }
        };
        let projected = Projection::of(agreement).project(value);
        answer.body =
            Bytes::from(serde_json::to_vec(&projected).expect("a JSON value serialises to JSON"));
        answer.headers.retain(|(n, _)| *n != CONTENT_TYPE);
        answer
            .headers
            .push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
    } else if !agreement.allow_non_json {
        return Answer::refusal(GatewayError::new(
            ErrorKind::ServiceFailed,
            format!(
                "the provider's system answered {} with {}, which cannot be cut to the granted fields, and agreement `{}` does not allow non-JSON answers",
                call.service,
                content_type
                    .as_deref()
                    .unwrap_or("a body of no stated type"),
                agreement.id
            ),
            call.message_id.clone(),
        ));
    }

    // Only a successful answer with a body reaches here: that is a release of data.
    trace.subject = subject_of(service.subject.as_ref(), call).and_then(|subject| {
        let consumer_participant = spec.participant(consumer.split('/').next()?)?;
        Some(SubjectUse {
            subject,
            logtime: Utc::now(),
            message_id: call.message_id.clone(),
            action: format!("{} {}", call.method.as_str(), granted.operation),
            receiver_code: consumer_participant.edrpou.clone(),
            receiver_name: consumer_participant.name.clone(),
            receiver_system: consumer.to_string(),
            provider: provider_ref.clone(),
            agreement: agreement.id.clone(),
            purpose: agreement.purpose.clone(),
            legal_basis: agreement.legal_basis.clone(),
            fields: agreement.fields.clone(),
            notify: agreement.notify_subject,
        })
    });
    answer
}

/// The data subject's identifier, where the service says it travels.
pub fn subject_of(location: Option<&SubjectLocation>, call: &Call) -> Option<String> {
    let location = location?;
    let found = if let Some(name) = &location.header {
        call.header(name).map(str::to_string)
    } else if let Some(n) = location.path_segment {
        let segment = call
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .nth((n as usize).checked_sub(1)?)?;
        String::from_utf8(percent_decode(segment).ok()?).ok()
    } else if let Some(name) = &location.query {
        call.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    } else {
        None
    };
    found
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The answer to a call the rate limit stops: `TooManyRequests` with `Retry-After`, or an
/// internal error when the count replicas share cannot be reached.
fn rate_refusal(refusal: Refusal, agreement: &str, limit: &RateLimit, call: &Call) -> Answer {
    let wait = match refusal {
        // Whole seconds, rounded up: a client retrying on time finds a token.
        Refusal::Exhausted(wait) => (wait.as_secs_f64().ceil() as u64).max(1),
        Refusal::Unavailable(e) => {
            tracing::warn!(
                agreement,
                message_id = %call.message_id,
                "a call was refused because its rate limit could not be counted: {e}"
            );
            return Answer::refusal(GatewayError::new(
                ErrorKind::InternalError,
                format!(
                    "the provider's gateway cannot count this call against the rate limit of agreement `{agreement}` right now, so it was not carried out; try again later"
                ),
                call.message_id.clone(),
            ));
        }
    };
    let mut answer = Answer::refusal(GatewayError::new(
        ErrorKind::TooManyRequests,
        format!(
            "agreement `{agreement}` allows {} requests per {}; retry in {wait} s",
            limit.requests,
            period_name(limit),
        ),
        call.message_id.clone(),
    ));
    answer
        .headers
        .push((axum::http::header::RETRY_AFTER, HeaderValue::from(wait)));
    answer
}

fn period_name(limit: &RateLimit) -> &'static str {
    use crate::spec::model::RatePeriod::*;
    match limit.per {
        Second => "second",
        Minute => "minute",
        Hour => "hour",
        Day => "day",
    }
}
