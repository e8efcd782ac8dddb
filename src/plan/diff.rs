//! The attribute-level diff of two spec trees: every node is compared by kind and id through its
//! canonical JSON. Lists whose items all carry an `id` (or a `name`) are matched by that key, so
//! an inserted service reads as one added item, not as every later item changing.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::spec::{Kind, Spec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Add,
    Change,
    Remove,
}

impl Action {
    pub fn sign(self) -> char {
        match self {
            Action::Add => '+',
            Action::Change => '~',
            Action::Remove => '-',
        }
    }
}

/// One node of the tree that differs between the two revisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    #[serde(serialize_with = "kind_name")]
    pub kind: Kind,
    pub id: String,
    pub action: Action,
    pub attributes: Vec<Attribute>,
}

fn kind_name<S: serde::Serializer>(kind: &Kind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.node_name())
}

/// One property (or list item) of a node that differs. `path` names it with dots for properties
/// and `[key]` for keyed list items (`services[abonent-debt].response.fields[debt-uah].class`);
/// an added list item has no `before`, a removed one no `after`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribute {
    pub path: String,
    pub action: Action,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

macro_rules! nodes_of {
    ($($node:literal => $field:ident: $ty:ident,)*) => {
        /// Every node of the tree as (kind, id, canonical JSON), in kind then id order.
        fn nodes(spec: &Spec) -> Vec<(Kind, String, Value)> {
            let mut out = Vec::new();
            $(
                for node in &spec.$field {
                    let value = serde_json::to_value(node).expect("the model serialises");
                    out.push((Kind::$ty, node.id.clone(), value));
                }
            )*
            out
        }
    };
}

crate::for_each_kind!(nodes_of);

/// The changes from `from` to `to`, ordered by kind (in the model's order) then id.
pub fn changes(from: &Spec, to: &Spec) -> Vec<Change> {
    let before = nodes(from);
    let after = nodes(to);
    let mut keys: Vec<(Kind, &str)> = before
        .iter()
        .chain(&after)
        .map(|(k, id, _)| (*k, id.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    let find = |list: &'_ [(Kind, String, Value)], kind: Kind, id: &str| -> Option<Value> {
        list.iter()
            .find(|(k, i, _)| *k == kind && i == id)
            .map(|(_, _, v)| v.clone())
    };
    let mut out = Vec::new();
    for (kind, id) in keys {
        let (old, new) = (find(&before, kind, id), find(&after, kind, id));
        let action = match (&old, &new) {
            (None, Some(_)) => Action::Add,
            (Some(_), None) => Action::Remove,
            (Some(a), Some(b)) if a == b => continue,
            _ => Action::Change,
        };
        let empty = Value::Object(Map::new());
        let mut attributes = Vec::new();
        diff_value(
            "",
            old.as_ref().unwrap_or(&empty),
            new.as_ref().unwrap_or(&empty),
            &mut attributes,
        );
        if action != Action::Change {
            attributes.retain(|a| a.path != "id");
        }
        out.push(Change {
            kind,
            id: id.to_string(),
            action,
            attributes,
        });
    }
    out
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn diff_value(path: &str, old: &Value, new: &Value, out: &mut Vec<Attribute>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => diff_object(path, a, b, out),
        (Value::Array(a), Value::Array(b)) => diff_list(path, a, b, out),
        _ => out.push(Attribute {
            path: path.to_string(),
            action: Action::Change,
            before: Some(old.clone()),
            after: Some(new.clone()),
        }),
    }
}

fn diff_object(
    path: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    out: &mut Vec<Attribute>,
) {
    for (name, a) in old {
        match new.get(name) {
            Some(b) => diff_value(&join(path, name), a, b, out),
            None => out.push(Attribute {
                path: join(path, name),
                action: Action::Remove,
                before: Some(a.clone()),
                after: None,
            }),
        }
    }
    for (name, b) in new.iter().filter(|(n, _)| !old.contains_key(*n)) {
        out.push(Attribute {
            path: join(path, name),
            action: Action::Add,
            before: None,
            after: Some(b.clone()),
        });
    }
}

/// The key that identifies the items of a list, when every item has a distinct one.
fn list_key(old: &[Value], new: &[Value]) -> Option<&'static str> {
    ["id", "name"].into_iter().find(|key| {
        [old, new].iter().all(|list| {
            let mut seen = std::collections::HashSet::new();
            list.iter().all(|item| {
                item.get(key)
                    .and_then(Value::as_str)
                    .is_some_and(|k| seen.insert(k))
            })
        })
    })
}

