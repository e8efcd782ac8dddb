//! `GET /registry/cards/{id}/qr.svg`: the QR code a paper document's card gets (п.50, п.90),
//! carrying its registration number and date, to print on the document.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use qrcode::QrCode;
use qrcode::render::svg;

use super::{conflict, log_access, open};
use crate::portal::PortalState;
use crate::portal::office::official::Official;
use crate::portal::office::users::starting;
use crate::store::CardRow;

/// The text a registered paper card's QR code carries: `№ <number> від <YYYY-MM-DD>`.
pub fn qr_text(card: &CardRow) -> Option<String> {
    match (&card.reg_number, &card.reg_date) {
        (Some(number), Some(date)) if card.paper == 1 => Some(format!("№ {number} від {date}")),
        _ => None,
    }
}

/// `text` as a QR code in SVG.
pub fn svg_of(text: &str) -> Result<String, String> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(160, 160)
        .quiet_zone(true)
        .build())
}

/// `GET /registry/cards/{id}/qr.svg`.
pub async fn svg(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let opened = match open(&portal, &compiled, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let Some(text) = qr_text(&opened.card) else {
        return conflict(
            &portal,
            &compiled,
            &official,
            "QR-коду немає",
            "QR-код отримує зареєстрована картка паперового документа: з номером і датою \
             реєстрації.",
        );
    };
    match svg_of(&text) {
        Ok(svg) => {
            log_access(&portal, &official, "card-qr", &id).await;
            let mut response = (StatusCode::OK, svg).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            );
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::error!("the QR code of card {id} cannot be made: {e}");
            conflict(
                &portal,
                &compiled,
                &official,
                "QR-код не вдалося створити",
                "Номер і дата не вміщаються в QR-код. Зверніться до адміністратора.",
            )
        }
    }
}
