//! Data minimisation (MIN-1) as pure functions: a `Projection` keeps exactly the response fields
//! an agreement grants, each as the service declares its type, and the refusal helpers name
//! request parameters and body fields beyond what is allowed. Nothing outside a grant ever
//! passes, whatever shape the provider sends.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::{Map, Value};

use crate::spec::model::{Agreement, FieldType, ResponseField};

mod text;

/// The granted fields as a tree of names. A path through an array applies to each of its
/// elements, so `vehicles.vehicle_id` keeps that one key of every element of `vehicles`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    root: Children,
}

type Children = BTreeMap<String, Node>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    /// Granted whole: the value and every declared field nested in it.
    Whole,
    /// Only some fields nested in it are granted.
    Part(Children),
}

/// A response cut to a grant: the value that may pass, and the dotted paths of granted fields
/// whose value was not of the declared type and became `null` (`$` for the body itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    pub value: Value,
    pub mistyped: BTreeSet<String>,
}

impl Projection {
    /// The projection of dotted paths (`address.street`). A path with an empty name in it
    /// (`a..b`, a leading or trailing dot, or an empty string) grants nothing; a path under one
    /// already granted whole adds nothing.
    pub fn new<S: AsRef<str>>(fields: impl IntoIterator<Item = S>) -> Self {
        let mut root = Children::new();
        for path in fields {
            let names: Vec<&str> = path.as_ref().split('.').collect();
            if names.iter().any(|n| n.is_empty()) {
                continue;
            }
            grant(&mut root, &names);
        }
        Projection { root }
    }

    /// The projection of the fields an agreement grants.
    pub fn of(agreement: &Agreement) -> Self {
        Self::new(&agreement.fields)
    }

    /// The granted part of a response whose fields are `declared`. The top level is an object
    /// or an array of objects. Only fields both granted and declared pass, each as its declared
    /// type: a scalar only as that scalar, an object only through its declared fields (all of
    /// them when it is granted whole), an array element by element. A value of another type
    /// becomes `null` and is named in [`Cut::mistyped`]; nothing of it passes. `null` stays
    /// `null`; fields granted but absent stay absent.
    pub fn project(&self, declared: &[ResponseField], value: Value) -> Cut {
        let mut mistyped = BTreeSet::new();
        let grant = Grant::Part(&self.root);
        let value = match value {
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| object_of(grant, declared, item, "$", &mut mistyped))
                    .collect(),
            ),
            other => object_of(grant, declared, other, "$", &mut mistyped),
        };
        Cut { value, mistyped }
    }
}

fn grant(children: &mut Children, names: &[&str]) {
    let Some((first, rest)) = names.split_first() else {
        return;
    };
    if rest.is_empty() {
        children.insert(first.to_string(), Node::Whole);
        return;
    }
    let node = children
        .entry(first.to_string())
        .or_insert_with(|| Node::Part(Children::new()));
    if let Node::Part(inner) = node {
        grant(inner, rest);
    }
}

/// How much of one value is granted.
#[derive(Clone, Copy)]
enum Grant<'a> {
    Whole,
    Part(&'a Children),
}

