//! Gateway to gateway: the consumer's node forwards a call to the provider's node over mutually
//! authenticated TLS, sealed by the consumer participant; the provider's node checks the calling
//! node and the seal, serves the call and seals its answer, which the consumer's node verifies.
//! What is sealed is fixed here, in [`request_text`] and [`response_text`].

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use axum::Extension;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tokio::sync::watch;

use super::answer_headers::passed_on;
use super::authorise::decide;
use super::call::{self, Answer, Call, ResponseIds};
use super::exchange::finish;
use super::peer_tls::{self, NodeIdentity, PeerCertificate};
use super::protocol::{ErrorKind, GatewayError, HEADER_REQUEST_HASH};
use super::replay::{HEADER_REQUEST_ID, HEADER_SEALED_AT, Stale, Stamp};
use super::trace::Trace;
use super::upstream::{BodyError, read_bounded, with_call_headers};
use super::{Gateway, GatewayState, provider, subject_use};
use crate::compile::Compiled;
use crate::compile::current::Revisions;
use crate::crypto::{seal, sha256_hex};
use crate::http_headers::RELEASED;
use crate::spec::model::{Participant, Service};
use crate::store::Side;

const HEADER_REQUEST_SEAL: &str = "x-hromada-request-seal";
const HEADER_RESPONSE_SEAL: &str = "x-hromada-response-seal";

/// The mTLS clients of the announced revision (its node identity and anchors), one per node
/// called, each accepting only that node's certificate; made when first needed, and dropped
/// with their revision when `renew` is told of the next.
#[derive(Default)]
pub struct PeerClients {
    current: ArcSwap<RevisionClients>,
}

#[derive(Default)]
struct RevisionClients {
    /// The id of the revision the clients are made for.
    revision: String,
    /// Node id → its client, or why it could not be made.
    clients: Mutex<HashMap<String, Result<reqwest::Client, String>>>,
}

impl PeerClients {
    /// Starts afresh with each revision announced, until `stopped` turns true.
    pub async fn renew(&self, mut revisions: Revisions, mut stopped: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                changed = stopped.changed() => {
                    if changed.is_err() || *stopped.borrow() {
                        return;
                    }
                }
                compiled = revisions.next() => {
                    self.current.store(Arc::new(RevisionClients {
                        revision: compiled.revision.id.clone(),
                        clients: Mutex::default(),
                    }));
                }
            }
        }
    }

    fn for_node(
        &self,
        gateway: &Gateway,
        compiled: &Compiled,
        node: &str,
    ) -> Result<reqwest::Client, String> {
        let current = self.current.load();
        if current.revision != compiled.revision.id {
            // A request that outlived its revision, or came before its announcement arrived.
            return make_client(gateway, compiled, node);
        }
        let clients = || current.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(made) = clients().get(node) {
            return made.clone();
        }
        let made = make_client(gateway, compiled, node);
        if let Err(e) = &made {
            tracing::error!("this node cannot call other gateway nodes: {e}");
        }
        clients().insert(node.to_string(), made.clone());
        made
    }
}

/// This node's TLS identity: its certificate from the spec, its key from the keys folder.
pub fn identity(gateway: &Gateway, compiled: &Compiled) -> Result<NodeIdentity, String> {
    let node = compiled
        .spec
        .system()
        .and_then(|s| s.nodes.iter().find(|n| n.id == compiled.node))
        .ok_or_else(|| format!("the spec declares no node `{}`", compiled.node))?;
    let cert = compiled.documents.get(&node.cert).ok_or_else(|| {
        format!(
            "the certificate {} of node `{}` cannot be read",
            node.cert, node.id
        )
    })?;
    let key_path = gateway.keys.node_key_path(&node.id);
    let key = std::fs::read(&key_path).map_err(|e| {
        format!(
            "the TLS key of node `{}` cannot be read from {} ({e}); pass --keys, or in development run `hromada keys dev`",
            node.id,
            key_path.display()
        )
    })?;
    NodeIdentity::from_pem(cert, &key)
}

fn make_client(
    gateway: &Gateway,
    compiled: &Compiled,
    node: &str,
) -> Result<reqwest::Client, String> {
    let identity = identity(gateway, compiled)?;
    let config = peer_tls::node_client_config(
        &identity,
        &compiled.gateway.trust.anchors,
        node,
        compiled.gateway.trust.node_certificates(),
    )?;
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(std::time::Duration::from_secs(5))
        // Below the peers' default header deadline, which closes idle connections.
        .pool_idle_timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| format!("cannot build the client for other gateway nodes: {e}"))
}

