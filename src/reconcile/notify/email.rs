//! An e-mail target: each notice as a plain-text mail through the appliance's SMTP server, which
//! `serve` passes in as a [`Mailer`]. Logs name the recipient by its place in `--notify-email`,
//! never by its address.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lettre::message::Mailbox;

use super::{Failure, Notice};

/// Sends one plain-text mail now; the error carries no address.
pub trait Mailer: Send + Sync + 'static {
    fn send_plain<'a>(
        &'a self,
        to: &'a Mailbox,
        subject: &'a str,
        body: String,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailFailure>> + Send + 'a>>;

    /// The server as logs may name it.
    fn describe(&self) -> String;
}

/// Why a mail was not sent, and whether the server refused it for good.
#[derive(Debug)]
pub struct MailFailure {
    pub reason: String,
    pub permanent: bool,
}

#[derive(Clone)]
pub struct Email {
    mailer: Arc<dyn Mailer>,
    to: Mailbox,
    /// Its place among the `--notify-email` addresses, from 1.
    place: usize,
}

impl Email {
    pub fn new(mailer: Arc<dyn Mailer>, to: Mailbox, place: usize) -> Email {
        Email { mailer, to, place }
    }

    pub async fn send(&self, notice: &Notice) -> Result<(), Failure> {
        let line = |name: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| format!("{name}: {v}\n"))
                .unwrap_or_default()
        };
        let body = format!(
            "{}\n\nNode: {}\nReplica: {}\nSource: {}\n{}{}Time: {}\n",
            notice.message,
            notice.node,
            notice.instance,
            notice.source,
            line("Revision", &notice.revision),
            line("Serving", &notice.serving),
            notice.at.to_rfc3339(),
        );
        self.mailer
            .send_plain(&self.to, &notice.subject(), body)
            .await
            .map_err(|e| Failure {
                target: format!(
                    "e-mail address {} of --notify-email through {}",
                    self.place,
                    self.mailer.describe()
                ),
                reason: e.reason,
                retry: !e.permanent,
            })
    }
}
