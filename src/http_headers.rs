//! HTTP header facts that both the gateway and `validate` judge by: the headers that belong to
//! one connection, the gateway's own internal ones, and so the response headers no service may
//! declare as passing (the gateway never passes them, whatever a service declares).

/// Headers between gateway nodes only; never taken from a client, never passed to a provider.
pub const INTERNAL_PREFIX: &str = "x-hromada-";

/// The provider's node tells the consumer's which fields it released about the data subject
/// (MIN-4); internal, so no information system can send it or ever sees it.
pub const RELEASED: &str = "x-hromada-released";

/// Headers that belong to one connection (RFC 9110 §7.6.1) or to the origin host, never forwarded.
/// Any header starting with `Proxy-` is treated the same way.
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// Headers a gateway sets itself or that could carry what minimisation removed: never passed,
/// even when a service declares them.
const NEVER_PASSING: &[&str] = &[
    "content-length",
    "content-encoding",
    "location",
    "set-cookie",
    "set-cookie2",
    "server",
    "date",
];

/// Whether a header (any case) belongs to one connection: [`HOP_BY_HOP`] or `Proxy-*`.
pub fn hop_by_hop(name: &str) -> bool {
    let lower = name.trim().to_ascii_lowercase();
    HOP_BY_HOP.contains(&lower.as_str()) || lower.starts_with("proxy-")
}

/// Whether a header name is one no service may declare as passing: the gateway's own, a cookie,
/// a redirect, a content coding, a hop-by-hop, X-Road or internal header.
pub fn never_passes(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    NEVER_PASSING.contains(&name.as_str())
        || name.starts_with("x-road-")
        || name.starts_with(INTERNAL_PREFIX)
        || hop_by_hop(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_headers_internal_ones_and_the_gateway_s_own_never_pass() {
        for name in [
            "Set-Cookie",
            "Location",
            "Content-Encoding",
            "X-Road-Client",
            "x-hromada-checkpoint",
            RELEASED,
            "Transfer-Encoding",
            "Proxy-Anything",
            "Host",
        ] {
            assert!(never_passes(name), "{name}");
        }
        for name in ["Content-Type", "ETag", "X-Total-Count", "Cache-Control"] {
            assert!(!never_passes(name), "{name}");
        }
    }
}
