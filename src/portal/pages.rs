//! How the portal's pages are written: minijinja templates under `templates/portal/`, embedded
//! in the binary, HTML auto-escaped and an undefined variable an error; every page in the one
//! layout (`base.html`) and sent with the same protective headers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::{Value, json};

use crate::html::{format_value, to_value};

/// The templates, by name. A new page adds its template here.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../templates/portal/base.html"),
    ),
    (
        "macros.html",
        include_str!("../../templates/portal/macros.html"),
    ),
    (
        "home.html",
        include_str!("../../templates/portal/home.html"),
    ),
    (
        "e-service.html",
        include_str!("../../templates/portal/e-service.html"),
    ),
    (
        "form_field.html",
        include_str!("../../templates/portal/form_field.html"),
    ),
    (
        "form_page.html",
        include_str!("../../templates/portal/form_page.html"),
    ),
    (
        "check_answers.html",
        include_str!("../../templates/portal/check_answers.html"),
    ),
    (
        "draft_delete.html",
        include_str!("../../templates/portal/draft_delete.html"),
    ),
    (
        "draft_deleted.html",
        include_str!("../../templates/portal/draft_deleted.html"),
    ),
    (
        "signed-out.html",
        include_str!("../../templates/portal/signed-out.html"),
    ),
    (
        "sign.html",
        include_str!("../../templates/portal/sign.html"),
    ),
    (
        "problem.html",
        include_str!("../../templates/portal/problem.html"),
    ),
    (
        "cabinet/cabinet.html",
        include_str!("../../templates/portal/cabinet/cabinet.html"),
    ),
    (
        "cabinet/application.html",
        include_str!("../../templates/portal/cabinet/application.html"),
    ),
    (
        "cabinet/withdraw.html",
        include_str!("../../templates/portal/cabinet/withdraw.html"),
    ),
    (
        "cabinet/data-requests.html",
        include_str!("../../templates/portal/cabinet/data-requests.html"),
    ),
    (
        "cabinet/subscriptions.html",
        include_str!("../../templates/portal/cabinet/subscriptions.html"),
    ),
    (
        "subscription-confirm.html",
        include_str!("../../templates/portal/subscription-confirm.html"),
    ),
    (
        "unsubscribe.html",
        include_str!("../../templates/portal/unsubscribe.html"),
    ),
    (
        "cabinet/documents-upload.html",
        include_str!("../../templates/portal/cabinet/documents-upload.html"),
    ),
    (
        "attachments.html",
        include_str!("../../templates/portal/attachments.html"),
    ),
    (
        "cabinet/document.html",
        include_str!("../../templates/portal/cabinet/document.html"),
    ),
    (
        "verify.html",
        include_str!("../../templates/portal/verify.html"),
    ),
    (
        "office/inbox.html",
        include_str!("../../templates/portal/office/inbox.html"),
    ),
    (
        "office/case.html",
        include_str!("../../templates/portal/office/case.html"),
    ),
    (
        "office/users.html",
        include_str!("../../templates/portal/office/users.html"),
    ),
    (
        "office/change-access.html",
        include_str!("../../templates/portal/office/change-access.html"),
    ),
    (
        "office/audit.html",
        include_str!("../../templates/portal/office/audit.html"),
    ),
    (
        "office/feedback.html",
        include_str!("../../templates/portal/office/feedback.html"),
    ),
    (
        "rating.html",
        include_str!("../../templates/portal/rating.html"),
    ),
    (
        "cabinet/rate.html",
        include_str!("../../templates/portal/cabinet/rate.html"),
    ),
    (
        "feedback.html",
        include_str!("../../templates/portal/feedback.html"),
    ),
    (
        "feedback-sent.html",
        include_str!("../../templates/portal/feedback-sent.html"),
    ),
    (
        "polls.html",
        include_str!("../../templates/portal/polls.html"),
    ),
    (
        "poll.html",
        include_str!("../../templates/portal/poll.html"),
    ),
    (
        "statistics/chart.html",
        include_str!("../../templates/portal/statistics/chart.html"),
    ),
    (
        "statistics/overview.html",
        include_str!("../../templates/portal/statistics/overview.html"),
    ),
    (
        "statistics/e-service.html",
        include_str!("../../templates/portal/statistics/e-service.html"),
    ),
    (
        "payments/pay.html",
        include_str!("../../templates/portal/payments/pay.html"),
    ),
    (
        "payments/checkout.html",
        include_str!("../../templates/portal/payments/checkout.html"),
    ),
    (
        "payments/return.html",
        include_str!("../../templates/portal/payments/return.html"),
    ),
    (
        "payments/required.html",
        include_str!("../../templates/portal/payments/required.html"),
    ),
    (
        "cabinet/payments.html",
        include_str!("../../templates/portal/cabinet/payments.html"),
    ),
    (
        "office/revoke.html",
        include_str!("../../templates/portal/office/revoke.html"),
    ),
    (
        "office/revoked.html",
        include_str!("../../templates/portal/office/revoked.html"),
    ),
];

