//! `POST /api/hooks/git`: the Git host's push webhook. GitHub's `X-Hub-Signature-256` (HMAC-SHA256
//! of the body) or GitLab's `X-Gitlab-Token` is checked against `--git-webhook-secret-file` in
//! constant time; a push to the followed branch wakes the pull loop at once. Polling stays.

use std::path::Path;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::acting::ActingState;
use crate::http_error::error;

/// The largest payload read; GitHub's push payloads list at most 20 commits.
pub const MAX_PAYLOAD: usize = 2 * 1024 * 1024;

/// The webhook secret in `path`, without surrounding whitespace, never empty.
pub fn read_secret(path: &Path) -> Result<Arc<[u8]>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the Git webhook secret file {}: {e}; pass a readable file with \
             --git-webhook-secret-file",
            path.display()
        )
    })?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(format!(
            "the Git webhook secret file {} is empty: write the secret the Git host's webhook \
             is configured with into it",
            path.display()
        ));
    }
    Ok(secret.as_bytes().into())
}

/// Which host signed the request, and whether the signature holds.
enum Sender {
    GitHub,
    GitLab,
}

fn unauthorized(reason: &str) -> Response {
    tracing::warn!("refused a Git webhook request: {reason}");
    error(StatusCode::UNAUTHORIZED, "unauthorized", reason)
}

/// `POST /api/hooks/git`.
pub async fn git(State(acting): State<ActingState>, headers: HeaderMap, body: Body) -> Response {
    let (Some(secret), Some(remote)) = (&acting.webhook_secret, &acting.remote) else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhook_not_configured",
            "this appliance takes no Git webhook: start `hromada serve --git URL` with \
             --git-webhook-secret-file FILE (or HROMADA_GIT_WEBHOOK_SECRET_FILE)",
        );
    };
    let body = match axum::body::to_bytes(body, MAX_PAYLOAD).await {
        Ok(body) => body,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a push payload is at most {MAX_PAYLOAD} bytes; nothing was fetched"),
            );
        }
    };
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let sender = if let Some(signature) = text("x-hub-signature-256") {
        if !github_signature_holds(secret, &body, signature) {
            return unauthorized(
                "X-Hub-Signature-256 is not the HMAC-SHA256 of the body under the webhook \
                 secret; check the secret in the repository's webhook settings",
            );
        }
        Sender::GitHub
    } else if let Some(token) = text("x-gitlab-token") {
        let holds = openssl::memcmp::eq(
            &crate::crypto::sha256(token.as_bytes()),
            &crate::crypto::sha256(secret),
        );
        if !holds {
            return unauthorized(
                "X-Gitlab-Token is not the webhook secret; check the secret token in the \
                 project's webhook settings",
            );
        }
        Sender::GitLab
    } else {
        return unauthorized(
            "the request is not signed: GitHub sends X-Hub-Signature-256, GitLab X-Gitlab-Token; \
             set the webhook's secret to the appliance's",
        );
    };
    let (event, push) = match sender {
        Sender::GitHub => {
            let event = text("x-github-event").unwrap_or_default();
            (event, event == "push")
        }
        Sender::GitLab => {
            let event = text("x-gitlab-event").unwrap_or_default();
            (event, event == "Push Hook")
        }
    };
    if !push {
        return ignored(format!("event `{event}` is not a push"));
    }
    let payload: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the push payload is not JSON: {e}"),
            );
        }
    };
    let Some(pushed) = payload["ref"].as_str() else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the push payload has no `ref` naming the branch pushed to",
        );
    };
    let followed = format!("refs/heads/{}", remote.branch);
    if pushed != followed {
        return ignored(format!(
            "a push to {pushed}; this appliance follows {followed}"
        ));
    }
    tracing::info!("a push to {followed} was announced by the Git host: pulling now");
    acting.wake();
    (
        StatusCode::ACCEPTED,
        Json(json!({"fetching": true, "branch": remote.branch})),
    )
        .into_response()
}

fn ignored(reason: String) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({"fetching": false, "ignored": reason})),
    )
        .into_response()
}

/// `sha256=HEX` of the body's HMAC-SHA256 under `secret`, compared in constant time.
fn github_signature_holds(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(given) = signature
        .strip_prefix("sha256=")
        .and_then(|hex| hex::decode(hex.trim()).ok())
    else {
        return false;
    };
    let expected = hmac_sha256(secret, body);
    given.len() == expected.len() && openssl::memcmp::eq(&given, &expected)
}

fn hmac_sha256(secret: &[u8], body: &[u8]) -> Vec<u8> {
    let signed = openssl::pkey::PKey::hmac(secret).and_then(|key| {
        let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key)?;
        signer.sign_oneshot_to_vec(body)
    });
    // An HMAC over memory cannot fail but for allocation; an empty digest matches nothing.
    signed.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_signatures_are_the_hmac_of_the_body() {
        // GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(github_signature_holds(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            signature
        ));
        assert!(!github_signature_holds(
            b"It's a Secret to Everybody",
            b"Hello, World?",
            signature
        ));
        assert!(!github_signature_holds(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            "sha256=00"
        ));
        assert!(!github_signature_holds(b"x", b"y", "sha1=abc"));
    }
}
