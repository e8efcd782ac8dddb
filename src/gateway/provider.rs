//! The provider's side of an exchange: decide the call under its agreement, apply the rate
//! limit, call the provider's system, decode its answer and release only what the agreement and
//! the service's declaration allow before anything leaves this node (MIN-1), encoded as the
//! consumer accepts; note what was released about whom (MIN-4), error answers included.

use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
use axum::http::{HeaderName, HeaderValue};
use chrono::Utc;

use super::Gateway;
use super::authorise::decide;
use super::call::{Answer, Call};
use super::encoding::{self, DecodeError};
use super::exchange_service;
use super::protocol::{ErrorKind, GatewayError, percent_decode};
use super::rate_limit::Refusal;
use super::release::{Withheld, release};
use super::subject_use;
use super::trace::Trace;
use super::upstream;
use crate::compile::Compiled;
use crate::spec::model::{Agreement, Participant, RateLimit, Service, SubjectLocation};
use crate::store::ProviderFault;

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
    let granted = match decide(compiled, call, consumer, provider, gateway.limits.max_body) {
        Ok(granted) => granted,
        Err(e) => return Answer::refusal(e),
    };
    let agreement = granted.agreement;
    trace.agreement = Some(agreement.id.clone());
    trace.operation = Some(granted.operation.to_string());
    let subject = match subject_use::subject(service, call, trace) {
        Ok(subject) => subject,
        Err(ambiguous) => {
            return Answer::refusal(GatewayError::new(
                ErrorKind::BadRequest,
                format!(
                    "the call names more than one data subject in {ambiguous}; a provider's system \
                     may answer about any of them, while the exchange is recorded against one, so \
                     name exactly one"
                ),
                call.message_id.clone(),
            ));
        }
    };

    if let Some(limit) = &agreement.rate_limit
        && let Err(refusal) = gateway
            .rate_limits
            .check(&compiled.node, &agreement.id, limit)
            .await
    {
        return rate_refusal(refusal, &agreement.id, limit, call);
    }

    trace.request_out = Some(Utc::now());
    let answered = match &service.upstream {
        Some(base) => {
            upstream::call(
                &gateway.upstream,
                base,
                call,
                gateway.limits.upstream_timeout,
                gateway.limits.max_body,
            )
            .await
        }
        None => {
            let receiver = gateway.exchange.as_deref();
            let timeout = gateway.limits.upstream_timeout;
            exchange_service::receive(receiver, &participant.id, consumer, call, timeout).await
        }
    };
    trace.response_in = Some(Utc::now());
    let upstream = match answered {
        Ok(upstream) => upstream,
        Err(e) => return Answer::refusal(e),
    };

    let (answer, released_fields) = match answer_of(
        call,
        agreement,
        service,
        &provider_ref,
        upstream,
        gateway.limits.max_body,
        trace,
    ) {
        Ok(released) => released,
        Err(refusal) => return refusal,
    };

    // Whatever passed, error answers and redirects included, was released about the subject.
    trace.subject = subject.and_then(|subject| {
        let released = subject_use::Released {
            call,
            consumer,
            provider: &provider_ref,
            agreement,
            operation: granted.operation,
        };
        subject_use::record(
            spec,
            &released,
            subject,
            released_fields,
            agreement.notify_subject,
        )
    });
    answer
}

