//! The gateway's face towards information systems: `/r1/…` requests in the X-Road REST
//! protocol. A call is parsed, its client found and authenticated (`systems`) and its service
//! found in the applied revision, then served here (the provider is on this node) or forwarded
//! to the provider's node; every call, refused ones too, is logged before it is answered.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::RETRY_AFTER;
use axum::response::Response;

use super::body_budget::Full;
use super::call::{self, Answer, Call, ResponseIds, Unparsed};
use super::protocol::{ErrorKind, GatewayError, new_message_id};
use super::systems::{self, Origin};
use super::trace::{self, Trace};
use super::{Gateway, GatewayState, metaservices, peer, provider};
use crate::compile::Compiled;
use crate::spec::model::RecordClass;
use crate::store::Side;

/// `ANY /r1/…` from an information system.
pub async fn handle(State(app): State<GatewayState>, request: Request<Body>) -> Response {
    let gateway = &app.gateway;
    let compiled = app.current.load_full();
    let origin = Origin::of(&request);
    let _room = match gateway.bodies.reserve(request.headers()) {
        Ok(room) => room,
        Err(full) => return busy(&full),
    };
    let call = match call::parse(request, &gateway.limits).await {
        Ok(call) => call,
        Err(refused) => {
            let (error, unparsed) = *refused;
            return refuse_unparsed(gateway, compiled.as_deref(), error, unparsed).await;
        }
    };
    let Some(compiled) = compiled else {
        let error = GatewayError::new(
            ErrorKind::ClientProxyOutdatedGlobalConf,
            "the gateway has no applied revision of the spec yet; retry shortly, and see /api/status",
            call.message_id.clone(),
        );
        let mut answer = Answer::refusal(error);
        answer
            .headers
            .push((RETRY_AFTER, HeaderValue::from_static("1")));
        return answer.into_response(&ids(&call));
    };
    let consumer = match consumer(&compiled, &call, &origin) {
        Ok(consumer) => consumer,
        Err(error) => {
            let refused = Answer::refusal(*error);
            let answer = finish(
                gateway,
                &compiled,
                Side::Producer,
                &call,
                &Trace::default(),
                refused,
            )
            .await;
            return answer.into_response(&ids(&call));
        }
    };
    if let Some(answer) = metaservices::answer(&compiled, &call) {
        let trace = metaservices::trace(&compiled, &call);
        let answer = finish(gateway, &compiled, Side::Client, &call, &trace, answer).await;
        return answer.into_response(&ids(&call));
    }
    let mut trace = Trace {
        consumer: Some(consumer.to_string()),
        ..Trace::default()
    };
    let (side, answer) = route(gateway, &compiled, &call, consumer, &mut trace).await;
    let answer = finish(gateway, &compiled, side, &call, &trace, answer).await;
    answer.into_response(&ids(&call))
}

/// The subsystem (`participant/subsystem`) the call is made as: one the spec declares, served by
/// this node, whose `connection` the caller satisfied (`systems::authenticate`).
fn consumer<'c>(
    compiled: &'c Compiled,
    call: &Call,
    origin: &Origin,
) -> Result<&'c str, Box<GatewayError>> {
    let refuse = |kind: ErrorKind, message: String| {
        Box::new(GatewayError::new(kind, message, call.message_id.clone()))
    };
    let routes = &compiled.gateway.routes;
    if call.client.instance != routes.instance {
        return Err(refuse(
            ErrorKind::InvalidClientIdentifier,
            format!(
                "the client names the instance `{}`, but this system is `{}`",
                call.client.instance, routes.instance
            ),
        ));
    }
    let Some(consumer) = routes.client_by_id(&call.client) else {
        return Err(refuse(
            ErrorKind::InvalidClientIdentifier,
            format!(
                "no member or subsystem `{}` is declared in the spec",
                call.client
            ),
        ));
    };
    let client_participant = consumer
        .split('/')
        .next()
        .and_then(|id| compiled.spec.participant(id))
        .expect("routes name only declared participants");
    if client_participant.gateway != compiled.node {
        return Err(refuse(
            ErrorKind::InvalidClientIdentifier,
            format!(
                "the client `{consumer}` is served by gateway node `{}`, not by this node `{}`; call that node",
                client_participant.gateway, compiled.node
            ),
        ));
    }
    systems::authenticate(
        &compiled.spec,
        &compiled.gateway.trust.clients,
        consumer,
        origin,
        chrono::Utc::now(),
    )
    .map_err(|message| refuse(ErrorKind::ClientProxySslAuthenticationFailed, message))?;
    Ok(consumer)
}

