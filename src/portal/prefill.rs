//! Prefill (003 §5.2): the empty fields of a page that the form fills from a registry get the
//! registry's value, read through the gateway as the portal's subsystem under its agreement;
//! a registry that does not answer leaves the fields to the citizen and the page says why.

use serde_json::{Map, Value};

use crate::compile::Compiled;
use crate::spec::model::{Form, FormField, InputType, Page};

use super::PortalState;
use super::citizen::Citizen;
use super::registry_reads::{Ask, Asking, RegistryProblem, is_empty, values_at};

/// The values to put into the empty fields of `page` of `citizen`'s draft `draft_id` that the
/// form prefills, read through the gateway as the portal's subsystem with the citizen as data
/// subject; a registry that does not answer is the problem the page shows. Call it when a page
/// is shown (with the data so far) and after a page is saved: a field that names a service's
/// record (`account_number`, …) may be on the same page as the fields it fills.
pub async fn prefill(
    portal: &PortalState,
    compiled: &Compiled,
    form: &Form,
    page: &Page,
    citizen: &Citizen,
    data: &Map<String, Value>,
    draft_id: &str,
) -> Result<Map<String, Value>, RegistryProblem> {
    let asking = Asking {
        compiled,
        subject: subject(citizen),
        draft_id,
        data,
    };
    prefill_page(portal.registries.as_ref(), &asking, form, page).await
}

/// Who the portal's registry reads are about: the citizen's РНОКПП, or their owner key when
/// the identity provider gave none.
pub(super) fn subject(citizen: &Citizen) -> &str {
    citizen.rnokpp.as_deref().unwrap_or(&citizen.owner)
}

/// The values to put into the empty fields of `page` that the form prefills, by field id.
/// Services are called only for fields still empty, and only once the field that names their
/// record (`account_number`, …) has a value. A value of the wrong type for its field is left
/// out; a registry that does not answer is the first problem met.
pub async fn prefill_page(
    ask: &dyn Ask,
    asking: &Asking<'_>,
    form: &Form,
    page: &Page,
) -> Result<Map<String, Value>, RegistryProblem> {
    let names = super::cross_check::field_names(form);
    let wanted: Vec<&FormField> = page
        .fields
        .iter()
        .filter(|f| f.prefill.is_some() && f.bind.is_none())
        .filter(|f| asking.data.get(&f.id).is_none_or(is_empty))
        .collect();
    let services: Vec<&str> = wanted
        .iter()
        .filter_map(|f| f.prefill.as_ref().map(|p| p.from.as_str()))
        .filter(|s| asking.can_ask(s, &names))
        .collect();
    let answers = asking.answers(ask, services).await;
    let mut values = Map::new();
    for field in wanted {
        let Some(p) = &field.prefill else { continue };
        let Some(answer) = answers.get(&p.from) else {
            continue;
        };
        let answer = answer.as_ref().map_err(Clone::clone)?;
        if let [one] = values_at(answer, &p.field).as_slice()
            && let Some(value) = typed(field.ty, one)
        {
            values.insert(field.id.clone(), value);
        }
    }
    Ok(values)
}

