//! [`Projection::project_text`]: the projection made in one pass over an answer's JSON text,
//! reading only what the grant lets through and writing it as `serde_json` writes the projected
//! `Value`, byte for byte. Anything unusual (not JSON, too deep, a granted key given twice) is
//! left to the `Value` path, which judges it and names the fault.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use super::{Children, Grant, Projection, Scalar, fits_scalar};
use crate::spec::model::{FieldType, ResponseField};

/// How `serde_json` (with `arbitrary_precision`) hands a number to a visitor: a map of this one
/// key whose value is the number's text. A JSON object with that first key reads the same.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";
/// The like of [`NUMBER_TOKEN`] for raw values, left to the `Value` path.
const RAW_TOKEN: &str = "$serde_json::private::RawValue";

impl Projection {
    /// The granted part of a response given as JSON `text` (an object or an array), as the bytes
    /// `serde_json::to_vec` makes of [`Projection::project`]'s value, with the same mistyped
    /// paths; `None` when `text` must go the `Value` way (it is not an object or array of valid
    /// JSON, or an object gives a granted key twice).
    pub fn project_text(
        &self,
        declared: &[ResponseField],
        text: &[u8],
    ) -> Option<(Vec<u8>, BTreeSet<String>)> {
        let text = std::str::from_utf8(text).ok()?;
        if !matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'[')) {
            return None;
        }
        let mut out = Vec::with_capacity(text.len());
        let mut mistyped = BTreeSet::new();
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let top = Object {
            grant: Grant::Part(&self.root),
            declared,
            at: None,
            top: true,
            out: &mut out,
            mistyped: &mut mistyped,
        };
        deserializer.deserialize_any(top).ok()?;
        deserializer.end().ok()?;
        Some((out, mistyped))
    }
}

/// Where a value is, as the mistyped paths name it: the field names from the top, `$` for the
/// body itself. Made into text only for a mistyped value.
#[derive(Clone, Copy)]
struct At<'p> {
    parent: Option<&'p At<'p>>,
    name: &'p str,
}

fn path(at: Option<&At>) -> String {
    let mut names = Vec::new();
    let mut next = at;
    while let Some(here) = next {
        names.push(here.name);
        next = here.parent;
    }
    if names.is_empty() {
        return "$".into();
    }
    names.reverse();
    names.join(".")
}

/// Where an object with `declared` fields is expected (at the top, an array of them too).
struct Object<'a, 'p> {
    grant: Grant<'a>,
    declared: &'a [ResponseField],
    at: Option<&'p At<'p>>,
    top: bool,
    out: &'p mut Vec<u8>,
    mistyped: &'p mut BTreeSet<String>,
}

impl Object<'_, '_> {
    fn wrong(self) {
        self.mistyped.insert(path(self.at));
        self.out.extend_from_slice(b"null");
    }
}

impl<'de> Visitor<'de> for Object<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.wrong();
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.wrong();
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.wrong();
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.wrong();
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.wrong();
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if !self.top {
            skip_seq(&mut seq)?;
            self.wrong();
            return Ok(());
        }
        self.out.push(b'[');
        let mut first = true;
        loop {
            let len = self.out.len();
            if !first {
                self.out.push(b',');
            }
            let item = Object {
                grant: self.grant,
                declared: self.declared,
                at: None,
                top: false,
                out: &mut *self.out,
                mistyped: &mut *self.mistyped,
            };
            if seq.next_element_seed(Any(item))?.is_none() {
                self.out.truncate(len);
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some(first) = map.next_key_seed(Text)? else {
            self.out.extend_from_slice(b"{}");
            return Ok(());
        };
        if let Some(kind) = special(&first, &mut map)? {
            if kind == Kind::Number {
                self.wrong();
            }
            return Ok(());
        }
        self.out.push(b'{');
        let mut seen = Seen::default();
        let mut key = Some(first);
        while let Some(name) = key.take() {
            if let Some((index, field, inner)) = self.granted(&name) {
                if !seen.insert(index) {
                    return Err(A::Error::custom("a granted key given twice"));
                }
                if seen.count > 1 {
                    self.out.push(b',');
                }
                serde_json::to_writer(&mut *self.out, &field.name).map_err(A::Error::custom)?;
                self.out.push(b':');
                let at = At {
                    parent: self.at,
                    name: &field.name,
                };
                map.next_value_seed(Typed {
                    ty: field.ty,
                    field,
                    grant: inner,
                    at: &at,
                    out: &mut *self.out,
                    mistyped: &mut *self.mistyped,
                })?;
            } else {
                map.next_value_seed(Skip)?;
            }
            key = map.next_key_seed(Text)?;
        }
        self.out.push(b'}');
        Ok(())
    }
}