/// The text the consumer participant seals: everything that says what is asked, and of whom,
/// and the stamp that makes it unique in time (the gateway's request id and the seal time).
pub fn request_text(call: &Call, stamp: &Stamp) -> Vec<u8> {
    format!(
        "hromada-seal/2 request\nid:{}\nrequest-id:{}\nsealed-at:{}\nclient:{}\nservice:{}\nmethod:{}\npath:{}\nuser:{}\nissue:{}\ncontent-type:{}\nbody-sha256:{}\n",
        call.message_id,
        stamp.request_id,
        stamp.sealed_at,
        call.client,
        call.service,
        call.method.as_str(),
        call.path_and_query(),
        call.user_id.as_deref().unwrap_or_default(),
        call.issue.as_deref().unwrap_or_default(),
        call.content_type().unwrap_or_default(),
        sha256_hex(&call.body),
    )
    .into_bytes()
}

/// The text the provider participant seals: the answer, bound to the request by its seal.
pub fn response_text(message_id: &str, request_seal: &str, answer: &Answer) -> Vec<u8> {
    format!(
        "hromada-seal/1 response\nid:{message_id}\nrequest-seal-sha256:{}\nstatus:{}\nerror:{}\ncontent-type:{}\nbody-sha256:{}\n",
        sha256_hex(request_seal.as_bytes()),
        answer.status.as_u16(),
        answer.error.as_ref().map(|e| e.kind.to_string()).unwrap_or_default(),
        answer.content_type().unwrap_or_default(),
        sha256_hex(&answer.body),
    )
    .into_bytes()
}

