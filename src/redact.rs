//! Hiding services' upstream addresses in free text, in every spelling that names the same
//! system: the URL with or without its scheme (in any case), port, path or trailing slash, its
//! host alone, and for a loopback host each of `localhost`, `127.0.0.1` and `[::1]`.

use regex::{Captures, Regex};

use crate::spec::Spec;

/// The upstream addresses of some services, ready to be hidden from text.
pub struct Upstreams {
    addresses: Vec<Address>,
}

struct Address {
    regex: Regex,
    /// Whether the host alone (no scheme, port or path) names the system: an IP address, a
    /// dotted name or `localhost`, not a single word that ordinary text may hold.
    bare_host: bool,
}

const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl Upstreams {
    pub fn new<'a>(urls: impl IntoIterator<Item = &'a str>) -> Upstreams {
        let mut urls: Vec<&str> = urls
            .into_iter()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        urls.sort_by_key(|u| std::cmp::Reverse(u.len()));
        urls.dedup();
        Upstreams {
            addresses: urls.into_iter().filter_map(Address::new).collect(),
        }
    }

    /// Every service's upstream address in `spec`: what the catalogue, `getOpenAPI` and the
    /// documentation site hide.
    pub fn of(spec: &Spec) -> Upstreams {
        Upstreams::new(
            spec.participants
                .iter()
                .flat_map(|p| &p.services)
                .filter_map(|s| s.upstream.as_deref()),
        )
    }

    /// Whether `text` names one of the addresses in any spelling.
    pub fn appears_in(&self, text: &str) -> bool {
        self.redact(text, "") != text
    }

    /// `text` with every spelling of every address replaced by `replacement`.
    pub fn redact(&self, text: &str, replacement: &str) -> String {
        let mut out = text.to_string();
        for address in &self.addresses {
            if address.regex.is_match(&out) {
                out = address
                    .regex
                    .replace_all(&out, |c: &Captures| address.replace(c, replacement))
                    .into_owned();
            }
        }
        out
    }
}

impl Address {
    fn new(url: &str) -> Option<Address> {
        let with_scheme = if url.contains("://") {
            url.to_string()
        } else {
            format!("http://{url}")
        };
        let parsed = url::Url::parse(&with_scheme).ok()?;
        let host = parsed.host_str()?.to_ascii_lowercase();
        let loopback = LOOPBACK.contains(&host.as_str()) || host.starts_with("127.");
        let mut hosts = vec![host.clone()];
        if loopback {
            hosts.extend(LOOPBACK.iter().map(|h| h.to_string()));
        }
        hosts.sort_by_key(|h| std::cmp::Reverse(h.len()));
        hosts.dedup();
        let hosts: Vec<String> = hosts.iter().map(|h| regex::escape(h)).collect();
        let port = match parsed.port() {
            Some(port) => port.to_string(),
            None => "80|443".to_string(),
        };
        let path = parsed.path().trim_end_matches('/');
        let path = if path.is_empty() {
            String::new()
        } else {
            format!("(?P<path>{})?", regex::escape(path))
        };
        let pattern = format!(
            r"(?:(?P<scheme>(?i:[a-z][a-z0-9+.-]*)://)|(?P<lead>[A-Za-z0-9_.-]))?(?P<host>(?i:{}))(?P<port>:(?:{port}))?{path}(?P<tail>[A-Za-z0-9_-]|:[0-9])?",
            hosts.join("|")
        );
        Some(Address {
            regex: Regex::new(&pattern).ok()?,
            bare_host: loopback || host.contains('.') || host.contains(':'),
        })
    }

