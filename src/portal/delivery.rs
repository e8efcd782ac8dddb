//! Applications handed to a provider's own system (003 §5.4): once registered and its case
//! started, the signed application (canonical JSON and the applicant's CMS signature, base64) is
//! `POST`ed to the `handled-by` service through the gateway in-process, so it is authorised,
//! minimised and logged like any exchange. A durable runner retries until the system takes it.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::compile::Compiled;
use crate::compile::current::Current;
use crate::gateway::in_process::{InProcess, OwnPost};
use crate::spec::model::Method;
use crate::store::{ApplicationRow, DeliveryOutcome, DeliveryRow, NewDelivery, Store};
use crate::workflow::clock::SharedClock;

/// How often the runner looks for deliveries due.
const POLL_EVERY: Duration = Duration::from_secs(2);
/// How often it looks for open cases of handled e-services left without a delivery.
const HEAL_EVERY: Duration = Duration::from_secs(60);
/// How long one runner holds a delivery it is attempting.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// Deliveries attempted in one pass.
const BATCH: i64 = 20;

/// Records the delivery of `application` (whose case `case_id` was just started) when its
/// e-service is handled in the provider's own system; `Ok(false)` when it is not, or the
/// application already has one.
pub async fn enqueue(
    store: &Store,
    compiled: &Compiled,
    application: &ApplicationRow,
    case_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, String> {
    let Some(e_service) = compiled
        .spec
        .e_services
        .iter()
        .find(|e| e.id == application.e_service)
    else {
        return Ok(false);
    };
    let Some(handled) = &e_service.handled_by else {
        return Ok(false);
    };
    let id = uuid::Uuid::now_v7().to_string();
    store
        .insert_delivery(&NewDelivery {
            id: &id,
            application_id: &application.id,
            case_id,
            e_service: &e_service.id,
            subsystem: &handled.subsystem,
            service: &handled.service_id(),
            at: now,
        })
        .await
        .map_err(|e| {
            format!(
                "the delivery of application {} to `{}` could not be recorded: {e}",
                application.number, handled.subsystem
            )
        })
}

/// What the runner needs.
#[derive(Clone)]
pub struct Deliverer {
    pub current: Current,
    pub store: Store,
    pub gateway: Arc<InProcess>,
    pub clock: SharedClock,
    /// This runner's name in the leases it takes.
    pub holder: String,
}

/// Starts the runner: deliveries due are attempted every few seconds, open cases of handled
/// e-services left without a delivery (a crash after the case started) every minute, until
/// `stopped` turns.
pub fn spawn(deliverer: Deliverer, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_heal: Option<std::time::Instant> = None;
        while !*stopped.borrow() {
            if let Some(compiled) = deliverer.current.load_full() {
                if last_heal.is_none_or(|t| t.elapsed() >= HEAL_EVERY) {
                    heal(&deliverer, &compiled).await;
                    last_heal = Some(std::time::Instant::now());
                }
                run_once(&deliverer, &compiled).await;
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL_EVERY) => {}
                changed = stopped.changed() => if changed.is_err() { return },
            }
        }
    })
}

/// Records deliveries for open cases of handled e-services that have none.
async fn heal(deliverer: &Deliverer, compiled: &Compiled) {
    for e_service in compiled
        .spec
        .e_services
        .iter()
        .filter(|e| e.handled_by.is_some())
    {
        let waiting = match deliverer
            .store
            .applications_awaiting_delivery(&e_service.id, BATCH)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(
                    "the portal cannot look for applications of `{}` awaiting delivery: {e}",
                    e_service.id
                );
                return;
            }
        };
        for application in waiting {
            let Some(case_id) = application.case_id.clone() else {
                continue;
            };
            let now = deliverer.clock.now();
            if let Err(e) = enqueue(&deliverer.store, compiled, &application, &case_id, now).await {
                tracing::warn!("{e}; the portal tries again in a minute");
            }
        }
    }
}