const STYLESHEET: &str = include_str!("../../templates/portal/portal.css");

/// Scripts, frames and other origins are refused: the pages use none, and a value that slipped
/// past escaping could not run.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What every page's layout shows besides its own content.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Chrome {
    /// The system's title, from `system.kdl`.
    pub site_title: String,
    /// The signed-in person's name as the layout greets them; `None` when nobody is signed in.
    pub signed_in_as: Option<String>,
    /// The session's CSRF token, for the forms of the page (sign-out among them).
    pub csrf: Option<String>,
    /// A page of the officials' office: its menu, and sign-out from the office.
    pub office: Option<OfficeMenu>,
}

/// The office's menu items an official may open besides their inbox.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct OfficeMenu {
    /// `/office/users` (`users-manage`).
    pub users: bool,
    /// `/office/audit` (`audit-read`).
    pub audit: bool,
    /// `/registry` (any documents role).
    pub registry: bool,
}

/// The portal's compiled templates.
pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub fn new() -> Result<Pages, String> {
        Pages::with(&[])
    }

    /// The portal's templates and `more` (the registry's, which `serve` hands in), in one
    /// environment: one layout for both.
    pub fn with(more: &[(&'static str, &'static str)]) -> Result<Pages, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_formatter(format_value);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .map_err(|e| e.to_string())?,
        );
        for (name, source) in TEMPLATES.iter().chain(more) {
            env.add_template(name, source)
                .map_err(|e| format!("portal template {name} does not compile: {e:#}"))?;
        }
        Ok(Pages { env })
    }

    /// `template` over `context` (a JSON object) and the layout's `chrome`, as a page.
    pub fn render(
        &self,
        status: StatusCode,
        template: &str,
        chrome: &Chrome,
        context: Value,
    ) -> Response {
        let mut context = match context {
            Value::Object(map) => map,
            other => {
                let mut map = serde_json::Map::new();
                map.insert("data".into(), other);
                map
            }
        };
        context.insert(
            "chrome".into(),
            serde_json::to_value(chrome).unwrap_or(Value::Null),
        );
        let rendered = self
            .env
            .get_template(template)
            .and_then(|t| t.render(to_value(&Value::Object(context))));
        match rendered {
            Ok(html) => html_response(status, html),
            Err(e) => {
                tracing::error!("portal page {template} cannot be rendered: {e:#}");
                self.problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    chrome,
                    "Сторінка тимчасово недоступна",
                    "Під час підготовки сторінки сталася помилка. Спробуйте ще раз за кілька хвилин.",
                )
            }
        }
    }

    /// A page that says what went wrong, in the layout; never with a request's data in it.
    pub fn problem(
        &self,
        status: StatusCode,
        chrome: &Chrome,
        title: &str,
        message: &str,
    ) -> Response {
        let context = json!({ "title": title, "message": message, "status": status.as_u16() });
        let rendered = self.env.get_template("problem.html").and_then(|t| {
            let mut map = context.as_object().cloned().unwrap_or_default();
            map.insert(
                "chrome".into(),
                serde_json::to_value(chrome).unwrap_or(Value::Null),
            );
            t.render(to_value(&Value::Object(map)))
        });
        match rendered {
            Ok(html) => html_response(status, html),
            Err(e) => {
                tracing::error!("the portal's problem page cannot be rendered: {e:#}");
                (status, "Сторінка тимчасово недоступна").into_response()
            }
        }
    }
}

/// `html` as a page: UTF-8, never cached by shared caches, framed by nobody, scripts refused.
pub fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// `/assets/portal.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}
