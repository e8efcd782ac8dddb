//! A page's registry reads (003 §5.2) through `portal::prefill` and `portal::cross_check`: the
//! empty shown fields a registry fills, and entered values a registry must confirm, each against
//! its input.

use serde_json::{Map, Value};

use super::Opened;
use super::judge::{FieldError, field_id, field_shown};
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::portal::{cross_check, prefill};
use crate::spec::model::Page;

/// What prefill gave a page: the ids of the fields it filled (shown ones only), and what the
/// page should say when a registry did not answer.
#[derive(Default)]
pub struct Prefilled {
    pub filled: Vec<String>,
    pub notice: Option<String>,
}

/// Fills `data`'s empty, shown fields of `page` that the form prefills from a registry.
pub async fn prefill(
    portal: &PortalState,
    citizen: &Citizen,
    opened: &Opened,
    page: &Page,
    data: &mut Map<String, Value>,
) -> Prefilled {
    let wanted = page.fields.iter().any(|f| f.prefill.is_some());
    if !wanted {
        return Prefilled {
            filled: Vec::new(),
            notice: None,
        };
    }
    let answer = prefill::prefill(
        portal,
        &opened.compiled,
        &opened.form,
        page,
        citizen,
        data,
        &opened.draft.id,
    )
    .await;
    let values = match answer {
        Ok(values) => values,
        Err(problem) => {
            return Prefilled {
                filled: Vec::new(),
                notice: Some(problem.message),
            };
        }
    };
    let mut filled = Vec::new();
    for (id, value) in values {
        let shown = page
            .fields
            .iter()
            .find(|f| f.id == id)
            .is_some_and(|f| field_shown(f, data, None));
        if shown {
            data.insert(id.clone(), value);
            filled.push(id);
        }
    }
    Prefilled {
        filled,
        notice: None,
    }
}

/// The cross-checks of `page` over `data`: each refusal against its field's input.
pub async fn cross_checks(
    portal: &PortalState,
    citizen: &Citizen,
    opened: &Opened,
    page: &Page,
    data: &Map<String, Value>,
) -> Vec<FieldError> {
    if !page.fields.iter().any(|f| f.cross_check.is_some()) {
        return Vec::new();
    }
    let form = &opened.form;
    let draft = &opened.draft.id;
    cross_check::cross_checks(portal, &opened.compiled, form, page, citizen, data, draft)
        .await
        .into_iter()
        .map(|e| FieldError {
            field: field_id(&e.field),
            message: e.message,
        })
        .collect()
}
