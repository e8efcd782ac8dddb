//! The citizens' e-services portal (PORTAL-*): server-rendered pages over its own state
//! (`PortalState`, an axum `FromRef` substate) that `serve` composes. Every page works without
//! JavaScript, and the server's checks are the truth.

pub mod application;
pub mod attachments;
pub mod cabinet;
pub mod catalogue;
pub mod citizen;
pub mod cross_check;
pub mod delivery;
pub mod digests;
pub mod e_service;
pub mod feedback;
pub mod forms;
pub mod home;
pub mod notices;
pub mod office;
pub mod open_data;
pub mod pages;
pub mod payments;
pub mod polls;
pub use crate::workflow::pdf;
pub mod prefill;
pub mod procedure_since;
pub mod provider_api;
pub mod ratings;
pub mod registration;
pub mod registry_reads;
pub mod result_check;
pub mod revocation;
pub mod security_log;
pub mod session;
pub mod sign_in;
pub mod signature;
pub mod signing;
pub mod sniff;
pub mod statistics;
pub mod subscriptions;
pub mod unsubscribe;
pub mod verify;
pub mod way_through;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use crate::compile::current::Current;
use crate::gateway::in_process::InProcess;
use crate::store::Store;
use crate::workflow::engine::Engine;
use pages::Pages;

/// The subsystem the portal's own registry calls (prefill, cross-checks) are made as when the
/// spec's `system { portal … }` names none.
pub const DEFAULT_SUBSYSTEM: &str = "city-council/portal";

/// What the portal's handlers share.
#[derive(Clone)]
pub struct PortalState {
    /// The applied revision, read once per request.
    pub current: Current,
    pub store: Store,
    /// The case engine: a signed application starts a case; the cabinet reads them.
    pub engine: Arc<Engine>,
    /// The gateway, called in-process as the portal's subsystem (prefill, cross-checks), so
    /// that the message log and the citizen's data-access records see each call.
    pub registries: Arc<InProcess>,
    pub pages: Arc<Pages>,
    pub settings: Arc<PortalSettings>,
    /// The OpenID Connect relying party citizens sign in through.
    pub sign_in: Arc<sign_in::relying_party::RelyingParty>,
    /// The keyed digests ratings and poll answers are kept under.
    pub digests: Arc<digests::Digests>,
    /// The statistics' page views not yet in the store, and the figures read last.
    pub statistics: Arc<statistics::Shared>,
    /// The payment providers fees are paid through (their keys read under `serve --keys`).
    pub payments: Arc<payments::Providers>,
}

/// How this appliance runs the portal.
#[derive(Debug, Clone, Default)]
pub struct PortalSettings {
    /// The portal is served over TLS: its cookies are `Secure`.
    pub secure_cookies: bool,
    /// The portal's address as browsers reach it (`serve --public-url`, else the listener's),
    /// without a trailing slash: the identity provider sends people back under it.
    pub public_url: std::sync::OnceLock<String>,
}

