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
use super::json_read::{self, Unreadable, max_values};
use super::redirect;
use crate::spec::minimise::Projection;
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
    /// JSON nested deeper than the gateway reads.
    TooDeep,
    /// JSON of more values than the gateway reads whole (`max_values`).
    TooManyValues(usize),
    /// A success not stated to be JSON, under an agreement that passes only JSON.
    NotProjectable,
    /// A status that is not a final HTTP answer (1xx, or beyond 599).
    NotFinal(u16),
    /// A redirect outside the agreement.
    Redirect(redirect::Outside),
}

/// Whether `release` may name `field` as reaching a consumer under `agreement`: a granted field,
/// a field of the service's error shape, or a redirect's `Location`.
pub fn may_release(agreement: &Agreement, service: &Service, field: &str) -> bool {
    field == "Location"
        || agreement.fields.iter().any(|f| f == field)
        || match &service.error_response {
            Some(shape) => shape.fields.iter().any(|f| f.name == field),
            None => matches!(field, "type" | "message" | "detail"),
        }
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

/// Releases a provider's answer (`body` already decoded, at most `max_body` bytes) to `call`
/// under `agreement`.
pub fn release(
    call: &Call,
    agreement: &Agreement,
    service: &Service,
    answered: (StatusCode, &[(HeaderName, HeaderValue)]),
    body: Bytes,
    max_body: usize,
) -> Result<Released, Withheld> {
    let (status, headers) = answered;
    if !(200..=599).contains(&status.as_u16()) {
        return Err(Withheld::NotFinal(status.as_u16()));
    }
    let json_of = |body: &[u8]| json_of(body, max_values(max_body));
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
            service.upstream.as_deref().unwrap_or_default(),
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
    // Whether the body that passes is JSON the gateway wrote, the provider's body whole, or none.
    let (body, written) = if body.is_empty() {
        let written = is_json(content_type);
        (body, written)
    } else if status.is_success() {
        if !is_json(content_type) && !agreement.allow_non_json {
            return Err(Withheld::NotProjectable);
        }
        let projection = Projection::of(agreement);
        let text = json_read::bounded(&body, max_values(max_body)).map_err(withheld)?;
        fields.extend(agreement.fields.iter().cloned());
        // One pass over the text; what it leaves (not JSON, a key given twice) goes as a `Value`.
        if let Some((cut, types)) = projection.project_text(&service.response.fields, text) {
            mistyped = types;
            (Bytes::from(cut), true)
        } else {
            // A record under another type (or none) is still a record: it is cut like one.
            let record = if is_json(content_type) {
                Some(json_of(&body)?)
            } else {
                match json_of(&body) {
                    Ok(value) => Some(value).filter(|v| v.is_object() || v.is_array()),
                    Err(Withheld::NotJson) => None,
                    Err(refused) => return Err(refused),
                }
            };
            match record {
                Some(value) => {
                    let cut = projection.project(&service.response.fields, value);
                    mistyped = cut.mistyped;
                    (to_bytes(&cut.value), true)
                }
                None => (body, false),
            }
        }
    } else {
        let declared = service
            .error_response
            .as_ref()
            .map(|e| e.fields.clone())
            .unwrap_or_else(default_error_fields);
        let cut = is_json(content_type)
            .then(|| json_of(&body).ok())
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
                (to_bytes(&cut.value), true)
            }
            // An error body that cannot be cut to the error shape does not pass at all.
            _ => (Bytes::new(), false),
        }
    };
    state_type(
        &mut passing,
        written,
        status.is_success() && agreement.allow_non_json,
    );
    Ok(Released {
        status,
        headers: passing,
        body,
        mistyped,
        fields,
    })
}

/// The JSON media types whose names say nothing beyond the format, which pass as stated.
const PLAIN_JSON: &[&str] = &["application/json", "application/problem+json"];

