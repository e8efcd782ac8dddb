//! The X-Road message protocol for REST (PR-REST, version `r1`) as pure functions: service and
//! client identifiers, the error families and their HTTP statuses, the request hash, message ids
//! and the headers a gateway never forwards. A path that leaves here is free of dot segments,
//! empty segments, backslashes, encoded slashes, `;`, double encoding, Unicode look-alikes of
//! delimiters and control characters; no I/O happens here.

use std::fmt;

use crate::crypto::sha512;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::json;
use unicode_normalization::UnicodeNormalization;

use crate::http_headers::hop_by_hop;
use crate::identity::xroad::{ClientId, PROTOCOL_VERSION, ServiceId};

/// Header naming the calling subsystem (`instance/class/code/subsystem`).
pub const HEADER_CLIENT: &str = "X-Road-Client";
/// Header naming the called service on responses.
pub const HEADER_SERVICE: &str = "X-Road-Service";
/// Header carrying the message id.
pub const HEADER_ID: &str = "X-Road-Id";
/// Header carrying the request hash on responses.
pub const HEADER_REQUEST_HASH: &str = "X-Road-Request-Hash";
/// Header flagging an error raised by a gateway rather than by the provider; holds the `type`.
pub const HEADER_ERROR: &str = "X-Road-Error";

const SERVICE_PARTS: [&str; 5] = [
    "instance",
    "member class",
    "member code",
    "subsystem code",
    "service code",
];
const CLIENT_PARTS: [&str; 4] = ["instance", "member class", "member code", "subsystem code"];

/// Why a request path or an `X-Road-Client` header was refused. Each variant's message names the
/// offending part and says what a valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The path does not start with `/{version}/`.
    NotProtocolPath { path: String },
    /// The path names a protocol version other than [`PROTOCOL_VERSION`].
    UnsupportedVersion { found: String },
    /// The path has fewer than the five service identifier parts.
    MissingServiceParts { found: usize },
    /// An identifier part is empty (in the path or in the client header).
    EmptyPart { header: bool, part: &'static str },
    /// A `%` not followed by two hex digits.
    BadPercentEncoding { part: String },
    /// A part decodes to bytes that are not UTF-8.
    NotUtf8 { part: String },
    /// A control character, NUL, backslash, `?` or `#` where none may be.
    ForbiddenCharacter { part: String, character: char },
    /// A segment of the service path that is, or decodes to, `.` or `..`.
    DotSegment { segment: String },
    /// An empty segment inside the service path (`//`).
    EmptySegment { path: String },
    /// `%2F` in the service path, which a provider could decode into a separator.
    EncodedSlash { segment: String },
    /// The client header has the wrong number of `/`-separated parts.
    ClientPartCount { found: usize },
    /// `;` in the service path: a path parameter, which some servers strip (`..;/`).
    PathParameter { segment: String },
    /// A segment that still holds percent-escapes once decoded (`%252e`), which a provider
    /// decoding again would read as another path.
    DoubleEncoded { segment: String },
    /// A character that Unicode compatibility normalisation turns into `.`, `/`, `\` or
    /// another character refused in a path (`․` U+2024, `．` U+FF0E, `／` U+FF0F…).
    LookAlike { segment: String, character: char },
    /// `;` in the query, which some servers read as a parameter separator.
    QuerySemicolon,
}