impl<'a> Object<'a, '_> {
    /// The declared field named `key` (and its index) with how much of it is granted, if any.
    fn granted(&self, key: &str) -> Option<(usize, &'a ResponseField, Grant<'a>)> {
        let (index, field) = self
            .declared
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == key)?;
        let inner = match self.grant {
            Grant::Whole => Grant::Whole,
            Grant::Part(children) => part(children, key)?,
        };
        Some((index, field, inner))
    }
}

fn part<'a>(children: &'a Children, key: &str) -> Option<Grant<'a>> {
    Some(match children.get(key)? {
        super::Node::Whole => Grant::Whole,
        super::Node::Part(nested) => Grant::Part(nested),
    })
}

/// The declared fields already written in one object, by index.
#[derive(Default)]
struct Seen {
    low: u64,
    more: Vec<usize>,
    count: usize,
}

impl Seen {
    /// Whether `index` is new.
    fn insert(&mut self, index: usize) -> bool {
        let new = self.is_new(index);
        self.count += usize::from(new);
        new
    }

    fn is_new(&mut self, index: usize) -> bool {
        if index < 64 {
            let bit = 1 << index;
            let new = self.low & bit == 0;
            self.low |= bit;
            new
        } else if self.more.contains(&index) {
            false
        } else {
            self.more.push(index);
            true
        }
    }
}

/// A value where `field` is declared, read as type `ty` (the field's own, or its item type
/// inside an array).
struct Typed<'a, 'p> {
    ty: FieldType,
    field: &'a ResponseField,
    grant: Grant<'a>,
    at: &'p At<'p>,
    out: &'p mut Vec<u8>,
    mistyped: &'p mut BTreeSet<String>,
}

impl<'de> DeserializeSeed<'de> for Typed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.ty {
            FieldType::Object => deserializer.deserialize_any(Object {
                grant: self.grant,
                declared: &self.field.fields,
                at: Some(self.at),
                top: false,
                out: self.out,
                mistyped: self.mistyped,
            }),
            FieldType::Array => deserializer.deserialize_any(Array(self)),
            _ => {
                let scalar = deserializer.deserialize_any(ScalarVisitor)?;
                match scalar {
                    Read::Null => self.out.extend_from_slice(b"null"),
                    read if fits_scalar(self.ty, read.scalar()) => match self.grant {
                        Grant::Whole => read.write(self.out).map_err(D::Error::custom)?,
                        // A grant of fields inside a scalar names nothing that exists.
                        Grant::Part(_) => self.out.extend_from_slice(b"null"),
                    },
                    _ => {
                        self.mistyped.insert(path(Some(self.at)));
                        self.out.extend_from_slice(b"null");
                    }
                }
                Ok(())
            }
        }
    }
}

/// A value where an array field is declared: its elements typed by the item type.
struct Array<'a, 'p>(Typed<'a, 'p>);

impl Array<'_, '_> {
    fn wrong(self) {
        self.0.mistyped.insert(path(Some(self.0.at)));
        self.0.out.extend_from_slice(b"null");
    }
}

