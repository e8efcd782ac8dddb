//! Cross-checks (003 §5.2): a value the citizen entered on a page is compared with a registry's,
//! read through the gateway as the portal's subsystem; a difference stops the application with
//! the spec's message on the field, and so does a registry that cannot be asked.

use serde::Serialize;
use serde_json::Value;

use serde_json::Map;

use crate::compile::Compiled;
use crate::spec::model::{Form, FormField, Page};

use super::PortalState;
use super::citizen::Citizen;
use super::registry_reads::{Ask, Asking, is_empty, values_at};

/// The cross-checks of `page` of `citizen`'s draft `draft_id` with `data` (the page's accepted
/// values in), read through the gateway as the portal's subsystem: an error with the spec's
/// message for each field the registry contradicts; none means the page may go on. Call it
/// when a page is posted and its own checks passed.
pub async fn cross_checks(
    portal: &PortalState,
    compiled: &Compiled,
    form: &Form,
    page: &Page,
    citizen: &Citizen,
    data: &Map<String, Value>,
    draft_id: &str,
) -> Vec<FieldError> {
    let asking = Asking {
        compiled,
        subject: super::prefill::subject(citizen),
        draft_id,
        data,
    };
    check_page(portal.registries.as_ref(), &asking, form, page).await
}

/// A refusal shown against one field: `field` is the form's field id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The cross-checks of `page`'s fields that have a value: the spec's message for each value the
/// registry does not hold (a different value, or no record at all), and a "try later" message
/// for each whose registry did not answer. Fields whose record cannot be named yet (the field
/// that fills the service's path is empty) are not checked: their page's own checks ask for it.
pub async fn check_page(
    ask: &dyn Ask,
    asking: &Asking<'_>,
    form: &Form,
    page: &Page,
) -> Vec<FieldError> {
    let names = field_names(form);
    let checked: Vec<(&FormField, &Value)> = page
        .fields
        .iter()
        .filter(|f| f.cross_check.is_some())
        .filter_map(|f| Some((f, asking.data.get(&f.id).filter(|v| !is_empty(v))?)))
        .filter(|(f, _)| {
            f.cross_check
                .as_ref()
                .is_some_and(|x| asking.can_ask(&x.from, &names))
        })
        .collect();
    let services: Vec<&str> = checked
        .iter()
        .filter_map(|(f, _)| f.cross_check.as_ref().map(|x| x.from.as_str()))
        .collect();
    let answers = asking.answers(ask, services).await;
    let mut errors = Vec::new();
    for (field, entered) in checked {
        let Some(x) = &field.cross_check else {
            continue;
        };
        let Some(answer) = answers.get(&x.from) else {
            continue;
        };
        let message = match answer {
            Ok(answer) if values_at(answer, &x.field).iter().any(|v| same(entered, v)) => {
                continue;
            }
            Ok(_) => x.message.clone(),
            Err(problem) if problem.not_found => x.message.clone(),
            Err(problem) => format!(
                "Не вдалося звірити поле «{}» з реєстром {}: він зараз не відповідає. Спробуйте пізніше.",
                field.label, problem.register
            ),
        };
        errors.push(FieldError {
            field: field.id.clone(),
            message,
        });
    }
    errors
}

/// The ids of the form's fields, its groups' included.
pub(super) fn field_names(form: &Form) -> Vec<&str> {
    form.pages
        .iter()
        .flat_map(|p| {
            p.fields
                .iter()
                .chain(p.groups.iter().flat_map(|g| g.fields.iter()))
        })
        .map(|f| f.id.as_str())
        .collect()
}

/// Whether an entered value and a registry's are the same: texts alike but for letter case,
/// surrounding and repeated spaces and the apostrophe's spelling; numbers by value (`340` is
/// `340.00`); a date the day of a registry's date-time.
pub fn same(entered: &Value, registry: &Value) -> bool {
    let (Some(a), Some(b)) = (plain(entered), plain(registry)) else {
        return false;
    };
    if a == b {
        return true;
    }
    if let (Some(x), Some(y)) = (number(&a), number(&b)) {
        return x == y;
    }
    let day = |s: &str| {
        (s.len() > 10 && s.is_char_boundary(10) && s[10..].starts_with(['T', 't']))
            .then(|| s[..10].to_string())
    };
    a.len() == 10 && day(&b).as_deref() == Some(a.as_str())
}

