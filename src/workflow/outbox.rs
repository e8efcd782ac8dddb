//! Delivery of the outbox over SMTP (lettre): due mails are leased, sent, and marked sent; a
//! transient failure is tried again with exponential backoff on the injected clock, a permanent
//! refusal (5xx) is recorded and never retried. Logs never carry an address or a body.

use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Duration as StdDuration;

use chrono::Duration;
use lettre::message::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use regex::Regex;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::clock::SharedClock;
use crate::store::{LeasedMail, MailOutcome, Store, StoreError};

/// How long a deliverer holds the mails it leased: far longer than one send may take.
const LEASE: Duration = Duration::minutes(5);
/// How many mails one pass leases at most.
const BATCH: i64 = 20;
/// How long one SMTP conversation may take.
const SEND_TIMEOUT: StdDuration = StdDuration::from_secs(60);
/// The wait before the first retry; it doubles with each failed attempt up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::seconds(30);
const MAX_BACKOFF: Duration = Duration::hours(1);
/// Attempts after which a mail that keeps failing transiently is given up (about 14 hours).
pub const MAX_ATTEMPTS: i64 = 20;
/// How often an idle deliverer looks for due mail.
const POLL: StdDuration = StdDuration::from_secs(1);

/// How to reach the SMTP server, from `serve --smtp` and `--mail-from`.
#[derive(Clone)]
pub struct SmtpSettings {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    /// A CA trusted for the server's certificate besides the public ones (an internal relay).
    ca: Vec<Certificate>,
    from: Mailbox,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// Plain SMTP, allowed to a server on this machine only.
    Plain,
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Tls,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("server", &self.describe())
            .field("credentials", &self.credentials.is_some())
            .finish_non_exhaustive()
    }
}

