//! The operators who may suspend, resume and pin reconciling: `--operator-tokens FILE`, one
//! `name:sha256-hex` a line (the hex SHA-256 of the operator's bearer token; `#` comments and
//! blank lines allowed). Only digests are kept; a token is matched in constant time.

use std::path::Path;

/// The operators read from the file.
#[derive(Debug, Clone)]
pub struct Operators {
    entries: Vec<(String, [u8; 32])>,
}

impl Operators {
    /// Reads the file; any malformed line is an error naming the file and line.
    pub fn load(path: &Path) -> Result<Operators, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the operator tokens file {}: {e}; pass a readable file with \
                 --operator-tokens",
                path.display()
            )
        })?;
        Operators::parse(&text).map_err(|(line, e)| format!("{}:{line}: {e}", path.display()))
    }

    fn parse(text: &str) -> Result<Operators, (usize, String)> {
        let mut entries: Vec<(String, [u8; 32])> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |e: String| (n + 1, e);
            let (name, digest) = line.split_once(':').ok_or_else(|| {
                fail(
                    "expected `name:sha256-hex` (e.g. the output of `printf %s TOKEN | sha256sum`)"
                        .into(),
                )
            })?;
            let name = name.trim();
            let valid_name = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
            if !valid_name {
                return Err(fail(format!(
                    "`{name}` is not an operator name (1 to 64 letters, digits, `.`, `_`, `@`, `-`)"
                )));
            }
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(digest.trim(), &mut bytes).map_err(|_| {
                fail(format!(
                    "the digest of `{name}` is not 64 hex digits; write the SHA-256 of the token, \
                     never the token itself"
                ))
            })?;
            if entries.iter().any(|(known, _)| known == name) {
                return Err(fail(format!("operator `{name}` is listed twice")));
            }
            entries.push((name.to_string(), bytes));
        }
        if entries.is_empty() {
            return Err((0, "lists no operator".into()));
        }
        Ok(Operators { entries })
    }

    /// The operator whose token this is. Every entry is compared, each in constant time.
    pub fn who(&self, token: &str) -> Option<&str> {
        let digest = crate::crypto::sha256(token.as_bytes());
        let mut found = None;
        for (name, known) in &self.entries {
            if openssl::memcmp::eq(known, &digest) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_operator_and_bad_lines_are_named() {
        let olena = crate::crypto::sha256_hex(b"t0ken-olena");
        let operators = Operators::parse(&format!("# ops\n\nolena:{olena}\n")).unwrap();
        assert_eq!(operators.who("t0ken-olena"), Some("olena"));
        assert_eq!(operators.who("t0ken-olen"), None);
        assert_eq!(Operators::parse("olena\n").unwrap_err().0, 1);
        let (line, e) = Operators::parse(&format!("a:{olena}\nb:xyz\n")).unwrap_err();
        assert_eq!(line, 2);
        assert!(e.contains("64 hex digits"), "{e}");
        let (line, e) = Operators::parse(&format!("a:{olena}\na:{olena}\n")).unwrap_err();
        assert_eq!((line, e.contains("twice")), (2, true));
        assert!(Operators::parse("# nobody\n").is_err());
    }
}
