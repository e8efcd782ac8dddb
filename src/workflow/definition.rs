//! How the engine reads what a case runs on (`compile::workflow::Definition`, pinned in the
//! store per revision): registry answers' numeral strings read as numbers, automatic transitions.

use crate::spec::model::Transition;

/// A registry answer with each field `paths` declares numeric, given as a numeral string, made
/// the number it writes (its exact digits kept).
pub fn with_numbers(mut answer: serde_json::Value, paths: &[String]) -> serde_json::Value {
    for path in paths {
        let mut at = Some(&mut answer);
        for part in path.split('.') {
            at = at.and_then(|v| v.get_mut(part));
        }
        if let Some(v) = at
            && let Some(text) = v.as_str()
            && let Ok(number @ serde_json::Value::Number(_)) =
                serde_json::from_str::<serde_json::Value>(text.trim())
        {
            *v = number;
        }
    }
    answer
}

/// Whether a transition fires by itself: it names no role.
pub fn is_automatic(t: &Transition) -> bool {
    t.role.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeral_strings_of_numeric_fields_become_numbers_with_their_digits() {
        let paths = vec!["debt_uah".to_string(), "address.flats".to_string()];
        let answer = json!({"debt_uah": "1500.50", "account": "00012345",
                            "address": {"flats": " 12 ", "street": "7"}});
        let read = with_numbers(answer, &paths);
        assert_eq!(read["debt_uah"].to_string(), "1500.50");
        assert!(read["debt_uah"].is_number() && read["address"]["flats"].is_number());
        assert_eq!(
            read["account"], "00012345",
            "an undeclared field stays as given"
        );
        assert_eq!(read["address"]["street"], "7");
        let odd = with_numbers(json!({"debt_uah": "a lot"}), &paths);
        assert_eq!(
            odd["debt_uah"], "a lot",
            "what is not a numeral stays a string"
        );
    }
}