impl SmtpSettings {
    /// `url` is `smtp://HOST[:PORT]` (port 25; STARTTLS required unless HOST is this machine)
    /// or `smtps://HOST[:PORT]` (port 465, TLS); `from` the sender's address.
    pub fn parse(url: &str, from: &str) -> Result<SmtpSettings, String> {
        let bad = |why: &str| {
            format!(
                "--smtp {}: {why}; write smtp://HOST:PORT (STARTTLS) or smtps://HOST:PORT (TLS)",
                crate::store::Store::display_url(url)
            )
        };
        let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let (security, default_port) = match parsed.scheme() {
            "smtp" => (Security::StartTls, 25),
            "smtps" => (Security::Tls, 465),
            other => return Err(bad(&format!("the scheme `{other}` is not an SMTP one"))),
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad(
                "credentials do not belong in the url (it shows in process lists); put the user \
                 name and the password on two lines of a file and name it with --smtp-credentials",
            ));
        }
        if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
            return Err(bad("the url takes no path and no query"));
        }
        let host = match parsed.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err(bad("the url names no server")),
        };
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let security = match security {
            Security::StartTls if loopback => Security::Plain,
            other => other,
        };
        let from: Mailbox = from.parse().map_err(|e| {
            format!("--mail-from `{from}` is not an e-mail address ({e}); write e.g. noreply@city.gov.ua")
        })?;
        Ok(SmtpSettings {
            host,
            port: parsed.port().unwrap_or(default_port),
            security,
            credentials: None,
            ca: Vec::new(),
            from,
        })
    }

    /// Logs in with the user name on the first line of `path` and the password on its second.
    pub fn with_credentials_file(mut self, path: &Path) -> Result<SmtpSettings, String> {
        self.credentials = Some(read_credentials(path)?);
        Ok(self)
    }

    /// Trusts the CA certificates (PEM) in `path` for the server's certificate too.
    pub fn with_ca_file(mut self, path: &Path) -> Result<SmtpSettings, String> {
        let cannot = |why: String| {
            format!(
                "cannot use {} as the SMTP server's CA (--smtp-ca): {why}",
                path.display()
            )
        };
        let certificates =
            crate::crypto::read_certificates(path).map_err(|e| cannot(e.to_string()))?;
        for certificate in certificates {
            let der = certificate.to_der().map_err(|e| cannot(e.to_string()))?;
            self.ca
                .push(Certificate::from_der(der).map_err(|e| cannot(e.to_string()))?);
        }
        Ok(self)
    }

    /// The server as logs may name it: no credentials.
    pub fn describe(&self) -> String {
        let scheme = match self.security {
            Security::Tls => "smtps",
            Security::Plain | Security::StartTls => "smtp",
        };
        format!("{scheme}://{}:{}", self.host, self.port)
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let tls = |host: &str| {
            let mut parameters = TlsParameters::builder(host.to_string());
            for ca in &self.ca {
                parameters = parameters.add_root_certificate(ca.clone());
            }
            parameters.build_rustls().map_err(|e| {
                format!(
                    "cannot set up TLS to the SMTP server {}: {e}",
                    self.describe()
                )
            })
        };
        let security = match self.security {
            Security::Plain => Tls::None,
            Security::StartTls => Tls::Required(tls(&self.host)?),
            Security::Tls => Tls::Wrapper(tls(&self.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(security)
            .timeout(Some(SEND_TIMEOUT));
        if let Some(credentials) = &self.credentials {
            builder = builder.credentials(credentials.clone());
        }
        Ok(builder.build())
    }

    /// Sends one plain-text mail at once, outside the outbox (the reconciler's notices, which
    /// concern no case). The error says whether the server refused it for good.
    pub async fn send_now(
        &self,
        to: &Mailbox,
        subject: &str,
        body: String,
    ) -> Result<(), SendError> {
        let transient = |reason: String| SendError {
            reason,
            permanent: false,
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| SendError {
                reason: format!("cannot compose it: {e}"),
                permanent: true,
            })?;
        let transport = self.transport().map_err(transient)?;
        match tokio::time::timeout(SEND_TIMEOUT, transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(SendError {
                reason: without_addresses(&e.to_string()),
                permanent: e.is_permanent() && !login_refused(&e),
            }),
            Err(_) => Err(transient(format!(
                "no answer within {} s",
                SEND_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// Why [`SmtpSettings::send_now`] failed, without any address.
#[derive(Debug)]
pub struct SendError {
    pub reason: String,
    pub permanent: bool,
}

fn read_credentials(path: &Path) -> Result<Credentials, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the SMTP credentials file {}: {e}",
            path.display()
        )
    })?;
    let mut lines = text.lines();
    match (lines.next(), lines.next()) {
        (Some(user), Some(password)) if !user.trim().is_empty() && !password.is_empty() => Ok(
            Credentials::new(user.trim().to_string(), password.to_string()),
        ),
        _ => Err(format!(
            "the SMTP credentials file {} must hold the user name on its first line and the \
             password on its second",
            path.display()
        )),
    }
}

/// What one pass over the due mail did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Mails whose lease ran out while they were sent, so that another deliverer took them.
    pub lost: usize,
}

impl Pass {
    /// How many mails the pass leased.
    pub fn leased(&self) -> usize {
        self.sent + self.retried + self.failed + self.lost
    }
}

/// Sends the store's due mail; several may share a database (each leases its own mails).
pub struct Deliverer {
    store: Store,
    clock: SharedClock,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
    /// This deliverer's name in the leases it takes.
    holder: String,
}

impl Deliverer {
    pub fn new(store: Store, smtp: &SmtpSettings, clock: SharedClock) -> Result<Deliverer, String> {
        Ok(Deliverer {
            transport: smtp.transport()?,
            from: smtp.from.clone(),
            server: smtp.describe(),
            holder: uuid::Uuid::now_v7().to_string(),
            store,
            clock,
        })
    }

    /// Leases the mails due now and tries each once.
    pub async fn deliver_due(&self) -> Result<Pass, StoreError> {
        let now = self.clock.now();
        let mails = self
            .store
            .lease_mail(&self.holder, now, now + LEASE, BATCH)
            .await?;
        let mut pass = Pass::default();
        for mail in mails {
            let outcome = self.attempt(&mail).await;
            let finished = self
                .store
                .finish_mail(mail.id, &self.holder, self.clock.now(), &outcome)
                .await?;
            let counted = match (&outcome, finished) {
                (_, false) => {
                    pass.lost += 1;
                    tracing::warn!(
                        mail = mail.id,
                        "mail {} was leased to this deliverer for {} minutes and took longer; \
                         another deliverer has it now, so it may arrive twice",
                        mail.id,
                        LEASE.num_minutes()
                    );
                    "lost"
                }
                (MailOutcome::Sent, true) => {
                    pass.sent += 1;
                    tracing::debug!(mail = mail.id, "mail {} delivered", mail.id);
                    "sent"
                }
                (MailOutcome::Retry { at, error }, true) => {
                    pass.retried += 1;
                    tracing::warn!(
                        mail = mail.id,
                        attempt = mail.attempts + 1,
                        "mail {} (case {}) was not delivered through {} (attempt {}): {error}; \
                         it is tried again at {}",
                        mail.id,
                        mail.case_id.as_deref().unwrap_or("none"),
                        self.server,
                        mail.attempts + 1,
                        at.to_rfc3339()
                    );
                    "retried"
                }
                (MailOutcome::Failed { error }, true) => {
                    pass.failed += 1;
                    tracing::error!(
                        mail = mail.id,
                        "mail {} (case {}) cannot be delivered and is not tried again: {error}",
                        mail.id,
                        mail.case_id.as_deref().unwrap_or("none"),
                    );
                    "failed"
                }
            };
            metrics::counter!("hromada_mail_attempts_total", "outcome" => counted).increment(1);
        }
        Ok(pass)
    }

    /// One attempt at `mail`: what the store should record of it.
    async fn attempt(&self, mail: &LeasedMail) -> MailOutcome {
        let message = match self.message(mail) {
            Ok(message) => message,
            Err(error) => return MailOutcome::Failed { error },
        };
        // lettre's own timeout does not bound every read of a TLS connection.
        let sent = tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await;
        let (text, permanent, login) = match sent {
            Ok(Ok(_)) => return MailOutcome::Sent,
            Ok(Err(e)) => (
                without_addresses(&e.to_string()),
                e.is_permanent(),
                login_refused(&e),
            ),
            Err(_) => (
                format!("no answer within {} s", SEND_TIMEOUT.as_secs()),
                false,
                false,
            ),
        };
        let attempts = mail.attempts + 1;
        let retry_at = self.clock.now() + backoff(attempts);
        if login {
            // The server's configuration, not this mail: it waits, however long, for the right
            // credentials.
            MailOutcome::Retry {
                at: retry_at,
                error: format!(
                    "the SMTP server {} refused the login; check the file --smtp-credentials \
                     names: {text}",
                    self.server
                ),
            }
        } else if permanent {
            MailOutcome::Failed {
                error: format!("the SMTP server {} refused it: {text}", self.server),
            }
        } else if attempts >= MAX_ATTEMPTS {
            MailOutcome::Failed {
                error: format!(
                    "gave up after {attempts} attempts; the last through {}: {text}",
                    self.server
                ),
            }
        } else {
            MailOutcome::Retry {
                at: retry_at,
                error: text,
            }
        }
    }

    fn message(&self, mail: &LeasedMail) -> Result<Message, String> {
        let to: Mailbox = mail.to.parse().map_err(|_| {
            "its recipient is not a valid e-mail address; correct the address the case holds"
                .to_string()
        })?;
        let domain = self.from.email.domain().to_string();
        let mut builder = Message::builder();
        if let Some(address) = &mail.list_unsubscribe {
            for header in list_unsubscribe(address)? {
                builder = builder.raw_header(header);
            }
        }
        builder
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .date(self.clock.now().into())
            .message_id(Some(format!(
                "<{}@{domain}>",
                crate::crypto::sha256_hex(mail.key.as_bytes())
            )))
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| format!("cannot compose it: {e}"))
    }
}

/// The headers of a list's mail that let a mail client unsubscribe in one click (RFC 8058):
/// `address` is an `https://` (or, on a test's loopback, `http://`) URL taking the POST.
fn list_unsubscribe(address: &str) -> Result<[HeaderValue; 2], String> {
    if !address.bytes().all(|b| b.is_ascii_graphic()) || address.contains(['<', '>', ',']) {
        return Err(
            "its unsubscribe address is not a plain URL; it was changed outside hromada".into(),
        );
    }
    Ok([
        HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{address}>"),
        ),
        HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".into(),
        ),
    ])
}

