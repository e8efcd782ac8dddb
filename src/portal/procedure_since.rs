//! Since when an e-service's current procedure applies (003 §7.5–7.6): a runner follows the
//! applied revisions and records, per e-service, a hash of what the citizen's procedure is (the
//! e-service, its form and its workflow as canonical JSON) with the moment it first applied.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::compile::Compiled;
use crate::compile::current::Current;
use crate::spec::Spec;
use crate::spec::model::{EService, by_id};
use crate::store::{Store, StoreError};

/// How long a revision whose procedures could not be recorded waits to be tried again.
const RETRY: Duration = Duration::from_secs(10);

/// The hash (hex SHA-256) of the procedure of `e_service` in `spec`: its canonical JSON with
/// that of its form and its workflow (`null` for one the spec does not declare).
pub fn procedure_hash(spec: &Spec, e_service: &EService) -> String {
    let form = spec.form(&e_service.form);
    let workflow = by_id(&spec.workflows, &e_service.workflow);
    let procedure = json!({ "e-service": e_service, "form": form, "workflow": workflow });
    crate::crypto::sha256_hex(procedure.to_string().as_bytes())
}

/// Records the procedure of every e-service of `compiled`, as of the moment it was compiled.
pub async fn record(store: &Store, compiled: &Compiled) -> Result<(), StoreError> {
    let mut changed = Vec::new();
    for e_service in &compiled.spec.e_services {
        let hash = procedure_hash(&compiled.spec, e_service);
        if store
            .record_procedure(
                &e_service.id,
                &hash,
                &compiled.revision.id,
                compiled.compiled_at,
            )
            .await?
        {
            changed.push(e_service.id.as_str());
        }
    }
    if !changed.is_empty() {
        tracing::info!(
            "revision {} sets a new procedure for the e-services {}: their pages say it applies \
             from now",
            compiled.revision.short(),
            changed.join(", ")
        );
    }
    Ok(())
}

/// Since when the procedure of `e_service` as `compiled` declares it applies; `None` while the
/// runner has not recorded it yet, or when the store cannot say (logged).
pub async fn since(
    store: &Store,
    compiled: &Compiled,
    e_service: &EService,
) -> Option<DateTime<Utc>> {
    match store.current_procedure(&e_service.id).await {
        Ok(Some(version)) if version.hash == procedure_hash(&compiled.spec, e_service) => {
            Some(version.since)
        }
        Ok(_) => None,
        Err(e) => {
            tracing::error!("{e}; the page of e-service {} shows no date", e_service.id);
            None
        }
    }
}

/// The runner: each applied revision's procedures recorded; one that cannot be is logged and
/// tried again until a newer revision comes. Stops when `stopped` turns.
pub fn spawn(current: Current, store: Store, stopped: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        current
            .follow(RETRY, stopped, |compiled| {
                let store = store.clone();
                async move {
                    record(&store, &compiled).await.map_err(|e| {
                        tracing::error!(
                            "cannot record since when the procedures of revision {} apply: {e}; \
                             the e-service pages show no date until it is (retrying in {}s)",
                            compiled.revision.short(),
                            RETRY.as_secs()
                        );
                    })
                }
            })
            .await
    })
}
