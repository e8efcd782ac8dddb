//! A Git remote's credentials kept out of the checkout: the user and password (or token) of an
//! `https://user:token@host/repo` URL are taken out of it and handed to each `git` invocation in
//! its environment as an `Authorization` header, so that no URL with a secret is ever written to
//! `.git/config`, and checkouts made before that are cleaned.

use std::process::Command;

use base64::Engine;
use percent_encoding::percent_decode_str;

/// A remote URL split into what may be written down and what may not.
#[derive(Clone)]
pub struct Remote {
    /// The URL without user or password.
    pub url: String,
    /// `Authorization: Basic …` for the URL's credentials, when it had any.
    header: Option<String>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.url)
            .field("credentials", &self.header.is_some())
            .finish()
    }
}

impl Remote {
    /// Splits `url`. Only an http(s) URL's user information is a credential git sends over HTTP;
    /// any other URL (a path, `file://`, `ssh://git@host/…`, `git@host:repo`) is kept as it is.
    pub fn parse(url: &str) -> Remote {
        let plain = || Remote {
            url: url.to_string(),
            header: None,
        };
        let Ok(mut parsed) = url::Url::parse(url) else {
            return plain();
        };
        if !matches!(parsed.scheme(), "http" | "https")
            || (parsed.username().is_empty() && parsed.password().is_none())
        {
            return plain();
        }
        let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
        let user = decode(parsed.username());
        let password = parsed.password().map(decode).unwrap_or_default();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        if parsed.set_username("").is_err() || parsed.set_password(None).is_err() {
            return plain();
        }
        Remote {
            url: parsed.to_string(),
            header: Some(format!("Authorization: Basic {token}")),
        }
    }

    /// Gives `command` the credentials for this remote's URL only, through git's environment
    /// configuration (never its command line, which other users of the machine can read).
    pub fn authorise(&self, command: &mut Command) {
        if let Some(header) = &self.header {
            command
                .env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", format!("http.{}.extraHeader", self.url))
                .env("GIT_CONFIG_VALUE_0", header);
        }
    }
}

/// The `remote.NAME.url` settings of the checkout's config, as `(key, url)` pairs.
fn remote_urls(checkout: &std::path::Path) -> Vec<(String, String)> {
    let Ok(out) = super::confined(checkout)
        .args(["config", "--local", "--get-regexp", r"^remote\..*\.url$"])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(key, url)| (key.to_string(), url.to_string()))
        .collect()
}

/// Rewrites every remote URL in the checkout's config that carries credentials to the same URL
/// without them (a clone made by an older version stored `--git`'s URL as it was given).
/// Returns the config keys it cleaned.
pub fn scrub(checkout: &std::path::Path) -> Result<Vec<String>, String> {
    let mut cleaned = Vec::new();
    for (key, url) in remote_urls(checkout) {
        let remote = Remote::parse(&url);
        if remote.header.is_none() {
            continue;
        }
        let out = super::confined(checkout)
            .args(["config", "--local", &key, &remote.url])
            .output()
            .map_err(|e| format!("cannot run git to clean {key} in the checkout: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot remove the credentials from {key} in {}: {}",
                checkout.join(".git/config").display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        cleaned.push(key);
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(command: &Command, name: &str) -> Option<String> {
        command
            .get_envs()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
    }

    #[test]
    fn user_and_token_leave_the_url_for_a_header_scoped_to_it() {
        let remote = Remote::parse("https://ci:s3cr%40t@git.example/city/spec.git");
        assert_eq!(remote.url, "https://git.example/city/spec.git");
        let mut command = Command::new("git");
        remote.authorise(&mut command);
        assert_eq!(
            env_of(&command, "GIT_CONFIG_KEY_0").as_deref(),
            Some("http.https://git.example/city/spec.git.extraHeader")
        );
        let header = env_of(&command, "GIT_CONFIG_VALUE_0").unwrap();
        let encoded = header.strip_prefix("Authorization: Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(decoded, b"ci:s3cr@t");
        assert!(!format!("{remote:?}").contains("s3cr"));
        assert!(
            command
                .get_args()
                .all(|a| !a.to_string_lossy().contains("s3cr")),
            "the secret is never on the command line"
        );
    }

    #[test]
    fn a_token_alone_is_the_user_with_an_empty_password() {
        let remote = Remote::parse("https://ghp_t0ken@git.example/spec.git");
        assert_eq!(remote.url, "https://git.example/spec.git");
        let mut command = Command::new("git");
        remote.authorise(&mut command);
        let header = env_of(&command, "GIT_CONFIG_VALUE_0").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(header.strip_prefix("Authorization: Basic ").unwrap())
            .unwrap();
        assert_eq!(decoded, b"ghp_t0ken:");
    }

    #[test]
    fn urls_without_http_credentials_are_kept_and_add_nothing() {
        for url in [
            "https://git.example/spec.git",
            "/srv/git/spec.git",
            "file:///srv/git/spec.git",
            "ssh://git@git.example/spec.git",
            "git@git.example:city/spec.git",
        ] {
            let remote = Remote::parse(url);
            assert_eq!(remote.url, url);
            let mut command = Command::new("git");
            remote.authorise(&mut command);
            assert_eq!(env_of(&command, "GIT_CONFIG_COUNT"), None, "{url}");
        }
    }
}