impl ProtocolError {
    /// The X-Road error family a gateway answers this refusal with.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::UnsupportedVersion { .. } => ErrorKind::InvalidProtocolVersion,
            Self::ClientPartCount { .. } => ErrorKind::InvalidClientIdentifier,
            Self::EmptyPart { header: true, .. } => ErrorKind::InvalidClientIdentifier,
            Self::MissingServiceParts { .. } | Self::EmptyPart { header: false, .. } => {
                ErrorKind::InvalidServiceIdentifier
            }
            _ => ErrorKind::BadRequest,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHAPE: &str =
            "/r1/{instance}/{memberClass}/{memberCode}/{subsystemCode}/{serviceCode}[/path]";
        match self {
            Self::NotProtocolPath { path } => write!(
                f,
                "the request path {path:?} is not an X-Road REST path; use {SHAPE}"
            ),
            Self::UnsupportedVersion { found } => write!(
                f,
                "protocol version {found:?} is not supported; this gateway speaks only \
                 {PROTOCOL_VERSION:?} ({SHAPE})"
            ),
            Self::MissingServiceParts { found } => write!(
                f,
                "the request path names {found} of the 5 service identifier parts; use {SHAPE}"
            ),
            Self::EmptyPart { header, part } => {
                let place = if *header {
                    "the X-Road-Client header"
                } else {
                    "the request path"
                };
                write!(
                    f,
                    "the {part} in {place} is empty; every part must be given"
                )
            }
            Self::BadPercentEncoding { part } => write!(
                f,
                "{part:?} holds a '%' that is not followed by two hex digits; percent-encode it as %25"
            ),
            Self::NotUtf8 { part } => write!(
                f,
                "{part:?} does not decode to UTF-8; identifiers and paths must be percent-encoded UTF-8"
            ),
            Self::ForbiddenCharacter { part, character } => write!(
                f,
                "{part:?} contains the character {character:?}, which is refused in X-Road \
                 identifiers and service paths"
            ),
            Self::DotSegment { segment } => write!(
                f,
                "the service path segment {segment:?} is a dot segment ('.' or '..'); \
                 send the path already resolved"
            ),
            Self::EmptySegment { path } => write!(
                f,
                "the service path {path:?} contains an empty segment ('//'); remove the doubled slash"
            ),
            Self::EncodedSlash { segment } => write!(
                f,
                "the service path segment {segment:?} contains an encoded '/' (%2F), which the \
                 provider could decode into a separator; send the path without it"
            ),
            Self::PathParameter { segment } => write!(
                f,
                "the service path segment {segment:?} contains ';' (a path parameter, which \
                 servers may strip or read differently); send the path without it"
            ),
            Self::DoubleEncoded { segment } => write!(
                f,
                "the service path segment {segment:?} is percent-encoded twice (it still holds \
                 an escape once decoded); encode the path once"
            ),
            Self::LookAlike { segment, character } => write!(
                f,
                "the service path segment {segment:?} contains {character:?} (U+{:04X}), which \
                 some systems read as '.', '/', '\\' or a delimiter; send that part in plain \
                 characters",
                u32::from(*character)
            ),
            Self::QuerySemicolon => write!(
                f,
                "the query contains ';', which some servers read as a parameter separator; \
                 separate parameters with '&' and percent-encode a ';' in a value as %3B"
            ),
            Self::ClientPartCount { found } => write!(
                f,
                "the X-Road-Client header has {found} part(s) but needs 3 or 4: \
                 {{instance}}/{{memberClass}}/{{memberCode}} for a member, with \
                 /{{subsystemCode}} for a subsystem"
            ),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Decodes `%XX` escapes into bytes; any other byte is kept as it is.
pub fn percent_decode(raw: &str) -> Result<Vec<u8>, ProtocolError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| ProtocolError::BadPercentEncoding {
                    part: raw.to_string(),
                })?;
            out.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn refuse_forbidden(part: &str, decoded: &str) -> Result<(), ProtocolError> {
    match decoded.chars().find(|c| c.is_control() || *c == '\\') {
        Some(character) => Err(ProtocolError::ForbiddenCharacter {
            part: part.to_string(),
            character,
        }),
        None => Ok(()),
    }
}

/// One identifier part: percent-decoded on its own, non-empty, UTF-8, free of control characters.
fn decode_part(raw: &str, name: &'static str, header: bool) -> Result<String, ProtocolError> {
    let decoded = String::from_utf8(percent_decode(raw)?).map_err(|_| ProtocolError::NotUtf8 {
        part: raw.to_string(),
    })?;
    if decoded.is_empty() {
        return Err(ProtocolError::EmptyPart { header, part: name });
    }
    refuse_forbidden(raw, &decoded)?;
    Ok(decoded)
}

/// Checks one raw segment of the service path; the segment itself is forwarded undecoded.
fn check_path_segment(segment: &str) -> Result<(), ProtocolError> {
    if let Some(character) = segment.chars().find(|c| matches!(c, '?' | '#')) {
        return Err(ProtocolError::ForbiddenCharacter {
            part: segment.to_string(),
            character,
        });
    }
    let decoded =
        String::from_utf8(percent_decode(segment)?).map_err(|_| ProtocolError::NotUtf8 {
            part: segment.to_string(),
        })?;
    refuse_forbidden(segment, &decoded)?;
    if let Some(character) = decoded.chars().find(|c| matches!(c, '?' | '#')) {
        return Err(ProtocolError::ForbiddenCharacter {
            part: segment.to_string(),
            character,
        });
    }
    if decoded.contains(';') {
        return Err(ProtocolError::PathParameter {
            segment: segment.to_string(),
        });
    }
    if percent_decode(&decoded).is_ok_and(|again| again != decoded.as_bytes()) {
        return Err(ProtocolError::DoubleEncoded {
            segment: segment.to_string(),
        });
    }
    if let Some(character) = decoded.chars().find(|c| looks_like_delimiter(*c)) {
        return Err(ProtocolError::LookAlike {
            segment: segment.to_string(),
            character,
        });
    }
    if decoded == "." || decoded == ".." {
        return Err(ProtocolError::DotSegment {
            segment: segment.to_string(),
        });
    }
    if decoded.contains('/') {
        return Err(ProtocolError::EncodedSlash {
            segment: segment.to_string(),
        });
    }
    Ok(())
}

/// Whether `c` is not ASCII but normalises (NFKC) to, or is commonly read as, a character that
/// delimits or escapes a path: a provider or a proxy normalising Unicode would see another path.
fn looks_like_delimiter(c: char) -> bool {
    const DELIMITERS: &[char] = &['.', '/', '\\', ';', '?', '#', '%'];
    /// Slashes and dots without a compatibility decomposition.
    const CONFUSABLES: &[char] = &[
        '\u{2215}', // DIVISION SLASH
        '\u{2044}', // FRACTION SLASH
        '\u{29F8}', // BIG SOLIDUS
        '\u{29F9}', // BIG REVERSE SOLIDUS
        '\u{2216}', // SET MINUS
        '\u{3002}', // IDEOGRAPHIC FULL STOP
        '\u{FF61}', // HALFWIDTH IDEOGRAPHIC FULL STOP
    ];
    !c.is_ascii()
        && (CONFUSABLES.contains(&c)
            || std::iter::once(c)
                .nfkc()
                .any(|n| DELIMITERS.contains(&n) || CONFUSABLES.contains(&n)))
}

/// What the HTTP client towards upstreams and other nodes (the `url` crate, after WHATWG URL)
/// percent-encodes in a path, besides every byte that is not ASCII.
const PATH_AS_SENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'#')
    .add(b'?')
    .add(b'{')
    .add(b'}');
