//! A card's fields, statuses and changes in Ukrainian words (КМУ №55 п.41): the one table the
//! registry's pages (card, history, reports) name them by.

/// The label of each card field the history lists (`store::HISTORY_FIELDS`), in that order.
pub const FIELD_LABELS: &[(&str, &str)] = &[
    ("status", "Стан"),
    ("kind", "Вид документа"),
    ("journal", "Журнал реєстрації"),
    ("reg_number", "Реєстраційний індекс"),
    ("reg_date", "Дата реєстрації"),
    ("case_code", "Справа за номенклатурою"),
    ("summary", "Короткий зміст"),
    ("correspondent", "Кореспондент"),
    ("correspondent_number", "Вихідний номер кореспондента"),
    ("correspondent_date", "Вихідна дата кореспондента"),
    ("signer", "Підписувач"),
    ("addressees", "Адресати"),
    ("unit", "Відповідальний підрозділ"),
    ("executor", "Виконавець"),
    ("deadline", "Строк виконання"),
    ("interim_deadline", "Проміжний строк"),
    ("control", "Контроль"),
    ("execution_mark", "Відмітка про виконання"),
    ("executed_at", "Дата виконання"),
    ("pages", "Кількість аркушів"),
    ("paper", "Паперовий оригінал"),
    ("related", "Попередні документи з питання"),
    ("extra", "Додаткові реквізити"),
    ("archived_at", "Передано до архіву"),
];

/// A field's label; the field's own name for one the table does not know.
pub fn field(name: &str) -> &str {
    FIELD_LABELS
        .iter()
        .find(|(f, _)| *f == name)
        .map_or(name, |(_, label)| label)
}

/// A card's status in words.
pub fn status(status: &str) -> &str {
    match status {
        "draft" => "Чернетка",
        "registered" => "Зареєстровано",
        "executed" => "Виконано",
        "filed" => "До справи",
        "archived" => "В архіві",
        "destroyed" => "Знищено за актом",
        other => other,
    }
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
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::HISTORY_FIELDS;

    #[test]
    fn every_field_the_history_lists_has_a_label_in_its_order() {
        let labelled: Vec<&str> = FIELD_LABELS.iter().map(|(f, _)| *f).collect();
        assert_eq!(labelled, HISTORY_FIELDS);
    }
}