/// Sets the `Content-Type` the consumer sees: JSON the gateway `written` is stated as plain JSON
/// (a media type the provider made up for it can carry anything); a document passes with its own
/// type where `documents` pass whole; any other type describes nothing that passes and is dropped.
fn state_type(passing: &mut Vec<(HeaderName, HeaderValue)>, written: bool, documents: bool) {
    let Some(at) = passing.iter().position(|(n, _)| *n == CONTENT_TYPE) else {
        if written {
            passing.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
        }
        return;
    };
    let stated = passing[at].1.to_str().unwrap_or_default();
    let essence = stated.split(';').next().unwrap_or_default().trim();
    if written {
        if !PLAIN_JSON.iter().any(|t| t.eq_ignore_ascii_case(essence)) {
            passing[at].1 = HeaderValue::from_static("application/json");
        }
    } else if !documents {
        passing.remove(at);
    }
}

/// A body read as JSON within the gateway's bounds (`json_read`).
fn json_of(body: &[u8], max_values: usize) -> Result<Value, Withheld> {
    json_read::read(body, max_values).map_err(withheld)
}

fn withheld(unreadable: Unreadable) -> Withheld {
    match unreadable {
        Unreadable::NotJson(_) => Withheld::NotJson,
        Unreadable::TooDeep => Withheld::TooDeep,
        Unreadable::TooManyValues(most) => Withheld::TooManyValues(most),
    }
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
            (StatusCode::from_u16(status).unwrap(), &headers),
            Bytes::from(body.to_string()),
            1 << 20,
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
    fn a_cut_body_is_stated_as_plain_json_and_other_types_pass_only_with_their_body() {
        let stated = |status: u16, content_type: &str, body: &str| {
            let r = answer(status, &[("content-type", content_type)], body)
                .ok()
                .unwrap();
            r.headers
                .iter()
                .find(|(n, _)| *n == CONTENT_TYPE)
                .map(|(_, v)| v.to_str().unwrap().to_string())
        };
        let made_up = "application/vnd.holder-3012345678+json; charset=utf-8";
        assert_eq!(
            stated(200, made_up, "{}").as_deref(),
            Some("application/json")
        );
        assert_eq!(
            stated(404, made_up, "{}").as_deref(),
            Some("application/json")
        );
        assert_eq!(
            stated(200, made_up, "").as_deref(),
            Some("application/json")
        );
        assert_eq!(
            stated(200, "application/json; charset=utf-8", "{}").as_deref(),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(stated(200, "text/x-3012345678", ""), None);
        assert_eq!(stated(500, "text/html", "<p>3012345678</p>"), None);
    }

    #[test]
    fn json_nested_too_deep_is_named_apart_from_invalid_json() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(
            json_of(deep.as_bytes(), 1000),
            Err(Withheld::TooDeep)
        ));
        assert!(matches!(json_of(b"{", 1000), Err(Withheld::NotJson)));
        assert!(json_of("\u{FEFF} {}".as_bytes(), 1000).is_ok());
    }

    #[test]
    fn of_duplicate_keys_the_last_is_typed_and_nothing_of_the_other_passes() {
        let json = [("content-type", "application/json")];
        let r = answer(200, &json, r#"{"debt": {"x": "3012345678"}, "debt": 1.5}"#)
            .ok()
            .unwrap();
        assert_eq!(
            (r.body.as_ref(), r.mistyped.len()),
            (&br#"{"debt":1.5}"#[..], 0)
        );
        let r = answer(200, &json, r#"{"debt": 1.5, "debt": {"x": "3012345678"}}"#)
            .ok()
            .unwrap();
        assert_eq!(
            (r.body.as_ref(), r.mistyped.len()),
            (&br#"{"debt":null}"#[..], 1)
        );
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
            Err(Withheld::NotProjectable)
        ));
        assert!(matches!(answer(101, &[], ""), Err(Withheld::NotFinal(101))));
        assert!(matches!(answer(600, &[], ""), Err(Withheld::NotFinal(600))));
        let r = answer(304, &[("etag", "\"3012345678\"")], "").ok().unwrap();
        assert!(r.headers.is_empty() && r.body.is_empty());
    }
}
