//! An e-mail target: each notice as a plain-text mail through the appliance's SMTP server
//! (`--smtp`, `--mail-from`). Logs name the recipient by its place in `--notify-email`, never by
//! its address.

use lettre::message::Mailbox;

use super::{Failure, Notice};
use crate::workflow::outbox::{SmtpSettings, without_addresses};

#[derive(Clone)]
pub struct Email {
    smtp: SmtpSettings,
    to: Mailbox,
    /// Its place among the `--notify-email` addresses, from 1.
    place: usize,
}

impl Email {
    pub fn new(smtp: SmtpSettings, to: Mailbox, place: usize) -> Email {
        Email { smtp, to, place }
    }

    pub async fn send(&self, notice: &Notice) -> Result<(), Failure> {
        let body = format!(
            "{}\n\nNode: {}\nReplica: {}\nSource: {}\n{}{}Time: {}\n",
            notice.message,
            notice.node,
            notice.instance,
            notice.source,
            notice
                .revision
                .as_deref()
                .map(|r| format!("Revision: {r}\n"))
                .unwrap_or_default(),
            notice
                .serving
                .as_deref()
                .map(|r| format!("Serving: {r}\n"))
                .unwrap_or_default(),
            notice.at.to_rfc3339(),
        );
        self.smtp
            .send_plain(&self.to, &notice.subject(), body)
            .await
            .map_err(|e| Failure {
                target: format!(
                    "e-mail address {} of --notify-email through {}",
                    self.place,
                    self.smtp.describe()
                ),
                reason: without_addresses(&e.reason),
                retry: !e.permanent,
            })
    }
}
