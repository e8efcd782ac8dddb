//! A card's fields, controls, directions and changes in Ukrainian words (КМУ №55 п.41): the
//! history's and reports' names for them; a field the card form labels (`cards::fields::BASE`)
//! is named as the form names it.

use super::cards::fields::BASE;

/// The label of each card field the history lists (`store::HISTORY_FIELDS`) that the card form
/// does not ask for.
const FIELD_LABELS: &[(&str, &str)] = &[
    ("status", "Стан"),
    ("kind", "Вид документа"),
    ("journal", "Журнал реєстрації"),
    ("reg_number", "Реєстраційний індекс"),
    ("reg_date", "Дата реєстрації"),
    ("interim_deadline", "Проміжний строк"),
    ("control", "Контроль"),
    ("execution_mark", "Відмітка про виконання"),
    ("executed_at", "Дата виконання"),
    ("extra", "Додаткові реквізити"),
    ("archived_at", "Передано до архіву"),
];

/// A field's label: the card form's, else this table's, else the field's own name.
pub fn field(name: &str) -> &str {
    BASE.iter()
        .find(|(f, ..)| *f == name)
        .map(|(_, label, ..)| *label)
        .or_else(|| {
            FIELD_LABELS
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, label)| *label)
        })
        .unwrap_or(name)
}

/// A card's control in words.
pub fn control(control: &str) -> &str {
    match control {
        "none" => "Не на контролі",
        "on" => "На контролі",
        "removed" => "Знято з контролю",
        other => other,
    }
}

/// A document's direction in words.
pub fn direction(direction: &str) -> &str {
    match direction {
        "incoming" => "Вхідний",
        "outgoing" => "Вихідний",
        "internal" => "Внутрішній",
        other => other,
    }
}

/// What kind of change a card's event records, in words.
pub fn change(kind: &str) -> &str {
    match kind {
        "created" => "Створено картку",
        "edited" => "Змінено реквізити",
        "registered" => "Зареєстровано",
        "resolved" => "Накладено резолюцію",
        "deadline-changed" => "Змінено строк виконання",
        "removed-from-control" => "Знято з контролю",
        "executed" => "Виконано",
        "filed" => "Списано до справи",
        "archived" => "Передано до архіву",
        "destroyed" => "Знищено за актом",
        "file-added" => "Додано файл",
        "signed" => "Підписано",
        "sent" => "Надіслано іншому учаснику",
        "exchange-delivered" => "Доставлено адресату",
        "exchange-registered" => "Зареєстровано адресатом",
        "exchange-refused" => "Відхилено адресатом",
        "exchange-not-received" => "Не отримано адресатом (п.24)",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::HISTORY_FIELDS;

    #[test]
    fn every_field_the_history_lists_has_a_label() {
        for f in HISTORY_FIELDS {
            assert_ne!(field(f), *f, "`{f}` has no label");
        }
    }
}