impl<'de> Visitor<'de> for Array<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.wrong();
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.wrong();
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.wrong();
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.wrong();
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.wrong();
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        SkipVisitor.visit_map(map)?;
        self.wrong();
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Typed {
            field,
            grant,
            at,
            out,
            mistyped,
            ..
        } = self.0;
        let item = field.item_type().field_type();
        out.push(b'[');
        let mut first = true;
        loop {
            let len = out.len();
            if !first {
                out.push(b',');
            }
            let typed = Typed {
                ty: item,
                field,
                grant,
                at,
                out: &mut *out,
                mistyped: &mut *mistyped,
            };
            if seq.next_element_seed(typed)?.is_none() {
                out.truncate(len);
                break;
            }
            first = false;
        }
        out.push(b']');
        Ok(())
    }
}

/// A visitor used as a seed through `deserialize_any`.
struct Any<V>(V);

impl<'de, V: Visitor<'de, Value = ()>> DeserializeSeed<'de> for Any<V> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self.0)
    }
}

/// A scalar as read where one is declared; whatever else was there is only `Other`.
enum Read<'de> {
    Null,
    Bool(bool),
    Str(Cow<'de, str>),
    Number(Number),
    Other,
}

impl Read<'_> {
    fn scalar(&self) -> Scalar<'_> {
        match self {
            Read::Bool(_) => Scalar::Bool,
            Read::Str(s) => Scalar::Str(s),
            Read::Number(n) => Scalar::Number(n),
            Read::Null | Read::Other => Scalar::Other,
        }
    }

    fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            Read::Null | Read::Other => out.extend_from_slice(b"null"),
            Read::Bool(true) => out.extend_from_slice(b"true"),
            Read::Bool(false) => out.extend_from_slice(b"false"),
            Read::Str(s) => serde_json::to_writer(out, s.as_ref())?,
            Read::Number(n) => serde_json::to_writer(out, n)?,
        }
        Ok(())
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Read<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Read<'de>, E> {
        Ok(Read::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Read<'de>, E> {
        Ok(Read::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Read<'de>, E> {
        Ok(Read::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Read<'de>, E> {
        Ok(Read::Number(n.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Read<'de>, E> {
        Number::from_f64(n)
            .map(Read::Number)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Read<'de>, E> {
        Ok(Read::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Read<'de>, E> {
        Ok(Read::Str(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Read<'de>, E> {
        Ok(Read::Str(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read<'de>, A::Error> {
        skip_seq(&mut seq)?;
        Ok(Read::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Read<'de>, A::Error> {
        let Some(first) = map.next_key_seed(Text)? else {
            return Ok(Read::Other);
        };
        if first == NUMBER_TOKEN {
            return Ok(Read::Number(number(&mut map)?));
        }
        if first == RAW_TOKEN {
            return Err(A::Error::custom("a raw value"));
        }
        map.next_value_seed(Skip)?;
        skip_map(&mut map)?;
        Ok(Read::Other)
    }
}

/// A map's text after its first key is a number's (`serde_json`'s `NumberFromString`).
fn number<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Number, A::Error> {
    let text: Cow<'de, str> = map.next_value_seed(Text)?;
    text.parse::<Number>().map_err(A::Error::custom)
}

#[derive(PartialEq, Eq)]
enum Kind {
    Number,
}

/// Whether a map whose first key is `first` is one of `serde_json`'s special maps: a number
/// (read and checked here, so that it is read as the `Value` path reads it) or a raw value
/// (refused, for the `Value` path).
fn special<'de, A: MapAccess<'de>>(first: &str, map: &mut A) -> Result<Option<Kind>, A::Error> {
    if first == NUMBER_TOKEN {
        number(map)?;
        return Ok(Some(Kind::Number));
    }
    if first == RAW_TOKEN {
        return Err(A::Error::custom("a raw value"));
    }
    Ok(None)
}

/// A key or string value, borrowed from the text where it holds no escape.
struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(StrVisitor)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// Reads a value and keeps nothing of it, checked as strictly as the `Value` path reads it
/// (strings and their escapes, nesting depth, numbers), unlike `IgnoredAny`.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
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

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        skip_seq(&mut seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some(first) = map.next_key_seed(Text)? else {
            return Ok(());
        };
        if special(&first, &mut map)?.is_some() {
            return Ok(());
        }
        map.next_value_seed(Skip)?;
        skip_map(&mut map)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<(), A::Error> {
    while seq.next_element_seed(Skip)?.is_some() {}
    Ok(())
}

/// The rest of a map whose first entry (if any) was read: its keys and values skipped.
fn skip_map<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    while map.next_key_seed(Text)?.is_some() {
        map.next_value_seed(Skip)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn declared() -> Vec<ResponseField> {
        serde_json::from_value(json!([
            {"name": "owner", "type": "object", "fields": [
                {"name": "name", "type": "string"},
                {"name": "tax-id", "type": "string"},
                {"name": "address", "type": "object", "fields": [
                    {"name": "street", "type": "string"},
                    {"name": "flat", "type": "integer"}
                ]}
            ]},
            {"name": "vehicles", "type": "array", "fields": [
                {"name": "vehicle_id", "type": "string"},
                {"name": "vin", "type": "string"},
                {"name": "fines", "type": "array", "fields": [
                    {"name": "sum", "type": "integer"},
                    {"name": "officer", "type": "string"}
                ]}
            ]},
            {"name": "debt-uah", "type": "decimal"},
            {"name": "plates", "type": "array", "items": "string"},
            {"name": "registered", "type": "date"},
            {"name": "seen-at", "type": "datetime"},
            {"name": "active", "type": "boolean"},
            {"name": "mileage", "type": "integer"}
        ]))
        .unwrap()
    }

    fn grants() -> Vec<Projection> {
        let all = [
            "owner",
            "owner.name",
            "owner.address.flat",
            "vehicles",
            "vehicles.vin",
            "vehicles.fines.sum",
            "debt-uah",
            "plates",
            "plates.x",
            "registered",
            "seen-at",
            "active",
            "mileage",
        ];
        let mut out = vec![Projection::new(all), Projection::default()];
        for (i, _) in all.iter().enumerate() {
            out.push(Projection::new(all.iter().skip(i).step_by(3)));
        }
        out
    }

    /// The text path gives what the `Value` path gives, or leaves the text to it.
    fn same(text: &str) -> usize {
        let mut fast = 0;
        for p in grants() {
            let Some((bytes, mistyped)) = p.project_text(&declared(), text.as_bytes()) else {
                continue;
            };
            let value: serde_json::Value = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("the text path read what is not JSON ({e}): {text}"));
            let cut = p.project(&declared(), value);
            let expected = serde_json::to_vec(&cut.value).unwrap();
            assert_eq!(
                String::from_utf8(bytes).unwrap(),
                String::from_utf8(expected).unwrap(),
                "{p:?} {text}"
            );
            assert_eq!(mistyped, cut.mistyped, "{p:?} {text}");
            fast += 1;
        }
        fast
    }

    #[test]
    fn the_text_path_cuts_as_the_value_path_does() {
        let texts = [
            r#"{"owner": {"name": "Петренко Олена", "tax-id": "1234567890", "address": {"street": "Хрещатик", "flat": 5}},
               "vehicles": [{"vehicle_id": "AA1234BB", "vin": "WVW\u0041", "fines": [{"sum": 340, "officer": "Сидоренко"}, {"sum": 1.5}]}, null, 7, "x"],
               "debt-uah": "120.50", "plates": ["AA", {"o": 1}, 7, null], "registered": "2026-02-30",
               "seen-at": "2026-11-01T10:00:00Z", "active": true, "mileage": 123456789012345678901234567890, "extra": {"a": [1, {"b": "\"}"}]}}"#,
            r#"[{"owner": "Петренко"}, "B", null, 1, [], {}, {"mileage": 1e3, "debt-uah": -0.1000000000000000055511151231257827}]"#,
            r#"{"owner": null, "vehicles": null, "plates": [], "debt-uah": "007", "active": "true"}"#,
            r#"{"owner": {"name": {"first": "О"}, "address": [1]}, "debt-uah": {"sum": 1}, "mileage": "12"}"#,
            r#"  {"\u006fwner": {"na\u006de": "x\ny\u00e9"}, "plates": "AA", "seen-at": "2026-11-01T10:00:00"}  "#,
            r#"{"owner": {"$serde_json::private::Number": "12"}, "mileage": {"$serde_json::private::Number": "1.5"}, "active": false}"#,
            r#"{"vehicles": [{"fines": {"sum": 1}}, {"fines": [null, [], "x", {"sum": -0}]}], "registered": "2026-11-01"}"#,
            r#"[]"#,
            r#"{}"#,
        ];
        for text in texts {
            assert!(same(text) > 0, "the text path took none of {text}");
        }
    }

    #[test]
    fn what_the_text_path_leaves_goes_the_value_way() {
        let declared = declared();
        let p = Projection::new(["owner", "debt-uah", "mileage"]);
        for text in [
            r#"{"debt-uah": 1, "debt-uah": {"x": "3012345678"}}"#,
            r#"{"owner": {"name": "a", "name": "b"}}"#,
            r#"{"mileage": 1,}"#,
            r#"{"extra": "\ud800"}"#,
            r#"{"extra": {"$serde_json::private::Number": "x"}}"#,
            r#"{"extra": {"$serde_json::private::RawValue": "1"}}"#,
            r#"{"debt-uah": 1} x"#,
            "\"text\"",
            "42",
            "",
        ] {
            assert_eq!(p.project_text(&declared, text.as_bytes()), None, "{text}");
        }
        let deep = format!("{{\"extra\": {}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(p.project_text(&declared, deep.as_bytes()), None);
        assert_eq!(p.project_text(&declared, b"{\"extra\": \"\xff\"}"), None);
        // An ungranted key given twice changes nothing that passes.
        assert!(same(r#"{"extra": 1, "extra": 2, "mileage": 3}"#) > 0);
    }

    #[test]
    fn generated_answers_are_cut_alike() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let names = [
            "owner",
            "name",
            "tax-id",
            "address",
            "street",
            "flat",
            "vehicles",
            "vehicle_id",
            "vin",
            "fines",
            "sum",
            "officer",
            "debt-uah",
            "plates",
            "registered",
            "seen-at",
            "active",
            "mileage",
            "other",
        ];
        let scalars = [
            "null",
            "true",
            "false",
            "0",
            "-12",
            "1.50",
            "1e3",
            "\"\"",
            "\"120.50\"",
            "\"2026-11-01\"",
            "\"2026-11-01T10:00:00Z\"",
            "\"Петренко\\n\"",
            "\"12\"",
        ];
        fn value(
            next: &mut impl FnMut(u64) -> u64,
            names: &[&str],
            scalars: &[&str],
            depth: u32,
        ) -> String {
            match if depth > 3 { 0 } else { next(4) } {
                0 | 1 => scalars[next(scalars.len() as u64) as usize].to_string(),
                2 => {
                    let items: Vec<String> = (0..next(4))
                        .map(|_| value(next, names, scalars, depth + 1))
                        .collect();
                    format!("[{}]", items.join(","))
                }
                _ => {
                    let mut used = Vec::new();
                    let entries: Vec<String> = (0..next(5))
                        .filter_map(|_| {
                            let name = names[next(names.len() as u64) as usize];
                            (!used.contains(&name)).then(|| {
                                used.push(name);
                                format!("\"{name}\": {}", value(next, names, scalars, depth + 1))
                            })
                        })
                        .collect();
                    format!("{{{}}}", entries.join(", "))
                }
            }
        }
        let mut fast = 0;
        for _ in 0..3000 {
            let text = value(&mut next, &names, &scalars, 0);
            fast += same(&text);
        }
        assert!(fast > 1000, "{fast}");
    }
}
