//! The portal's home page (`/`, PORTAL-1): the catalogue of e-services of the applied
//! revision, open to everyone without signing in.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::PortalState;
use super::citizen::Citizen;
use super::pages::Chrome;
use crate::compile::Compiled;

/// `GET /`.
pub async fn page(State(portal): State<PortalState>, citizen: Option<Citizen>) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return portal.pages.problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &Chrome::default(),
            "Портал ще запускається",
            "Портал готує перелік послуг. Оновіть сторінку за хвилину.",
        );
    };
    let chrome = citizen.map_or_else(|| chrome(&compiled), |c| c.chrome(&compiled));
    let services: Vec<_> = compiled
        .spec
        .e_services
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "title": s.title,
                "code": s.code,
            })
        })
        .collect();
    portal.pages.render(
        StatusCode::OK,
        "home.html",
        &chrome,
        json!({ "services": services }),
    )
}

/// The layout of a page nobody is signed in to, for revision `compiled`.
pub fn chrome(compiled: &Compiled) -> Chrome {
    Chrome {
        site_title: compiled
            .spec
            .systems
            .first()
            .map(|s| s.title.clone())
            .unwrap_or_default(),
        ..Chrome::default()
    }
}
