//! JSON another party sent, read within bounds before it is held in memory: a body of tiny values
//! (`[0,0,…]`) would make a node hold dozens of times the body limit, and nesting beyond what
//! serde_json reads is told apart from a body that is not JSON. Answers and request bodies alike.

use serde_json::Value;

/// Why a body was not read as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Not JSON; what the reader found wrong, and where.
    NotJson(String),
    /// Nested deeper than serde_json reads (128 levels).
    TooDeep,
    /// More values than `max_values` allows.
    TooManyValues(usize),
}

/// The most values (keys included) the gateway reads whole from a body under a limit of
/// `max_body` bytes: in memory each costs about a hundred bytes, so that tiny values (`0,`) would
/// make one body hold dozens of times the limit.
pub fn max_values(max_body: usize) -> usize {
    (max_body / 16).max(65_536)
}

/// `body` read as JSON, a byte order mark before it ignored (RFC 8259 §8.1).
pub fn read(body: &[u8], max_values: usize) -> Result<Value, Unreadable> {
    let text = bounded(body, max_values)?;
    serde_json::from_slice(text).map_err(|e| {
        if e.to_string().starts_with("recursion limit exceeded") {
            Unreadable::TooDeep
        } else {
            Unreadable::NotJson(e.to_string())
        }
    })
}

/// The JSON text of `body` (without a byte order mark) if it holds at most `max_values` values,
/// before anything of it is read.
pub fn bounded(body: &[u8], max_values: usize) -> Result<&[u8], Unreadable> {
    let text = body.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(body);
    if values_at_most(text) > max_values {
        return Err(Unreadable::TooManyValues(max_values));
    }
    Ok(text)
}

/// An upper bound of the values and keys in a JSON text, counted by the characters that start
/// or separate them outside strings, without reading it. A string is passed over by searching
/// for its quote or backslash rather than byte by byte: this runs over every answer.
fn values_at_most(text: &[u8]) -> usize {
    let mut count = 1;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                i += 1;
                loop {
                    match text
                        .get(i..)
                        .and_then(|rest| rest.iter().position(|&b| b == b'"' || b == b'\\'))
                    {
                        None => return count,
                        // The escaped character is passed over, whatever it is.
                        Some(at) if text[i + at] == b'\\' => i += at + 2,
                        Some(at) => {
                            i += at;
                            break;
                        }
                    }
                }
            }
            b',' | b':' | b'[' | b'{' => count += 1,
            _ => {}
        }
        i += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_counted_outside_strings_and_bounded() {
        assert_eq!(values_at_most(br#"{"a": [1, 2], "b": "x,:[{\"y"}"#), 7);
        assert_eq!(values_at_most(b"0"), 1);
        for (text, count) in [
            (&br#""a\""#[..], 1),
            (br#"["\\",1]"#, 3),
            (br#"{"a\\":[1,2]}"#, 5),
            (br#"["a\",1]"#, 2),
            (b"\"", 1),
            (b"[1,\"a\\", 3),
        ] {
            assert_eq!(
                values_at_most(text),
                count,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        assert!(read(b"[0,0,0]", 4).is_ok());
        assert_eq!(read(b"[0,0,0,0]", 4), Err(Unreadable::TooManyValues(4)));
        assert_eq!(max_values(10 << 20), 655_360);
        assert_eq!(max_values(1024), 65_536);
    }

    #[test]
    fn nesting_too_deep_is_told_apart_from_invalid_json() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(read(deep.as_bytes(), 1000), Err(Unreadable::TooDeep));
        assert!(matches!(read(b"{", 1000), Err(Unreadable::NotJson(_))));
        assert!(read("\u{FEFF} {}".as_bytes(), 1000).is_ok());
    }
}