/// One pass: leases the deliveries due and attempts each; how many were delivered.
pub async fn run_once(deliverer: &Deliverer, compiled: &Compiled) -> usize {
    let now = deliverer.clock.now();
    let due = match deliverer
        .store
        .lease_deliveries(&deliverer.holder, now, now + LEASE, BATCH)
        .await
    {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!("the portal cannot read the deliveries due: {e}");
            return 0;
        }
    };
    let mut delivered = 0;
    for delivery in due {
        let outcome = match attempt(deliverer, compiled, &delivery).await {
            Ok(reference) => {
                tracing::info!(
                    "application delivery {} taken by `{}`",
                    delivery.id,
                    delivery.subsystem
                );
                delivered += 1;
                DeliveryOutcome::Delivered { reference }
            }
            Err(reason) => {
                let wait = backoff(delivery.attempts);
                tracing::warn!(
                    "application delivery {} to `{}` failed (attempt {}): {reason}; the portal \
                     tries again in {} s",
                    delivery.id,
                    delivery.service,
                    delivery.attempts + 1,
                    wait.num_seconds()
                );
                DeliveryOutcome::Retry {
                    at: deliverer.clock.now() + wait,
                    reason,
                }
            }
        };
        if let Err(e) = deliverer
            .store
            .finish_delivery(
                &delivery.id,
                &deliverer.holder,
                deliverer.clock.now(),
                &outcome,
            )
            .await
        {
            tracing::warn!(
                "the outcome of application delivery {} could not be recorded: {e}; it is \
                 attempted again once its lease ends (the provider dedupes on its id)",
                delivery.id
            );
        }
    }
    delivered
}

/// The wait before attempt `attempts + 2`: 30 s, doubling, at most an hour.
fn backoff(attempts: i64) -> chrono::Duration {
    let seconds = 30i64.saturating_mul(1i64 << attempts.clamp(0, 7));
    chrono::Duration::seconds(seconds.min(3600))
}

/// Sends the application of `delivery`; the provider's reference from its answer.
async fn attempt(
    deliverer: &Deliverer,
    compiled: &Compiled,
    delivery: &DeliveryRow,
) -> Result<Option<String>, String> {
    let spec = &compiled.spec;
    let application = deliverer
        .store
        .application_by_id(&delivery.application_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "application {} is not in the store",
                delivery.application_id
            )
        })?;
    let handled = spec
        .e_services
        .iter()
        .find(|e| e.id == delivery.e_service)
        .and_then(|e| e.handled_by.as_ref());
    if handled.map(|h| (h.subsystem.as_str(), h.service_id()))
        != Some((&delivery.subsystem, delivery.service.clone()))
    {
        return Err(format!(
            "the applied revision hands applications of `{}` to {}, not to `{}` as this delivery \
             records; it is held until an administrator restores the delivery or the spec",
            delivery.e_service,
            handled.map_or_else(
                || "no system".to_string(),
                |h| format!("`{}`", h.service_id())
            ),
            delivery.service
        ));
    }
    let (_, service) = spec.service(&delivery.service).ok_or_else(|| {
        format!(
            "service `{}` is not declared in the applied revision",
            delivery.service
        )
    })?;
    let path = service
        .operations
        .iter()
        .find(|o| o.method == Method::Post && !o.path.contains('*'))
        .map(|o| o.path.clone())
        .ok_or_else(|| format!("service `{}` has no POST operation", delivery.service))?;
    let consumer = spec
        .system()
        .map(|s| s.portal.subsystem.clone())
        .unwrap_or_else(|| super::DEFAULT_SUBSYSTEM.to_string());
    let body = body(delivery, &application);
    let subject = applicant_of(&application);
    let answer = deliverer
        .gateway
        .post(OwnPost {
            consumer: &consumer,
            service: &delivery.service,
            subject: &subject,
            issue: &delivery.case_id,
            path: &path,
            body: &body,
        })
        .await
        .map_err(|failure| failure.reason)?;
    Ok(reference_in(service, &answer))
}

/// What the provider's system receives: the delivery id it dedupes on, the registration, and
/// the signed document exactly as signed with its signature.
pub fn body(delivery: &DeliveryRow, application: &ApplicationRow) -> Value {
    json!({
        "delivery_id": delivery.id,
        "number": application.number,
        "received_at": application.received_at,
        "e_service": application.e_service,
        "case_id": delivery.case_id,
        "document": application.document,
        "signature": application
            .signature
            .as_ref()
            .map(|s| base64::engine::general_purpose::STANDARD.encode(s)),
    })
}

/// The applicant the application is about: their RNOKPP from the document, else its owner key.
fn applicant_of(application: &ApplicationRow) -> String {
    serde_json::from_str::<Value>(&application.document)
        .ok()
        .and_then(|d| {
            d.pointer("/applicant/rnokpp")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| application.owner.clone())
}

/// The provider's reference: the first field of the receiving service's response.
fn reference_in(service: &crate::spec::model::Service, answer: &Value) -> Option<String> {
    let name = &service.response.fields.first()?.name;
    match answer.get(name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        assert_eq!(backoff(0).num_seconds(), 30);
        assert_eq!(backoff(1).num_seconds(), 60);
        assert_eq!(backoff(3).num_seconds(), 240);
        assert_eq!(backoff(50).num_seconds(), 3600);
    }
}
