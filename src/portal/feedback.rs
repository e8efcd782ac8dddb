//! `/feedback` (003 §2.2(9)): feedback, a proposal or a complaint to the portal's administrator
//! from any page, signed in or not, with an e-mail for an answer if the sender wants one. The
//! sender's address or session is kept only as a rate-limit bucket's keyed digest.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use serde_json::{Value, json};

use super::PortalState;
use super::citizen::Citizen;
use super::pages::Chrome;
use super::security_log::{EventKind, SecurityLog};
use super::session;
use crate::store::{LeaseRequest, NewFeedback};

/// The kinds of message, as stored and as people read them.
pub const KINDS: &[(&str, &str)] = &[
    ("feedback", "Відгук про роботу порталу"),
    ("proposal", "Пропозиція"),
    ("complaint", "Скарга"),
];
/// The longest message kept, in characters.
pub const MAX_TEXT: usize = 5000;
const MAX_PAGE: usize = 300;
const MAX_EMAIL: usize = 254;
/// A sender may send this many messages at once, then one every `REFILL_SECONDS`.
const BURST: u32 = 5;
const REFILL_SECONDS: f64 = 12.0 * 60.0;
/// The rate-limit buckets' "node" in the store's shared buckets.
const BUCKETS: &str = "portal-feedback";

#[derive(Deserialize)]
pub struct Shown {
    sent: Option<String>,
}

