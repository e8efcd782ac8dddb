//! A webhook target: each notice `POST`ed as JSON. Its URL may carry a secret (a chat's
//! incoming-webhook path or a query token), so logs name it by scheme, host and port only.

use super::{Failure, Notice, http_client, http_failure};

#[derive(Clone)]
pub struct Webhook {
    url: url::Url,
    client: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Webhook {
    /// An `http://` or `https://` URL with a host, from `--notify-webhook`.
    pub fn parse(text: &str) -> Result<Webhook, String> {
        let url = url::Url::parse(text.trim()).map_err(|e| {
            format!("--notify-webhook: a webhook is not a URL ({e}); write https://host/path")
        })?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(format!(
                "--notify-webhook: {}://… is not an http or https URL with a host",
                url.scheme()
            ));
        }
        Ok(Webhook {
            url,
            client: http_client(),
        })
    }

    /// The webhook as logs may name it.
    pub fn describe(&self) -> String {
        let port = self.url.port().map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "webhook {}://{}{port}",
            self.url.scheme(),
            self.url.host_str().unwrap_or_default()
        )
    }

    pub async fn post(&self, notice: &Notice) -> Result<(), Failure> {
        let sent = self.client.post(self.url.clone()).json(notice).send().await;
        http_failure(&self.describe(), sent)
    }
}
