//! Data minimisation (MIN-1) as pure functions: a `Projection` keeps exactly the response fields
//! an agreement grants, and the refusal helpers name request parameters and body fields beyond
//! what is allowed. Nothing outside a grant ever passes, whatever shape the provider sends.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::spec::model::Agreement;

/// The granted fields as a tree of names. A path through an array applies to each of its
/// elements, so `vehicles.vehicle_id` keeps that one key of every element of `vehicles`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    root: Children,
}

type Children = BTreeMap<String, Node>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    /// Granted whole: the value and everything nested in it.
    Whole,
    /// Only some fields nested in it are granted.
    Part(Children),
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

    /// The granted part of a response. The top level is an object or an array of objects. Where
    /// the grant expects an object (the top level, or a field only part of which is granted) and
    /// the value is something else, it becomes `null`: the consumer sees the field came in an
    /// unexpected shape, and nothing of it passes. Arrays are projected element by element, nested
    /// arrays included; `null` stays `null`. Fields granted but absent stay absent.
    pub fn project(&self, value: Value) -> Value {
        project_part(&self.root, value)
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

fn project_part(children: &Children, value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map {
                match children.get(&key) {
                    Some(Node::Whole) => {
                        out.insert(key, v);
                    }
                    Some(Node::Part(inner)) => {
                        let part = project_part(inner, v);
                        out.insert(key, part);
                    }
                    None => {}
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| project_part(children, item))
                .collect(),
        ),
        _ => Value::Null,
    }
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
            p.project(vehicles()),
            json!({"vehicles": [{"vehicle_id": "AA1234BB"}, {"vehicle_id": "AA5678CC"}]})
        );
    }

    #[test]
    fn granting_an_array_keeps_whole_elements() {
        let p = Projection::new(["vehicles"]);
        assert_eq!(
            p.project(vehicles()),
            json!({"vehicles": vehicles()["vehicles"].clone()})
        );
    }

    #[test]
    fn personal_fields_in_nested_objects_never_survive() {
        let p = Projection::new(["owner.address.street", "debt-uah"]);
        let out = p.project(vehicles());
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
            p.project(vehicles()),
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
            a.project(vehicles()),
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
        assert_eq!(p.project(vehicles()), json!({"owner": {}}));
        assert_eq!(
            Projection::new(Vec::<String>::new()).project(vehicles()),
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
            p.project(odd),
            json!({"owner": null, "vehicles": [null, {"vehicle_id": "AA5678CC"}, null, null]})
        );
        assert_eq!(p.project(json!("Петренко")), Value::Null);
        assert_eq!(p.project(json!(42)), Value::Null);
        assert_eq!(
            p.project(json!([{"owner": {"name": "A", "tax-id": "1"}}, "B"])),
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
        assert_eq!(
            Projection::of(&agreement).project(response),
            json!({"account": "0042", "debt-uah": "12.00"})
        );
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