/// A scalar as comparable text.
fn plain(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    Some(
        words
            .join(" ")
            .to_lowercase()
            .replace(['’', 'ʼ', '`', '‘'], "'"),
    )
}

/// A decimal numeral as (sign, whole digits, fraction digits) without insignificant zeros.
fn number(text: &str) -> Option<(bool, String, String)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let zero = whole.is_empty() && fraction.is_empty();
    Some((negative && !zero, whole.to_string(), fraction.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_compare_as_people_read_them() {
        let alike = [
            (json!("3184710691"), json!("3184710691")),
            (json!("вулиця  Соборна "), json!("Вулиця Соборна")),
            (json!("Мар'яна"), json!("Марʼяна")),
            (json!("340"), json!(340)),
            (json!("340.00"), json!(340)),
            (json!("-0.0"), json!(0)),
            (json!("2026-11-15"), json!("2026-11-15T10:20:00+02:00")),
            (json!(true), json!(true)),
        ];
        for (a, b) in alike {
            assert!(same(&a, &b), "{a} vs {b}");
        }
        let different = [
            (json!("3184710691"), json!("3184710692")),
            (json!("340.01"), json!(340)),
            (json!("-340"), json!(340)),
            (json!("2026-11-16"), json!("2026-11-15T10:20:00+02:00")),
            (json!("2026-11-15T"), json!("2026-11-15")),
            (json!("x"), json!(null)),
            (json!("x"), json!({"x": 1})),
            (json!(true), json!("false")),
        ];
        for (a, b) in different {
            assert!(!same(&a, &b), "{a} vs {b}");
        }
    }
}

#[cfg(test)]
mod page_tests {
    use serde_json::json;

    use super::*;
    use crate::gateway::in_process::CallFailure;
    use crate::portal::registry_reads::canned::{Canned, city, down, not_found};

    const APPLICANT: &str = "3184710691";
    const NOT_OWNER: &str = "Ви не є власником цього особового рахунку. Довідку може отримати лише власник рахунку або його представник через ЦНАП";

    async fn run(answer: Result<Value, CallFailure>, data: Value) -> (Vec<FieldError>, Canned) {
        let ask = Canned::answering("vodokanal/balance", answer);
        let compiled = city();
        let form = compiled.spec.form("water-no-debt").unwrap().clone();
        let data = data.as_object().unwrap().clone();
        let asking = Asking {
            compiled: &compiled,
            subject: APPLICANT,
            draft_id: "draft-1",
            data: &data,
        };
        let errors = check_page(&ask, &asking, &form, &form.pages[0]).await;
        (errors, ask)
    }

    fn entered() -> Value {
        json!({"rnokpp": APPLICANT, "account_number": "10000001"})
    }

    #[tokio::test]
    async fn a_value_the_registry_holds_passes() {
        let (errors, ask) = run(Ok(json!({"holder_rnokpp": APPLICANT})), entered()).await;
        assert_eq!(errors, vec![]);
        assert_eq!(ask.services_asked(), ["vodokanal/balance"]);
    }

    #[tokio::test]
    async fn another_value_or_no_record_stops_with_the_specs_message() {
        for answer in [
            Ok(json!({"holder_rnokpp": "2245134075"})),
            Ok(json!({})),
            not_found(),
        ] {
            let (errors, _) = run(answer, entered()).await;
            assert_eq!(
                errors,
                vec![FieldError {
                    field: "rnokpp".into(),
                    message: NOT_OWNER.into()
                }]
            );
        }
    }

    #[tokio::test]
    async fn a_registry_that_does_not_answer_stops_with_try_later() {
        let (errors, _) = run(down(), entered()).await;
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "rnokpp");
        assert!(
            errors[0].message.contains("Спробуйте пізніше"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[0].message.contains("РНОКПП заявника"),
            "{}",
            errors[0].message
        );
    }

    #[tokio::test]
    async fn nothing_is_checked_without_a_value_or_a_named_record() {
        for data in [
            json!({"account_number": "10000001"}),
            json!({"rnokpp": APPLICANT}),
        ] {
            let (errors, ask) = run(Ok(json!({"holder_rnokpp": "x"})), data).await;
            assert_eq!(errors, vec![]);
            assert!(ask.services_asked().is_empty());
        }
    }
}
