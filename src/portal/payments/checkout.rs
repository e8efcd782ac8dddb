//! The applicant's side of a payment: `/drafts/{draft}/pay` (what is owed, the attempts so far,
//! and a POST that hands the applicant to the provider with an ordinary form), the return page
//! `/payments/{id}/return`, and the gate that refuses signing before a `before-submission` fee
//! is paid.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use serde_json::{Value, json};

use super::{CURRENCY, Order, fee_due, hryvnias};
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::cabinet::words;
use crate::portal::citizen::Citizen;
use crate::portal::forms::{Purpose, open, posted_csrf};
use crate::portal::pages::Chrome;
use crate::portal::session::random_token;
use crate::spec::model::{EService, PayWhen, by_id};
use crate::store::{DraftRow, NewPayment, PaymentRow, PaymentStatus};

/// How long a payment handed to the provider may stay without a final answer before the
/// applicant may start another.
pub const PAYMENT_WINDOW: Duration = Duration::minutes(30);

/// `GET /drafts/{draft}/pay`.
pub async fn page(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(draft): Path<String>,
) -> Response {
    let due = match owed(&portal, &citizen, &draft).await {
        Ok(due) => due,
        Err(page) => return page,
    };
    render(&portal, &due, StatusCode::OK).await
}

/// `POST /drafts/{draft}/pay`: a payment created (or the open one taken again) and the form
/// that hands the applicant to the provider.
pub async fn start(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(draft): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = citizen.check_csrf(posted_csrf(&pairs)) {
        return refused;
    }
    let due = match owed(&portal, &citizen, &draft).await {
        Ok(due) => due,
        Err(page) => return page,
    };
    if due.settled {
        return see_other(&format!("/drafts/{draft}/pay"));
    }
    let Some(payments) = due.compiled.spec.system().and_then(|s| s.payments.clone()) else {
        return not_configured(&portal, &due.chrome);
    };
    let provider = match portal.payments.provider(&payments) {
        Ok(provider) => provider,
        Err(why) => {
            tracing::error!("a payment cannot be started: {why}");
            return not_configured(&portal, &due.chrome);
        }
    };
    let Some(base) = portal.settings.public_url.get() else {
        tracing::error!("a payment cannot be started: the portal's public URL is not known yet");
        return not_configured(&portal, &due.chrome);
    };
    let now = due.now;
    let payment = match portal
        .store
        .open_or_create_payment(&NewPayment {
            id: random_token(),
            owner: citizen.owner.clone(),
            draft_id: due.draft.id.clone(),
            e_service: due.e_service.id.clone(),
            provider: provider.name().into(),
            amount: due.amount,
            currency: CURRENCY.into(),
            at: now,
            expires_at: now + PAYMENT_WINDOW,
        })
        .await
    {
        Ok(payment) => payment,
        Err(e) => {
            tracing::error!("a payment cannot be stored: {e}");
            return crate::portal::cabinet::unavailable(&portal, &due.chrome, &e.to_string());
        }
    };
    tracing::info!(
        payment = %payment.id,
        e_service = %payment.e_service,
        "a payment is handed to the payment provider"
    );
    let result_url = format!("{base}/payments/{}/return", payment.id);
    let server_url = format!("{base}/payments/callback/{}", provider.name());
    let description = format!("Оплата послуги «{}»", due.e_service.title);
    let checkout = provider.checkout(&Order {
        id: &payment.id,
        amount: payment.amount,
        currency: &payment.currency,
        description: &description,
        result_url: &result_url,
        server_url: &server_url,
    });
    let fields: Vec<Value> = checkout
        .fields
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let mut response = portal.pages.render(
        StatusCode::OK,
        "payments/checkout.html",
        &due.chrome,
        json!({
            "service": due.e_service.title,
            "amount": hryvnias(payment.amount),
            "action": checkout.action,
            "fields": fields,
            "back": format!("/drafts/{draft}/pay"),
        }),
    );
    allow_form_to(&mut response, &checkout.action);
    response
}

/// `GET /payments/{id}/return`: where the provider sends the applicant back.
pub async fn returned(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return crate::portal::cabinet::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let payment = match portal.store.payment_of(&citizen.owner, &id).await {
        Ok(Some(payment)) => payment,
        Ok(None) => return not_found(&portal, &chrome),
        Err(e) => return crate::portal::cabinet::unavailable(&portal, &chrome, &e.to_string()),
    };
    let service = crate::portal::cabinet::service_title(&compiled.spec, &payment.e_service);
    portal.pages.render(
        StatusCode::OK,
        "payments/return.html",
        &chrome,
        json!({
            "service": service,
            "payment": view(&payment, zone(&compiled)),
            "pay_url": format!("/drafts/{}/pay", payment.draft_id),
        }),
    )
}

/// `POST /payments/{id}/return`: a provider that sends the browser back with a POST is
/// answered with the page's address, which the browser then GETs with its session cookie.
pub async fn returned_posted(Path(id): Path<String>) -> Response {
    see_other(&format!("/payments/{id}/return"))
}