/// Whether the server refused to let this client send at all (530, 534, 535, 538: a login
/// missing, too weak or wrong), which no mail is to blame for.
fn login_refused(error: &lettre::transport::smtp::Error) -> bool {
    error
        .status()
        .is_some_and(|code| matches!(code.to_string().as_str(), "530" | "534" | "535" | "538"))
}

/// The wait after `attempts` failed attempts: 30 s, 1 min, 2 min, … up to an hour.
pub fn backoff(attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(16);
    (FIRST_BACKOFF * 2_i32.pow(doublings)).min(MAX_BACKOFF)
}

/// `text` with anything that looks like an e-mail address replaced by `<address>`, since SMTP
/// servers quote the recipient in their refusals.
pub fn without_addresses(text: &str) -> String {
    static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"[^\s<>"'(),;:\[\]]+@[^\s<>"'(),;:\[\]]+"#).expect("a valid pattern")
    });
    ADDRESS.replace_all(text, "<address>").into_owned()
}

/// Runs a deliverer until `shutdown` turns true: a pass at once, then whenever mail may be due.
pub fn spawn(
    store: Store,
    smtp: SmtpSettings,
    clock: SharedClock,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let deliverer = match Deliverer::new(store, &smtp, clock) {
            Ok(deliverer) => Arc::new(deliverer),
            Err(e) => {
                tracing::error!("e-mail is not sent: {e}; mail stays queued");
                return;
            }
        };
        tracing::info!("sending e-mail through {}", smtp.describe());
        let mut failing = false;
        loop {
            let full = match deliverer.deliver_due().await {
                Ok(pass) => {
                    failing = false;
                    pass.leased() as i64 >= BATCH
                }
                Err(e) => {
                    if !failing {
                        tracing::error!("cannot read the mail to send: {e}; trying again");
                    }
                    failing = true;
                    false
                }
            };
            if *shutdown.borrow() {
                return;
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::minutes(1));
        assert_eq!(backoff(5), Duration::minutes(8));
        assert_eq!(backoff(8), Duration::hours(1));
        assert_eq!(backoff(1000), Duration::hours(1));
    }

    #[test]
    fn a_lists_mail_offers_one_click_unsubscribe_and_refuses_a_header_injection() {
        let mut builder = Message::builder()
            .from("portal@city.ua".parse().unwrap())
            .to("maria@city.ua".parse().unwrap());
        for header in list_unsubscribe("https://portal.city.ua/unsubscribe/ab12").unwrap() {
            builder = builder.raw_header(header);
        }
        let text = String::from_utf8(builder.body(String::from("x")).unwrap().formatted()).unwrap();
        assert!(
            text.contains("List-Unsubscribe: <https://portal.city.ua/unsubscribe/ab12>\r\n"),
            "{text}"
        );
        assert!(
            text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            "{text}"
        );
        for hostile in [
            "https://a/u\r\nBcc: x@y.ua",
            "https://a/u>, <mailto:x@y.ua",
            "https://a/ü",
        ] {
            assert!(list_unsubscribe(hostile).is_err(), "{hostile}");
        }
    }

    #[test]
    fn addresses_never_reach_an_error_text() {
        assert_eq!(
            without_addresses("550 5.1.1 <olena.k@ukr.net>: Recipient address rejected"),
            "550 5.1.1 <<address>>: Recipient address rejected"
        );
        assert_eq!(
            without_addresses("connection refused"),
            "connection refused"
        );
    }

    #[test]
    fn settings_refuse_credentials_in_the_url_and_plain_smtp_only_leaves_this_machine_with_starttls()
     {
        let error =
            SmtpSettings::parse("smtp://user:secret@mail.city.gov.ua", "a@b.ua").unwrap_err();
        assert!(
            error.contains("--smtp-credentials") && !error.contains("secret"),
            "{error}"
        );
        let local = SmtpSettings::parse("smtp://127.0.0.1:2525", "noreply@city.gov.ua").unwrap();
        assert_eq!(local.security, Security::Plain);
        assert_eq!(local.describe(), "smtp://127.0.0.1:2525");
        let remote = SmtpSettings::parse("smtp://mail.city.gov.ua", "noreply@city.gov.ua").unwrap();
        assert_eq!((remote.security, remote.port), (Security::StartTls, 25));
        let tls = SmtpSettings::parse("smtps://mail.city.gov.ua", "noreply@city.gov.ua").unwrap();
        assert_eq!(
            (tls.security, tls.describe().as_str()),
            (Security::Tls, "smtps://mail.city.gov.ua:465")
        );
        assert!(
            SmtpSettings::parse("http://mail", "a@b.ua")
                .unwrap_err()
                .contains("`http`")
        );
        assert!(
            SmtpSettings::parse("smtp://mail", "nobody")
                .unwrap_err()
                .contains("--mail-from")
        );
    }
}
