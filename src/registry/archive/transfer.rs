//! `POST /registry/archive/transfer`: the archive takes the cards ticked (executed or filed)
//! into its keeping, all in one transaction: each becomes `archived` with `archived_at` set,
//! after which nobody but the archive changes it (`registry::cards::editable`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use super::{form_values, refused, see_other, unavailable};
use crate::portal::PortalState;
use crate::portal::office::access_log;
use crate::portal::office::official::Official;
use crate::portal::office::users::starting;
use crate::portal::sign_in::form_value;
use crate::registry::cards::editable;
use crate::spec::model::Permission;
use crate::store::{CardChange, StoreError, time_text};

/// Why a transfer was refused, naming the card.
enum Refusal {
    NotFound(String),
    NotClosed(String, String),
}

/// `POST /registry/archive/transfer`.
pub async fn transfer(
    State(portal): State<PortalState>,
    official: Official,
    body: Bytes,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refused) = official.check_csrf(form_value(&body, "csrf").as_deref()) {
        return refused;
    }
    if let Err(refusal) = official
        .require(&portal, &compiled, Permission::DocumentsArchive)
        .await
    {
        return refusal;
    }
    let chrome = official.chrome(&compiled);
    let mut ids = form_values(&body, "card");
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return refused(
            &portal,
            &chrome,
            StatusCode::BAD_REQUEST,
            "Нічого не передано",
            "Позначте картки виконаних або списаних до справи документів, які архів приймає.",
        );
    }
    let now = portal.engine.clock().now();
    let actor = format!("official:{}", official.id);
    let done = async {
        let mut tx = portal.store.begin().await?;
        for id in &ids {
            let card = match portal.store.card_in(&mut tx, id).await? {
                Some(card) if card.participant == official.participant() => card,
                _ => return Ok(Err(Refusal::NotFound(id.clone()))),
            };
            if !matches!(card.status.as_str(), "executed" | "filed") || editable(&card).is_err() {
                let name = card.reg_number.clone().unwrap_or_else(|| card.id.clone());
                return Ok(Err(Refusal::NotClosed(name, card.status)));
            }
            let mut after = card.clone();
            after.status = "archived".into();
            after.archived_at = Some(time_text(&now));
            after.version = card.version + 1;
            after.updated_at = time_text(&now);
            let change = CardChange {
                before: Some(&card),
                after: &after,
                actor: &actor,
                on_behalf: None,
                kind: "archived",
                note: json!({"transfer": "archive"}),
                at: now,
            };
            if !portal.store.write_card(&mut tx, &change).await? {
                return Err(StoreError::new(format!(
                    "card {id} changed while it was transferred to the archive"
                )));
            }
        }
        tx.commit().await?;
        Ok::<_, StoreError>(Ok(()))
    }
    .await;
    match done {
        Ok(Ok(())) => {}
        Ok(Err(Refusal::NotFound(id))) => {
            return refused(
                &portal,
                &chrome,
                StatusCode::NOT_FOUND,
                "Картку не знайдено",
                &format!("Картки «{id}» немає серед карток вашої установи; нічого не передано."),
            );
        }
        Ok(Err(Refusal::NotClosed(name, status))) => {
            return refused(
                &portal,
                &chrome,
                StatusCode::CONFLICT,
                "Картку не можна передати до архіву",
                &format!(
                    "Картка {name} має стан «{status}»: до архіву передають лише виконані або \
                     списані до справи документи. Нічого не передано."
                ),
            );
        }
        Err(e) => return unavailable(&portal, &chrome, "transfer cards", &e),
    }
    let detail = format!("{} cards", ids.len());
    if let Err(e) =
        access_log::record(&portal.store, &official, "archive-transfer", None, &detail).await
    {
        tracing::error!("a transfer to the archive is not in the access log: {e}");
    }
    tracing::info!(
        cards = ids.len(),
        "cards transferred to the archive by {}",
        official.id
    );
    see_other("/registry/archive")
}
