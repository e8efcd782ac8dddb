//! A service whose provider is this node's registry rather than an HTTP upstream (`exchange` in
//! the spec): the call's body goes to the in-process `ExchangeReceiver` `serve` gives the
//! gateway, and its receipt comes back as the provider's JSON answer, released as any other.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use chrono::{DateTime, SecondsFormat, Utc};

use super::call::Call;
use super::protocol::{ErrorKind, GatewayError};
use super::upstream::Upstream;

/// A boxed future that may cross threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Receives the messages posted to this node's exchange services; it stores each durably
/// before it returns, so that the sender is answered only once nothing can lose it.
pub trait ExchangeReceiver: Send + Sync {
    /// Receives `body`, posted by participant `sender` to participant `provider`'s exchange
    /// service.
    fn receive<'a>(
        &'a self,
        provider: &'a str,
        sender: &'a str,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<Receipt, NotReceived>>;
}

/// A stored message: its id, and when it was first received (a replay gets the first receipt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub msg_id: String,
    pub received_at: DateTime<Utc>,
}

/// Why a message was not received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReceived {
    /// The body is no message (the text says where and what is wrong): the sender's fault,
    /// answered 400.
    Unreadable(String),
    /// The node could not store it (the text says why, for the log): try again later.
    Failed(String),
}

/// Hands `call`'s body to `receiver` and answers as a provider's system would, within
/// `timeout`: 200 with `{"msg_id", "received_at"}`, or 400 with the problem for a body that is
/// no message.
pub async fn receive(
    receiver: Option<&dyn ExchangeReceiver>,
    provider: &str,
    consumer: &str,
    call: &Call,
    timeout: Duration,
) -> Result<Upstream, GatewayError> {
    let failed = |kind: ErrorKind, message: String| {
        GatewayError::new(kind, message, call.message_id.clone())
    };
    let Some(receiver) = receiver else {
        return Err(failed(
            ErrorKind::ServiceFailed,
            format!(
                "{} is an exchange service, and this node runs no registry to receive its messages",
                call.service
            ),
        ));
    };
    let sender = consumer.split('/').next().unwrap_or(consumer);
    let received = tokio::time::timeout(timeout, receiver.receive(provider, sender, &call.body))
        .await
        .unwrap_or_else(|_| {
            Err(NotReceived::Failed(format!(
                "storing it took longer than {}",
                humantime::format_duration(timeout)
            )))
        });
    match received {
        Ok(receipt) => Ok(json(
            StatusCode::OK,
            serde_json::json!({
                "msg_id": receipt.msg_id,
                "received_at": receipt.received_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            }),
        )),
        Err(NotReceived::Unreadable(problem)) => Ok(json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "type": "BadRequest",
                "message": format!("the message is not a СЕВ ОВВ message this registry reads: {problem}"),
            }),
        )),
        Err(NotReceived::Failed(why)) => {
            tracing::error!(
                message_id = %call.message_id,
                service = %call.service,
                "a message to the exchange service could not be stored: {why}"
            );
            Err(failed(
                ErrorKind::ServiceFailed,
                format!(
                    "the registry behind {} could not store the message; nothing was received, \
                     send it again later",
                    call.service
                ),
            ))
        }
    }
}

fn json(status: StatusCode, body: serde_json::Value) -> Upstream {
    Upstream {
        status,
        headers: vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body: Bytes::from(body.to_string()),
    }
}