/// Finds the service, then serves the call here or on the provider's node.
pub(super) async fn route(
    gateway: &Gateway,
    compiled: &Arc<Compiled>,
    call: &Call,
    consumer: &str,
    trace: &mut Trace,
) -> (Side, Answer) {
    let refuse = |kind: ErrorKind, message: String| {
        (
            Side::Producer,
            Answer::refusal(GatewayError::new(kind, message, call.message_id.clone())),
        )
    };
    let routes = &compiled.gateway.routes;
    let spec = &compiled.spec;
    let Some((participant, service)) = routes.service_by_id(spec, &call.service) else {
        return refuse(
            ErrorKind::UnknownService,
            format!("no service `{}` is published in this system", call.service),
        );
    };
    trace.provider = Some(format!("{}/{}", participant.id, service.id));
    if participant.gateway == compiled.node {
        let answer = provider::provide(
            gateway,
            compiled,
            call,
            consumer,
            (participant, service),
            trace,
        )
        .await;
        return (Side::Producer, answer);
    }
    let answer = peer::forward(
        gateway,
        compiled,
        call,
        consumer,
        (participant, service),
        trace,
    )
    .await;
    (Side::Client, answer)
}

/// Logs the call and returns what the consumer may be told: the answer once its record is
/// committed, or `LoggingFailed` when the message log cannot take it.
pub async fn finish(
    gateway: &Gateway,
    compiled: &Compiled,
    side: Side,
    call: &Call,
    trace: &Trace,
    answer: Answer,
) -> Answer {
    let keep = keeps_bodies(compiled);
    let record = trace::exchange(&compiled.node, side, call.into(), trace, &answer, keep);
    observe(side, trace, &answer, call.request_in);
    match gateway.ledger.record(record, trace.subject.clone()).await {
        Ok(_) => answer,
        Err(e) => {
            tracing::error!(
                message_id = %call.message_id,
                "the message log cannot record an exchange, so it is refused: {e}"
            );
            Answer::refusal(GatewayError::new(
                ErrorKind::LoggingFailed,
                "the message log could not record the exchange, so it was not carried out; try again later",
                call.message_id.clone(),
            ))
        }
    }
}

async fn refuse_unparsed(
    gateway: &Gateway,
    compiled: Option<&Compiled>,
    error: GatewayError,
    unparsed: Unparsed,
) -> Response {
    let answer = Answer::refusal(error);
    let node = compiled.map(|c| c.node.as_str()).unwrap_or_default();
    let record = trace::exchange(
        node,
        Side::Client,
        (&unparsed).into(),
        &Trace::default(),
        &answer,
        false,
    );
    observe(
        Side::Client,
        &Trace::default(),
        &answer,
        unparsed.request_in,
    );
    let answer = match gateway.ledger.record(record, None).await {
        Ok(_) => answer,
        Err(e) => {
            tracing::error!(message_id = %unparsed.message_id, "the message log cannot record a refused request: {e}");
            answer
        }
    };
    answer.into_response(&ResponseIds {
        message_id: unparsed.message_id,
        request_id: unparsed.request_id,
        request_hash: unparsed.request_hash,
        client: None,
        service: None,
    })
}

/// The answer to a request whose body the node has no room for now; not logged, as nothing of
/// the request was read.
pub fn busy(full: &Full) -> Response {
    let message_id = new_message_id();
    let mut answer = Answer::refusal(GatewayError::new(
        ErrorKind::TooManyRequests,
        format!(
            "the gateway is receiving as many request bodies as it holds at once ({} bytes in \
             all); retry shortly",
            full.budget
        ),
        message_id.clone(),
    ));
    answer
        .headers
        .push((RETRY_AFTER, HeaderValue::from_static("1")));
    answer.into_response(&ResponseIds {
        message_id,
        request_id: new_message_id(),
        request_hash: String::new(),
        client: None,
        service: None,
    })
}

fn ids(call: &Call) -> ResponseIds {
    ResponseIds {
        message_id: call.message_id.clone(),
        request_id: call.request_id.clone(),
        request_hash: call.request_hash.clone(),
        client: Some(call.client.to_string()),
        service: Some(call.service.to_string()),
    }
}

/// Whether the retention schedule keeps message bodies (it has a `message-log` rule).
pub fn keeps_bodies(compiled: &Compiled) -> bool {
    compiled
        .spec
        .retention
        .iter()
        .any(|r| r.record == RecordClass::MessageLog)
}

/// Per-service metrics: labels are spec ids of services and subsystems, never request content.
fn observe(side: Side, trace: &Trace, answer: &Answer, request_in: chrono::DateTime<chrono::Utc>) {
    let service = trace.provider.clone().unwrap_or_else(|| "unknown".into());
    let consumer = trace.consumer.clone().unwrap_or_else(|| "unknown".into());
    let outcome = match &answer.error {
        Some(e) => e.kind.to_string(),
        None if answer.status.is_success() => "ok".into(),
        None => match answer.status.as_u16() / 100 {
            class @ 1..=5 => format!("provider-{class}xx"),
            _ => "provider-other".into(),
        },
    };
    metrics::counter!(
        "hromada_gateway_requests_total",
        "service" => service.clone(),
        "consumer" => consumer,
        "side" => side.as_str(),
        "outcome" => outcome
    )
    .increment(1);
    let seconds = (chrono::Utc::now() - request_in)
        .num_microseconds()
        .unwrap_or(0) as f64
        / 1e6;
    metrics::histogram!(
        "hromada_gateway_request_duration_seconds",
        "service" => service,
        "side" => side.as_str()
    )
    .record(seconds);
}
