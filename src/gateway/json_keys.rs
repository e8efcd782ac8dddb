//! Keys given twice in one JSON object of a request body. The gateway checks a body as its own
//! parser reads it (the last value of a repeated key), while a provider's parser may keep the
//! first, the last or merge both (Go's `encoding/json` merges objects), so such a body is refused.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};

/// The dotted path (array elements without index) of the first key given twice in one object
/// of `body`, if any; `None` also when `body` is not JSON, which the caller refuses apart.
pub fn repeated_key(body: &[u8]) -> Option<String> {
    let mut found = None;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let _ = Walk {
        path: String::new(),
        found: &mut found,
    }
    .deserialize(&mut deserializer);
    found
}

/// Walks one value at `path`, noting the first repeated key in `found`.
struct Walk<'f> {
    path: String,
    found: &'f mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let found = self.found;
        while seq
            .next_element_seed(Walk {
                path: self.path.clone(),
                found: &mut *found,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let found = self.found;
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !keys.insert(key) {
                *found = Some(path);
                return Err(A::Error::custom("a repeated key"));
            }
            map.next_value_seed(Walk {
                path,
                found: &mut *found,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::repeated_key;

    #[test]
    fn a_key_given_twice_is_named_by_its_path_in_any_spelling() {
        let named = |body: &str| repeated_key(body.as_bytes());
        assert_eq!(named(r#"{"a":1,"a":2}"#).as_deref(), Some("a"));
        assert_eq!(
            named(r#"{"f":{"s":"x"},"f":{"c":"y"}}"#).as_deref(),
            Some("f")
        );
        assert_eq!(
            named(r#"{"n":1,"f":[{"c":1},{"c":2,"\u0063":3}]}"#).as_deref(),
            Some("f.c")
        );
        assert_eq!(
            named(r#"{"a":{"a":1},"b":[1,2.5e3,123456789012345678901234567890,null,true,"s"]}"#),
            None
        );
        assert_eq!(named(r#"[{"a":1},{"a":2}]"#), None);
        assert_eq!(named("not json"), None);
    }
}