/// The consumer's node: decide early, seal, send to the provider's node, verify its seal.
pub async fn forward(
    gateway: &Gateway,
    compiled: &Compiled,
    call: &Call,
    consumer: &str,
    provider: (&Participant, &Service),
    trace: &mut Trace,
) -> Answer {
    let (participant, service) = provider;
    let refuse = |kind: ErrorKind, message: String| {
        Answer::refusal(GatewayError::new(kind, message, call.message_id.clone()))
    };
    let spec = &compiled.spec;
    let provider_ref = format!("{}/{}", participant.id, service.id);
    let granted = match decide(compiled, call, consumer, provider, gateway.limits.max_body) {
        Ok(granted) => granted,
        Err(e) => return Answer::refusal(e),
    };
    trace.agreement = Some(granted.agreement.id.clone());
    trace.operation = Some(granted.operation.to_string());
    // Whose data it is, known before the call: the record needs no more than the answer's word.
    let subject = subject_use::subject(service, call, trace).ok().flatten();
    let client_participant = consumer.split('/').next().unwrap_or_default();
    let stamp = Stamp::now(&call.request_id);
    let request_seal = match gateway
        .keys
        .seal_key(client_participant)
        .and_then(|key| seal::seal(&key, &request_text(call, &stamp)).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot seal a request of `{consumer}`: {e}");
            return refuse(
                ErrorKind::ClientProxyCannotCreateSignature,
                format!(
                    "the consumer's gateway cannot seal the request of `{consumer}`; its administrator must install the seal key"
                ),
            );
        }
    };
    trace.request_seal = Some(request_seal.clone());
    let Some(address) = spec
        .system()
        .and_then(|s| s.nodes.iter().find(|n| n.id == participant.gateway))
        .map(|n| n.address.trim_end_matches('/').to_string())
    else {
        return refuse(
            ErrorKind::ClientProxyInternalError,
            format!(
                "the spec names no address for gateway node `{}`",
                participant.gateway
            ),
        );
    };
    let client = match gateway
        .peers
        .for_node(gateway, compiled, &participant.gateway)
    {
        Ok(client) => client,
        Err(e) => {
            return refuse(
                ErrorKind::ClientProxyInternalError,
                format!("this gateway node cannot open TLS to other nodes: {e}"),
            );
        }
    };

    let url = match &call.query {
        Some(q) => format!("{address}{}?{q}", call.raw_path),
        None => format!("{address}{}", call.raw_path),
    };
    let method = reqwest::Method::from_bytes(call.method.as_str().as_bytes())
        .expect("the carried methods are valid HTTP methods");
    let request = client
        .request(method, &url)
        .timeout(gateway.limits.upstream_timeout + std::time::Duration::from_secs(5));
    let request = with_call_headers(request, call)
        .header(HEADER_REQUEST_SEAL, &request_seal)
        .header(HEADER_REQUEST_ID, &stamp.request_id)
        .header(HEADER_SEALED_AT, &stamp.sealed_at);
    let request = request.headers(checkpoint_headers(gateway));
    trace.request_out = Some(Utc::now());
    let node = &participant.gateway;
    let mut response = match request.body(call.body.clone()).send().await {
        Ok(response) => response,
        Err(e) => {
            // Without the URL: its path and query can name a data subject.
            let e = e.without_url();
            let mut why = e.to_string();
            let mut cause = e.source();
            while let Some(inner) = cause {
                why = format!("{why}: {inner}");
                cause = inner.source();
            }
            tracing::warn!("gateway node `{node}` at {address} cannot be reached: {why}");
            return refuse(
                ErrorKind::ClientProxyNetworkError,
                format!("the provider's gateway node `{node}` cannot be reached"),
            );
        }
    };
    gateway.anchoring.take(node, response.headers());
    let status = response.status();
    let mut headers = passed_on(response.headers(), status, call, service);
    let error_type = response
        .headers()
        .get("x-road-error")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let request_hash = response
        .headers()
        .get(HEADER_REQUEST_HASH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let response_seal = response
        .headers()
        .get(HEADER_RESPONSE_SEAL)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let told = subject
        .is_some()
        .then(|| subject_use::told(response.headers(), granted.agreement, service));
    let body = match read_bounded(&mut response, gateway.limits.max_body).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return refuse(
                ErrorKind::ClientProxyNetworkError,
                format!(
                    "the answer from gateway node `{node}` is larger than this gateway carries"
                ),
            );
        }
        Err(_) => {
            return refuse(
                ErrorKind::ClientProxyNetworkError,
                format!("gateway node `{node}` broke off its answer"),
            );
        }
    };
    trace.response_in = Some(Utc::now());
    let error = error_type
        .as_deref()
        .map(|kind| remote_error(kind, &body, &call.message_id));
    if let Some(kind) = &error_type
        && let Ok(value) = HeaderValue::from_str(kind)
    {
        headers.push((HeaderName::from_static("x-road-error"), value));
    }
    let answer = Answer {
        status,
        headers,
        body,
        error,
    };
    let verified = response_seal
        .as_deref()
        .ok_or_else(|| "the answer carries no seal".to_string())
        .and_then(|s| {
            let key = compiled.gateway.trust.seal(&participant.id, Utc::now())?;
            seal::verify(
                key,
                &response_text(&call.message_id, &request_seal, &answer),
                s,
            )
            .map_err(|e| e.to_string())
        });
    if let Err(e) = verified {
        tracing::warn!(message_id = %call.message_id, "the answer of `{provider_ref}` from node `{node}` is refused: {e}");
        return refuse(
            ErrorKind::ClientProxyInvalidSignatureValue,
            format!(
                "the answer of `{provider_ref}` does not carry a valid seal of `{}`: {e}",
                participant.id
            ),
        );
    }
    trace.response_seal = response_seal;
    if answer.error.is_none()
        && let Err(e) = answered_for(&call.request_hash, request_hash.as_deref())
    {
        tracing::warn!(message_id = %call.message_id, "the answer of `{provider_ref}` from node `{node}` is refused: {e}");
        return refuse(
            ErrorKind::ClientProxyInvalidSignatureValue,
            format!(
                "the answer of `{provider_ref}` from node `{node}` is not an answer to this request: {e}"
            ),
        );
    }
    if answer.error.is_none()
        && let (Some(subject), Some(told)) = (subject, told)
    {
        let fields = match told {
            Ok((fields, 0)) => fields,
            Ok((fields, dropped)) => {
                tracing::warn!(message_id = %call.message_id, "node `{node}` named {dropped} field(s) as released by `{provider_ref}` that agreement `{}` does not let pass; the data subject's record here keeps only the fields it grants", granted.agreement.id);
                fields
            }
            Err(why) => {
                tracing::warn!(message_id = %call.message_id, "the answer of `{provider_ref}` from node `{node}` does not say which fields it released ({why}); the data subject's record here names none, see the record on that node");
                Vec::new()
            }
        };
        let released = subject_use::Released {
            call,
            consumer,
            provider: &provider_ref,
            agreement: granted.agreement,
            operation: granted.operation,
        };
        // The provider's node queues the subject's notice; never a second one from here.
        trace.subject = subject_use::record(spec, &released, subject, fields, false);
    }
    answer
}

/// Checks the `X-Road-Request-Hash` the provider's node sent back against the hash of the
/// request this node sent (PR-REST §4.3: produced by the provider's side, verified by the
/// consumer's).
fn answered_for(sent: &str, answered: Option<&str>) -> Result<(), String> {
    match answered {
        None => Err("it carries no X-Road-Request-Hash".into()),
        Some(hash) if hash == sent => Ok(()),
        Some(_) => Err("its X-Road-Request-Hash is not the hash of the request sent".into()),
    }
}