    fn replace(&self, c: &Captures, replacement: &str) -> String {
        let whole = &c[0];
        let scheme = c.name("scheme").is_some();
        let lead = c.name("lead").map_or("", |m| m.as_str());
        let tail = c.name("tail").map_or("", |m| m.as_str());
        let port = c.name("port").is_some();
        let path = c.name("path").is_some();
        let qualified = port || path;
        // Inside a longer name (`x127.0.0.1`, `10.0.0.10`), or another port (`:8443`,
        // `:94021`): another system, not this one.
        let other_port =
            tail.starts_with(':') || (port && !path && tail.starts_with(char::is_numeric));
        if (!lead.is_empty() && !scheme) || (!tail.is_empty() && !qualified) || other_port {
            return whole.to_string();
        }
        if !scheme && !qualified && !self.bare_host {
            return whole.to_string();
        }
        format!("{lead}{replacement}{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::Upstreams;
    use crate::spec::Spec;

    const HIDDEN: &str = "https://upstream.invalid";

    #[test]
    fn every_spelling_of_a_loopback_upstream_is_hidden() {
        let upstreams = Upstreams::new(["http://127.0.0.1:9402/register"]);
        for text in [
            "http://127.0.0.1:9402/register",
            "HTTP://127.0.0.1:9402/register/",
            "https://localhost:9402/register/persons",
            "localhost:9402",
            "127.0.0.1:9402/register",
            "http://[::1]:9402",
            "hTTp://LOCALHOST:9402/",
            "127.0.0.1",
        ] {
            let redacted = upstreams.redact(&format!("see ({text}) now"), HIDDEN);
            for leak in [
                "127.0.0.1",
                "localhost",
                "LOCALHOST",
                "::1",
                "9402",
                "register",
            ] {
                assert!(!redacted.contains(leak), "{text} -> {redacted}");
            }
            assert!(
                redacted.starts_with("see (") && redacted.ends_with(") now"),
                "{redacted}"
            );
        }
    }

    #[test]
    fn urls_are_replaced_whole_and_other_hosts_are_left_alone() {
        let upstreams = Upstreams::new(["http://10.0.0.1:80/api", "http://billing:8080/x"]);
        assert_eq!(
            upstreams.redact("see http://10.0.0.1:80/api and http://10.0.0.1/x", HIDDEN),
            format!("see {HIDDEN} and {HIDDEN}/x")
        );
        assert_eq!(
            upstreams.redact("10.0.0.10 and x10.0.0.1 stay", HIDDEN),
            "10.0.0.10 and x10.0.0.1 stay"
        );
        let loopback = Upstreams::new(["http://127.0.0.1:9402/register"]);
        assert_eq!(
            loopback.redact("nodes at 127.0.0.1:8443 and localhost:94021 stay", HIDDEN),
            "nodes at 127.0.0.1:8443 and localhost:94021 stay"
        );
        // A single-word host is hidden with its port or scheme, not as a word of prose.
        assert_eq!(
            upstreams.redact("the billing system at billing:8080", HIDDEN),
            format!("the billing system at {HIDDEN}")
        );
    }

    #[test]
    fn a_spec_s_upstreams_are_found_in_any_spelling_and_nothing_else() {
        let participant: crate::spec::model::Participant = serde_json::from_value(serde_json::json!({
            "id": "water", "name": "Водоканал", "edrpou": "23456783", "class": "COM", "status": "active",
            "gateway": "gw-core", "seal": {"cert": "pki/x.crt"},
            "contacts": {"kind": "k", "address": "a", "phone": "+380440000000",
                         "email": "e@city.example", "schedule": "s"},
            "services": [{"id": "debt", "title": "t", "description": "d",
                          "upstream": "http://billing.internal:8080/api", "operations": []}],
        }))
        .unwrap();
        let spec = Spec {
            participants: vec![participant],
            ..Spec::default()
        };
        let upstreams = Upstreams::of(&spec);
        assert!(upstreams.appears_in("see BILLING.internal:8080/api/v1"));
        assert!(upstreams.appears_in("billing.internal"));
        assert!(!upstreams.appears_in("billing.internal:9090 and xbilling.internal"));
        assert_eq!(
            upstreams.redact("down: http://billing.internal:8080/api", "the upstream"),
            "down: the upstream"
        );
    }
}
