//! The portal's session cookie and how long a session lives: a random 256-bit token in the
//! cookie, only its SHA-256 in the store; `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure`
//! with the `__Host-` name prefix when the portal is served over TLS.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::PortalSettings;
use crate::store::SessionRow;

/// A session unused this long ends.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session ends this long after sign-in, used or not.
pub const LIFETIME: Duration = Duration::hours(12);
/// A session's row (with the identity it kept) is forgotten this long after its expiry.
pub const KEEP_AFTER_EXPIRY: Duration = Duration::days(30);
/// A session's last use is written at most this often.
const TOUCH_EVERY: Duration = Duration::seconds(60);
/// How long a browser has to come back from the identity provider.
pub const SIGN_IN_WINDOW: Duration = Duration::minutes(10);

/// What the identity provider said about the person that the portal keeps with the session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub rnokpp: Option<String>,
    pub edrpou: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub email: Option<String>,
}

/// The session cookie's name for these settings.
pub fn cookie_name(settings: &PortalSettings) -> &'static str {
    if settings.secure_cookies {
        "__Host-hromada"
    } else {
        "hromada"
    }
}

/// The cookie that binds a sign-in under way to the browser that started it.
pub fn sign_in_cookie_name(settings: &PortalSettings) -> &'static str {
    if settings.secure_cookies {
        "__Host-hromada-sign-in"
    } else {
        "hromada-sign-in"
    }
}

/// 256 random bits as 64 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    openssl::rand::rand_bytes(&mut bytes).expect("the system's random generator works");
    hex::encode(bytes)
}

/// What the store keeps of a token: its SHA-256 in hex.
pub fn digest(token: &str) -> String {
    crate::crypto::sha256_hex(token.as_bytes())
}

/// Whether two secrets are equal, in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a.as_bytes(), b.as_bytes())
}

/// `Set-Cookie` for `name=value` living `max_age` seconds (0 deletes it).
pub fn set_cookie(settings: &PortalSettings, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("cookie names and hex tokens are valid header text")
}

/// The value of cookie `name` in a request's headers.
pub fn read_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Where an open session stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// In use; `touch` when its last use should be written.
    Live { touch: bool },
    /// Unused for longer than [`IDLE_TIMEOUT`].
    Idle,
    /// Past its absolute end.
    Expired,
}

pub fn standing(session: &SessionRow, now: DateTime<Utc>) -> Standing {
    standing_of(session.last_seen_at, session.expires_at, now)
}

/// Where a session last used at `last_seen_at` and ending at `expires_at` stands at `now`.
pub fn standing_of(
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Standing {
    if now >= expires_at {
        Standing::Expired
    } else if now - last_seen_at >= IDLE_TIMEOUT {
        Standing::Idle
    } else {
        Standing::Live {
            touch: now - last_seen_at >= TOUCH_EVERY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(created: DateTime<Utc>, last_seen: DateTime<Utc>) -> SessionRow {
        SessionRow {
            id: digest("token"),
            subject: "sub".into(),
            owner: "3184710691".into(),
            claims: "{}".into(),
            csrf: "c".into(),
            created_at: created,
            last_seen_at: last_seen,
            expires_at: created + LIFETIME,
        }
    }

    #[test]
    fn a_session_ends_when_idle_and_at_its_absolute_end_however_busy() {
        let t0 = Utc::now();
        let fresh = session(t0, t0);
        assert_eq!(
            standing(&fresh, t0 + Duration::seconds(5)),
            Standing::Live { touch: false }
        );
        assert_eq!(
            standing(&fresh, t0 + Duration::minutes(2)),
            Standing::Live { touch: true }
        );
        assert_eq!(standing(&fresh, t0 + IDLE_TIMEOUT), Standing::Idle);
        let busy = session(t0, t0 + LIFETIME - Duration::seconds(1));
        assert_eq!(standing(&busy, t0 + LIFETIME), Standing::Expired);
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_under_tls() {
        let plain = PortalSettings::default();
        let tls = PortalSettings {
            secure_cookies: true,
            ..PortalSettings::default()
        };
        assert_eq!(cookie_name(&plain), "hromada");
        assert_eq!(cookie_name(&tls), "__Host-hromada");
        let cookie = set_cookie(&tls, cookie_name(&tls), "abc", 60);
        assert_eq!(
            cookie.to_str().unwrap(),
            "__Host-hromada=abc; Max-Age=60; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(
            !set_cookie(&plain, "hromada", "abc", 60)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }

    #[test]
    fn a_token_is_256_random_bits_and_only_its_digest_is_kept() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), a);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a, ""));
    }

    #[test]
    fn a_cookie_is_read_by_its_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("hromada-sign-in=x; hromada=y"),
        );
        assert_eq!(read_cookie(&headers, "hromada"), Some("y"));
        assert_eq!(read_cookie(&headers, "hromada-sign-in"), Some("x"));
        assert_eq!(read_cookie(&headers, "other"), None);
    }
}