/// The same for the query of an `http(s)` URL.
const QUERY_AS_SENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\'');

/// A request's path and query spelt as they will be sent on (raw UTF-8, `{`, `"` or `'`
/// percent-encoded), so that the target a node checks, hashes and seals is the one the next
/// hop receives: another node verifies the seal over the target as it arrives there.
pub fn as_sent(path: &str, query: Option<&str>) -> (String, Option<String>) {
    (
        utf8_percent_encode(path, PATH_AS_SENT).to_string(),
        query.map(|q| utf8_percent_encode(q, QUERY_AS_SENT).to_string()),
    )
}

/// Checks a request's raw query: no `;`, which some servers take for `&`.
pub fn check_query(query: &str) -> Result<(), ProtocolError> {
    if query.contains(';') {
        return Err(ProtocolError::QuerySemicolon);
    }
    Ok(())
}

/// Parses `/r1/{instance}/{memberClass}/{memberCode}/{subsystemCode}/{serviceCode}[/path]`, the
/// path component of a request (without query). Returns the service and the service path, which
/// starts with `/` (`"/"` when there is none) and is kept percent-encoded as received. Each
/// identifier part is percent-decoded on its own, so `%2F` inside a part stays inside it.
pub fn parse_request_path(raw_path: &str) -> Result<(ServiceId, String), ProtocolError> {
    let not_protocol = || ProtocolError::NotProtocolPath {
        path: raw_path.to_string(),
    };
    let after_slash = raw_path.strip_prefix('/').ok_or_else(not_protocol)?;
    let mut pieces = after_slash.splitn(7, '/');
    let version = pieces.next().unwrap_or_default();
    let is_version = version.len() >= 2
        && version.starts_with('r')
        && version[1..].bytes().all(|b| b.is_ascii_digit());
    if !is_version {
        return Err(not_protocol());
    }
    if version != PROTOCOL_VERSION {
        return Err(ProtocolError::UnsupportedVersion {
            found: version.to_string(),
        });
    }
    let raw_parts: Vec<&str> = pieces.by_ref().take(5).collect();
    if raw_parts.len() < 5 {
        return Err(ProtocolError::MissingServiceParts {
            found: raw_parts.iter().filter(|p| !p.is_empty()).count(),
        });
    }
    let mut decoded = raw_parts
        .iter()
        .zip(SERVICE_PARTS)
        .map(|(raw, name)| decode_part(raw, name, false))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter();
    let mut next = || decoded.next().expect("five parts");
    let service = ServiceId {
        instance: next(),
        member_class: next(),
        member_code: next(),
        subsystem: next(),
        service: next(),
    };

    let rest = format!("/{}", pieces.next().unwrap_or_default());
    if rest.contains("//") {
        return Err(ProtocolError::EmptySegment { path: rest });
    }
    rest[1..].split('/').try_for_each(check_path_segment)?;
    Ok((service, rest))
}

/// Parses an `X-Road-Client` header value: `{instance}/{memberClass}/{memberCode}` and, for a
/// subsystem, `/{subsystemCode}`, each part percent-encoded UTF-8.
pub fn parse_client_header(value: &str) -> Result<ClientId, ProtocolError> {
    let raw_parts: Vec<&str> = value.trim().split('/').collect();
    if !(CLIENT_PARTS.len() - 1..=CLIENT_PARTS.len()).contains(&raw_parts.len()) {
        return Err(ProtocolError::ClientPartCount {
            found: raw_parts.len(),
        });
    }
    let mut decoded = raw_parts
        .iter()
        .zip(CLIENT_PARTS)
        .map(|(raw, name)| decode_part(raw, name, true))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter();
    let mut next = || decoded.next().expect("three parts at least");
    Ok(ClientId {
        instance: next(),
        member_class: next(),
        member_code: next(),
        subsystem: decoded.next(),
    })
}