/// The provider's answer as it may reach the consumer: decoded, released (`release.rs`) and
/// encoded as the consumer accepts, with what passed for the subject's record; or the refusal of
/// an answer that broke its service's declaration, counted as a provider fault.
fn answer_of(
    call: &Call,
    agreement: &Agreement,
    service: &Service,
    provider_ref: &str,
    upstream: upstream::Upstream,
    max_body: usize,
    trace: &mut Trace,
) -> Result<(Answer, Vec<String>), Answer> {
    let service_name = &call.service;
    let failed = |fault: ProviderFault, message: String, trace: &mut Trace| {
        trace.fault = Some(fault);
        count_fault(provider_ref, fault);
        Answer::refusal(GatewayError::new(
            ErrorKind::ServiceFailed,
            message,
            call.message_id.clone(),
        ))
    };
    let coding = header(&upstream.headers, CONTENT_ENCODING);
    let body = match encoding::decode(coding, upstream.body, max_body) {
        Ok(body) => body,
        Err(e) => {
            let why = match e {
                DecodeError::TooLarge => format!(
                    "is larger than the gateway carries ({} bytes) once decoded",
                    max_body
                ),
                DecodeError::Unsupported(Some(coding)) => {
                    format!(
                        "is in the content coding `{coding}`, which the gateway does not decode"
                    )
                }
                DecodeError::Unsupported(None) => {
                    "is in a content coding the gateway does not know".into()
                }
                DecodeError::Corrupt => "is not valid in its stated content coding".into(),
                DecodeError::TooManyCodings(n) => format!(
                    "states {n} content codings, more than the {} the gateway decodes",
                    encoding::MAX_CODINGS
                ),
            };
            let message = format!("the provider's answer to {service_name} {why}");
            return Err(failed(ProviderFault::Undecodable, message, trace));
        }
    };
    let answered = (upstream.status, &upstream.headers[..]);
    let released = match release(call, agreement, service, answered, body, max_body) {
        Ok(released) => released,
        Err(Withheld::NotFinal(status)) => {
            let message = format!(
                "the provider's system answered {service_name} with status {status}, which is not a final HTTP answer the gateway can carry"
            );
            return Err(failed(ProviderFault::NotProjectable, message, trace));
        }
        Err(Withheld::TooManyValues(most)) => {
            let message = format!(
                "the provider's answer to {service_name} holds more than {most} JSON values, more than the gateway reads whole under its body limit ({max_body} bytes)"
            );
            return Err(failed(ProviderFault::Undecodable, message, trace));
        }
        Err(Withheld::TooDeep) => {
            let message = format!(
                "the provider's system answered {service_name} with JSON nested deeper than the gateway reads (128 levels)"
            );
            return Err(failed(ProviderFault::NotJson, message, trace));
        }
        Err(Withheld::NotJson) => {
            let message = format!(
                "the provider's system answered {service_name} with a body that is not valid JSON"
            );
            return Err(failed(ProviderFault::NotJson, message, trace));
        }
        Err(Withheld::NotProjectable) => {
            // The provider's Content-Type is not quoted: its parameters can carry anything.
            let message = format!(
                "the provider's system answered {service_name} with a body whose Content-Type does not state JSON, which cannot be cut to the granted fields, and agreement `{}` does not allow non-JSON answers",
                agreement.id
            );
            return Err(failed(ProviderFault::NotProjectable, message, trace));
        }
        Err(Withheld::Redirect(outside)) => {
            tracing::warn!(
                message_id = %call.message_id,
                "the provider's system of `{provider_ref}` redirected a call, which is refused: {}",
                outside.0
            );
            let message = format!(
                "the provider's system redirected the call to {service_name}, and the redirect cannot pass: {}",
                outside.0
            );
            return Err(failed(ProviderFault::RedirectOutside, message, trace));
        }
    };
    if !released.mistyped.is_empty() {
        let paths: Vec<&str> = released.mistyped.iter().map(String::as_str).collect();
        tracing::warn!(
            message_id = %call.message_id,
            "the provider's system of `{provider_ref}` answered {} granted field(s) not of their declared type ({}); the consumer got null in their place — the provider must answer as its service declares",
            paths.len(),
            paths.join(", ")
        );
        trace.fault = Some(ProviderFault::MistypedField);
        count_fault(provider_ref, ProviderFault::MistypedField);
    }
    let (body, coding) = encoding::encode(call.header(ACCEPT_ENCODING.as_str()), released.body);
    let mut headers = released.headers;
    if let Some(coding) = coding {
        headers.push((CONTENT_ENCODING, HeaderValue::from_static(coding)));
    }
    let answer = Answer {
        status: released.status,
        headers,
        body,
        error: None,
    };
    Ok((answer, released.fields))
}

/// Counts a provider's answer that broke its service's declaration; both labels are closed sets
/// (the spec's services, the kinds of fault).
fn count_fault(provider: &str, fault: ProviderFault) {
    metrics::counter!(
        "hromada_gateway_provider_faults_total",
        "service" => provider.to_string(),
        "fault" => fault.as_str()
    )
    .increment(1);
}

fn header(headers: &[(HeaderName, HeaderValue)], name: HeaderName) -> Option<&str> {
    headers
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| v.to_str().ok())
}

/// The data subject's identifier, where the service says it travels; `Err` names the place
/// when it holds more than one (a repeated header or query parameter, or a header listing
/// values, which HTTP treats as the same as repeating it).
pub fn subject_of(
    location: Option<&SubjectLocation>,
    call: &Call,
) -> Result<Option<String>, String> {
    let Some(location) = location else {
        return Ok(None);
    };
    let found = if let Some(name) = &location.header {
        let values: Vec<&str> = call
            .headers
            .iter()
            .filter(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .filter_map(|(_, v)| v.to_str().ok())
            .collect();
        if values.len() > 1 || values.iter().any(|v| v.contains(',')) {
            return Err(format!("the header {name}"));
        }
        values.first().map(|v| v.to_string())
    } else if let Some(n) = location.path_segment {
        n.checked_sub(1).and_then(|index| {
            let segment = call
                .path
                .split('/')
                .filter(|s| !s.is_empty())
                .nth(index as usize)?;
            String::from_utf8(percent_decode(segment).ok()?).ok()
        })
    } else if let Some(name) = &location.query {
        let values: Vec<String> = call
            .query_pairs()
            .into_iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .collect();
        if values.len() > 1 {
            return Err(format!("the query parameter {name}"));
        }
        values.into_iter().next()
    } else {
        None
    };
    Ok(found
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty()))
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
