//! The access decision for one call (GW-2, MIN-1): the agreement in force today between the
//! consumer subsystem and the service that grants this method and path, with the request's
//! query parameters and body fields inside what it allows. Both gateways of an exchange decide
//! the same way from the same spec; the provider's decision is the one that counts.

use chrono::NaiveDate;
use serde_json::Value;

use super::call::Call;
use super::json_keys::repeated_key;
use super::json_read::{self, Unreadable, max_values};
use super::protocol::{ErrorKind, GatewayError};
use crate::compile::Compiled;
use crate::spec::Spec;
use crate::spec::agreement_rules::{granted_operations, inactive_party, path_matches, valid_on};
use crate::spec::minimise::{Projection, refused_body_fields, refused_query};
use crate::spec::model::{Agreement, Method, Participant, Service, Status};

/// What a call passed under.
pub struct Granted<'s> {
    pub agreement: &'s Agreement,
    /// The operation's path pattern that matched, safe to record and to label metrics with.
    pub operation: &'s str,
}

/// The request as the decision sees it.
pub struct Asked<'a, 's> {
    pub consumer: &'a str,
    pub provider: &'s Participant,
    pub service: &'s Service,
    pub method: Method,
    /// The service path, percent-encoded as received, without query.
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub content_type: Option<&'a str>,
    pub content_encoding: Option<&'a str>,
    pub body: &'a [u8],
    /// The most values a JSON body may hold (`json_read::max_values`).
    pub max_values: usize,
}

/// Decides `call` from `consumer` to `provider` as of today, under the revision's agreements,
/// reading a JSON body within the bounds of a `max_body` limit; a refusal's `detail` is the
/// call's message id.
pub fn decide<'s>(
    compiled: &'s Compiled,
    call: &Call,
    consumer: &str,
    provider: (&'s Participant, &'s Service),
    max_body: usize,
) -> Result<Granted<'s>, GatewayError> {
    let (participant, service) = provider;
    let query = call.query_pairs();
    let asked = Asked {
        consumer,
        provider: participant,
        service,
        method: call.method,
        path: &call.path,
        query: &query,
        content_type: call.content_type(),
        content_encoding: call.header("content-encoding"),
        body: &call.body,
        max_values: max_values(max_body),
    };
    let provider_ref = format!("{}/{}", participant.id, service.id);
    let agreements = compiled
        .gateway
        .routes
        .agreements(&compiled.spec, consumer, &provider_ref);
    authorise(
        &compiled.spec,
        agreements,
        &asked,
        chrono::Local::now().date_naive(),
    )
    .map_err(|mut e| {
        e.detail = call.message_id.clone();
        e
    })
}

/// Decides a call; the error's `detail` is left empty for the caller to fill with the log id.
pub fn authorise<'s>(
    spec: &'s Spec,
    agreements: Vec<&'s Agreement>,
    asked: &Asked<'_, 's>,
    today: NaiveDate,
) -> Result<Granted<'s>, GatewayError> {
    let denied = |message: String| GatewayError::new(ErrorKind::AccessDenied, message, "");
    let provider_ref = format!("{}/{}", asked.provider.id, asked.service.id);
    for (role, id) in [
        (
            "consumer",
            asked.consumer.split('/').next().unwrap_or_default(),
        ),
        ("provider", asked.provider.id.as_str()),
    ] {
        if spec
            .participant(id)
            .is_none_or(|p| p.status == Status::Suspended)
        {
            return Err(denied(format!(
                "the {role} participant `{id}` is suspended from electronic interaction"
            )));
        }
    }
    if agreements.is_empty() {
        return Err(denied(format!(
            "no agreement grants `{}` the service `{provider_ref}`",
            asked.consumer
        )));
    }
    let in_force: Vec<&Agreement> = agreements
        .iter()
        .copied()
        .filter(|a| valid_on(a, today) && inactive_party(spec, a).is_none())
        .collect();
    if in_force.is_empty() {
        let a = agreements[0];
        return Err(denied(format!(
            "agreement `{}` between `{}` and `{provider_ref}` is not in force on {today} (valid from {}{})",
            a.id,
            asked.consumer,
            a.valid.from,
            a.valid
                .until
                .as_deref()
                .map(|u| format!(" until {u}"))
                .unwrap_or_default()
        )));
    }
    let matched = in_force.iter().find_map(|a| {
        granted_operations(a, asked.service)
            .iter()
            .find(|op| op.method.admits(asked.method) && path_matches(&op.path, asked.path))
            .map(|op| Granted {
                agreement: a,
                operation: op.path.as_str(),
            })
    });
    let Some(granted) = matched else {
        let allowed: Vec<String> = in_force
            .iter()
            .flat_map(|a| granted_operations(a, asked.service))
            .map(|op| format!("{} {}", op.method.as_str(), op.path))
            .collect();
        return Err(denied(format!(
            "no agreement in force grants `{}` {} {} on `{provider_ref}`; granted: {}",
            asked.consumer,
            asked.method.as_str(),
            asked.path,
            allowed.join(", ")
        )));
    };
    let agreement = granted.agreement;

    let refused = refused_query(asked.query, &allowed_parameters(agreement, asked.service));
    if !refused.is_empty() {
        return Err(denied(format!(
            "agreement `{}` does not allow the query parameter(s) {}",
            agreement.id,
            quoted(&refused)
        )));
    }

    if !asked.body.is_empty() {
        check_body(agreement, asked)?;
    }
    Ok(granted)
}

