//! Content codings of answers: a provider's body is decoded (gzip, deflate) within the body limit,
//! so that a small bomb never expands past it, before it is projected; the released body is
//! encoded again as the consumer's `Accept-Encoding` allows.

use std::io::{Read, Write};

use axum::body::Bytes;
use flate2::Compression;
use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use flate2::write::GzEncoder;

/// What the gateway asks a provider's system for: the codings it can decode.
pub const DECODABLE: &str = "gzip, deflate";

/// The other content codings of the IANA registry, the only ones an error may name.
const REGISTERED: &[&str] = &[
    "aes128gcm",
    "br",
    "compress",
    "dcb",
    "dcz",
    "exi",
    "pack200-gzip",
    "x-compress",
    "zstd",
];

/// The most codings one body is decoded from: each is undone over the whole body, so a header
/// listing thousands over a body nested as deep would cost time quadratic in its size.
pub const MAX_CODINGS: usize = 3;

/// Why a provider's body could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Decoded, it is larger than the gateway carries.
    TooLarge,
    /// A coding the gateway does not decode: its registered name, or `None` for a name the
    /// provider made up (which is never repeated, as it can carry anything).
    Unsupported(Option<&'static str>),
    /// The body is not valid in its stated coding.
    Corrupt,
    /// More codings are stated than [`MAX_CODINGS`]: how many.
    TooManyCodings(usize),
}

/// `body` decoded from the codings of `Content-Encoding` (applied in the order listed, so
/// undone in reverse), at most `max` bytes; `identity` and no header leave it as it is.
pub fn decode(
    content_encoding: Option<&str>,
    body: Bytes,
    max: usize,
) -> Result<Bytes, DecodeError> {
    let codings: Vec<String> = content_encoding
        .unwrap_or_default()
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect();
    // HEAD, 204 and 304 answers state the coding of a body they do not carry.
    if body.is_empty() {
        return Ok(body);
    }
    if codings.len() > MAX_CODINGS {
        return Err(DecodeError::TooManyCodings(codings.len()));
    }
    let mut body = body;
    for coding in codings.iter().rev() {
        let decoded = match coding.as_str() {
            "gzip" | "x-gzip" => bounded(MultiGzDecoder::new(&body[..]), max)?,
            "deflate" if is_zlib(&body) => bounded(ZlibDecoder::new(&body[..]), max)?,
            // Without the zlib wrapper, as some servers send it (RFC 9110 §8.4.1.2).
            "deflate" => bounded(DeflateDecoder::new(&body[..]), max)?,
            other => {
                let known = REGISTERED.iter().find(|known| **known == other).copied();
                return Err(DecodeError::Unsupported(known));
            }
        };
        body = Bytes::from(decoded);
    }
    Ok(body)
}

/// Whether `body` starts with a zlib header: the deflate method and a valid check (RFC 1950).
fn is_zlib(body: &[u8]) -> bool {
    match body {
        [cmf, flg, ..] => cmf & 0x0F == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

fn bounded(reader: impl Read, max: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    reader
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| DecodeError::Corrupt)?;
    if out.len() > max {
        return Err(DecodeError::TooLarge);
    }
    Ok(out)
}

/// `body` encoded for a consumer that sent `accept_encoding`, and the `Content-Encoding` to
/// state: gzip when it accepts gzip (by name or `*`, with a non-zero quality), else unchanged.
pub fn encode(accept_encoding: Option<&str>, body: Bytes) -> (Bytes, Option<&'static str>) {
    if body.is_empty() || !accepts_gzip(accept_encoding.unwrap_or_default()) {
        return (body, None);
    }
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    let encoded = encoder
        .write_all(&body)
        .and_then(|()| encoder.finish())
        .expect("gzip into memory does not fail");
    (Bytes::from(encoded), Some("gzip"))
}

fn accepts_gzip(accept: &str) -> bool {
    let mut named = None;
    let mut any = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match coding.as_str() {
            "gzip" | "x-gzip" => named = Some(quality > 0.0),
            "*" => any = Some(quality > 0.0),
            _ => {}
        }
    }
    named.or(any).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Bytes {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        Bytes::from(e.finish().unwrap())
    }

    #[test]
    fn a_body_is_decoded_from_a_few_codings_at_most() {
        let json = br#"{"a":1}"#;
        let mut body = Bytes::from_static(json);
        for _ in 0..MAX_CODINGS {
            body = gzip(&body);
        }
        let stated = ["gzip"; MAX_CODINGS].join(", ");
        assert_eq!(decode(Some(&stated), body.clone(), 100).unwrap(), &json[..]);
        let nested = gzip(&body);
        let stated = ["gzip"; MAX_CODINGS + 1].join(", ");
        assert_eq!(
            decode(Some(&stated), nested, 100),
            Err(DecodeError::TooManyCodings(MAX_CODINGS + 1))
        );
    }

    #[test]
    fn gzip_and_deflate_decode_and_identity_stays() {
        let json = br#"{"a":1}"#;
        assert_eq!(decode(Some("gzip"), gzip(json), 100).unwrap(), &json[..]);
        assert_eq!(
            decode(Some("GZIP, identity"), gzip(json), 100).unwrap(),
            &json[..]
        );
        assert_eq!(
            decode(Some("gzip, gzip"), gzip(&gzip(json)), 100).unwrap(),
            &json[..]
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(json).unwrap();
        let deflated = Bytes::from(z.finish().unwrap());
        assert_eq!(decode(Some("deflate"), deflated, 100).unwrap(), &json[..]);
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
        raw.write_all(json).unwrap();
        let raw = Bytes::from(raw.finish().unwrap());
        assert_eq!(decode(Some("deflate"), raw, 100).unwrap(), &json[..]);
        assert_eq!(
            decode(None, Bytes::from_static(json), 100).unwrap(),
            &json[..]
        );
        assert_eq!(decode(Some("gzip"), Bytes::new(), 100).unwrap(), "");
    }

    #[test]
    fn a_bomb_stops_at_the_limit_and_strange_codings_are_named() {
        let bomb = gzip(&vec![b' '; 10_000_000]);
        assert!(bomb.len() < 20_000);
        assert_eq!(
            decode(Some("gzip"), bomb, 1_000_000),
            Err(DecodeError::TooLarge)
        );
        assert_eq!(
            decode(Some("br"), Bytes::from_static(b"x"), 10),
            Err(DecodeError::Unsupported(Some("br")))
        );
        assert_eq!(
            decode(Some("x-3012345678"), Bytes::from_static(b"x"), 10),
            Err(DecodeError::Unsupported(None))
        );
        assert_eq!(
            decode(Some("gzip"), Bytes::from_static(b"not gzip"), 10),
            Err(DecodeError::Corrupt)
        );
    }

    #[test]
    fn gzip_is_used_only_where_the_consumer_accepts_it() {
        let body = Bytes::from_static(b"{\"a\":1}");
        let (encoded, coding) = encode(Some("br, gzip;q=0.5"), body.clone());
        assert_eq!(coding, Some("gzip"));
        assert_eq!(decode(coding, encoded, 100).unwrap(), body);
        for refused in [
            None,
            Some("br"),
            Some("gzip;q=0"),
            Some("*;q=0"),
            Some("identity"),
        ] {
            assert_eq!(
                encode(refused, body.clone()),
                (body.clone(), None),
                "{refused:?}"
            );
        }
        assert_eq!(encode(Some("*"), body.clone()).1, Some("gzip"));
        assert_eq!(encode(Some("gzip"), Bytes::new()), (Bytes::new(), None));
    }
}
