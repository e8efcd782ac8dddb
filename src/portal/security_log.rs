//! The portal's security-event log (001 §2.2.3): sign-ins, failures, sign-outs and refusals, in
//! the store's `security_events`, as a `tracing` line with target `security`, and counted in
//! `hromada_security_events_total` by kind. It names the identity provider's pseudonymous
//! subject at most, never a name, RNOKPP, token or address.

use chrono::Utc;

use crate::store::{SecurityEvent, Store};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    SignedIn,
    SignInFailed,
    SignedOut,
    /// A POST without the session's CSRF token, or with another.
    RefusedCsrf,
    /// An ID token that failed its checks (signature, issuer, audience, expiry, nonce).
    RefusedToken,
    /// A session cookie that names no open session, or one past its time.
    SessionEnded,
    /// An official refused the office: not declared, or blocked.
    RefusedOfficial,
    /// An official's account blocked, unblocked or annulled.
    AccountChanged,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SignedIn => "signed-in",
            EventKind::SignInFailed => "sign-in-failed",
            EventKind::SignedOut => "signed-out",
            EventKind::RefusedCsrf => "refused-csrf",
            EventKind::RefusedToken => "refused-token",
            EventKind::SessionEnded => "session-ended",
            EventKind::RefusedOfficial => "refused-official",
            EventKind::AccountChanged => "account-changed",
        }
    }

    fn is_refusal(self) -> bool {
        matches!(
            self,
            EventKind::SignInFailed
                | EventKind::RefusedCsrf
                | EventKind::RefusedToken
                | EventKind::RefusedOfficial
        )
    }
}

/// Where security events go.
#[derive(Clone)]
pub struct SecurityLog {
    store: Store,
}

impl SecurityLog {
    pub fn new(store: Store) -> SecurityLog {
        SecurityLog { store }
    }

    /// Records `kind` for `subject` (pseudonymous) with `reason` (no personal data). A store
    /// that cannot take it is an error line of its own: the event is still in the log line.
    pub async fn record(&self, kind: EventKind, subject: Option<&str>, reason: &str) {
        metrics::counter!("hromada_security_events_total", "kind" => kind.as_str()).increment(1);
        let subject_shown = subject.unwrap_or("-");
        if kind.is_refusal() {
            tracing::warn!(target: "security", kind = kind.as_str(), subject = subject_shown, "{reason}");
        } else {
            tracing::info!(target: "security", kind = kind.as_str(), subject = subject_shown, "{reason}");
        }
        let event = SecurityEvent {
            at: Utc::now(),
            kind: kind.as_str().into(),
            subject: subject.map(str::to_string),
            reason: reason.into(),
        };
        if let Err(e) = self.store.record_security_event(&event).await {
            tracing::error!(
                target: "security",
                "the security event {} could not be stored: {e}",
                kind.as_str()
            );
        }
    }

    /// [`record`](Self::record) from code that cannot wait for it.
    pub fn record_later(&self, kind: EventKind, subject: Option<String>, reason: String) {
        let log = self.clone();
        tokio::spawn(async move { log.record(kind, subject.as_deref(), &reason).await });
    }
}
