//! What a gateway learns about a call while it handles it, and the message log record made
//! from it once the answer is ready. A call is acknowledged only after its record is committed;
//! when the log cannot take it, the consumer gets `LoggingFailed` instead of the answer.

use axum::body::Bytes;
use chrono::{DateTime, Utc};

use super::call::{Answer, Call, Unparsed};
use crate::crypto::sha256_hex;
use crate::store::{Exchange, ProviderFault, Side, SubjectUse};

#[derive(Debug, Default)]
pub struct Trace {
    pub consumer: Option<String>,
    pub provider: Option<String>,
    pub agreement: Option<String>,
    pub operation: Option<String>,
    pub request_out: Option<DateTime<Utc>>,
    pub response_in: Option<DateTime<Utc>>,
    pub request_seal: Option<String>,
    pub response_seal: Option<String>,
    pub subject: Option<SubjectUse>,
    /// The person an appliance's own call is made for (the signed-in citizen, a case's
    /// applicant), set only in-process, never from a request: their uses are filed under them.
    pub on_behalf_of: Option<String>,
    /// How the provider's answer broke its service's declaration, if it did.
    pub fault: Option<ProviderFault>,
}

/// The body of a request refused before it was read.
static NO_BODY: Bytes = Bytes::from_static(b"");

/// The request side of a record, from a parsed call or from what a refused request still told.
pub struct Asked<'a> {
    pub message_id: &'a str,
    pub request_id: &'a str,
    pub client: String,
    pub service: String,
    pub method: &'a str,
    pub path: String,
    pub user_id: Option<&'a str>,
    pub issue: Option<&'a str>,
    pub request_in: DateTime<Utc>,
    pub request_size: u64,
    pub request_hash: &'a str,
    pub body: &'a Bytes,
}

impl<'a> From<&'a Call> for Asked<'a> {
    fn from(call: &'a Call) -> Self {
        Asked {
            message_id: &call.message_id,
            request_id: &call.request_id,
            client: call.client.to_string(),
            service: call.service.to_string(),
            method: call.method.as_str(),
            path: call.path_and_query(),
            user_id: call.user_id.as_deref(),
            issue: call.issue.as_deref(),
            request_in: call.request_in,
            request_size: call.body.len() as u64,
            request_hash: &call.request_hash,
            body: &call.body,
        }
    }
}

impl<'a> From<&'a Unparsed> for Asked<'a> {
    fn from(u: &'a Unparsed) -> Self {
        Asked {
            message_id: &u.message_id,
            request_id: &u.request_id,
            client: u.client.clone(),
            service: u.service.clone(),
            method: &u.method,
            path: u.path.clone(),
            user_id: None,
            issue: None,
            request_in: u.request_in,
            request_size: u.request_size,
            request_hash: &u.request_hash,
            body: &NO_BODY,
        }
    }
}

/// The message log record of one call on this node. `keep_bodies` follows the retention
/// schedule: bodies are kept only when it has a `message-log` rule.
pub fn exchange(
    node: &str,
    side: Side,
    asked: Asked<'_>,
    trace: &Trace,
    answer: &Answer,
    keep_bodies: bool,
) -> Exchange {
    let now = Utc::now();
    Exchange {
        message_id: asked.message_id.to_string(),
        request_id: asked.request_id.to_string(),
        node: node.to_string(),
        side,
        client: asked.client,
        service: asked.service,
        consumer: trace.consumer.clone(),
        provider: trace.provider.clone(),
        agreement: trace.agreement.clone(),
        method: asked.method.to_string(),
        path: asked.path,
        operation: trace.operation.clone(),
        user_id: asked.user_id.map(str::to_string),
        issue: asked.issue.map(str::to_string),
        request_in: asked.request_in,
        request_out: trace.request_out.unwrap_or(now),
        response_in: trace.response_in.unwrap_or(now),
        response_out: now,
        request_size: asked.request_size,
        response_size: answer.body.len() as u64,
        status: answer.status.as_u16(),
        error: answer.error.as_ref().map(|e| e.kind.to_string()),
        fault: trace.fault,
        request_hash: asked.request_hash.to_string(),
        response_digest: sha256_hex(&answer.body),
        request_seal: trace.request_seal.clone(),
        response_seal: trace.response_seal.clone(),
        request_body: keep_bodies.then(|| asked.body.clone()),
        response_body: keep_bodies.then(|| answer.body.clone()),
    }
}