/// The portal's routes; `serve` merges them over its part of the state.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    PortalState: FromRef<S>,
{
    Router::new()
        .route("/", get(home::page))
        .route("/services/{id}", get(e_service::page))
        .route("/assets/portal.css", get(pages::stylesheet))
        .route("/statistics", get(statistics::overview))
        .route("/statistics/{id}", get(statistics::e_service))
        .route("/open-data/statistics.csv", get(open_data::csv))
        .route("/open-data/statistics.json", get(open_data::json))
        .route("/open-data/datapackage.json", get(open_data::datapackage))
        .route("/cabinet", get(cabinet::list::page))
        .route(
            "/cabinet/applications/{id}",
            get(cabinet::application::page),
        )
        .route(
            "/cabinet/applications/{id}/withdraw",
            get(cabinet::withdraw::confirm).post(cabinet::withdraw::submit),
        )
        .route(
            "/cabinet/applications/{id}/documents/{doc}",
            get(cabinet::documents::download),
        )
        .route(
            "/cabinet/applications/{id}/provider-results/{file}",
            get(cabinet::provider_results::download),
        )
        .route(
            "/cabinet/applications/{id}/documents/{doc}/view",
            get(cabinet::documents::page),
        )
        .route(
            "/cabinet/applications/{id}/original",
            get(cabinet::original::document),
        )
        .route(
            "/cabinet/applications/{id}/original.p7s",
            get(cabinet::original::signature),
        )
        .route(
            "/verify",
            get(verify::page)
                .post(verify::upload)
                .layer(axum::extract::DefaultBodyLimit::max(verify::MAX_BODY)),
        )
        .route("/verify/{number}", get(verify::numbered))
        .route("/cabinet/data-requests", get(cabinet::data_requests::page))
        .route(
            "/cabinet/applications/{id}/rating",
            post(ratings::rate).layer(forms::body_limit()),
        )
        .route(
            "/feedback",
            get(feedback::form)
                .post(feedback::send)
                .layer(forms::body_limit()),
        )
        .route("/polls", get(polls::list))
        .route(
            "/polls/{id}",
            get(polls::page)
                .post(polls::answer)
                .layer(forms::body_limit()),
        )
        .route(
            "/api/providers/cases/{delivery}/status",
            post(provider_api::status)
                .layer(axum::extract::DefaultBodyLimit::max(provider_api::MAX_BODY)),
        )
        .route(
            "/api/providers/cases/{delivery}/results",
            post(provider_api::results)
                .layer(axum::extract::DefaultBodyLimit::max(provider_api::MAX_BODY)),
        )
        .route("/cabinet/payments", get(cabinet::payments::page))
        .route(
            "/drafts/{draft}/pay",
            get(payments::checkout::page)
                .post(payments::checkout::start)
                .layer(forms::body_limit()),
        )
        .route(
            "/payments/{id}/return",
            get(payments::checkout::returned).post(payments::checkout::returned_posted),
        )
        .route(
            "/payments/callback/{provider}",
            post(payments::callback::receive).layer(axum::extract::DefaultBodyLimit::max(
                payments::callback::MAX_BODY,
            )),
        )
        .route(
            "/cabinet/subscriptions",
            get(subscriptions::page)
                .post(subscriptions::save)
                .layer(forms::body_limit()),
        )
        .route(
            "/subscriptions/confirm/{token}",
            get(subscriptions::confirm_page).post(subscriptions::confirm),
        )
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::confirm)
                .post(unsubscribe::unsubscribe)
                .layer(forms::body_limit()),
        )
        .route(
            "/cabinet/applications/{id}/documents-upload",
            get(cabinet::more_documents::show)
                .post(cabinet::more_documents::send)
                .layer(attachments::body_limit()),
        )
        .route("/office", get(office::inbox::page))
        .route("/office/cases/{id}", get(office::case::page))
        .route("/office/cases/{id}/take", post(office::act::take))
        .route(
            "/office/cases/{id}/transitions/{event}",
            post(office::act::transition),
        )
        .route(
            "/office/cases/{id}/attachments/{n}",
            get(office::act::attachment),
        )
        .route("/sign-in", get(sign_in::start))
        .route("/sign-in/callback", get(sign_in::callback))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/office/sign-in", get(office::sign_in::start))
        .route(
            "/office/sign-out",
            post(office::sign_in::sign_out).layer(forms::body_limit()),
        )
        .route("/office/users", get(office::users::page))
        .route(
            "/office/users/{id}/block",
            get(office::blocking::form)
                .post(office::blocking::submit)
                .layer(forms::body_limit()),
        )
        .route("/office/audit", get(office::audit::page))
        .route("/office/feedback", get(office::feedback::page))
        .route(
            "/office/documents/{doc}/revoke",
            get(office::revoke::confirm)
                .post(office::revoke::revoke)
                .layer(forms::body_limit()),
        )
        .route(
            "/services/{id}/apply",
            post(forms::apply::apply).layer(forms::body_limit()),
        )
        .route(
            "/drafts/{draft}/pages/{page}",
            get(forms::page::show)
                .post(forms::page::submit)
                .layer(forms::body_limit()),
        )
        .route(
            "/drafts/{draft}/check",
            get(forms::check::show)
                .post(forms::check::submit)
                .layer(forms::body_limit()),
        )
        .route(
            "/drafts/{draft}/sign",
            get(signing::page)
                .post(signing::sign)
                .layer(axum::extract::DefaultBodyLimit::max(signing::MAX_BODY)),
        )
        .route(
            "/drafts/{draft}/application.json",
            get(signing::document_json),
        )
        .route(
            "/drafts/{draft}/application.pdf",
            get(signing::document_pdf),
        )
        .route(
            "/drafts/{draft}/attachments",
            get(attachments::show)
                .post(attachments::upload)
                .layer(attachments::body_limit()),
        )
        .route(
            "/drafts/{draft}/attachments/{n}",
            get(attachments::download),
        )
        .route(
            "/drafts/{draft}/attachments/{n}/remove",
            post(attachments::remove).layer(forms::body_limit()),
        )
        .route(
            "/drafts/{draft}/delete",
            get(forms::delete::confirm)
                .post(forms::delete::delete)
                .layer(forms::body_limit()),
        )
}