fn remote_error(kind: &str, body: &[u8], message_id: &str) -> GatewayError {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(|m| m.as_str())
        .unwrap_or("the provider's gateway refused the call")
        .to_string();
    let kind = ErrorKind::from_type(kind).unwrap_or(ErrorKind::InternalError);
    GatewayError::new(kind, message, message_id.to_string())
}

/// `ANY /r1/…` on the peer listener: a call forwarded by another node.
pub async fn receive(
    State(app): State<GatewayState>,
    peer: Option<Extension<PeerCertificate>>,
    request: Request<Body>,
) -> Response {
    let gateway = &app.gateway;
    let Some(compiled) = app.current.load_full() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no revision applied yet\n").into_response();
    };
    let request_seal = request
        .headers()
        .get(HEADER_REQUEST_SEAL)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    exchange_checkpoints(gateway, &compiled, peer.as_ref(), request.headers());
    let _room = match gateway.bodies.reserve(request.headers()) {
        Ok(room) => room,
        Err(full) => return super::exchange::busy(&full),
    };
    let stamp = Stamp::from_headers(request.headers());
    let mut call = match call::parse(request, &gateway.limits).await {
        Ok(call) => call,
        Err(refused) => {
            let (error, unparsed) = *refused;
            return Answer::refusal(error).into_response(&ResponseIds {
                message_id: unparsed.message_id,
                request_id: unparsed.request_id,
                request_hash: unparsed.request_hash,
                client: None,
                service: None,
            });
        }
    };
    if let Ok(stamp) = &stamp {
        call.request_id = stamp.request_id.clone();
    }
    let mut trace = Trace {
        request_seal: request_seal.clone(),
        ..Trace::default()
    };
    let sealed_request = request_seal.as_deref().map(|seal| (seal, stamp));
    let (answer, provider) =
        serve_forwarded(gateway, &compiled, &call, peer, sealed_request, &mut trace).await;
    let sealed = |answer: &Answer| {
        let provider = provider.as_deref()?;
        let key = gateway
            .keys
            .seal_key(provider)
            .map_err(|e| tracing::error!("cannot seal an answer of `{provider}`: {e}"))
            .ok()?;
        seal::seal(
            &key,
            &response_text(
                &call.message_id,
                request_seal.as_deref().unwrap_or_default(),
                answer,
            ),
        )
        .ok()
    };
    trace.response_seal = sealed(&answer);
    let logged = finish(
        gateway,
        &compiled,
        Side::Producer,
        &call,
        &trace,
        answer.clone(),
    )
    .await;
    let (answer, response_seal) =
        if logged.error.as_ref().map(|e| e.kind) == Some(ErrorKind::LoggingFailed) {
            let seal = sealed(&logged);
            (logged, seal)
        } else {
            (answer, trace.response_seal.clone())
        };
    let mut response = answer.into_response(&ResponseIds {
        message_id: call.message_id.clone(),
        request_id: call.request_id.clone(),
        request_hash: call.request_hash.clone(),
        client: Some(call.client.to_string()),
        service: Some(call.service.to_string()),
    });
    if let Some(seal) = response_seal.and_then(|s| HeaderValue::from_str(&s).ok()) {
        response.headers_mut().insert(HEADER_RESPONSE_SEAL, seal);
    }
    if let Some(fields) = trace
        .subject
        .as_ref()
        .and_then(|u| subject_use::header_value(&u.fields))
    {
        response.headers_mut().insert(RELEASED, fields);
    }
    gateway.anchoring.attach(response.headers_mut());
    response
}

/// This node's latest checkpoint, for a call forwarded to another node.
fn checkpoint_headers(gateway: &Gateway) -> HeaderMap {
    let mut headers = HeaderMap::new();
    gateway.anchoring.attach(&mut headers);
    headers
}

/// Takes the checkpoint a calling node sent, when its TLS certificate names it a node of the
/// spec (the call itself is judged apart).
fn exchange_checkpoints(
    gateway: &Gateway,
    compiled: &Compiled,
    peer: Option<&Extension<PeerCertificate>>,
    headers: &HeaderMap,
) {
    if let Some(node) = peer.and_then(|Extension(cert)| compiled.gateway.trust.node_of(&cert.0)) {
        gateway.anchoring.take(&node, headers);
    }
}

