//! An element of the tree with its path (`Header/Document/DocTransfer[2]`), and the typed reads
//! of its attributes, children and text that `read` is made of: each failure a `SevError` at
//! that path.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDate;

use super::SevError;
use super::codes::{SevTime, parse_date};
use super::tree::Element;

pub(super) struct Node<'a> {
    element: &'a Element,
    pub path: String,
}

impl<'a> Node<'a> {
    pub fn root(element: &'a Element) -> Node<'a> {
        Node {
            element,
            path: element.name.clone(),
        }
    }

    pub fn error(&self, problem: impl Into<String>) -> SevError {
        SevError::new(self.path.clone(), problem)
    }

    pub fn text(&self) -> &'a str {
        &self.element.text
    }

    pub fn attr(&self, name: &str) -> Option<&'a str> {
        self.element
            .attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn required(&self, name: &str) -> Result<&'a str, SevError> {
        self.attr(name)
            .ok_or_else(|| self.error(format!("missing attribute {name}")))
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        self.attr(name).map(str::to_string)
    }

    /// The children named `name`, numbered in their paths when there are several.
    pub fn children(&self, name: &str) -> Vec<Node<'a>> {
        let matching: Vec<&'a Element> = self
            .element
            .children
            .iter()
            .filter(|c| c.name == name)
            .collect();
        let several = matching.len() > 1;
        matching
            .into_iter()
            .enumerate()
            .map(|(i, element)| Node {
                element,
                path: if several {
                    format!("{}/{name}[{}]", self.path, i + 1)
                } else {
                    format!("{}/{name}", self.path)
                },
            })
            .collect()
    }

    /// At least one child named `name`.
    pub fn some_children(&self, name: &str) -> Result<Vec<Node<'a>>, SevError> {
        let children = self.children(name);
        if children.is_empty() {
            return Err(self.error(format!("missing element {name} (at least one)")));
        }
        Ok(children)
    }

    /// The child named `name` the schema allows at most once: two are refused, since a reader
    /// could take either.
    pub fn child(&self, name: &str) -> Result<Option<Node<'a>>, SevError> {
        let mut children = self.children(name);
        if children.len() > 1 {
            return Err(self.error(format!(
                "{} elements {name}: the schema allows one",
                children.len()
            )));
        }
        Ok(children.pop())
    }

    pub fn one(&self, name: &str) -> Result<Node<'a>, SevError> {
        self.child(name)?
            .ok_or_else(|| self.error(format!("missing element {name}")))
    }

    /// An `xs:integer` attribute read by `from` into one of the values the schema lists
    /// (`listed`, for the error).
    pub fn coded<T>(
        &self,
        name: &str,
        from: impl Fn(u8) -> Option<T>,
        listed: &str,
    ) -> Result<Option<T>, SevError> {
        let Some(value) = self.attr(name) else {
            return Ok(None);
        };
        let number: i64 = value.trim().parse().map_err(|_| {
            self.error(format!(
                "attribute {name} is «{}», not a number",
                shortened(value)
            ))
        })?;
        u8::try_from(number)
            .ok()
            .and_then(from)
            .map(Some)
            .ok_or_else(|| {
                self.error(format!(
                    "attribute {name} is {number}, not one of the values the schema lists ({listed})"
                ))
            })
    }

    pub fn required_coded<T>(
        &self,
        name: &str,
        from: impl Fn(u8) -> Option<T>,
        listed: &str,
    ) -> Result<T, SevError> {
        self.coded(name, from, listed)?
            .ok_or_else(|| self.error(format!("missing attribute {name}")))
    }

    /// A 0/1 attribute.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, SevError> {
        self.coded(name, |n| (n <= 1).then_some(n == 1), "0, 1")
    }

    pub fn required_flag(&self, name: &str) -> Result<bool, SevError> {
        self.flag(name)?
            .ok_or_else(|| self.error(format!("missing attribute {name}")))
    }

    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, SevError> {
        self.attr(name)
            .map(|value| {
                parse_date(value).ok_or_else(|| {
                    self.error(format!(
                        "attribute {name} is «{}», not a date (YYYY-MM-DD)",
                        shortened(value)
                    ))
                })
            })
            .transpose()
    }

    pub fn required_date(&self, name: &str) -> Result<NaiveDate, SevError> {
        self.date(name)?
            .ok_or_else(|| self.error(format!("missing attribute {name}")))
    }

    pub fn text_date(&self) -> Result<NaiveDate, SevError> {
        parse_date(self.text()).ok_or_else(|| self.error("not a date (YYYY-MM-DD)"))
    }

    pub fn time(&self, value: &str, what: &str) -> Result<SevTime, SevError> {
        SevTime::parse(value).ok_or_else(|| {
            self.error(format!(
                "{what} is «{}», not a date and time (YYYY-MM-DDThh:mm:ss, a zone optional)",
                shortened(value)
            ))
        })
    }

    /// The text as `xs:base64Binary` (whitespace allowed); `what` names the file for the error,
    /// which never quotes the content.
    pub fn base64(&self, what: &str) -> Result<Vec<u8>, SevError> {
        let compact: Vec<u8> = self
            .text()
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        STANDARD.decode(&compact).map_err(|e| {
            let why = match e {
                base64::DecodeError::InvalidByte(at, _) => {
                    format!("a character that is not base64 at position {at}")
                }
                base64::DecodeError::InvalidLength(_) => {
                    "a length that is not a whole number of base64 groups".to_string()
                }
                base64::DecodeError::InvalidLastSymbol(at, _) => {
                    format!("a last symbol with stray bits at position {at}")
                }
                base64::DecodeError::InvalidPadding => "wrong padding".to_string(),
            };
            self.error(format!("the content of {what} is not valid base64: {why}"))
        })
    }
}

/// A value quoted in an error, cut to 40 characters.
pub(super) fn shortened(value: &str) -> String {
    match value.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_string(),
    }
}