/// A registry's value as the draft keeps a value of an `ty` field: numbers as JSON numbers
/// (their exact digits), a yes/no as a boolean, a date as `YYYY-MM-DD` (a date-time's day),
/// everything else as text; `None` when it cannot be one.
pub fn typed(ty: InputType, value: &Value) -> Option<Value> {
    let text = match value {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let value = match ty {
        InputType::Boolean => Value::Bool(value.as_bool()?),
        InputType::Integer => Value::from(text?.parse::<i64>().ok()?),
        InputType::Decimal => {
            let text = text?;
            if !decimal_digits(&text) {
                return None;
            }
            serde_json::from_str(&text).ok()?
        }
        InputType::Date => {
            let text = text?;
            let day = text.get(..10)?;
            let rest = &text[10..];
            let time_follows = rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ');
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
            if !time_follows {
                return None;
            }
            Value::String(day.to_string())
        }
        InputType::File => return None,
        _ => Value::String(text?),
    };
    (!is_empty(&value)).then_some(value)
}

/// Digits with an optional minus and one decimal point: what a `decimal` field keeps.
fn decimal_digits(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn registry_values_take_the_type_of_their_field() {
        let cases = [
            (
                InputType::Text,
                json!("Іваненко Марія"),
                Some(json!("Іваненко Марія")),
            ),
            (InputType::Text, json!("   "), None),
            (InputType::Text, json!(340), Some(json!("340"))),
            (InputType::Text, json!({"a": 1}), None),
            (InputType::Decimal, json!(54.2), Some(json!(54.2))),
            (
                InputType::Decimal,
                json!("1250.40"),
                serde_json::from_str("1250.40").ok(),
            ),
            (InputType::Decimal, json!("1e9"), None),
            (InputType::Integer, json!(2), Some(json!(2))),
            (InputType::Integer, json!("2.5"), None),
            (InputType::Boolean, json!(true), Some(json!(true))),
            (InputType::Boolean, json!("так"), None),
            (
                InputType::Date,
                json!("2026-11-15"),
                Some(json!("2026-11-15")),
            ),
            (
                InputType::Date,
                json!("2026-11-15T10:20:00+02:00"),
                Some(json!("2026-11-15")),
            ),
            (InputType::Date, json!("2026-11-15garbage"), None),
            (InputType::Date, json!("15.11.2026"), None),
            (InputType::File, json!("x.pdf"), None),
        ];
        for (ty, given, want) in cases {
            assert_eq!(typed(ty, &given), want, "{ty:?} {given}");
        }
    }

    #[test]
    fn a_decimal_keeps_its_exact_digits() {
        let v = typed(InputType::Decimal, &json!("1250.40")).unwrap();
        assert_eq!(v.to_string(), "1250.40");
    }
}

#[cfg(test)]
mod page_tests {
    use serde_json::json;

    use super::*;
    use crate::portal::registry_reads::canned::{Canned, city, down, not_found};

    const APPLICANT: &str = "3184710691";

    fn balance() -> Value {
        json!({"holder_rnokpp": APPLICANT, "holder_name": "Іваненко Марія Петрівна", "debt_uah": 0})
    }

    async fn run(ask: &Canned, data: Value) -> Result<Map<String, Value>, RegistryProblem> {
        let compiled = city();
        let form = compiled.spec.form("water-no-debt").unwrap().clone();
        let data = data.as_object().unwrap().clone();
        let asking = Asking {
            compiled: &compiled,
            subject: APPLICANT,
            draft_id: "draft-1",
            data: &data,
        };
        prefill_page(ask, &asking, &form, &form.pages[0]).await
    }

    #[tokio::test]
    async fn an_empty_field_is_filled_from_the_registry_as_the_portal() {
        let ask = Canned::answering("vodokanal/balance", Ok(balance()));
        let data = json!({"rnokpp": APPLICANT, "account_number": "10000001"});
        let values = run(&ask, data.clone()).await.unwrap();
        assert_eq!(
            values,
            *json!({"holder_name": "Іваненко Марія Петрівна"})
                .as_object()
                .unwrap()
        );
        let asked = ask.asked.lock().unwrap().clone();
        assert_eq!(
            asked,
            vec![(
                "city-council/portal".to_string(),
                "vodokanal/balance".to_string(),
                APPLICANT.to_string(),
                "draft-1".to_string(),
                data
            )]
        );
    }

    #[tokio::test]
    async fn nothing_is_asked_before_the_record_is_named_or_once_the_field_is_filled() {
        let ask = Canned::answering("vodokanal/balance", Ok(balance()));
        let values = run(&ask, json!({"rnokpp": APPLICANT, "account_number": ""})).await;
        assert_eq!(values, Ok(Map::new()));
        let filled = json!({"account_number": "10000001", "holder_name": "Петренко"});
        assert_eq!(run(&ask, filled).await, Ok(Map::new()));
        assert!(ask.services_asked().is_empty());
    }

    #[tokio::test]
    async fn a_registry_that_does_not_answer_is_a_problem_for_the_page() {
        let data = json!({"account_number": "10000001"});
        let problem = run(
            &Canned::answering("vodokanal/balance", down()),
            data.clone(),
        )
        .await
        .unwrap_err();
        assert_eq!(problem.service, "vodokanal/balance");
        assert!(!problem.not_found);
        assert!(
            problem.message.contains("не відповідає"),
            "{}",
            problem.message
        );
        assert!(problem.message.contains("Водоканал"), "{}", problem.message);
        let problem = run(&Canned::answering("vodokanal/balance", not_found()), data)
            .await
            .unwrap_err();
        assert!(problem.not_found);
        assert!(
            problem.message.contains("немає відомостей"),
            "{}",
            problem.message
        );
    }

    #[tokio::test]
    async fn a_value_the_field_cannot_hold_is_left_out() {
        let answer = json!({"holder_name": {"family": "Іваненко"}});
        let ask = Canned::answering("vodokanal/balance", Ok(answer));
        let values = run(&ask, json!({"account_number": "10000001"})).await;
        assert_eq!(values, Ok(Map::new()));
    }
}
