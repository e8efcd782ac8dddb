//! The data subject's record of one exchange (MIN-4), made alike on the provider's node and on
//! the consumer's, and the internal header by which the provider's node tells the consumer's which
//! fields it released, so that the citizen finds the use on the node their portal runs on.

use axum::http::{HeaderMap, HeaderValue};
use chrono::Utc;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use super::call::Call;
use super::provider::subject_of;
use super::release::may_release;
use super::trace::Trace;
use crate::http_headers::RELEASED;
use crate::spec::Spec;
use crate::spec::model::{Agreement, Service};
use crate::store::SubjectUse;

/// What a field name escapes in the header: the list's separator, spaces and anything not ASCII.
const IN_NAME: &AsciiSet = &CONTROLS.add(b',').add(b' ').add(b'%').add(b'"');

/// One exchange's facts that a subject's record repeats.
pub struct Released<'a> {
    pub call: &'a Call,
    /// The consumer subsystem, `participant/subsystem`.
    pub consumer: &'a str,
    /// The provider service, `participant/service`.
    pub provider: &'a str,
    pub agreement: &'a Agreement,
    /// The operation's path pattern that matched.
    pub operation: &'a str,
}

/// Whose data the call is about: the person an appliance's own call states it is made for (the
/// signed-in citizen, a case's applicant), else where the service declares the subject travels.
/// `None` for a service that declares no subject; `Err` names a place holding more than one.
pub fn subject(service: &Service, call: &Call, trace: &Trace) -> Result<Option<String>, String> {
    let declared = subject_of(service.subject.as_ref(), call)?;
    if service.subject.is_none() {
        return Ok(None);
    }
    Ok(trace.on_behalf_of.clone().or(declared))
}

/// The record of `fields` released about `subject`; `notify` queues the subject's notice.
pub fn record(
    spec: &Spec,
    released: &Released<'_>,
    subject: String,
    fields: Vec<String>,
    notify: bool,
) -> Option<SubjectUse> {
    let consumer = spec.participant(released.consumer.split('/').next()?)?;
    let agreement = released.agreement;
    Some(SubjectUse {
        subject,
        logtime: Utc::now(),
        message_id: released.call.message_id.clone(),
        action: format!("{} {}", released.call.method.as_str(), released.operation),
        receiver_code: consumer.edrpou.clone(),
        receiver_name: consumer.name.clone(),
        receiver_system: released.consumer.to_string(),
        provider: released.provider.to_string(),
        agreement: agreement.id.clone(),
        purpose: agreement.purpose.clone(),
        legal_basis: agreement.legal_basis.clone(),
        fields,
        notify,
    })
}

/// The header value naming `fields`, each percent-escaped, separated by commas.
pub fn header_value(fields: &[String]) -> Option<HeaderValue> {
    let names: Vec<String> = fields
        .iter()
        .map(|f| utf8_percent_encode(f, IN_NAME).to_string())
        .collect();
    HeaderValue::from_str(&names.join(",")).ok()
}

/// The fields the provider's node says it released, of those it may release under the
/// agreement; `Err` says why none can be taken (no header: an older node; a malformed one).
/// The count of names dropped because the agreement does not let them pass comes with them.
pub fn told(
    headers: &HeaderMap,
    agreement: &Agreement,
    service: &Service,
) -> Result<(Vec<String>, usize), &'static str> {
    let mut values = headers.get_all(RELEASED).iter();
    let value = values.next().ok_or("it sent no list of released fields")?;
    if values.next().is_some() {
        return Err("it sent the list of released fields more than once");
    }
    let text = value
        .to_str()
        .map_err(|_| "its list of released fields is not ASCII")?;
    if text.trim().is_empty() {
        return Ok((Vec::new(), 0));
    }
    let mut fields = Vec::new();
    let mut dropped = 0;
    for name in text.split(',') {
        let name = percent_decode_str(name.trim())
            .decode_utf8()
            .map_err(|_| "a name in its list of released fields is not UTF-8")?;
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err("its list of released fields has an empty or unreadable name");
        }
        if !may_release(agreement, service, &name) {
            dropped += 1;
        } else if !fields.iter().any(|f| f == &name) {
            fields.push(name.into_owned());
        }
    }
    Ok((fields, dropped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderName;

    fn agreement(fields: &[&str]) -> Agreement {
        serde_json::from_value(serde_json::json!({
            "id": "a",
            "consumer": "c/s",
            "provider": "p/svc",
            "fields": fields,
            "valid": {"from": "2026-01-01"},
        }))
        .expect("an agreement")
    }

    fn service() -> Service {
        serde_json::from_value(serde_json::json!({
            "id": "svc",
            "title": "t",
            "description": "d",
            "upstream": "http://127.0.0.1:1/",
            "operations": [],
            "response": {"fields": []},
        }))
        .expect("a service")
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                HeaderName::from_static(RELEASED),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_names_told_come_back_as_sent_and_only_those_the_agreement_lets_pass() {
        let names = vec!["debt_uah".to_string(), "адреса, місто".to_string()];
        let value = header_value(&names).unwrap();
        let granted = agreement(&["debt_uah", "адреса, місто"]);
        let mut map = HeaderMap::new();
        map.insert(RELEASED, value.clone());
        assert_eq!(told(&map, &granted, &service()), Ok((names, 0)));
        let narrower = agreement(&["debt_uah"]);
        assert_eq!(
            told(&map, &narrower, &service()),
            Ok((vec!["debt_uah".to_string()], 1))
        );
        // The error shape's fields pass under any agreement.
        let error = headers(&["message,type"]);
        assert_eq!(
            told(&error, &narrower, &service()).unwrap().0,
            vec!["message".to_string(), "type".to_string()]
        );
    }

    #[test]
    fn no_header_a_repeated_one_or_an_unreadable_one_gives_no_fields() {
        let granted = agreement(&["debt_uah"]);
        assert!(told(&HeaderMap::new(), &granted, &service()).is_err());
        assert!(told(&headers(&["debt_uah", "debt_uah"]), &granted, &service()).is_err());
        assert!(told(&headers(&["debt_uah,,x"]), &granted, &service()).is_err());
        assert!(told(&headers(&["%FF%FE"]), &granted, &service()).is_err());
        assert_eq!(
            told(&headers(&[""]), &granted, &service()),
            Ok((Vec::new(), 0))
        );
    }
}