/// The page that stops signing while a `before-submission` fee of `draft` is unpaid; `None`
/// when nothing is owed before submission or it is paid.
pub async fn unpaid_before_submission(
    portal: &PortalState,
    chrome: &Chrome,
    draft: &DraftRow,
    e_service: &EService,
) -> Option<Response> {
    let (amount, when) = fee_due(e_service)?;
    if when != PayWhen::BeforeSubmission {
        return None;
    }
    match portal.store.payment_settled(&draft.id).await {
        Ok(true) => None,
        Ok(false) => Some(portal.pages.render(
            StatusCode::PAYMENT_REQUIRED,
            "payments/required.html",
            chrome,
            json!({
                "service": e_service.title,
                "amount": hryvnias(amount),
                "pay_url": format!("/drafts/{}/pay", draft.id),
                "before_result": false,
            }),
        )),
        Err(e) => Some(crate::portal::cabinet::unavailable(
            portal,
            chrome,
            &e.to_string(),
        )),
    }
}

/// What the draft owes, read for its pay page.
struct Due {
    compiled: Arc<Compiled>,
    chrome: Chrome,
    draft: DraftRow,
    e_service: EService,
    amount: i64,
    when: PayWhen,
    now: chrono::DateTime<chrono::Utc>,
    payments: Vec<PaymentRow>,
    settled: bool,
}

/// `citizen`'s draft `id` with its fee and payments (open ones past their window expired
/// first), or the page that says why there is nothing to pay.
async fn owed(portal: &PortalState, citizen: &Citizen, id: &str) -> Result<Due, Response> {
    let opened = open(portal, citizen, id, Purpose::Read).await?;
    let chrome = opened.chrome.clone();
    let e_service = by_id(&opened.compiled.spec.e_services, &opened.draft.e_service).cloned();
    let Some((e_service, (amount, when))) = e_service.and_then(|e| fee_due(&e).map(|due| (e, due)))
    else {
        return Err(portal.pages.problem(
            StatusCode::NOT_FOUND,
            &chrome,
            "Оплата не потрібна",
            "За цією заявою на порталі нічого не потрібно сплачувати.",
        ));
    };
    let store = &portal.store;
    let read = async {
        store.expire_payments(id, opened.now).await?;
        store.payments_of_draft(id).await
    };
    let payments = match read.await {
        Ok(payments) => payments,
        Err(e) => {
            return Err(crate::portal::cabinet::unavailable(
                portal,
                &chrome,
                &e.to_string(),
            ));
        }
    };
    let settled = payments.iter().any(|p| p.status == PaymentStatus::Paid);
    Ok(Due {
        compiled: opened.compiled,
        chrome,
        draft: opened.draft,
        e_service,
        amount,
        when,
        now: opened.now,
        payments,
        settled,
    })
}

async fn render(portal: &PortalState, due: &Due, status: StatusCode) -> Response {
    let zone = zone(&due.compiled);
    let next = if due.draft.locked() {
        match portal
            .store
            .application_for_draft(&due.draft.owner, &due.draft.id)
            .await
        {
            Ok(Some(application)) => format!("/cabinet/applications/{}", application.id),
            _ => "/cabinet".into(),
        }
    } else {
        format!("/drafts/{}/sign", due.draft.id)
    };
    let details = due.e_service.fee.as_ref().and_then(|f| f.payment.as_ref());
    let configured = due
        .compiled
        .spec
        .system()
        .is_some_and(|s| s.payments.is_some());
    portal.pages.render(
        status,
        "payments/pay.html",
        &due.chrome,
        json!({
            "draft": due.draft.id,
            "service": due.e_service.title,
            "amount": hryvnias(due.amount),
            "before_result": due.when == PayWhen::BeforeResult,
            "recipient": details.map(|d| &d.recipient),
            "edrpou": details.map(|d| &d.edrpou),
            "iban": details.map(|d| &d.iban),
            "settled": due.settled,
            "configured": configured,
            "attempts": due.payments.iter().map(|p| view(p, zone)).collect::<Vec<_>>(),
            "next": next,
        }),
    )
}

/// A payment as the pages show it.
pub fn view(payment: &PaymentRow, zone: chrono_tz::Tz) -> Value {
    json!({
        "id": payment.id,
        "status": payment.status.as_str(),
        "status_words": status_words(payment.status),
        "settled": payment.status == PaymentStatus::Paid,
        "amount": hryvnias(payment.amount),
        "started": words::when(&crate::store::time_text(&payment.created_at), zone),
        "receipt": payment.receipt.as_ref().map(|r| json!({
            "transaction": r.transaction_id,
            "amount": if r.currency == CURRENCY { hryvnias(r.amount) } else { format!("{} {}", super::decimal(r.amount), r.currency) },
            "at": words::when(&crate::store::time_text(&r.at), zone),
        })),
    })
}