/// `GET /feedback`: the form, with the page the sender came from (the `Referer` of this
/// portal), or the thanks after a message was sent.
pub async fn form(
    State(portal): State<PortalState>,
    citizen: Option<Citizen>,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Response {
    let chrome = chrome(&portal, citizen.as_ref());
    if shown.sent.is_some() {
        return portal
            .pages
            .render(StatusCode::OK, "feedback-sent.html", &chrome, json!({}));
    }
    let page = came_from(&headers).unwrap_or_default();
    let (token, cookie) = match &citizen {
        Some(citizen) => (citizen.csrf.clone(), None),
        None => {
            let token = form_cookie(&portal, &headers)
                .map(str::to_string)
                .unwrap_or_else(session::random_token);
            let cookie =
                session::set_cookie(&portal.settings, cookie_name(&portal), &token, 2 * 60 * 60);
            (token, Some(cookie))
        }
    };
    let mut response = render(
        &portal,
        &chrome,
        StatusCode::OK,
        json!({"page": page, "kind": "", "text": "", "email": ""}),
        &token,
        Vec::new(),
    );
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST /feedback`: `kind`, `page`, `text`, `email`, `csrf`.
pub async fn send(
    State(portal): State<PortalState>,
    citizen: Option<Citizen>,
    headers: HeaderMap,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let chrome = chrome(&portal, citizen.as_ref());
    let pairs = form.map(|Form(pairs)| pairs).unwrap_or_default();
    let posted = super::forms::posted_csrf(&pairs);
    let token = match &citizen {
        Some(citizen) => {
            if let Err(refused) = citizen.check_csrf(posted) {
                return refused;
            }
            citizen.csrf.clone()
        }
        None => match (form_cookie(&portal, &headers), posted) {
            (Some(cookie), Some(posted)) if session::same_secret(cookie, posted) => {
                cookie.to_string()
            }
            (_, posted) => {
                SecurityLog::new(portal.store.clone())
                    .record(
                        EventKind::RefusedCsrf,
                        None,
                        if posted.is_some_and(|p| !p.is_empty()) {
                            "a message to the administrator was sent with a token that is not \
                             its browser's"
                        } else {
                            "a message to the administrator was sent without its token"
                        },
                    )
                    .await;
                return portal.pages.problem(
                    StatusCode::FORBIDDEN,
                    &chrome,
                    "Форму не прийнято",
                    "Форму надіслано не зі сторінки порталу або сторінка застаріла. Відкрийте \
                     сторінку «Зворотний зв'язок» ще раз і надішліть повідомлення.",
                );
            }
        },
    };
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let (kind, page, text, email) = (field("kind"), field("page"), field("text"), field("email"));
    if !page.is_empty() && local_path(&page).is_none() {
        return portal.pages.problem(
            StatusCode::BAD_REQUEST,
            &chrome,
            "Форму не прийнято",
            "Поле «сторінка» має містити адресу сторінки цього порталу, що починається з «/». \
             Відкрийте сторінку «Зворотний зв'язок» ще раз.",
        );
    }
    let errors = judge(&kind, &text, &email);
    if !errors.is_empty() {
        let values = json!({"page": page, "kind": kind, "text": text, "email": email});
        return render(
            &portal,
            &chrome,
            StatusCode::BAD_REQUEST,
            values,
            &token,
            errors,
        );
    }
    let who = match &citizen {
        Some(citizen) => format!("session:{}", citizen.session_id),
        None => format!("address:{}", address_bucket(connection.map(|c| c.0.0))),
    };
    match allowed(&portal, &who).await {
        Ok(true) => {}
        Ok(false) => {
            return portal.pages.problem(
                StatusCode::TOO_MANY_REQUESTS,
                &chrome,
                "Забагато повідомлень",
                "Ви нещодавно надіслали кілька повідомлень поспіль. Ваші попередні \
                 повідомлення отримано; наступне можна надіслати за чверть години.",
            );
        }
        Err(e) => return unavailable(&portal, &chrome, &e),
    }
    let message = NewFeedback {
        kind,
        page,
        body: text,
        email: Some(email).filter(|e| !e.is_empty()),
        signed_in: citizen.is_some(),
        received_at: portal.engine.clock().now(),
    };
    match portal.store.record_feedback(&message).await {
        Ok(_) => (
            StatusCode::SEE_OTHER,
            [(
                header::LOCATION,
                HeaderValue::from_static("/feedback?sent=1"),
            )],
        )
            .into_response(),
        Err(e) => unavailable(&portal, &chrome, &e.to_string()),
    }
}

/// What is wrong with a message, as the error summary lists it.
fn judge(kind: &str, text: &str, email: &str) -> Vec<Value> {
    let mut errors = Vec::new();
    if !KINDS.iter().any(|(k, _)| *k == kind) {
        errors.push(json!({"field": "feedback-kind-feedback",
            "message": "Оберіть, що ви надсилаєте: відгук, пропозицію чи скаргу"}));
    }
    if text.is_empty() {
        errors.push(json!({"field": "feedback-text", "message": "Напишіть текст повідомлення"}));
    } else if text.chars().count() > MAX_TEXT {
        errors.push(json!({"field": "feedback-text",
            "message": format!("Скоротіть повідомлення до {MAX_TEXT} символів")}));
    }
    if !email.is_empty() && !plausible_email(email) {
        errors.push(json!({"field": "feedback-email",
            "message": "Введіть адресу електронної пошти у форматі name@example.com або залиште поле порожнім"}));
    }
    errors
}

fn plausible_email(email: &str) -> bool {
    email.len() <= MAX_EMAIL
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        })
}

/// `path` if it is a path of this portal: `/…`, not `//…`, short, printable.
fn local_path(path: &str) -> Option<&str> {
    (path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && path.len() <= MAX_PAGE
        && !path.chars().any(char::is_control))
    .then_some(path)
}

/// The path of this portal's page the browser came from, from its `Referer`.
fn came_from(headers: &HeaderMap) -> Option<String> {
    let referer = url::Url::parse(headers.get(header::REFERER)?.to_str().ok()?).ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let origin = match referer.port() {
        Some(port) => format!("{}:{port}", referer.host_str()?),
        None => referer.host_str()?.to_string(),
    };
    if !origin.eq_ignore_ascii_case(host) {
        return None;
    }
    let path = match referer.query() {
        Some(query) => format!("{}?{query}", referer.path()),
        None => referer.path().to_string(),
    };
    (path != "/feedback").then(|| local_path(&path).map(str::to_string))?
}

/// The bucket an address is limited in: itself for IPv4, its /64 network for IPv6 (one
/// household or device gets a whole /64).
fn address_bucket(address: Option<SocketAddr>) -> String {
    match address.map(|a| a.ip()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".into(),
    }
}

/// Whether `who` may send one more message now; its bucket is shared by the replicas.
async fn allowed(portal: &PortalState, who: &str) -> Result<bool, String> {
    let bucket = portal.digests.sender(who)?;
    let now = portal.engine.clock().now();
    let holder = format!("portal-{}", std::process::id());
    let lease = portal
        .store
        .lease_tokens(&LeaseRequest {
            node: BUCKETS,
            agreement: &bucket,
            holder: &holder,
            capacity: BURST,
            per_microsecond: 1.0 / (REFILL_SECONDS * 1_000_000.0),
            want: 1,
            now_micros: now.timestamp_micros(),
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(lease.granted > 0)
}

fn cookie_name(portal: &PortalState) -> &'static str {
    if portal.settings.secure_cookies {
        "__Host-hromada-form"
    } else {
        "hromada-form"
    }
}

/// The anonymous form's token from its cookie, if it looks like one.
fn form_cookie<'h>(portal: &PortalState, headers: &'h HeaderMap) -> Option<&'h str> {
    session::read_cookie(headers, cookie_name(portal))
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The layout for `citizen`, or for nobody signed in.
pub(crate) fn chrome(portal: &PortalState, citizen: Option<&Citizen>) -> Chrome {
    let Some(compiled) = portal.current.load_full() else {
        return Chrome::default();
    };
    match citizen {
        Some(citizen) => citizen.chrome(&compiled),
        None => super::home::chrome(&compiled),
    }
}

fn render(
    portal: &PortalState,
    chrome: &Chrome,
    status: StatusCode,
    values: Value,
    token: &str,
    errors: Vec<Value>,
) -> Response {
    // Each field's own message, shown beside it as well as in the summary.
    let mut by_field: serde_json::Map<String, Value> = ["kind", "text", "email"]
        .into_iter()
        .map(|name| (name.to_string(), Value::Null))
        .collect();
    for e in &errors {
        if let (Some(field), Some(message)) = (e["field"].as_str(), e["message"].as_str()) {
            let name = if field.starts_with("feedback-kind") {
                "kind"
            } else {
                field.trim_start_matches("feedback-")
            };
            by_field.insert(name.into(), json!(message));
        }
    }
    let kinds: Vec<Value> = KINDS
        .iter()
        .map(|(id, words)| json!({"id": id, "words": words}))
        .collect();
    portal.pages.render(
        status,
        "feedback.html",
        chrome,
        json!({
            "values": values,
            "kinds": kinds,
            "token": token,
            "errors": errors,
            "error": by_field,
            "max_text": MAX_TEXT,
        }),
    )
}

fn unavailable(portal: &PortalState, chrome: &Chrome, why: &str) -> Response {
    tracing::error!("a message to the administrator cannot be taken: {why}");
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Повідомлення не надіслано",
        "Не вдалося зберегти ваше повідомлення. Спробуйте ще раз за кілька хвилин.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_path_of_this_portal_is_kept_as_the_page() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        let from = |referer: &str| {
            let mut headers = headers.clone();
            headers.insert(header::REFERER, referer.parse().unwrap());
            came_from(&headers)
        };
        assert_eq!(
            from("http://127.0.0.1:8080/services/x?q=1").as_deref(),
            Some("/services/x?q=1")
        );
        assert_eq!(from("http://evil.example/services/x"), None);
        assert_eq!(from("http://127.0.0.1:8080/feedback"), None);
        assert_eq!(local_path("//evil.example/"), None);
        assert_eq!(local_path("/a\nb"), None);
    }

    #[test]
    fn a_message_needs_a_kind_and_text_and_an_email_only_if_given() {
        assert!(judge("proposal", "Текст", "").is_empty());
        assert!(judge("proposal", "Текст", "olena@example.org").is_empty());
        assert_eq!(judge("spam", "", "not an e-mail").len(), 3);
        assert_eq!(judge("complaint", &"я".repeat(MAX_TEXT + 1), "").len(), 1);
    }

    #[test]
    fn ipv6_senders_share_a_bucket_per_network() {
        let a: SocketAddr = "[2001:db8:1:2:aaaa::1]:5000".parse().unwrap();
        let b: SocketAddr = "[2001:db8:1:2:bbbb::9]:6000".parse().unwrap();
        assert_eq!(address_bucket(Some(a)), address_bucket(Some(b)));
        let v4: SocketAddr = "192.0.2.7:1".parse().unwrap();
        assert_eq!(address_bucket(Some(v4)), "192.0.2.7");
    }
}
