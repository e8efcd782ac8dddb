//! An OpenID Connect relying party (authorization code flow with PKCE, `state`, `nonce`) over
//! the `openidconnect` crate: the provider's discovery document and keys fetched once and
//! cached, the ID token's signature, issuer, audience, expiry and nonce checked, and its claims
//! read by the names the spec gives. Nothing here is the portal's: officials can sign in with it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::spec::model::SignIn;

/// How long the provider may take to answer one request.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The relying party of one appliance: an HTTP client that follows no redirects, and the
/// discovery document of the provider last used.
pub struct RelyingParty {
    http: reqwest::Client,
    keys: PathBuf,
    discovered: Mutex<Option<(String, CoreProviderMetadata)>>,
}

/// A sign-in sent to the provider: where to send the browser, and what to keep until it is back.
pub struct Started {
    pub authorize_url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// What the provider vouched for, after every check.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The pseudonymous subject (`sub`).
    pub subject: String,
    /// Every claim of the ID token.
    pub claims: Map<String, Value>,
}

/// Why a sign-in failed; `reason` names no person and holds no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The provider could not be reached or described itself wrongly.
    Provider(String),
    /// The client secret file cannot be read.
    Secret(String),
    /// The provider refused the code (used, expired, or not ours).
    Code(String),
    /// The ID token failed a check.
    Token(String),
}

impl RelyingParty {
    /// A relying party whose client secret files are read under `keys`.
    pub fn new(keys: &Path) -> Result<RelyingParty, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build the sign-in HTTP client: {e}"))?;
        Ok(RelyingParty {
            http,
            keys: keys.to_path_buf(),
            discovered: Mutex::new(None),
        })
    }

    /// The provider's discovery document, fetched the first time and kept.
    async fn metadata(&self, provider: &SignIn) -> Result<CoreProviderMetadata, Failure> {
        let mut cached = self.discovered.lock().await;
        if let Some((issuer, metadata)) = cached.as_ref()
            && *issuer == provider.issuer
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(provider.issuer.clone()).map_err(|e| {
            Failure::Provider(format!(
                "the issuer `{}` is not a URL: {e}",
                provider.issuer
            ))
        })?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                Failure::Provider(format!(
                    "cannot read the discovery document of {}: {}",
                    provider.issuer,
                    chain(&e)
                ))
            })?;
        *cached = Some((provider.issuer.clone(), metadata.clone()));
        Ok(metadata)
    }

    /// Forgets the discovery document, so that the next sign-in reads the provider's keys
    /// again (they may have been rotated).
    pub async fn forget(&self) {
        *self.discovered.lock().await = None;
    }

    async fn client(&self, provider: &SignIn, redirect: &str) -> Result<Client, Failure> {
        let metadata = self.metadata(provider).await?;
        let redirect = RedirectUrl::new(redirect.to_string())
            .map_err(|e| Failure::Provider(format!("the redirect URI is not a URL: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.client_id.clone()),
            Some(ClientSecret::new(self.secret(provider)?)),
        )
        .set_redirect_uri(redirect))
    }

    fn secret(&self, provider: &SignIn) -> Result<String, Failure> {
        let path = self.keys.join(&provider.client_secret_file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Failure::Secret(format!(
                "cannot read the sign-in client secret file {}: {e}; write the secret the \
                 identity provider issued into it (the spec's `client-secret-file` is relative \
                 to the keys folder, `serve --keys`)",
                path.display()
            ))
        })?;
        let secret = text.trim();
        if secret.is_empty() {
            return Err(Failure::Secret(format!(
                "the sign-in client secret file {} is empty",
                path.display()
            )));
        }
        Ok(secret.to_string())
    }

    /// Starts a sign-in with `provider` that comes back to `redirect`.
    pub async fn start(&self, provider: &SignIn, redirect: &str) -> Result<Started, Failure> {
        let client = self.client(provider, redirect).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Started {
            authorize_url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Trades `code` for the ID token and checks it against `nonce`.
    pub async fn finish(
        &self,
        provider: &SignIn,
        redirect: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Verified, Failure> {
        let client = self.client(provider, redirect).await?;
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| Failure::Provider(format!("the provider names no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()));
        let tokens = request
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(_) => Failure::Code(format!(
                    "the token endpoint refused the code: {}",
                    chain(&e)
                )),
                other => Failure::Provider(format!(
                    "the token endpoint did not answer usably: {}",
                    chain(&other)
                )),
            })?;
        let id_token = openidconnect::TokenResponse::id_token(&tokens)
            .ok_or_else(|| Failure::Token("the token answer holds no ID token".into()))?;
        let verifier = client.id_token_verifier();
        let nonce = Nonce::new(nonce.to_string());
        if let Err(e) = id_token.claims(&verifier, &nonce) {
            if matches!(
                e,
                openidconnect::ClaimsVerificationError::SignatureVerification(_)
            ) {
                self.forget().await;
            }
            return Err(Failure::Token(format!(
                "the ID token is refused: {}",
                chain(&e)
            )));
        }
        let claims = payload(&id_token.to_string())
            .ok_or_else(|| Failure::Token("the ID token's claims do not read as JSON".into()))?;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Failure::Token("the ID token names no subject".into()))?
            .to_string();
        Ok(Verified { subject, claims })
    }
}

/// The claims of a compact JWS whose signature has been checked.
fn payload(jws: &str) -> Option<Map<String, Value>> {
    let part = jws.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// An error with its causes, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

impl Failure {
    pub fn reason(&self) -> &str {
        match self {
            Failure::Provider(r) | Failure::Secret(r) | Failure::Code(r) | Failure::Token(r) => r,
        }
    }
}