macro_rules! error_kinds {
    ($($variant:ident => $type:literal, $status:literal, $doc:literal;)+) => {
        /// The X-Road error families a gateway answers with. `Client.*` is the caller's fault,
        /// `Server.ClientProxy.*` the consumer-side gateway's, `Server.ServerProxy.*` the
        /// provider-side gateway's or its service's. Names follow X-Road's `ErrorCodes`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $(#[doc = $doc] $variant,)+
        }

        impl ErrorKind {
            /// Every kind, for lookups and documentation.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant,)+];

            /// The `type` string of the error body and the `X-Road-Error` header value.
            pub fn type_str(self) -> &'static str {
                match self { $(ErrorKind::$variant => $type,)+ }
            }

            /// The HTTP status a gateway answers this kind with.
            pub fn status(self) -> u16 {
                match self { $(ErrorKind::$variant => $status,)+ }
            }
        }
    };
}

error_kinds! {
    BadRequest => "Client.BadRequest", 400,
        "The request does not follow the protocol (path, headers, body framing).";
    InvalidProtocolVersion => "Client.InvalidProtocolVersion", 400,
        "The path names a protocol version other than `r1`.";
    InvalidClientIdentifier => "Client.InvalidClientIdentifier", 400,
        "`X-Road-Client` is malformed or does not match the caller's certificate.";
    InvalidServiceIdentifier => "Client.InvalidServiceIdentifier", 400,
        "The service identifier in the path is malformed.";
    MissingHeader => "Client.MissingHeader", 400,
        "A mandatory header (such as `X-Road-Client`) is absent.";
    InvalidHttpMethod => "Client.InvalidHttpMethod", 405,
        "The HTTP method is not one the protocol carries.";
    RequestTooLarge => "Client.RequestTooLarge", 413,
        "The request body or path exceeds the configured limit.";
    TooManyRequests => "Client.TooManyRequests", 429,
        "The caller exceeded its rate limit.";
    ClientProxySslAuthenticationFailed => "Server.ClientProxy.SslAuthenticationFailed", 403,
        "The consumer gateway could not authenticate the caller's or the peer's TLS certificate.";
    ClientProxyCannotCreateSignature => "Server.ClientProxy.CannotCreateSignature", 500,
        "The consumer gateway could not seal the request.";
    ClientProxyInvalidSignatureValue => "Server.ClientProxy.InvalidSignatureValue", 502,
        "The provider gateway's response seal did not verify.";
    ClientProxyNetworkError => "Server.ClientProxy.NetworkError", 502,
        "The consumer gateway could not reach the provider gateway.";
    ClientProxyOutdatedGlobalConf => "Server.ClientProxy.OutdatedGlobalConf", 503,
        "The gateway has no applied revision of the spec yet (X-Road: no valid global configuration); retry shortly.";
    ClientProxyInternalError => "Server.ClientProxy.InternalError", 500,
        "The consumer gateway failed for a reason of its own.";
    ServerProxySslAuthenticationFailed => "Server.ServerProxy.SslAuthenticationFailed", 403,
        "The provider gateway could not authenticate the consumer gateway's TLS certificate.";
    ServerProxyInvalidSignatureValue => "Server.ServerProxy.InvalidSignatureValue", 400,
        "The request seal did not verify at the provider gateway.";
    AccessDenied => "Server.ServerProxy.AccessDenied", 403,
        "No agreement grants this client this service (or this part of it).";
    UnknownService => "Server.ServerProxy.UnknownService", 404,
        "The provider gateway does not know the service.";
    ServiceDisabled => "Server.ServerProxy.ServiceDisabled", 503,
        "The service exists but is switched off.";
    ServiceFailed => "Server.ServerProxy.ServiceFailed", 502,
        "The provider's information system answered with something the gateway cannot pass on.";
    ServiceTimeout => "Server.ServerProxy.ServiceTimeout", 504,
        "The provider's information system did not answer in time.";
    NetworkError => "Server.ServerProxy.NetworkError", 504,
        "The provider gateway could not reach the provider's information system.";
    LoggingFailed => "Server.ServerProxy.LoggingFailed", 500,
        "The message log could not record the exchange, so it was not carried out.";
    InternalError => "Server.ServerProxy.InternalError", 500,
        "The provider gateway failed for a reason of its own.";
}

impl ErrorKind {
    /// The kind whose `type` string is `value` (as received in `X-Road-Error` from a peer).
    pub fn from_type(value: &str) -> Option<ErrorKind> {
        Self::ALL.iter().copied().find(|k| k.type_str() == value)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_str())
    }
}

/// An error raised by a gateway, answered with the X-Road error body and `X-Road-Error` header.
/// `detail` is the message log entry id, so an operator can find the exchange; it never carries
/// request content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayError {
    pub kind: ErrorKind,
    pub message: String,
    pub detail: String,
}