/// Checks a request body against the agreement's body fields. A body sent under another type
/// that still is a JSON object or array is checked as JSON too: many frameworks read JSON
/// whatever `Content-Type` says; a body in a content coding is refused.
fn check_body(agreement: &Agreement, asked: &Asked<'_, '_>) -> Result<(), GatewayError> {
    let bad = |message: String| GatewayError::new(ErrorKind::BadRequest, message, "");
    // A provider's system may decode what the gateway would not read.
    if let Some(coding) = asked
        .content_encoding
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
    {
        return Err(bad(format!(
            "the request body is sent in the content coding `{coding}`; the gateway checks a \
             body against the agreement as it is sent, so send it without Content-Encoding"
        )));
    }
    let read = |body: &[u8]| json_read::read(body, asked.max_values);
    let body: Value = if is_json(asked.content_type) {
        read(asked.body).map_err(|e| {
            bad(match e {
                Unreadable::NotJson(e) => format!("the request body is not valid JSON: {e}"),
                Unreadable::TooDeep => {
                    "the request body is nested deeper than the gateway reads (128 levels)".into()
                }
                Unreadable::TooManyValues(most) => {
                    format!("the request body holds more than the {most} values the gateway reads")
                }
            })
        })?
    } else if !agreement.allow_non_json {
        return Err(GatewayError::new(
            ErrorKind::AccessDenied,
            format!(
                "agreement `{}` allows only JSON request bodies, and this one is {}",
                agreement.id,
                asked.content_type.unwrap_or("of no stated type")
            ),
            "",
        ));
    } else {
        match read(asked.body) {
            Ok(body) if body.is_object() || body.is_array() => body,
            Ok(_) | Err(Unreadable::NotJson(_)) => return Ok(()),
            Err(_) => {
                return Err(bad(
                    "the request body is JSON beyond what the gateway reads (nesting or number \
                     of values), so it cannot be checked against the agreement"
                        .into(),
                ));
            }
        }
    };
    if let Some(key) = repeated_key(asked.body) {
        return Err(bad(format!(
            "the request body gives `{key}` more than once in one object; a provider's system \
             may read either value (or both), so send each key once"
        )));
    }
    let refused = refused_body_fields(&body, &Projection::new(&agreement.body_fields));
    if !refused.is_empty() {
        return Err(GatewayError::new(
            ErrorKind::AccessDenied,
            format!(
                "agreement `{}` does not allow the request body field(s) {}",
                agreement.id,
                quoted(&refused)
            ),
            "",
        ));
    }
    Ok(())
}

/// The query parameters a call under `agreement` may carry: the agreement's, and the one that
/// carries the data subject's id where the service says so.
pub fn allowed_parameters<'s>(agreement: &'s Agreement, service: &'s Service) -> Vec<&'s str> {
    let mut allowed: Vec<&str> = agreement.parameters.iter().map(String::as_str).collect();
    if let Some(name) = service.subject.as_ref().and_then(|s| s.query.as_deref()) {
        allowed.push(name);
    }
    allowed
}

/// Whether a `Content-Type` is JSON (`application/json`, `application/*+json`).
pub fn is_json(content_type: Option<&str>) -> bool {
    let Some(value) = content_type else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
