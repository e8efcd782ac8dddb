//! The XML a message is written as: indented elements, attributes in the order given (an absent
//! one left out), values escaped so that they read back as written: line breaks and tabs in
//! attributes as character references, a character XML cannot carry as U+FFFD.

pub(super) type Attributes<'a> = [(&'a str, Option<&'a str>)];

#[derive(Default)]
pub(super) struct Out {
    pub xml: String,
    depth: usize,
}

pub(super) fn flag(value: bool) -> Option<&'static str> {
    Some(if value { "1" } else { "0" })
}

impl Out {
    fn open_tag(&mut self, name: &str, attributes: &Attributes) {
        for _ in 0..self.depth {
            self.xml.push_str("  ");
        }
        self.xml.push('<');
        self.xml.push_str(name);
        for (key, value) in attributes {
            if let Some(value) = value {
                self.xml.push(' ');
                self.xml.push_str(key);
                self.xml.push_str("=\"");
                escape(&mut self.xml, value, true);
                self.xml.push('"');
            }
        }
    }

    pub fn start(&mut self, name: &str, attributes: &Attributes) {
        self.open_tag(name, attributes);
        self.xml.push_str(">\n");
        self.depth += 1;
    }

    pub fn end(&mut self, name: &str) {
        self.depth -= 1;
        for _ in 0..self.depth {
            self.xml.push_str("  ");
        }
        self.xml.push_str("</");
        self.xml.push_str(name);
        self.xml.push_str(">\n");
    }

    /// An element of simple content: `text` (none: an empty element).
    pub fn leaf(&mut self, name: &str, attributes: &Attributes, text: &str) {
        self.open_tag(name, attributes);
        if text.is_empty() {
            self.xml.push_str("/>\n");
        } else {
            self.xml.push('>');
            escape(&mut self.xml, text, false);
            self.xml.push_str("</");
            self.xml.push_str(name);
            self.xml.push_str(">\n");
        }
    }
}

/// `text` escaped into `out`: markup characters always; in an attribute also `"` and the
/// whitespace a reader would turn into spaces; `\r` everywhere (a reader would drop it).
fn escape(out: &mut String, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if allowed_in_xml(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// XML 1.0's `Char`.
fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_reader_would_change_is_written_as_a_reference() {
        let mut attribute = String::new();
        escape(&mut attribute, "a\u{1}b\r\n\t\"<&>'", true);
        assert_eq!(attribute, "a\u{FFFD}b&#13;&#10;&#9;&quot;&lt;&amp;&gt;'");
        let mut text = String::new();
        escape(&mut text, "a\u{1}b\r\n\t\"", false);
        assert_eq!(text, "a\u{FFFD}b&#13;\n\t\"");
    }
}