/// The refusal of a sealed request that is stale or replayed (or that the store cannot vouch
/// for), logged without request content.
fn refuse_stale(call: &Call, consumer: &str, node: &str, stale: Stale) -> Answer {
    let (kind, message) = match stale {
        Stale::OutsideWindow(m) | Stale::Replayed(m) => {
            (ErrorKind::ServerProxyInvalidSignatureValue, m)
        }
        Stale::Unknown(e) => {
            tracing::error!("cannot check a sealed request for replay: {e}");
            (
                ErrorKind::InternalError,
                "the provider's gateway cannot check the request against those it served; try \
                 again later"
                    .to_string(),
            )
        }
    };
    tracing::warn!(message_id = %call.message_id, "a call of `{consumer}` from node `{node}` is refused: {message}");
    Answer::refusal(GatewayError::new(kind, message, call.message_id.clone()))
}

/// Checks the calling node and the request seal, then serves the call; returns the answer and
/// the provider participant whose seal goes on it.
async fn serve_forwarded(
    gateway: &Gateway,
    compiled: &Compiled,
    call: &Call,
    peer: Option<Extension<PeerCertificate>>,
    sealed_request: Option<(&str, Result<Stamp, String>)>,
    trace: &mut Trace,
) -> (Answer, Option<String>) {
    let refuse = |kind: ErrorKind, message: String| {
        Answer::refusal(GatewayError::new(kind, message, call.message_id.clone()))
    };
    let spec = &compiled.spec;
    let routes = &compiled.gateway.routes;
    let found = routes
        .service_by_id(spec, &call.service)
        .filter(|(p, _)| p.gateway == compiled.node);
    let provider_id = found.map(|(p, _)| p.id.clone());
    let Some(node) = peer.and_then(|Extension(cert)| compiled.gateway.trust.node_of(&cert.0))
    else {
        return (
            refuse(
                ErrorKind::ServerProxySslAuthenticationFailed,
                "the calling gateway's TLS certificate is not the certificate of any node of the spec".into(),
            ),
            provider_id,
        );
    };
    let Some(consumer) = routes.client_by_id(&call.client) else {
        return (
            refuse(
                ErrorKind::InvalidClientIdentifier,
                format!(
                    "no member or subsystem `{}` is declared in the spec",
                    call.client
                ),
            ),
            provider_id,
        );
    };
    trace.consumer = Some(consumer.to_string());
    let client_participant = consumer.split('/').next().unwrap_or_default();
    let served_by = spec
        .participant(client_participant)
        .map(|p| p.gateway.as_str());
    if served_by != Some(node.as_str()) {
        return (
            refuse(
                ErrorKind::ServerProxySslAuthenticationFailed,
                format!("node `{node}` sent a call for `{consumer}`, which it does not serve"),
            ),
            provider_id,
        );
    }
    let verified = sealed_request
        .ok_or_else(|| "the request carries no seal".to_string())
        .and_then(|(s, stamp)| {
            let stamp = stamp?;
            let key = compiled
                .gateway
                .trust
                .seal(client_participant, Utc::now())?;
            seal::verify(key, &request_text(call, &stamp), s).map_err(|e| e.to_string())?;
            Ok(stamp)
        });
    let stamp = match verified {
        Ok(stamp) => stamp,
        Err(e) => {
            tracing::warn!(message_id = %call.message_id, "a call of `{consumer}` from node `{node}` is refused: {e}");
            return (
                refuse(
                    ErrorKind::ServerProxyInvalidSignatureValue,
                    format!(
                        "the request does not carry a valid seal of `{client_participant}`: {e}"
                    ),
                ),
                provider_id,
            );
        }
    };
    if let Err(stale) = gateway.replays.admit(client_participant, &stamp).await {
        return (refuse_stale(call, consumer, &node, stale), provider_id);
    }
    let Some((participant, service)) = found else {
        return (
            refuse(
                ErrorKind::UnknownService,
                format!("this node publishes no service `{}`", call.service),
            ),
            provider_id,
        );
    };
    trace.provider = Some(format!("{}/{}", participant.id, service.id));
    let answer = provider::provide(
        gateway,
        compiled,
        call,
        consumer,
        (participant, service),
        trace,
    )
    .await;
    (answer, provider_id)
}

#[cfg(test)]
mod tests {
    use super::answered_for;

    #[test]
    fn an_answer_must_carry_the_hash_of_the_request_sent() {
        assert_eq!(answered_for("abc", Some("abc")), Ok(()));
        assert!(
            answered_for("abc", None)
                .unwrap_err()
                .contains("no X-Road-Request-Hash")
        );
        assert!(
            answered_for("abc", Some("abd"))
                .unwrap_err()
                .contains("not the hash of the request sent")
        );
    }
}