/// A payment's status in the applicant's words.
pub fn status_words(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Pending => "Очікуємо на оплату",
        PaymentStatus::Processing => "Платіж обробляється",
        PaymentStatus::Paid => "Сплачено",
        PaymentStatus::Failed => "Оплата не вдалася",
        PaymentStatus::Expired => "Час на оплату минув",
        PaymentStatus::Reversed => "Кошти повернуто платнику",
        PaymentStatus::Mismatch => "Сума платежу не збігається із сумою збору, перевіряємо",
        PaymentStatus::RefundDue => "Сплачено вдруге, кошти буде повернуто",
    }
}

fn zone(compiled: &Compiled) -> chrono_tz::Tz {
    compiled
        .spec
        .system()
        .map_or(chrono_tz::Europe::Kyiv, |s| words::zone_of(&s.calendar))
}

/// The page's policy lets its form post to the provider's checkout too.
fn allow_form_to(response: &mut Response, action: &str) {
    let Some(origin) = url::Url::parse(action)
        .ok()
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
    else {
        return;
    };
    let Some(policy) = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|p| {
            p.replace(
                "form-action 'self'",
                &format!("form-action 'self' {origin}"),
            )
        })
    else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

fn not_configured(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Оплата тимчасово недоступна",
        "Зараз не вдається перейти до оплати. Спробуйте ще раз за кілька хвилин; нічого з \
         вашої заяви не втрачено.",
    )
}

fn not_found(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        chrome,
        "Платіж не знайдено",
        "Такого платежу немає серед ваших. Історію платежів можна переглянути в особистому \
         кабінеті.",
    )
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use serde_json::json;

    use super::*;
    use crate::portal::pages::Pages;

    async fn render(template: &str, context: Value) -> String {
        let chrome = Chrome {
            site_title: "Місто".into(),
            signed_in_as: Some("Іваненко Марія".into()),
            csrf: Some("token-1".into()),
            ..Chrome::default()
        };
        let page = Pages::new()
            .unwrap()
            .render(StatusCode::OK, template, &chrome, context);
        assert_eq!(page.status(), StatusCode::OK, "{template} did not render");
        let body = to_bytes(page.into_body(), usize::MAX).await.unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_payment_pages_render_what_they_are_given_escaped() {
        let html = render(
            "payments/checkout.html",
            json!({"service": "Адреса <b>", "amount": "332,80 грн", "action": "https://pay.example/api/3/checkout",
                "fields": [{"name": "data", "value": "eyJ+/a\"=="}, {"name": "signature", "value": "x/y+z="}],
                "back": "/drafts/d1/pay"}),
        )
        .await;
        assert!(
            html.contains(r#"action="https://pay.example/api/3/checkout""#),
            "{html}"
        );
        assert!(html.contains("Адреса &lt;b&gt;"), "{html}");
        assert!(
            !html.contains(r#"eyJ+/a"=="#),
            "a quote in a value is escaped: {html}"
        );
        // The provider is sent the page's values only: no session token goes to it.
        let form = html
            .split("pay.example")
            .nth(1)
            .unwrap()
            .split("</form>")
            .next()
            .unwrap();
        assert!(!form.contains("token-1"), "{form}");
        // What the browser posts is the attribute's meaning: the exact value once decoded.
        assert!(
            form.contains(r#"value="x/y+z=""#) || form.contains(r#"value="x&#x2f;y+z=""#),
            "{form}"
        );

        let attempt = json!({"id": "p1", "status": "paid", "status_words": "Сплачено", "settled": true,
            "amount": "332,80 грн", "started": "21.12.2026 11:00",
            "receipt": {"transaction": "T<1>", "amount": "332,80 грн", "at": "21.12.2026 11:01"}});
        let html = render(
            "payments/pay.html",
            json!({"draft": "d1", "service": "Адреса", "amount": "332,80 грн", "before_result": false,
                "recipient": "ГУК", "edrpou": "1", "iban": "UA1", "settled": false, "configured": true,
                "attempts": [attempt], "next": "/drafts/d1/sign"}),
        )
        .await;
        for shown in [
            r#"action="/drafts/d1/pay""#,
            "name=\"csrf\" value=\"token-1\"",
            "Перейти до оплати 332,80 грн",
            "транзакція T&lt;1&gt;",
        ] {
            assert!(html.contains(shown), "{shown} missing:\n{html}");
        }
        let html = render(
            "payments/return.html",
            json!({"service": "Адреса", "payment": attempt, "pay_url": "/drafts/d1/pay"}),
        )
        .await;
        assert!(html.contains("<h1>Сплачено</h1>"), "{html}");
        let html = render(
            "payments/required.html",
            json!({"service": "Адреса", "amount": "332,80 грн", "pay_url": "/drafts/d1/pay", "before_result": true}),
        )
        .await;
        assert!(
            html.contains("Результат розгляду заяви буде доступний"),
            "{html}"
        );
        let html = render(
            "cabinet/payments.html",
            json!({"payments": [{"service": "Адреса", "started": "1", "amount": "332,80 грн",
                "status_words": "Сплачено вдруге, кошти буде повернуто", "receipt": null,
                "application": {"id": "a1", "number": "ВХ-1/2026"}}]}),
        )
        .await;
        assert!(html.contains("/cabinet/applications/a1"), "{html}");
        assert!(html.contains("Сплачено вдруге"), "{html}");
    }
}
