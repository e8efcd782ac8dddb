//! Fields the spec binds to the signed-in identity (`bind`): filled from the `Citizen` whenever a
//! draft is written, shown read-only, and whatever a page posts for them is ignored.

use serde_json::{Map, Value};

use super::input::PageInput;
use crate::portal::citizen::Citizen;
use crate::spec::model::{Form, FormField, IdentityBinding, Page};

/// The identity's value for `binding`; `None` when the identity provider gave none.
pub fn bound_value(binding: IdentityBinding, citizen: &Citizen) -> Option<String> {
    let value = match binding {
        IdentityBinding::Rnokpp => citizen.rnokpp.clone(),
        IdentityBinding::FullName => Some(citizen.full_name()),
        IdentityBinding::FamilyName => citizen.family_name.clone(),
        IdentityBinding::GivenName => citizen.given_name.clone(),
        IdentityBinding::MiddleName => citizen.middle_name.clone(),
        IdentityBinding::Edrpou => citizen.edrpou.clone(),
        IdentityBinding::Email => citizen.email.clone(),
    };
    value.filter(|v| !v.trim().is_empty())
}

/// The bound fields of `form` set in `data` from `citizen` (removed where the identity has none).
pub fn fill(form: &Form, data: &mut Map<String, Value>, citizen: &Citizen) {
    for field in bound_fields(form) {
        let binding = field.bind.expect("a bound field");
        match bound_value(binding, citizen) {
            Some(v) => data.insert(field.id.clone(), Value::String(v)),
            None => data.remove(&field.id),
        };
    }
}

/// The bound fields of `page` set in a posted `input` from `citizen`, whatever was posted.
pub fn fill_input(page: &Page, input: &mut PageInput, citizen: &Citizen) {
    for field in page.fields.iter() {
        let Some(binding) = field.bind else { continue };
        match bound_value(binding, citizen) {
            Some(v) => input.fields.insert(field.id.clone(), v),
            None => input.fields.remove(&field.id),
        };
    }
}

/// The ids of a page's bound fields, whose posted values are ignored.
pub fn bound_ids(fields: &[FormField]) -> Vec<&str> {
    fields
        .iter()
        .filter(|f| f.bind.is_some())
        .map(|f| f.id.as_str())
        .collect()
}

fn bound_fields(form: &Form) -> impl Iterator<Item = &FormField> {
    form.pages
        .iter()
        .flat_map(|p| &p.fields)
        .filter(|f| f.bind.is_some())
}