/// `value` where an object with `declared` fields is expected; `path` names it for faults.
fn object_of(
    grant: Grant,
    declared: &[ResponseField],
    value: Value,
    path: &str,
    mistyped: &mut BTreeSet<String>,
) -> Value {
    let map = match value {
        Value::Object(map) => map,
        Value::Null => return Value::Null,
        _ => {
            mistyped.insert(path.to_string());
            return Value::Null;
        }
    };
    let mut out = Map::new();
    for (key, v) in map {
        let Some(field) = declared.iter().find(|f| f.name == key) else {
            continue;
        };
        let inner = match grant {
            Grant::Whole => Grant::Whole,
            Grant::Part(children) => match children.get(&key) {
                Some(Node::Whole) => Grant::Whole,
                Some(Node::Part(nested)) => Grant::Part(nested),
                None => continue,
            },
        };
        let at = if path == "$" {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let value = typed(field.ty, field, inner, v, &at, mistyped);
        out.insert(key, value);
    }
    Value::Object(out)
}

/// `value` where `field` is declared, read as type `ty`: the field's own, or its item type
/// for an array's elements.
fn typed(
    ty: FieldType,
    field: &ResponseField,
    grant: Grant,
    value: Value,
    path: &str,
    mistyped: &mut BTreeSet<String>,
) -> Value {
    match (ty, value) {
        (_, Value::Null) => Value::Null,
        (FieldType::Object, value) => object_of(grant, &field.fields, value, path, mistyped),
        (FieldType::Array, Value::Array(items)) => {
            let item = field.item_type().field_type();
            Value::Array(
                items
                    .into_iter()
                    .map(|v| typed(item, field, grant, v, path, mistyped))
                    .collect(),
            )
        }
        (ty, value) if fits(ty, &value) => match grant {
            Grant::Whole => value,
            // A grant of fields inside a scalar names nothing that exists: nothing passes.
            Grant::Part(_) => Value::Null,
        },
        _ => {
            mistyped.insert(path.to_string());
            Value::Null
        }
    }
}

/// Whether a scalar `value` is of the declared type `ty`. Numbers are judged by their exact
/// digits: an `integer` has neither fraction nor exponent; a `decimal` is any JSON number or a
/// string holding a decimal numeral (`"120.50"`); `date` is `YYYY-MM-DD` and `datetime` RFC 3339
/// (or ISO 8601 without an offset), both strings.
pub fn fits(ty: FieldType, value: &Value) -> bool {
    let scalar = match value {
        Value::String(s) => Scalar::Str(s),
        Value::Bool(_) => Scalar::Bool,
        Value::Number(n) => Scalar::Number(n),
        _ => Scalar::Other,
    };
    fits_scalar(ty, scalar)
}

/// What [`fits`] judges of a value: its kind, and the text of a string or number.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Str(&'a str),
    Bool,
    Number(&'a serde_json::Number),
    Other,
}

fn fits_scalar(ty: FieldType, value: Scalar) -> bool {
    match (ty, value) {
        (FieldType::String, Scalar::Str(_)) => true,
        (FieldType::Boolean, Scalar::Bool) => true,
        // The exact digits (`arbitrary_precision`), never a float's rendering.
        (FieldType::Integer, Scalar::Number(n)) => !n.as_str().contains(['.', 'e', 'E']),
        (FieldType::Decimal, Scalar::Number(_)) => true,
        (FieldType::Decimal, Scalar::Str(s)) => is_decimal_numeral(s),
        (FieldType::Date, Scalar::Str(s)) => {
            s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
        }
        (FieldType::Datetime, Scalar::Str(s)) => {
            DateTime::parse_from_rfc3339(s).is_ok()
                || NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        }
        _ => false,
    }
}

/// `-?digits(.digits)?`, without leading zeros, spaces or exponent.
fn is_decimal_numeral(s: &str) -> bool {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && (whole == "0" || !whole.starts_with('0')) && fraction.is_none_or(digits)
}

/// The names of query parameters outside `allowed`, each once, sorted. The model does not yet
/// declare which request parameters an agreement allows, so the gateway passes the list itself.
pub fn refused_query(params: &[(String, String)], allowed: &[&str]) -> Vec<String> {
    params
        .iter()
        .map(|(name, _)| name)
        .filter(|name| !allowed.contains(&name.as_str()))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The dotted paths of request body fields outside `allowed`, each once, sorted; empty when the
/// body may pass. Arrays are checked element by element and named without indices. A field that
/// is only partly allowed but holds something other than an object, array or `null` is named
/// itself. A body (or top-level array element) that is neither an object, an array nor `null` is named `$`,
/// the whole body.
pub fn refused_body_fields(body: &Value, allowed: &Projection) -> Vec<String> {
    let mut out = BTreeSet::new();
    refused(body, &allowed.root, "", &mut out);
    out.into_iter().collect()
}

fn refused(value: &Value, children: &Children, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                match children.get(key) {
                    Some(Node::Whole) => {}
                    Some(Node::Part(inner)) => refused(v, inner, &path, out),
                    None => {
                        out.insert(path);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                refused(item, children, prefix, out);
            }
        }
        Value::Null => {}
        _ => {
            out.insert(if prefix.is_empty() { "$" } else { prefix }.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The declared response of the vehicles service.
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
                {"name": "driver", "type": "object", "fields": [
                    {"name": "name", "type": "string"},
                    {"name": "licence", "type": "string"}
                ]},
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

    fn cut(p: &Projection, value: Value) -> Value {
        p.project(&declared(), value).value
    }

    fn vehicles() -> Value {
        json!({
            "owner": {"name": "Петренко Олена", "tax-id": "1234567890", "address": {"street": "Хрещатик", "flat": 5}},
            "vehicles": [
                {"vehicle_id": "AA1234BB", "vin": "WVWZZZ1JZXW000001", "driver": {"name": "Іван", "licence": "ABC123"}},
                {"vehicle_id": "AA5678CC", "vin": "WVWZZZ1JZXW000002", "fines": [{"sum": 340, "officer": "Сидоренко"}]}
            ],
            "debt-uah": "120.50"
        })
    }

    #[test]
    fn granting_a_key_inside_array_elements_keeps_only_that_key() {
        let p = Projection::new(["vehicles.vehicle_id"]);
        assert_eq!(
            cut(&p, vehicles()),
            json!({"vehicles": [{"vehicle_id": "AA1234BB"}, {"vehicle_id": "AA5678CC"}]})
        );
    }

    #[test]
    fn granting_an_array_keeps_whole_elements() {
        let p = Projection::new(["vehicles"]);
        assert_eq!(
            cut(&p, vehicles()),
            json!({"vehicles": vehicles()["vehicles"].clone()})
        );
    }

    #[test]
    fn personal_fields_in_nested_objects_never_survive() {
        let p = Projection::new(["owner.address.street", "debt-uah"]);
        let out = cut(&p, vehicles());
        assert_eq!(
            out,
            json!({"owner": {"address": {"street": "Хрещатик"}}, "debt-uah": "120.50"})
        );
        let text = out.to_string();
        for secret in ["Петренко", "1234567890", "\"flat\"", "WVWZZZ", "Сидоренко"]
        {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
    }

    #[test]
    fn deep_paths_through_nested_arrays_apply_to_every_element() {
        let p = Projection::new(["vehicles.fines.sum", "vehicles.driver.name"]);
        assert_eq!(
            cut(&p, vehicles()),
            json!({"vehicles": [
                {"driver": {"name": "Іван"}},
                {"fines": [{"sum": 340}]}
            ]})
        );
    }

    #[test]
    fn a_whole_grant_covers_narrower_grants_in_any_order() {
        let a = Projection::new(["owner.name", "owner"]);
        let b = Projection::new(["owner", "owner.name"]);
        assert_eq!(a, b);
        assert_eq!(
            cut(&a, vehicles()),
            json!({"owner": vehicles()["owner"].clone()})
        );
    }

    #[test]
    fn unknown_or_malformed_granted_paths_are_harmless() {
        let p = Projection::new([
            "nobody",
            "owner.nothing.here",
            "",
            "owner..name",
            ".debt-uah",
        ]);
        assert_eq!(cut(&p, vehicles()), json!({"owner": {}}));
        assert_eq!(
            cut(&Projection::new(Vec::<String>::new()), vehicles()),
            json!({})
        );
    }

    #[test]
    fn unexpected_shapes_become_null_and_leak_nothing() {
        let p = Projection::new(["owner.name", "vehicles.vehicle_id"]);
        let odd = json!({
            "owner": "Петренко Олена, 1234567890",
            "vehicles": ["AA1234BB secret", {"vehicle_id": "AA5678CC", "vin": "X"}, null, 7]
        });
        assert_eq!(
            cut(&p, odd),
            json!({"owner": null, "vehicles": [null, {"vehicle_id": "AA5678CC"}, null, null]})
        );
        assert_eq!(cut(&p, json!("Петренко")), Value::Null);
        assert_eq!(cut(&p, json!(42)), Value::Null);
        assert_eq!(
            cut(&p, json!([{"owner": {"name": "A", "tax-id": "1"}}, "B"])),
            json!([{"owner": {"name": "A"}}, null])
        );
    }

    #[test]
    fn agreement_fields_build_the_projection() {
        let agreement: Agreement = serde_json::from_value(json!({
            "id": "subsidy-reads-water-debt", "consumer": "social-dept/subsidies",
            "provider": "vodokanal/abonent-debt", "fields": ["account", "debt-uah"],
            "valid": {"from": "2026-01-01"}
        }))
        .unwrap();
        let response = json!({"account": "0042", "debt-uah": "12.00", "abonent": "Петренко"});
        let declared: Vec<ResponseField> = serde_json::from_value(json!([
            {"name": "account", "type": "string"},
            {"name": "debt-uah", "type": "decimal"},
            {"name": "abonent", "type": "string"}
        ]))
        .unwrap();
        assert_eq!(
            Projection::of(&agreement)
                .project(&declared, response)
                .value,
            json!({"account": "0042", "debt-uah": "12.00"})
        );
    }

    #[test]
    fn a_scalar_field_holding_an_object_or_array_becomes_null_and_is_named() {
        let p = Projection::new(["owner.name", "vehicles.vin", "debt-uah", "plates"]);
        let lying = json!({
            "owner": {"name": {"first": "Олена", "tax-id": "1234567890"}},
            "vehicles": [{"vin": ["WVWZZZ", {"driver": "Сидоренко"}]}],
            "debt-uah": {"sum": "1", "holder": "Петренко"},
            "plates": ["AA1234BB", {"owner": "Петренко"}, 7]
        });
        let out = p.project(&declared(), lying);
        assert_eq!(
            out.value,
            json!({
                "owner": {"name": null},
                "vehicles": [{"vin": null}],
                "debt-uah": null,
                "plates": ["AA1234BB", null, null]
            })
        );
        let named: Vec<&str> = out.mistyped.iter().map(String::as_str).collect();
        assert_eq!(named, ["debt-uah", "owner.name", "plates", "vehicles.vin"]);
        let text = out.value.to_string();
        for secret in ["Олена", "1234567890", "Сидоренко", "Петренко", "WVWZZZ"]
        {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
    }

    #[test]
    fn an_object_granted_whole_passes_only_its_declared_fields_typed() {
        let p = Projection::new(["owner"]);
        let out = p.project(
            &declared(),
            json!({"owner": {
                "name": "Олена",
                "passport": "МЕ123456",
                "address": {"street": "Хрещатик", "flat": "5", "phone": "+380501234567"}
            }}),
        );
        assert_eq!(
            out.value,
            json!({"owner": {"name": "Олена", "address": {"street": "Хрещатик", "flat": null}}})
        );
        assert_eq!(
            out.mistyped,
            BTreeSet::from(["owner.address.flat".to_string()])
        );
    }

    #[test]
    fn numbers_keep_their_exact_digits_and_integers_have_no_fraction() {
        let p = Projection::new(["mileage", "debt-uah"]);
        let body = r#"{"mileage": 123456789012345678901234567890, "debt-uah": 0.1000000000000000055511151231257827}"#;
        let out = p.project(&declared(), serde_json::from_str(body).unwrap());
        assert_eq!(
            out.value.to_string(),
            r#"{"mileage":123456789012345678901234567890,"debt-uah":0.1000000000000000055511151231257827}"#
        );
        assert!(out.mistyped.is_empty());
        for not_integer in ["1.0", "1e3", "\"12\"", "true"] {
            let body = format!(r#"{{"mileage": {not_integer}}}"#);
            let out = p.project(&declared(), serde_json::from_str(&body).unwrap());
            assert_eq!(out.value, json!({"mileage": null}), "{not_integer}");
            assert_eq!(out.mistyped.len(), 1);
        }
    }

    #[test]
    fn scalars_pass_only_in_their_declared_form() {
        let ok = [
            (FieldType::Decimal, json!("120.50")),
            (FieldType::Decimal, json!("-0.5")),
            (FieldType::Decimal, json!(12)),
            (FieldType::Decimal, json!(1.5e3)),
            (FieldType::Date, json!("2026-11-01")),
            (FieldType::Datetime, json!("2026-11-01T10:00:00Z")),
            (FieldType::Datetime, json!("2026-11-01T10:00:00.5+02:00")),
            (FieldType::Datetime, json!("2026-11-01T10:00:00")),
            (FieldType::Boolean, json!(false)),
            (FieldType::String, json!("")),
        ];
        for (ty, value) in ok {
            assert!(fits(ty, &value), "{ty:?} {value}");
        }
        let wrong = [
            (FieldType::Decimal, json!("12,50")),
            (FieldType::Decimal, json!("1e5")),
            (FieldType::Decimal, json!(" 1")),
            (FieldType::Decimal, json!("007")),
            (FieldType::Decimal, json!("NaN")),
            (FieldType::Decimal, json!("1.")),
            (FieldType::Date, json!("01.11.2026")),
            (FieldType::Date, json!("2026-11-1")),
            (FieldType::Date, json!("2026-02-30")),
            (FieldType::Date, json!(20261101)),
            (FieldType::Datetime, json!("2026-11-01")),
            (FieldType::Datetime, json!("вчора")),
            (FieldType::Boolean, json!("true")),
            (FieldType::String, json!(3012345678_u64)),
            (FieldType::Integer, json!("1")),
        ];
        for (ty, value) in wrong {
            assert!(!fits(ty, &value), "{ty:?} {value}");
        }
    }

    #[test]
    fn a_body_of_the_wrong_shape_is_named_as_a_whole() {
        let p = Projection::new(["owner.name"]);
        let out = p.project(&declared(), json!("Петренко"));
        assert_eq!((out.value, out.mistyped.len()), (Value::Null, 1));
        let out = p.project(&declared(), json!(null));
        assert_eq!((out.value, out.mistyped.len()), (Value::Null, 0));
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn query_parameters_beyond_the_allowed_are_named_once() {
        let q = params(&[
            ("date", "2026-01-01"),
            ("tax-id", "1"),
            ("x", "1"),
            ("x", "2"),
        ]);
        assert_eq!(refused_query(&q, &["date"]), vec!["tax-id", "x"]);
        assert!(refused_query(&q, &["date", "tax-id", "x"]).is_empty());
        assert!(refused_query(&[], &[]).is_empty());
        assert_eq!(refused_query(&q[..1], &[]), vec!["date"]);
    }

    #[test]
    fn body_fields_beyond_the_allowed_are_named_by_dotted_path() {
        let allowed = Projection::new(["account", "vehicles.vehicle_id", "owner"]);
        let body = json!({
            "account": "0042",
            "owner": {"anything": {"goes": true}},
            "vehicles": [{"vehicle_id": "A"}, {"vehicle_id": "B", "vin": "X", "driver": {"name": "I"}}],
            "tax-id": "1234567890"
        });
        assert_eq!(
            refused_body_fields(&body, &allowed),
            vec!["tax-id", "vehicles.driver", "vehicles.vin"]
        );
        let fine = json!({"account": "1", "vehicles": [{"vehicle_id": "A"}], "owner": "x"});
        assert!(refused_body_fields(&fine, &allowed).is_empty());
        assert!(refused_body_fields(&json!(null), &allowed).is_empty());
        assert!(refused_body_fields(&json!([]), &allowed).is_empty());
    }

    #[test]
    fn body_shapes_outside_the_grant_are_refused() {
        let allowed = Projection::new(["vehicles.vehicle_id"]);
        assert_eq!(
            refused_body_fields(&json!({"vehicles": "AA1234BB"}), &allowed),
            vec!["vehicles"]
        );
        assert_eq!(
            refused_body_fields(&json!({"vehicles": [7]}), &allowed),
            vec!["vehicles"]
        );
        assert_eq!(refused_body_fields(&json!("text"), &allowed), vec!["$"]);
        assert_eq!(refused_body_fields(&json!([1]), &allowed), vec!["$"]);
        assert_eq!(
            refused_body_fields(&json!({"a": 1}), &Projection::default()),
            vec!["a"]
        );
    }
}
