//! The short code printed on an issued document that, with its number, lets anyone verify it:
//! 10 characters of Crockford's base32 (50 random bits), read back forgivingly (case, spaces,
//! dashes, and the letters people mistake for digits).

/// Crockford's base32 alphabet: no I, L, O or U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code: 50 bits, far beyond guessing through a rate-limited page.
pub const LENGTH: usize = 10;

/// A new random code, written `XXXXX-XXXXX`.
pub fn new_code() -> Result<String, String> {
    let mut bytes = [0u8; LENGTH];
    openssl::rand::rand_bytes(&mut bytes)
        .map_err(|e| format!("cannot draw a verification code from the system's RNG: {e}"))?;
    let chars: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

/// `input` as a code is stored (`XXXXX-XXXXX`), or `None` when it cannot be one.
pub fn normalise(input: &str) -> Option<String> {
    let mut chars = String::with_capacity(LENGTH);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\u{2010}'..='\u{2015}' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        chars.push(c);
    }
    (chars.len() == LENGTH).then(|| format!("{}-{}", &chars[..5], &chars[5..]))
}

/// Whether `given` (normalised) is `stored`, in time independent of where they differ.
pub fn matches(stored: &str, given: &str) -> bool {
    stored.len() == given.len() && openssl::memcmp::eq(stored.as_bytes(), given.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_and_read_back_however_a_person_types_them() {
        let a = new_code().unwrap();
        let b = new_code().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), LENGTH + 1);
        assert_eq!(normalise(&a).as_deref(), Some(a.as_str()));
        let typed = format!(" {} ", a.to_lowercase().replace('-', " "));
        assert_eq!(normalise(&typed).as_deref(), Some(a.as_str()));
        assert_eq!(normalise("o1il0-abcde").as_deref(), Some("01110-ABCDE"));
        for wrong in ["", "ABCDE", "ABCDE-FGHJKM", "ABCDE-FGHJU", "АБВГД-ЕЖЗИК"] {
            assert_eq!(normalise(wrong), None, "{wrong}");
        }
        assert!(matches(&a, &a));
        assert!(!matches(&a, &b));
    }
}
