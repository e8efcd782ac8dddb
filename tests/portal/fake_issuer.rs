//! A tiny hand-written OpenID issuer on loopback for the ID-token refusals: discovery, JWKS,
//! an authorize endpoint that answers at once, and a token endpoint whose ID token is forged
//! as the test says (another key, audience, issuer, an expired one, `alg: none`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use serde_json::{Value, json};

use crate::common::federation::serve_on_loopback;

/// How the next ID token is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgery {
    /// A token every check accepts.
    None,
    /// Signed with a key the JWKS does not publish.
    OtherKey,
    /// For another client.
    OtherAudience,
    /// Its `exp` an hour ago.
    Expired,
    /// Issued in another issuer's name.
    OtherIssuer,
    /// Unsigned (`alg: none`).
    Unsigned,
    /// Its RNOKPP claim fails the check digit.
    BadRnokpp,
}

struct Inner {
    /// Set once the listener has its port, before anyone knows where to ask.
    issuer: std::sync::OnceLock<String>,
    client_id: String,
    key: PKey<Private>,
    other_key: PKey<Private>,
    forgery: Mutex<Forgery>,
    nonces: Mutex<HashMap<String, String>>,
    /// The `redirect_uri` of the last authorize request.
    redirect_uri: Mutex<Option<String>>,
    /// How often the discovery document was asked for.
    discoveries: std::sync::atomic::AtomicUsize,
}

#[derive(Clone)]
pub struct FakeIssuer(Arc<Inner>);

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl FakeIssuer {
    /// Starts one for `client_id` in the current runtime.
    pub async fn start(client_id: &str) -> FakeIssuer {
        let key = || PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let fake = FakeIssuer(Arc::new(Inner {
            issuer: std::sync::OnceLock::new(),
            client_id: client_id.into(),
            key: key(),
            other_key: key(),
            forgery: Mutex::new(Forgery::None),
            nonces: Mutex::new(HashMap::new()),
            redirect_uri: Mutex::new(None),
            discoveries: std::sync::atomic::AtomicUsize::new(0),
        }));
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(fake.clone());
        let port = serve_on_loopback(router).await;
        let _ = fake.0.issuer.set(format!("http://127.0.0.1:{port}"));
        fake
    }

    pub fn issuer(&self) -> &str {
        self.0.issuer.get().expect("set when started")
    }

    pub fn forge(&self, forgery: Forgery) {
        *self.0.forgery.lock().unwrap() = forgery;
    }

    pub fn discoveries(&self) -> usize {
        self.0.discoveries.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn last_redirect_uri(&self) -> Option<String> {
        self.0.redirect_uri.lock().unwrap().clone()
    }
}

async fn discovery(State(fake): State<FakeIssuer>) -> Json<Value> {
    fake.0
        .discoveries
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let issuer = fake.issuer();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(fake): State<FakeIssuer>) -> Json<Value> {
    let rsa = fake.0.key.rsa().unwrap();
    Json(json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1",
        "n": b64(&rsa.n().to_vec()), "e": b64(&rsa.e().to_vec()),
    }]}))
}

async fn authorize(
    State(fake): State<FakeIssuer>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (Some(redirect), Some(state), Some(nonce)) =
        (q.get("redirect_uri"), q.get("state"), q.get("nonce"))
    else {
        return (StatusCode::BAD_REQUEST, "redirect_uri, state and nonce").into_response();
    };
    if q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return (StatusCode::BAD_REQUEST, "PKCE required").into_response();
    }
    let code = hex::encode(openssl::sha::sha256(nonce.as_bytes()));
    fake.0
        .nonces
        .lock()
        .unwrap()
        .insert(code.clone(), nonce.clone());
    *fake.0.redirect_uri.lock().unwrap() = Some(redirect.clone());
    let state: String = url::form_urlencoded::byte_serialize(state.as_bytes()).collect();
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            format!("{redirect}?code={code}&state={state}"),
        )],
    )
        .into_response()
}

async fn token(
    State(fake): State<FakeIssuer>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if form.get("code_verifier").is_none_or(String::is_empty) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let Some(nonce) = form
        .get("code")
        .and_then(|c| fake.0.nonces.lock().unwrap().remove(c))
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let forgery = *fake.0.forgery.lock().unwrap();
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": fake.issuer(),
        "sub": "fake-subject-1",
        "aud": fake.0.client_id,
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "drfocode": "3184710691",
        "lastname": "Іваненко",
        "givenname": "Марія",
    });
    match forgery {
        Forgery::OtherAudience => claims["aud"] = json!("someone-else"),
        Forgery::Expired => {
            claims["iat"] = json!(now - 7200);
            claims["exp"] = json!(now - 3600);
        }
        Forgery::OtherIssuer => claims["iss"] = json!("http://127.0.0.1:1"),
        Forgery::BadRnokpp => claims["drfocode"] = json!("1234567890"),
        _ => {}
    }
    let alg = if forgery == Forgery::Unsigned {
        "none"
    } else {
        "RS256"
    };
    let signing = b64(json!({"alg": alg, "typ": "JWT", "kid": "k1"})
        .to_string()
        .as_bytes())
        + "."
        + &b64(claims.to_string().as_bytes());
    let signature = match forgery {
        Forgery::Unsigned => Vec::new(),
        other => {
            let key = if other == Forgery::OtherKey {
                &fake.0.other_key
            } else {
                &fake.0.key
            };
            let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
            signer.update(signing.as_bytes()).unwrap();
            signer.sign_to_vec().unwrap()
        }
    };
    let id_token = format!("{signing}.{}", b64(&signature));
    Json(json!({
        "access_token": "fake-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}
