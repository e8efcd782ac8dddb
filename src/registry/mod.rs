//! The document registry (REG-*): registration-control cards in journals, resolutions and
//! control, the executors' work, search, history, reports and the archive, for every participant
//! that declares journals. Officials sign in through the office (`portal::office`), one session
//! for both; every page reads a card only through `access`, which decides who may read what.

pub mod access;
pub mod cards;
pub mod home;
pub mod pages;
pub mod resolutions;
pub mod search;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use crate::portal::PortalState;

/// The registry's routes; `serve` merges them over the portal's part of the state.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    PortalState: FromRef<S>,
{
    use resolutions::{control, delegations, pages as resolution_pages, tasks};
    Router::new()
        .route("/registry", get(home::page))
        .route("/registry/search", get(search::page::page))
        .route("/registry/cards/new", get(cards::new::page))
        .route("/registry/cards", post(cards::new::create))
        .route("/registry/cards/{id}", get(cards::page::page))
        .route(
            "/registry/cards/{id}/edit",
            get(cards::edit::page).post(cards::edit::save),
        )
        .route("/registry/cards/{id}/register", post(cards::edit::register))
        .route(
            "/registry/cards/{id}/files",
            post(cards::files::upload).layer(crate::portal::attachments::body_limit()),
        )
        .route(
            "/registry/cards/{id}/files/{n}",
            get(cards::files::download),
        )
        .route(
            "/registry/cards/{id}/resolutions",
            get(resolution_pages::page).post(resolution_pages::post),
        )
        .route(
            "/registry/cards/{id}/resolutions/{res}/canonical.json",
            get(resolution_pages::canonical),
        )
        .route(
            "/registry/cards/{id}/resolutions/{res}/seal.p7s",
            get(resolution_pages::seal),
        )
        .route(
            "/registry/cards/{id}/deadline",
            post(control::post_deadline),
        )
        .route(
            "/registry/cards/{id}/control/remove",
            post(control::post_remove),
        )
        .route(
            "/registry/cards/{id}/file-away",
            post(control::post_file_away),
        )
        .route("/registry/control", get(control::page))
        .route("/registry/tasks", get(tasks::list))
        .route("/registry/tasks/{case}", get(tasks::page).post(tasks::post))
        .route(
            "/registry/delegations",
            get(delegations::page).post(delegations::post),
        )
        .route(
            "/registry/delegations/{id}/revoke",
            post(delegations::revoke),
        )
}