fn diff_list(path: &str, old: &[Value], new: &[Value], out: &mut Vec<Attribute>) {
    if let Some(key) = list_key(old, new) {
        let key_of = |v: &Value| v[key].as_str().unwrap_or_default().to_string();
        for a in old {
            let k = key_of(a);
            let item = format!("{path}[{k}]");
            match new.iter().find(|b| key_of(b) == k) {
                Some(b) => diff_value(&item, a, b, out),
                None => out.push(Attribute {
                    path: item,
                    action: Action::Remove,
                    before: Some(a.clone()),
                    after: None,
                }),
            }
        }
        for b in new
            .iter()
            .filter(|b| !old.iter().any(|a| key_of(a) == key_of(b)))
        {
            out.push(Attribute {
                path: format!("{path}[{}]", key_of(b)),
                action: Action::Add,
                before: None,
                after: Some(b.clone()),
            });
        }
        return;
    }
    let removed = missing_from(old, new);
    let added = missing_from(new, old);
    if removed.is_empty() && added.is_empty() {
        out.push(Attribute {
            path: path.to_string(),
            action: Action::Change,
            before: Some(Value::Array(old.to_vec())),
            after: Some(Value::Array(new.to_vec())),
        });
        return;
    }
    for item in removed {
        out.push(Attribute {
            path: path.to_string(),
            action: Action::Remove,
            before: Some(item.clone()),
            after: None,
        });
    }
    for item in added {
        out.push(Attribute {
            path: path.to_string(),
            action: Action::Add,
            before: None,
            after: Some(item.clone()),
        });
    }
}

/// The items of `list` that `other` lacks, counting repeats.
fn missing_from<'a>(list: &'a [Value], other: &[Value]) -> Vec<&'a Value> {
    let mut pool: Vec<&Value> = other.iter().collect();
    list.iter()
        .filter(|item| match pool.iter().position(|o| o == item) {
            Some(i) => {
                pool.remove(i);
                false
            }
            None => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(old: Value, new: Value) -> Vec<(String, Action, Option<Value>, Option<Value>)> {
        let mut out = Vec::new();
        diff_value("", &old, &new, &mut out);
        out.into_iter()
            .map(|a| (a.path, a.action, a.before, a.after))
            .collect()
    }

    #[test]
    fn scalar_lists_report_items_added_and_removed() {
        let got = attrs(json!({"fields": ["a", "b"]}), json!({"fields": ["b", "c"]}));
        assert_eq!(
            got,
            vec![
                ("fields".into(), Action::Remove, Some(json!("a")), None),
                ("fields".into(), Action::Add, None, Some(json!("c"))),
            ]
        );
    }

    #[test]
    fn keyed_lists_match_items_by_key() {
        let old = json!({"services": [{"id": "x", "title": "X"}, {"id": "y", "title": "Y"}]});
        let new = json!({"services": [{"id": "w", "title": "W"}, {"id": "x", "title": "X2"}, {"id": "y", "title": "Y"}]});
        let got = attrs(old, new);
        assert_eq!(
            got,
            vec![
                (
                    "services[x].title".into(),
                    Action::Change,
                    Some(json!("X")),
                    Some(json!("X2"))
                ),
                (
                    "services[w]".into(),
                    Action::Add,
                    None,
                    Some(json!({"id": "w", "title": "W"}))
                ),
            ]
        );
    }

    #[test]
    fn a_reordered_list_is_one_change() {
        let got = attrs(json!({"l": [1, 2]}), json!({"l": [2, 1]}));
        assert_eq!(
            got,
            vec![(
                "l".into(),
                Action::Change,
                Some(json!([1, 2])),
                Some(json!([2, 1]))
            )]
        );
    }

    #[test]
    fn optional_properties_appear_and_disappear() {
        let got = attrs(
            json!({"valid": {"from": "a", "until": "b"}}),
            json!({"valid": {"from": "a"}, "purpose": "p"}),
        );
        assert_eq!(
            got,
            vec![
                ("valid.until".into(), Action::Remove, Some(json!("b")), None),
                ("purpose".into(), Action::Add, None, Some(json!("p"))),
            ]
        );
    }
}