impl GatewayError {
    pub fn new(kind: ErrorKind, message: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            detail: detail.into(),
        }
    }

    /// The refusal of a malformed path or client header, under its X-Road family.
    pub fn from_protocol(error: &ProtocolError, detail: impl Into<String>) -> Self {
        Self::new(error.kind(), error.to_string(), detail)
    }

    /// The response body: `{"type": …, "message": …, "detail": …}`.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "type": self.kind.type_str(),
            "message": self.message,
            "detail": self.detail,
        })
    }

    /// The value of the `X-Road-Error` response header.
    pub fn header_value(&self) -> &'static str {
        self.kind.type_str()
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (log entry {})",
            self.kind, self.message, self.detail
        )
    }
}

impl std::error::Error for GatewayError {}

/// The `X-Road-Request-Hash` of a request, as PR-REST §4.3 defines it: the base64 of
/// `SHA512(SHA512(headers) ‖ SHA512(body))`, or of `SHA512(headers)` when there is no body (an
/// empty body counts as none). "headers" is the request message as X-Road's `RestRequest`
/// serialises it: the method, CRLF, the raw path with `?query` when there is one, CRLF, then
/// one `name:value` CRLF per header in the order given, all UTF-8. `headers` is the subset that
/// [`in_request_hash`] keeps, as the gateway carries them.
pub fn request_hash(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    let mut message = Vec::new();
    message.extend_from_slice(method.as_bytes());
    message.extend_from_slice(b"\r\n");
    message.extend_from_slice(path_and_query.as_bytes());
    message.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        message.extend_from_slice(name.as_bytes());
        message.push(b':');
        message.extend_from_slice(value.as_bytes());
        message.extend_from_slice(b"\r\n");
    }
    let digest = if body.is_empty() {
        sha512(&message)
    } else {
        let mut both = Vec::with_capacity(128);
        both.extend_from_slice(&sha512(&message));
        both.extend_from_slice(&sha512(body));
        sha512(&both)
    };
    openssl::base64::encode_block(&digest)
}

/// Headers X-Road's `RestRequest` leaves out of the message it hashes: the hop-by-hop ones, those
/// that reveal the origin host, body framing, and any `X-Road-Request-Hash` a caller sent.
const NOT_HASHED: &[&str] = &[
    "transfer-encoding",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
    "connection",
    "user-agent",
    "host",
    "content-length",
    "server",
    "expect",
    "x-road-request-hash",
];

/// Whether a request header is part of the message [`request_hash`] covers.
pub fn in_request_hash(name: &str) -> bool {
    !NOT_HASHED.contains(&name.trim().to_ascii_lowercase().as_str())
}

