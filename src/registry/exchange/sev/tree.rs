//! A message's XML read into a small tree by quick-xml, under bounds: no DOCTYPE (so no DTD and
//! no entity but XML's five), at most `MAX_DEPTH` deep, `MAX_ELEMENTS` elements and
//! `MAX_ATTRIBUTES` a element, one root, nothing cut short.

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::{MAX_ATTRIBUTES, MAX_DEPTH, MAX_ELEMENTS, SevError};

/// One element: its name as written, its attributes (values unescaped and normalised), its
/// child elements in order and its text (all text nodes joined).
#[derive(Debug)]
pub(super) struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

/// The root element of `xml`.
pub(super) fn parse(xml: &str) -> Result<Element, SevError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let at = reader.error_position() as usize;
                return Err(SevError::new(
                    path(&stack),
                    format!(
                        "not well-formed XML at line {}: {}",
                        line_of(xml, at),
                        shortened(&e.to_string())
                    ),
                ));
            }
        };
        match event {
            Event::DocType(_) => {
                return Err(SevError::new(
                    "message",
                    "has a DOCTYPE: a СЕВ ОВВ message may not declare a DTD or entities",
                ));
            }
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding()
                    && !encoding.eq_ignore_ascii_case("utf-8")
                {
                    return Err(SevError::new(
                        "message",
                        format!(
                            "declares the encoding {}: messages are read in UTF-8 only",
                            shortened(&encoding)
                        ),
                    ));
                }
            }
            Event::Start(start) => {
                let element = open(&start, &stack, root.is_some(), &mut elements)?;
                stack.push(element);
                if stack.len() > MAX_DEPTH {
                    return Err(SevError::new(
                        path(&stack),
                        format!("elements nested deeper than {MAX_DEPTH}"),
                    ));
                }
            }
            Event::Empty(start) => {
                let element = open(&start, &stack, root.is_some(), &mut elements)?;
                if stack.len() + 1 > MAX_DEPTH {
                    return Err(SevError::new(
                        path(&stack),
                        format!("elements nested deeper than {MAX_DEPTH}"),
                    ));
                }
                attach(element, &mut stack, &mut root);
            }
            Event::End(_) => {
                // quick-xml has matched the end tag to the open one.
                if let Some(element) = stack.pop() {
                    attach(element, &mut stack, &mut root);
                }
            }
            Event::Text(text) => push_text(&mut stack, &text.xml10_content())?,
            Event::CData(text) => push_text(&mut stack, &text.xml10_content())?,
            Event::GeneralRef(reference) => {
                let c = resolve(&reference).ok_or_else(|| {
                    SevError::new(
                        path(&stack),
                        format!(
                            "refers to the entity &{}; which XML does not define (no DTD is read)",
                            shortened(&reference)
                        ),
                    )
                })?;
                push_text(&mut stack, c.encode_utf8(&mut [0; 4]))?;
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(SevError::new(
            path(&stack),
            "the message ends inside this element: it is cut short",
        ));
    }
    root.ok_or_else(|| SevError::new("message", "has no root element: it is empty"))
}

fn open(
    start: &BytesStart<'_>,
    stack: &[Element],
    after_root: bool,
    elements: &mut usize,
) -> Result<Element, SevError> {
    let name = start.name().as_ref().to_string();
    let at = || format!("{}/{}", path(stack), shortened(&name));
    if stack.is_empty() && after_root {
        return Err(SevError::new(at(), "a second root element after the first"));
    }
    *elements += 1;
    if *elements > MAX_ELEMENTS {
        return Err(SevError::new(
            at(),
            format!("more than {MAX_ELEMENTS} elements in one message"),
        ));
    }
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute =
            attribute.map_err(|e| SevError::new(at(), format!("a malformed attribute: {e}")))?;
        let key = attribute.key.as_ref().to_string();
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| {
                SevError::new(
                    at(),
                    format!(
                        "attribute {}: {}",
                        shortened(&key),
                        shortened(&e.to_string())
                    ),
                )
            })?
            .into_owned();
        attributes.push((key, value));
        if attributes.len() > MAX_ATTRIBUTES {
            return Err(SevError::new(
                at(),
                format!("more than {MAX_ATTRIBUTES} attributes"),
            ));
        }
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
        text: String::new(),
    })
}

fn attach(element: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), SevError> {
    match stack.last_mut() {
        Some(element) => {
            element.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(SevError::new(
            "message",
            "has text outside its root element",
        )),
    }
}

/// A character reference, or one of XML's five predefined entities.
fn resolve(reference: &BytesRef<'_>) -> Option<char> {
    if reference.is_char_ref() {
        return reference.resolve_char_ref().ok().flatten();
    }
    match &**reference {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

/// The path of the open elements: `Header/Document/RegNumber`.
fn path(stack: &[Element]) -> String {
    if stack.is_empty() {
        return "message".to_string();
    }
    let names: Vec<&str> = stack.iter().map(|e| shortened_str(&e.name)).collect();
    names.join("/")
}

fn line_of(xml: &str, at: usize) -> usize {
    let at = at.min(xml.len());
    xml.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1
}

/// `text` cut to 80 characters: a hostile name must not fill a log line.
fn shortened(text: &str) -> String {
    let cut = shortened_str(text);
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut.to_string()
    }
}

fn shortened_str(text: &str) -> &str {
    match text.char_indices().nth(80) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_cdata_read_as_their_characters() {
        let root =
            parse("<a x=\"1&#10;2&amp;\">&lt;&#x41;<![CDATA[<b>]]><!-- c --><?pi x?></a>").unwrap();
        assert_eq!(root.text, "<A<b>");
        assert_eq!(root.attributes, [("x".to_string(), "1\n2&".to_string())]);
    }

    #[test]
    fn too_many_elements_or_attributes_are_refused() {
        let many = format!("<Header>{}</Header>", "<x/>".repeat(MAX_ELEMENTS));
        let error = parse(&many).unwrap_err();
        assert_eq!(error.at, "Header/x");
        assert!(
            error.problem.contains("more than 100000 elements"),
            "{error}"
        );
        let attributes: String = (0..=MAX_ATTRIBUTES)
            .map(|i| format!(" a{i}=\"\""))
            .collect();
        let error = parse(&format!("<Header><Document{attributes}/></Header>")).unwrap_err();
        assert_eq!(error.at, "Header/Document");
        assert!(error.problem.contains("more than 64 attributes"), "{error}");
    }

    #[test]
    fn a_duplicate_attribute_is_refused_at_its_element() {
        let error = parse("<Header><Document a=\"1\" a=\"2\"/></Header>").unwrap_err();
        assert_eq!(error.at, "Header/Document");
        assert!(error.problem.contains("malformed attribute"), "{error}");
    }
}
