//! A provider's redirect as a consumer may see it: only a relative location that stays inside the
//! operations the agreement grants, its query cut to the parameters the agreement allows, and
//! rewritten to the gateway's own `/r1/…` path of the service. Anything else does not pass.

use url::Url;

use super::authorise::allowed_parameters;
use super::call::Call;
use super::protocol::parse_request_path;
use crate::spec::agreement_rules::{granted_operations, path_matches};
use crate::spec::model::{Agreement, Service};

/// Why a redirect cannot pass; worded for the consumer and the log, never quoting the location
/// (its query may name a person).
#[derive(Debug, PartialEq, Eq)]
pub struct Outside(pub &'static str);

/// The location a consumer may be sent to for the provider's `location`, answered to `call`
/// made to the upstream `base` under `agreement`.
pub fn location(
    base: &str,
    call: &Call,
    agreement: &Agreement,
    service: &Service,
    location: &[u8],
) -> Result<String, Outside> {
    let text = std::str::from_utf8(location)
        .map_err(|_| Outside("the location is not text"))?
        .trim();
    if text.starts_with("//") || text.contains('\\') || Url::parse(text).is_ok() {
        return Err(Outside(
            "the location is absolute; only a relative one inside the agreed operations passes",
        ));
    }
    let base_url = Url::parse(base).map_err(|_| Outside("the service's upstream is not a URL"))?;
    let called = Url::parse(&format!(
        "{}{}",
        base.trim_end_matches('/'),
        call.path_and_query()
    ))
    .map_err(|_| Outside("the called address is not a URL"))?;
    let target = called
        .join(text)
        .map_err(|_| Outside("the location is not a valid relative reference"))?;
    if target.origin() != base_url.origin() {
        return Err(Outside("the location leaves the provider's system"));
    }
    let base_path = base_url.path().trim_end_matches('/');
    let path = match target.path().strip_prefix(base_path) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => return Err(Outside("the location is outside the service")),
    };
    let granted = granted_operations(agreement, service);
    if !granted.iter().any(|op| path_matches(&op.path, path)) {
        return Err(Outside(
            "the location is outside the operations the agreement grants",
        ));
    }
    let prefix = service_prefix(call);
    // The consumer is sent only where it could call: the request path refusals hold too
    // (an encoded `?` or `/`, a `;` parameter, a dot look-alike would carry text past them).
    if parse_request_path(&format!("{prefix}{path}")).is_err() {
        return Err(Outside(
            "the location's path is one the gateway refuses in a request",
        ));
    }
    let allowed = allowed_parameters(agreement, service);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (name, value) in target.query_pairs() {
        if allowed.contains(&name.as_ref()) {
            query.append_pair(&name, &value);
            any = true;
        }
    }
    Ok(if any {
        format!("{prefix}{path}?{}", query.finish())
    } else {
        format!("{prefix}{path}")
    })
}

/// Whether `location`, as another gateway node passed it on, is one [`location`] makes for
/// `call`: a path of the same service on this gateway.
pub fn is_rewritten(call: &Call, location: &str) -> bool {
    location
        .strip_prefix(service_prefix(call))
        .is_some_and(|rest| rest.starts_with('/'))
        && !location.contains("//")
        && !location.contains('\\')
}

/// `/r1/{service id}` as the consumer wrote it.
fn service_prefix(call: &Call) -> &str {
    call.raw_path
        .strip_suffix(call.path.as_str())
        .unwrap_or(&call.raw_path)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::spec::model::Participant;
    use serde_json::json;

    pub(in crate::gateway) fn service() -> Service {
        let p: Participant = serde_json::from_value(json!({
            "id": "vodokanal", "name": "В", "edrpou": "35418773", "class": "COM", "gateway": "gw",
            "seal": {"cert": "c.crt"},
            "contacts": {"kind": "k", "address": "a", "phone": "p", "email": "e", "schedule": "s"},
            "services": [{
                "id": "balance", "title": "t", "description": "d",
                "upstream": "http://127.0.0.1:9401/abonents",
                "operations": [{"method": "GET", "path": "/accounts/*/balance"}, {"method": "GET", "path": "/accounts/*/history"}],
                "subject": {"path-segment": 2}
            }]
        }))
        .unwrap();
        p.services[0].clone()
    }

    pub(in crate::gateway) fn agreement() -> Agreement {
        serde_json::from_value(json!({
            "id": "a", "consumer": "council/registry", "provider": "vodokanal/balance",
            "fields": ["debt"], "parameters": ["as_of"],
            "operations": [{"method": "GET", "path": "/accounts/*/balance"}],
            "valid": {"from": "2026-01-01"}
        }))
        .unwrap()
    }

    pub(in crate::gateway) fn call() -> Call {
        let request = axum::http::Request::builder()
            .uri("/r1/UA/COM/35418773/billing/balance/accounts/1/balance?as_of=2026-01-01")
            .header("X-Road-Client", "UA/GOV/04363395/registry")
            .body(axum::body::Body::empty())
            .unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(crate::gateway::call::parse(
                request,
                &crate::gateway::Limits::default(),
            ))
            .unwrap()
    }

    fn to(location: &str) -> Result<String, Outside> {
        super::location(
            "http://127.0.0.1:9401/abonents",
            &call(),
            &agreement(),
            &service(),
            location.as_bytes(),
        )
    }

    #[test]
    fn a_relative_location_inside_the_agreement_is_rewritten_to_the_gateway() {
        let prefix = "/r1/UA/COM/35418773/billing/balance";
        assert_eq!(
            to("/abonents/accounts/2/balance?as_of=x&rnokpp=3012345678#frag"),
            Ok(format!("{prefix}/accounts/2/balance?as_of=x"))
        );
        assert_eq!(
            to("../2/balance"),
            Ok(format!("{prefix}/accounts/2/balance"))
        );
        assert!(is_rewritten(
            &call(),
            &format!("{prefix}/accounts/2/balance")
        ));
        assert!(!is_rewritten(
            &call(),
            "/r1/UA/COM/35418773/billing/other/x"
        ));
        assert!(!is_rewritten(&call(), "https://evil.example/r1/UA"));
    }

    #[test]
    fn absolute_outside_and_ungranted_locations_do_not_pass() {
        for (location, why) in [
            ("https://evil.example/?rnokpp=3012345678", "absolute"),
            (
                "http://127.0.0.1:9401/abonents/accounts/2/balance",
                "absolute",
            ),
            ("//evil.example/abonents/accounts/2/balance", "absolute"),
            ("/\\evil.example/x", "absolute"),
            ("/admin?rnokpp=3012345678", "outside the service"),
            ("/abonentsX/accounts/2/balance", "outside the service"),
            ("/abonents/accounts/2/history", "outside the operations"),
            ("/abonents/accounts/2/../../../admin", "outside the service"),
            (
                "/abonents/accounts/%2e%2e/balance",
                "outside the operations",
            ),
            ("/abonents/accounts/a%2Fb/balance", "outside the operations"),
            ("/abonents/accounts/x%3Fr%3D3012345678/balance", "refuses"),
            ("/abonents/accounts/x;r=3012345678/balance", "refuses"),
            ("/abonents/accounts/x%252F/balance", "refuses"),
        ] {
            let refused = to(location).expect_err(location);
            assert!(refused.0.contains(why), "{location}: {}", refused.0);
        }
    }
}