/// A fresh message id for a request that came without `X-Road-Id`: a UUID v7 (RFC 9562), whose
/// leading milliseconds keep the message log's index of ids appending instead of touching a
/// random page per exchange; the rest is random.
pub fn new_message_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// Whether a header may be forwarded: not hop-by-hop, not `Proxy-*`, and not named in the
/// request's `Connection` header (`connection`, all its values joined with commas if repeated).
pub fn forwardable(name: &str, connection: Option<&str>) -> bool {
    let name = name.trim();
    if hop_by_hop(name) {
        return false;
    }
    !connection
        .into_iter()
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_headers::HOP_BY_HOP;

    fn svc(path: &str) -> Result<(ServiceId, String), ProtocolError> {
        parse_request_path(path)
    }

    #[test]
    fn a_target_is_spelt_as_the_http_client_sends_it() {
        let (path, query) = as_sent("/a/\u{0406}/{1}\"x", Some("q='\u{0406}'&b={1}"));
        assert_eq!(path, "/a/%D0%86/%7B1%7D%22x");
        assert_eq!(query.as_deref(), Some("q=%27%D0%86%27&b={1}"));
        let url =
            url::Url::parse(&format!("http://h{path}?{}", query.as_deref().unwrap())).unwrap();
        assert_eq!((url.path(), url.query()), (path.as_str(), query.as_deref()));
        assert_eq!(as_sent("/p%20q", None), ("/p%20q".to_string(), None));
    }

    #[test]
    fn parses_a_full_path_and_keeps_the_rest_encoded() {
        let (id, rest) = svc("/r1/UA/GOV/12345678/registry/persons/v1/p%20q/1").unwrap();
        assert_eq!(id.to_string(), "UA/GOV/12345678/registry/persons");
        assert_eq!(id.subsystem_id().to_string(), "UA/GOV/12345678/registry");
        assert_eq!(rest, "/v1/p%20q/1");
    }

    #[test]
    fn rest_path_is_root_when_absent_and_keeps_a_trailing_slash() {
        assert_eq!(svc("/r1/UA/GOV/1/reg/svc").unwrap().1, "/");
        assert_eq!(svc("/r1/UA/GOV/1/reg/svc/").unwrap().1, "/");
        assert_eq!(svc("/r1/UA/GOV/1/reg/svc/items/").unwrap().1, "/items/");
    }

    #[test]
    fn encoded_slash_stays_inside_an_identifier_part() {
        let (id, rest) = svc("/r1/UA/GOV/1/reg/BAR%2FSERVICE/x").unwrap();
        assert_eq!(id.service, "BAR/SERVICE");
        assert_eq!(id.subsystem, "reg");
        assert_eq!(id.subsystem_id().subsystem.as_deref(), Some("reg"));
        assert_eq!(rest, "/x");
        let (id, _) = svc("/r1/UA/%D0%9C%D0%A1/1/reg/s").unwrap();
        assert_eq!(id.member_class, "МС");
    }

    #[test]
    fn dot_segments_are_refused_plain_and_encoded() {
        for path in [
            "/r1/UA/GOV/1/reg/svc/..",
            "/r1/UA/GOV/1/reg/svc/a/../b",
            "/r1/UA/GOV/1/reg/svc/./a",
            "/r1/UA/GOV/1/reg/svc/%2e%2e/etc",
            "/r1/UA/GOV/1/reg/svc/%2E%2e",
            "/r1/UA/GOV/1/reg/svc/.%2E",
            "/r1/UA/GOV/1/reg/svc/%2e",
        ] {
            assert!(
                matches!(svc(path), Err(ProtocolError::DotSegment { .. })),
                "{path} was accepted"
            );
        }
        assert!(svc("/r1/UA/GOV/1/reg/svc/...").is_ok());
        assert!(svc("/r1/UA/GOV/1/reg/svc/file.json").is_ok());
    }

    #[test]
    fn paths_an_upstream_would_read_differently_are_refused() {
        let refused = |rest: &str| {
            svc(&format!("/r1/UA/GOV/1/reg/svc{rest}"))
                .err()
                .unwrap_or_else(|| panic!("{rest} passed"))
        };
        for rest in ["/a/%252e%252e/b", "/a/%252fetc", "/%25%32%65%25%32%65/x"] {
            assert!(
                matches!(refused(rest), ProtocolError::DoubleEncoded { .. }),
                "{rest}"
            );
        }
        for rest in ["/a;x=1/b", "/..;/admin", "/a/%3B/b", "/p;"] {
            assert!(
                matches!(refused(rest), ProtocolError::PathParameter { .. }),
                "{rest}"
            );
        }
        for rest in ["/a%3fb=1", "/a%3F", "/x%23frag"] {
            assert!(
                matches!(refused(rest), ProtocolError::ForbiddenCharacter { .. }),
                "{rest}"
            );
        }
        // U+2024 one dot leader, U+FF0E fullwidth full stop, U+FF0F fullwidth solidus,
        // U+2215 division slash, U+FE68 small reverse solidus, U+2025 two dot leader.
        for rest in [
            "/%E2%80%A4%E2%80%A4/x",
            "/%EF%BC%8E%EF%BC%8E/x",
            "/a%EF%BC%8Fb",
            "/a%E2%88%95b",
            "/a%EF%B9%A8b",
            "/%E2%80%A5",
        ] {
            let e = refused(rest);
            assert!(
                matches!(e, ProtocolError::LookAlike { .. }),
                "{rest}: {e:?}"
            );
            assert!(e.to_string().contains("U+"), "{e}");
        }
        // Ordinary text in any script, a literal '%' and encoded spaces pass.
        for rest in [
            "/persons/%D0%86%D0%B2%D0%B0%D0%BD",
            "/a/100%25",
            "/a%20b/c.json",
        ] {
            assert!(
                svc(&format!("/r1/UA/GOV/1/reg/svc{rest}")).is_ok(),
                "{rest}"
            );
        }
        assert_eq!(check_query("a=1;b=2"), Err(ProtocolError::QuerySemicolon));
        assert!(check_query("a=1&b=%3B").is_ok());
    }

    #[test]
    fn empty_segments_and_encoded_slashes_in_the_rest_are_refused() {
        assert!(matches!(
            svc("/r1/UA/GOV/1/reg/svc//a"),
            Err(ProtocolError::EmptySegment { .. })
        ));
        assert!(matches!(
            svc("/r1/UA/GOV/1/reg/svc/a//"),
            Err(ProtocolError::EmptySegment { .. })
        ));
        assert!(matches!(
            svc("/r1/UA/GOV/1/reg/svc/..%2Fsecret"),
            Err(ProtocolError::EncodedSlash { .. })
        ));
    }

    #[test]
    fn control_characters_backslashes_and_bad_escapes_are_refused() {
        for (path, character) in [
            ("/r1/UA/GOV/1/reg/svc/a%00b", '\0'),
            ("/r1/UA/GOV/1/reg/svc/a\\b", '\\'),
            ("/r1/UA/GOV/1/reg/svc/a%5C..", '\\'),
            ("/r1/UA/GOV/1/reg/svc/a%0Ab", '\n'),
            ("/r1/UA/GOV/1/reg%7F/svc", '\u{7f}'),
            ("/r1/UA/GOV/1/reg/svc/a?x=1", '?'),
        ] {
            match svc(path) {
                Err(ProtocolError::ForbiddenCharacter { character: c, .. }) => {
                    assert_eq!(c, character, "{path}")
                }
                other => panic!("{path}: {other:?}"),
            }
        }
        assert!(matches!(
            svc("/r1/UA/GOV/1/reg/svc/100%"),
            Err(ProtocolError::BadPercentEncoding { .. })
        ));
        assert!(matches!(
            svc("/r1/UA/GOV/1/reg/s%zz"),
            Err(ProtocolError::BadPercentEncoding { .. })
        ));
        assert!(matches!(
            svc("/r1/UA/GOV/1/reg/svc/%C3%28"),
            Err(ProtocolError::NotUtf8 { .. })
        ));
    }

    #[test]
    fn empty_and_missing_identifier_parts_are_refused() {
        let err = svc("/r1/UA//1/reg/svc").unwrap_err();
        assert_eq!(
            err,
            ProtocolError::EmptyPart {
                header: false,
                part: "member class"
            }
        );
        assert!(err.to_string().contains("member class"));
        assert_eq!(err.kind(), ErrorKind::InvalidServiceIdentifier);
        assert!(matches!(
            svc("/r1/UA/GOV/1/reg/"),
            Err(ProtocolError::EmptyPart {
                part: "service code",
                ..
            })
        ));
        assert_eq!(
            svc("/r1/UA/GOV/1"),
            Err(ProtocolError::MissingServiceParts { found: 3 })
        );
    }

    #[test]
    fn other_versions_are_refused_naming_the_supported_one() {
        let err = svc("/r2/UA/GOV/1/reg/svc").unwrap_err();
        assert_eq!(
            err,
            ProtocolError::UnsupportedVersion { found: "r2".into() }
        );
        assert!(err.to_string().contains("\"r1\""));
        assert_eq!(err.kind().type_str(), "Client.InvalidProtocolVersion");
        for path in [
            "",
            "r1/UA/GOV/1/reg/svc",
            "/v1/UA/GOV/1/reg/svc",
            "/r/a",
            "/",
        ] {
            assert!(
                matches!(svc(path), Err(ProtocolError::NotProtocolPath { .. })),
                "{path:?}"
            );
        }
    }

    #[test]
    fn client_header_parses_with_each_part_decoded() {
        let id = parse_client_header("UA/GOV/87654321/portal").unwrap();
        assert_eq!(id.subsystem.as_deref(), Some("portal"));
        assert_eq!(id.to_string(), "UA/GOV/87654321/portal");
        let id = parse_client_header(" UA/GOV/1/my%2Fportal%20x ").unwrap();
        assert_eq!(id.subsystem.as_deref(), Some("my/portal x"));
    }

    #[test]
    fn a_member_calls_without_a_subsystem() {
        let id = parse_client_header("UA/GOV/87654321").unwrap();
        assert_eq!(id.member_code, "87654321");
        assert_eq!(id.subsystem, None);
        assert_eq!(id.to_string(), "UA/GOV/87654321");
    }

    #[test]
    fn client_header_refuses_wrong_counts_empty_parts_and_bad_bytes() {
        let err = parse_client_header("UA/GOV").unwrap_err();
        assert_eq!(err, ProtocolError::ClientPartCount { found: 2 });
        assert!(err.to_string().contains("needs 3 or 4"));
        assert_eq!(err.kind(), ErrorKind::InvalidClientIdentifier);
        assert_eq!(
            parse_client_header("UA/GOV/1/portal/extra"),
            Err(ProtocolError::ClientPartCount { found: 5 })
        );
        assert_eq!(
            parse_client_header("UA/GOV//portal"),
            Err(ProtocolError::EmptyPart {
                header: true,
                part: "member code"
            })
        );
        assert!(matches!(
            parse_client_header(""),
            Err(ProtocolError::ClientPartCount { found: 1 })
        ));
        assert!(matches!(
            parse_client_header("UA/GOV/1/%FF"),
            Err(ProtocolError::NotUtf8 { .. })
        ));
        assert!(matches!(
            parse_client_header("UA/GOV/1/a%0D%0Ab"),
            Err(ProtocolError::ForbiddenCharacter { .. })
        ));
    }

    #[test]
    fn error_kinds_follow_x_road_families_and_statuses() {
        assert_eq!(ErrorKind::BadRequest.status(), 400);
        assert_eq!(
            ErrorKind::AccessDenied.type_str(),
            "Server.ServerProxy.AccessDenied"
        );
        assert_eq!(ErrorKind::AccessDenied.status(), 403);
        assert_eq!(ErrorKind::UnknownService.status(), 404);
        assert_eq!(ErrorKind::ServiceFailed.status(), 502);
        assert_eq!(ErrorKind::ServiceTimeout.status(), 504);
        assert_eq!(ErrorKind::NetworkError.status(), 504);
        assert_eq!(ErrorKind::RequestTooLarge.status(), 413);
        assert_eq!(ErrorKind::TooManyRequests.status(), 429);
        assert_eq!(ErrorKind::InternalError.status(), 500);
        let mut seen = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            let t = kind.type_str();
            assert!(seen.insert(t), "{t} twice");
            assert!(
                t.starts_with("Client.")
                    || t.starts_with("Server.ClientProxy.")
                    || t.starts_with("Server.ServerProxy."),
                "{t}"
            );
            let family_status = if t.starts_with("Client.") {
                400..500
            } else {
                400..600
            };
            assert!(family_status.contains(&kind.status()), "{t}");
            assert_eq!(ErrorKind::from_type(t), Some(*kind));
        }
        assert_eq!(ErrorKind::from_type("Server.Nonsense"), None);
    }

    #[test]
    fn gateway_error_body_and_header() {
        let err = GatewayError::new(
            ErrorKind::AccessDenied,
            "no agreement grants UA/GOV/1/portal the service UA/GOV/2/reg/persons",
            "7f1c",
        );
        assert_eq!(
            err.body(),
            json!({
                "type": "Server.ServerProxy.AccessDenied",
                "message": "no agreement grants UA/GOV/1/portal the service UA/GOV/2/reg/persons",
                "detail": "7f1c",
            })
        );
        assert_eq!(err.header_value(), "Server.ServerProxy.AccessDenied");
        assert_eq!(err.status(), 403);

        let refused = svc("/r1/UA/GOV/1/reg/svc/%2e%2e").unwrap_err();
        let err = GatewayError::from_protocol(&refused, "id-1");
        assert_eq!(err.kind, ErrorKind::BadRequest);
        assert_eq!(err.body()["message"], refused.to_string());
    }

    // Expected values computed independently with Python's hashlib over the same bytes.
    #[test]
    fn request_hash_matches_the_pr_rest_definition() {
        let with_body = request_hash(
            "POST",
            "/r1/UA/GOV/12345678/registry/persons/p/1?x=1",
            &[
                ("X-Road-Client", "UA/GOV/87654321/portal"),
                ("Content-Type", "application/json"),
            ],
            br#"{"a":1}"#,
        );
        assert_eq!(
            with_body,
            "/wWn/ryKMQV5gmLvwwUJU0dRND4vk0ztSZ17EijaV/vrTEiZGDzBtpo9FD36H9i1Ns2Xf5qYW36C+sOqfmmLvQ=="
        );
        let without_body = request_hash(
            "GET",
            "/r1/UA/GOV/12345678/registry/persons",
            &[("X-Road-Client", "UA/GOV/87654321/portal")],
            b"",
        );
        assert_eq!(
            without_body,
            "2VVk+f2Lmuz81FUqWNQy/lB7TQttYgY6DQrFa/EsNqrpkj1dGte7fpcesFBrrDlEBEx2ERAo7MS6aGOWALuXig=="
        );
    }

    #[test]
    fn request_hash_covers_end_to_end_headers_only() {
        for name in [
            "Host",
            "content-length",
            "User-Agent",
            "X-Road-Request-Hash",
            "Connection",
        ] {
            assert!(!in_request_hash(name), "{name}");
        }
        for name in ["X-Road-Client", "Content-Type", "Accept", "X-Road-Id"] {
            assert!(in_request_hash(name), "{name}");
        }
    }

    #[test]
    fn request_hash_changes_with_every_input() {
        let base = request_hash("GET", "/p", &[("A", "1")], b"x");
        assert_ne!(base, request_hash("PUT", "/p", &[("A", "1")], b"x"));
        assert_ne!(base, request_hash("GET", "/p?q", &[("A", "1")], b"x"));
        assert_ne!(base, request_hash("GET", "/p", &[("A", "2")], b"x"));
        assert_ne!(base, request_hash("GET", "/p", &[("A", "1")], b"y"));
        assert_ne!(base, request_hash("GET", "/p", &[("A", "1")], b""));
    }

    #[test]
    fn message_ids_are_distinct_time_ordered_uuids() {
        let a = new_message_id();
        let b = new_message_id();
        assert!(a < b, "{a} then {b}");
        for id in [&a, &b] {
            let groups: Vec<&str> = id.split('-').collect();
            assert_eq!(
                groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
            assert!(groups[2].starts_with('7'), "{id}");
            assert!(
                matches!(groups[3].chars().next(), Some('8' | '9' | 'a' | 'b')),
                "{id}"
            );
        }
    }

    #[test]
    fn hop_by_hop_headers_are_never_forwarded() {
        for name in HOP_BY_HOP {
            assert!(!forwardable(name, None), "{name}");
        }
        assert!(!forwardable("Transfer-Encoding", None));
        assert!(!forwardable("Proxy-Foo", None));
        assert!(!forwardable("HOST", None));
        assert!(forwardable("Content-Type", None));
        assert!(forwardable("X-Road-Client", Some("keep-alive")));
    }

    #[test]
    fn headers_named_in_connection_are_not_forwarded() {
        let connection = Some("keep-alive, X-Secret-Hop ,close");
        assert!(!forwardable("x-secret-hop", connection));
        assert!(!forwardable("Close", connection));
        assert!(forwardable("X-Other", connection));
        assert!(forwardable("Accept", Some("")));
    }
}
