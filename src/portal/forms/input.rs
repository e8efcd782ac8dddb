//! What a page's form sends, read strictly: every name must be an input the page shows (a field
//! of the page, an entry of one of its groups that exists, the action buttons), each once;
//! anything else is a tampered form, refused with what was wrong. And the reverse: a draft's
//! typed values as the text its inputs show.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::judge::asked;
use crate::spec::model::{Group, Page};

/// The text of a page's inputs: top-level fields by id; each group's entries in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageInput {
    pub fields: BTreeMap<String, String>,
    pub groups: BTreeMap<String, Vec<BTreeMap<String, String>>>,
}

/// What the citizen asked for with the button they pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// "Продовжити": judge the page and go on.
    Continue,
    /// "Додати ще" to a group.
    Add(String),
    /// "Видалити" an entry of a group.
    Remove(String, usize),
}

/// A posted page, read: its inputs, the action, and the CSRF token sent.
#[derive(Debug)]
pub struct Posted {
    pub input: PageInput,
    pub action: Action,
    pub csrf: Option<String>,
}

/// How many entries of `group` a page shows for `data`: those saved, at least `min`.
pub fn entries_shown(group: &Group, data: &Map<String, Value>) -> usize {
    let saved = match data.get(&group.id) {
        Some(Value::Array(list)) => list.len(),
        _ => 0,
    };
    saved.max(group.min as usize)
}

/// Reads a posted `page` whose draft holds `data`; `ignored` names fields whose posted value
/// is dropped (bound to the signed-in person). The error says which name is wrong and why.
pub fn read(
    page: &Page,
    data: &Map<String, Value>,
    pairs: Vec<(String, String)>,
    ignored: &[&str],
) -> Result<Posted, String> {
    let mut input = PageInput::default();
    for group in &page.groups {
        let n = entries_shown(group, data);
        input
            .groups
            .insert(group.id.clone(), vec![BTreeMap::new(); n]);
    }
    let mut action = None;
    let mut csrf = None;
    for (name, value) in pairs {
        let duplicate = || format!("the form sent `{name}` twice");
        if name == "csrf" {
            if csrf.replace(value).is_some() {
                return Err(duplicate());
            }
        } else if name == "action" {
            let read = read_action(page, &input, &value)?;
            if action.replace(read).is_some() {
                return Err(duplicate());
            }
        } else if let Some(id) = name.strip_prefix("f.") {
            if !asked(&page.fields).any(|f| f.id == id) {
                return Err(format!("page `{}` has no field `{id}`", page.id));
            }
            if ignored.contains(&id) {
                continue;
            }
            if input.fields.insert(id.to_string(), value).is_some() {
                return Err(duplicate());
            }
        } else if let Some(rest) = name.strip_prefix("g.") {
            let (group, index, field) = entry_name(page, rest)?;
            let entries = input
                .groups
                .get_mut(group)
                .expect("every group of the page");
            let Some(entry) = entries.get_mut(index) else {
                return Err(format!(
                    "group `{group}` has {} entries here, not an entry {}",
                    entries.len(),
                    index + 1
                ));
            };
            if entry.insert(field.to_string(), value).is_some() {
                return Err(duplicate());
            }
        } else {
            return Err(format!(
                "the form of page `{}` has no input `{name}`",
                page.id
            ));
        }
    }
    Ok(Posted {
        input,
        action: action.unwrap_or(Action::Continue),
        csrf,
    })
}

/// `GROUP.INDEX.FIELD` of an entry's input.
fn entry_name<'a>(page: &'a Page, rest: &'a str) -> Result<(&'a str, usize, &'a str), String> {
    let bad = || {
        format!(
            "`g.{rest}` names no input of an entry on page `{}`",
            page.id
        )
    };
    let mut parts = rest.splitn(3, '.');
    let (Some(group), Some(index), Some(field)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let Some(g) = page.groups.iter().find(|g| g.id == group) else {
        return Err(format!("page `{}` has no group `{group}`", page.id));
    };
    if !asked(&g.fields).any(|f| f.id == field) {
        return Err(format!("group `{group}` has no field `{field}`"));
    }
    let index = index.parse::<usize>().map_err(|_| bad())?;
    Ok((group, index, field))
}

/// `continue`, `add:GROUP` or `remove:GROUP:INDEX`.
fn read_action(page: &Page, input: &PageInput, value: &str) -> Result<Action, String> {
    if value == "continue" {
        return Ok(Action::Continue);
    }
    let group_of = |id: &str| {
        page.groups
            .iter()
            .find(|g| g.id == id)
            .map(|g| g.id.clone())
            .ok_or_else(|| format!("page `{}` has no group `{id}`", page.id))
    };
    if let Some(id) = value.strip_prefix("add:") {
        return group_of(id).map(Action::Add);
    }
    if let Some((id, index)) = value
        .strip_prefix("remove:")
        .and_then(|r| r.split_once(':'))
    {
        let group = group_of(id)?;
        let count = input.groups.get(&group).map_or(0, Vec::len);
        return match index.parse::<usize>() {
            Ok(i) if i < count => Ok(Action::Remove(group, i)),
            _ => Err(format!(
                "group `{group}` has {count} entries here, so entry `{index}` cannot be removed"
            )),
        };
    }
    Err(format!("the page has no button `{value}`"))
}

/// The draft's values of `page` as the text its inputs show.
pub fn shown_input(page: &Page, data: &Map<String, Value>) -> PageInput {
    let mut input = PageInput::default();
    for field in asked(&page.fields) {
        if let Some(v) = data.get(&field.id) {
            input.fields.insert(field.id.clone(), text(v));
        }
    }
    for group in &page.groups {
        let mut entries = match data.get(&group.id) {
            Some(Value::Array(list)) => list
                .iter()
                .map(|entry| match entry {
                    Value::Object(own) => own.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
                    _ => BTreeMap::new(),
                })
                .collect(),
            _ => Vec::new(),
        };
        entries.resize(entries_shown(group, data), BTreeMap::new());
        input.groups.insert(group.id.clone(), entries);
    }
    input
}

/// A typed value as its input shows it (a decimal with its exact digits).
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
