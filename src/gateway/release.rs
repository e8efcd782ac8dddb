//! What of a provider's answer may reach the consumer (MIN-1): a success cut to the granted
//! fields, anything else to the service's error shape, a redirect only inside the agreement,
//! headers by an allow-list (`answer_headers`). Minimisation wins over pass-through: what is not
//! allowed is dropped.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

use super::answer_headers;
use super::authorise::is_json;
use super::call::Call;
use super::minimise::Projection;
use super::redirect;
use crate::spec::model::{Agreement, FieldType, ResponseField, Service};

/// A provider's answer after release: what the consumer gets, and what the logs must know.
pub struct Released {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    /// Granted fields that were not of their declared type and became `null`.
    pub mistyped: BTreeSet<String>,
    /// What reached the consumer, for the data subject's record: the agreement's fields for a
    /// success, the error fields (and `Location`) that passed otherwise.
    pub fields: Vec<String>,
}

/// Why a provider's answer cannot be released at all.
pub enum Withheld {
    /// A body that is not valid JSON although it says so.
    NotJson,
    /// A success that is not JSON, under an agreement that passes only JSON.
    NotProjectable(Option<String>),
    /// A redirect outside the agreement.
    Redirect(redirect::Outside),
}

/// The X-Road error fields, the error shape of a service that declares none.
fn default_error_fields() -> Vec<ResponseField> {
    ["type", "message", "detail"]
        .into_iter()
        .map(|name| ResponseField {
            name: name.into(),
            ty: FieldType::String,
            class: None,
            description: None,
            items: None,
            fields: Vec::new(),
        })
        .collect()
}

/// Releases a provider's answer (`body` already decoded) to `call` under `agreement`.
pub fn release(
    call: &Call,
    agreement: &Agreement,
    service: &Service,
    status: StatusCode,
    headers: &[(HeaderName, HeaderValue)],
    body: Bytes,
) -> Result<Released, Withheld> {
    let content_type = headers
        .iter()
        .find(|(n, _)| *n == CONTENT_TYPE)
        .and_then(|(_, v)| v.to_str().ok());
    let mut passing = answer_headers::released(headers, service);
    let mut fields = Vec::new();
    if status.is_redirection()
        && let Some((_, value)) = headers.iter().find(|(n, _)| *n == LOCATION)
    {
        let to = redirect::location(
            &service.upstream,
            call,
            agreement,
            service,
            value.as_bytes(),
        )
        .map_err(Withheld::Redirect)?;
        let value = HeaderValue::from_str(&to)
            .map_err(|_| Withheld::Redirect(redirect::Outside("the location cannot be written")))?;
        passing.push((LOCATION, value));
        fields.push("Location".to_string());
    }
    let mut mistyped = BTreeSet::new();
    let body = if body.is_empty() {
        body
    } else if status.is_success() {
        // Where other types may pass, JSON sent as another type (`text/plain`, none) is still
        // the record: it is cut like JSON, not passed whole.
        let sniffed = (agreement.allow_non_json && !is_json(content_type))
            .then(|| serde_json::from_slice::<Value>(&body).ok())
            .flatten()
            .filter(|v| v.is_object() || v.is_array());
        if is_json(content_type) || sniffed.is_some() {
            let value: Value = match sniffed {
                Some(value) => value,
                None => serde_json::from_slice(&body).map_err(|_| Withheld::NotJson)?,
            };
            let cut = Projection::of(agreement).project(&service.response.fields, value);
            mistyped = cut.mistyped;
            fields.extend(agreement.fields.iter().cloned());
            to_bytes(&cut.value)
        } else if agreement.allow_non_json {
            fields.extend(agreement.fields.iter().cloned());
            body
        } else {
            return Err(Withheld::NotProjectable(content_type.map(str::to_string)));
        }
    } else {
        let declared = service
            .error_response
            .as_ref()
            .map(|e| e.fields.clone())
            .unwrap_or_else(default_error_fields);
        let cut = is_json(content_type)
            .then(|| serde_json::from_slice::<Value>(&body).ok())
            .flatten()
            .map(|value| {
                Projection::new(declared.iter().map(|f| &f.name)).project(&declared, value)
            });
        match cut {
            Some(cut) if cut.value.is_object() => {
                mistyped = cut.mistyped;
                if let Value::Object(map) = &cut.value {
                    fields.extend(map.keys().cloned());
                }
                to_bytes(&cut.value)
            }
            // An error body that cannot be cut to the error shape does not pass at all.
            _ => {
                passing.retain(|(n, _)| *n != CONTENT_TYPE);
                Bytes::new()
            }
        }
    };
    Ok(Released {
        status,
        headers: passing,
        body,
        mistyped,
        fields,
    })
}

fn to_bytes(value: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("a JSON value serialises to JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::redirect::tests::{agreement, call, service};

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Result<Released, Withheld> {
        let headers: Vec<(HeaderName, HeaderValue)> = headers
            .iter()
            .map(|(n, v)| (n.parse().unwrap(), HeaderValue::from_str(v).unwrap()))
            .collect();
        let mut service = service();
        service.response.fields = serde_json::from_value(serde_json::json!([
            {"name": "debt", "type": "decimal"}, {"name": "rnokpp", "type": "string"}
        ]))
        .unwrap();
        release(
            &call(),
            &agreement(),
            &service,
            StatusCode::from_u16(status).unwrap(),
            &headers,
            Bytes::from(body.to_string()),
        )
    }

    #[test]
    fn error_bodies_pass_only_as_an_object_of_the_error_shape() {
        let json = [("content-type", "application/json")];
        let r = answer(500, &json, r#"{"type": "E", "rnokpp": "3012345678"}"#)
            .ok()
            .unwrap();
        assert_eq!(
            (r.body.as_ref(), r.fields),
            (&br#"{"type":"E"}"#[..], vec!["type".to_string()])
        );
        for body in [
            r#"["3012345678"]"#,
            r#""3012345678""#,
            "not json 3012345678",
        ] {
            let r = answer(404, &json, body).ok().unwrap();
            assert!(r.body.is_empty() && r.headers.is_empty(), "{body}");
            assert!(r.fields.is_empty());
        }
    }

    #[test]
    fn a_success_is_cut_to_the_grant_and_a_redirect_without_location_keeps_no_body() {
        let json = [("content-type", "application/json")];
        let r = answer(200, &json, r#"{"debt": 1.50, "rnokpp": "3012345678"}"#)
            .ok()
            .unwrap();
        assert_eq!(r.body.as_ref(), br#"{"debt":1.50}"#);
        assert_eq!(r.fields, vec!["debt".to_string()]);
        assert!(matches!(answer(200, &json, "{"), Err(Withheld::NotJson)));
        assert!(matches!(
            answer(200, &[("content-type", "text/html")], "<p>3012345678</p>"),
            Err(Withheld::NotProjectable(Some(_)))
        ));
        let r = answer(304, &[("etag", "\"3012345678\"")], "").ok().unwrap();
        assert!(r.headers.is_empty() && r.body.is_empty());
    }
}
