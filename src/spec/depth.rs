//! Bounds a KDL file must keep before a recursive parser sees it: how deep it nests (H0005), and
//! the size, braces and comment marks under which the `kdl` crate, recursing per children block,
//! per part of a block comment and per stray token it recovers from, fits the reader's stack.

/// The deepest nesting of children blocks a spec file may use (the example city uses 4).
pub const MAX_DEPTH: usize = 64;

/// The most `*` and `/` a block comment may hold, counting those of comments nested in it.
pub const MAX_COMMENT_TOKENS: usize = 10_000;

/// The most braces a file handed to the `kdl` crate may hold. Its error recovery can read braces
/// inside a broken string as blocks, and it recurses once more for every stray `}`, so only the
/// count of all braces bounds how deep it recurses (a level of children takes some 30 KB of stack
/// in a debug build; the 256 MB reader stack holds 8,000).
pub const MAX_KDL_BRACES: usize = 4_000;

/// The largest file handed to the `kdl` crate: its recovery recurses once more for every
/// stray token at the top level (`=`, `)`, `\\`, …), each of at least one byte.
pub const MAX_KDL_BYTES: usize = 64 << 10;

/// Whether the `kdl` crate can parse `text` within the reader's stack whatever it makes of it:
/// its recursion is bounded by the size, the number of braces and of `*` and `/` (comments).
pub fn fits_kdl(text: &str) -> bool {
    let (mut braces, mut comment) = (0, 0);
    for b in text.bytes() {
        match b {
            b'{' | b'}' => braces += 1,
            b'*' | b'/' => comment += 1,
            _ => {}
        }
    }
    text.len() <= MAX_KDL_BYTES && braces <= MAX_KDL_BRACES && comment <= 2 * MAX_COMMENT_TOKENS
}

/// What makes a file too deep for the parsers, and the byte where the bound was passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooDeep {
    Children(usize),
    Comment(usize),
}

/// Scans `text` as the `kdl` crate would nest it: children blocks outside strings and comments,
/// and the tokens of block comments. Strings are skipped as KDL writes them (a single-line
/// string ends at its line's end even when unterminated), so no brace in a string counts.
pub fn check(text: &str) -> Result<(), TooDeep> {
    let s = text.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    while i < s.len() {
        match s[i] {
            b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(TooDeep::Children(i));
                }
                i += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'/' if s.get(i + 1) == Some(&b'/') => i = line_end(s, i),
            b'/' if s.get(i + 1) == Some(&b'*') => i = block_comment(s, i)?,
            b'"' => i = quoted(s, i, 0),
            b'#' => {
                let hashes = s[i..].iter().take_while(|b| **b == b'#').count();
                i = match s.get(i + hashes) {
                    Some(b'"') => quoted(s, i + hashes, hashes),
                    _ => i + hashes,
                };
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn line_end(s: &[u8], from: usize) -> usize {
    s[from..]
        .iter()
        .position(|b| matches!(b, b'\n' | b'\r' | 0x0C))
        .map_or(s.len(), |p| from + p)
}

/// The end of a block comment starting at `from` (`/*`), or the end of the text.
fn block_comment(s: &[u8], from: usize) -> Result<usize, TooDeep> {
    let mut i = from;
    let mut depth = 0usize;
    let mut tokens = 0usize;
    while i < s.len() {
        if s[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if s[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Ok(i);
            }
        } else if matches!(s[i], b'*' | b'/') {
            i += 1;
        } else {
            i += s[i..]
                .iter()
                .position(|b| matches!(b, b'*' | b'/'))
                .unwrap_or(s.len() - i);
        }
        tokens += 1;
        if tokens > MAX_COMMENT_TOKENS {
            return Err(TooDeep::Comment(i));
        }
    }
    Ok(s.len())
}

/// The end of a string opening at `from` (a `"` after `hashes` hashes): a multi-line string
/// ends at its closing `"""`, a single-line one at its closing quote or its line's end.
fn quoted(s: &[u8], from: usize, hashes: usize) -> usize {
    let closes = |at: usize| s[at..].iter().take(hashes).filter(|b| **b == b'#').count() == hashes;
    if s[from..].starts_with(b"\"\"\"") {
        let mut i = from + 3;
        while i < s.len() {
            match s[i] {
                b'\\' if hashes == 0 => i += 2,
                b'"' if s[i..].starts_with(b"\"\"\"") && closes(i + 3) => return i + 3 + hashes,
                _ => i += 1,
            }
        }
        return s.len();
    }
    let mut i = from + 1;
    while i < s.len() {
        match s[i] {
            b'\\' if hashes == 0 => i += 2,
            b'"' if closes(i + 1) => return i + 1 + hashes,
            b'\n' | b'\r' | 0x0C => return i,
            _ => i += 1,
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_past_the_bound_is_found_where_it_passes_it() {
        let ok = "a {".repeat(MAX_DEPTH) + &"}".repeat(MAX_DEPTH);
        assert_eq!(check(&ok), Ok(()));
        let deep = "a {".repeat(MAX_DEPTH + 1);
        assert_eq!(check(&deep), Err(TooDeep::Children(deep.len() - 1)));
    }

    #[test]
    fn braces_in_strings_and_comments_do_not_count() {
        let braces = "{".repeat(MAX_DEPTH + 1);
        for text in [
            format!("a \"{braces}\""),
            format!("a #\"{braces}\"#"),
            format!("a ##\"\"\"\n{braces}\"\"\"#\n\"\"\"##"),
            format!("a \"\"\"\n{braces}\n\"\"\""),
            format!("a // {braces}"),
            format!("a /* {braces} */"),
        ] {
            assert_eq!(check(&text), Ok(()), "{text}");
        }
    }

    #[test]
    fn an_unterminated_string_ends_at_its_line() {
        let text = "a \"open\n".to_string() + &"b {".repeat(MAX_DEPTH + 1);
        assert!(matches!(check(&text), Err(TooDeep::Children(_))));
    }

    #[test]
    fn a_comment_of_too_many_tokens_is_refused() {
        let text = format!("/* {} */", "* ".repeat(MAX_COMMENT_TOKENS));
        assert!(matches!(check(&text), Err(TooDeep::Comment(_))));
        let nested = "/*".repeat(MAX_COMMENT_TOKENS + 1);
        assert!(matches!(check(&nested), Err(TooDeep::Comment(_))));
    }
}
