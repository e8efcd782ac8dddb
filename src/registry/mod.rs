//! The document registry (REG-*): registration-control cards in journals, resolutions and
//! control, the executors' work, search, history, reports and the archive, for every participant
//! that declares journals. Officials sign in through the office (`portal::office`), one session
//! for both; every page reads a card only through `access`, which decides who may read what.

pub mod access;
pub mod archive;
pub mod cards;
pub mod exchange;
pub mod history;
pub mod home;
pub mod labels;
pub mod pages;
pub mod reports;
pub mod resolutions;
pub mod search;

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

use crate::portal::PortalState;
use crate::portal::home::chrome;

/// The registry's routes; `serve` merges them over the portal's part of the state.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    PortalState: FromRef<S>,
{
    use resolutions::{control, delegations, pages as resolution_pages, tasks};
    Router::new()
        .route("/registry", get(home::page))
        .route("/registry/cards/{id}/history", get(history::page))
        .route("/registry/reports", get(reports::page))
        .route("/registry/reports/{file}", get(reports::file))
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
        .route("/registry/search", get(search::page::page))
        .route("/registry/archive", get(archive::acts::overview))
        .route("/registry/archive/review", get(archive::acts::review))
        .route("/registry/archive/acts", post(archive::acts::draw))
        .route("/registry/archive/acts/{id}", get(archive::acts::page))
        .route(
            "/registry/archive/acts/{id}/approve",
            post(archive::acts::approve),
        )
        .route(
            "/registry/archive/transfer",
            post(archive::transfer::transfer),
        )
        .route(
            "/registry/archive/holds",
            get(archive::holds::list).post(archive::holds::place),
        )
        .route(
            "/registry/archive/holds/{id}/release",
            post(archive::holds::release),
        )
        .route(
            "/registry/cards/{id}/original",
            get(archive::original::package),
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
        .route("/registry/cards/{id}/qr.svg", get(cards::qr::svg))
        .route(
            "/registry/cards/{id}/sign",
            get(cards::sign::page).post(cards::sign::sign),
        )
        .route("/registry/journals", get(cards::journals::list))
        .route("/registry/journals/{id}", get(cards::journals::journal))
        .merge(exchange::receive::pages::routes())
        .merge(exchange::send::routes())
}

/// Lets a request through to the registry only on a node a `system { registry node=… }` names,
/// and for a signed-in official only on the node whose registry serves their participant (each
/// keeps the cards of the participants it serves, `Spec::registry_participants`); elsewhere a
/// page saying where to go (404).
pub async fn only_where_it_runs(
    State(portal): State<PortalState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return next.run(request).await;
    };
    let Some(system) = compiled.spec.system() else {
        return next.run(request).await;
    };
    if system.registry_on(&compiled.node).is_none() {
        let nodes: Vec<String> = system
            .registries
            .iter()
            .map(|r| format!("«{}»", r.node))
            .collect();
        return elsewhere(
            &portal,
            &compiled,
            &format!(
                "Система документообігу цієї громади працює на вузлі {}. Відкрийте її адресу.",
                nodes.join(", ")
            ),
        );
    }
    let cookie = crate::portal::office::cookie_name(&portal.settings);
    let session = crate::portal::session::read_cookie(request.headers(), cookie)
        .map(crate::portal::session::digest);
    if let Some(session) = session
        && let Some(node) = official_served_on(&portal, &compiled, &session).await
        && node != compiled.node
    {
        return elsewhere(
            &portal,
            &compiled,
            &format!(
                "Документообіг вашої установи працює на вузлі «{node}», не на цьому. Відкрийте \
                 його адресу."
            ),
        );
    }
    next.run(request).await
}

/// The node whose registry serves the participant of the official whose office session has
/// the digest `session`, if there is one (read only: the page's own extractor judges it).
async fn official_served_on(
    portal: &PortalState,
    compiled: &crate::compile::Compiled,
    session: &str,
) -> Option<String> {
    let row = match portal.store.office_session(session).await {
        Ok(row) => row?,
        Err(e) => {
            tracing::warn!("cannot read an official's session to find their registry: {e}");
            return None;
        }
    };
    let official = crate::spec::model::by_id(&compiled.spec.officials, &row.official)?;
    let participant = official.unit.split('/').next()?;
    Some(compiled.spec.registry_of(participant)?.node.clone())
}

fn elsewhere(portal: &PortalState, compiled: &crate::compile::Compiled, text: &str) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        &chrome(compiled),
        "Документообіг працює на іншому вузлі",
        text,
    )
}
