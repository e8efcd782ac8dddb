//! The statistics as they are published (pages and open data alike): per e-service and month,
//! and summed over months or e-services, every figure passed through `disclosure`. Nothing else
//! of the raw tallies leaves this module.

use serde_json::{Value, json};

use super::collect::Tally;
use super::disclosure::{self, Figure};

/// One published measure: its open-data name, its words on the pages, its type.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub title: &'static str,
    /// A whole number (a count) rather than a measure with a fraction.
    pub integer: bool,
    pub description: &'static str,
}

const fn field(
    name: &'static str,
    title: &'static str,
    integer: bool,
    description: &'static str,
) -> Field {
    Field {
        name,
        title,
        integer,
        description,
    }
}

/// The measures, in the order the pages and the files give them.
pub const FIELDS: [Field; 11] = [
    field(
        "views",
        "Перегляди сторінки послуги",
        true,
        "Views of the e-service's public page.",
    ),
    field(
        "started",
        "Розпочаті заяви",
        true,
        "Applications started on the portal (drafts created).",
    ),
    field(
        "submitted",
        "Подані заяви",
        true,
        "Applications submitted (cases started).",
    ),
    field(
        "granted",
        "Надано послугу",
        true,
        "Cases closed with the service provided.",
    ),
    field(
        "refused",
        "Відмовлено",
        true,
        "Cases closed with a refusal.",
    ),
    field(
        "withdrawn",
        "Відкликано заявником",
        true,
        "Cases the applicant withdrew.",
    ),
    field(
        "overdue",
        "Прострочені",
        true,
        "Cases whose deadline passed in the month.",
    ),
    field(
        "decision_days_median",
        "Медіана строку рішення, робочих днів",
        false,
        "Median working days from submission to decision (granted or refused) of the cases decided in the month.",
    ),
    field(
        "decision_days_p90",
        "90-й процентиль строку рішення, робочих днів",
        false,
        "90th percentile (nearest rank) of the working days from submission to decision.",
    ),
    field(
        "ratings",
        "Оцінки громадян",
        true,
        "Ratings the applicants gave (1 to 5 stars).",
    ),
    field(
        "rating_mean",
        "Середня оцінка",
        false,
        "Mean of the ratings, to one decimal.",
    ),
];

/// The index of the measure called `name` in [`FIELDS`].
pub fn index(name: &str) -> usize {
    FIELDS
        .iter()
        .position(|f| f.name == name)
        .unwrap_or_default()
}

/// The published figures of one cell (an e-service's month, or a sum of such), in [`FIELDS`]'s
/// order.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures(pub [Figure; FIELDS.len()]);

impl Figures {
    /// The figures of one e-service's month.
    pub fn of(t: &Tally) -> Figures {
        let ratings = disclosure::count(t.ratings.len() as u64);
        Figures([
            disclosure::count(t.views),
            disclosure::count(t.started),
            disclosure::count(t.submitted),
            disclosure::count(t.granted),
            disclosure::count(t.refused),
            disclosure::count(t.withdrawn),
            disclosure::count(t.overdue),
            disclosure::median(&t.days),
            disclosure::percentile_90(&t.days),
            ratings,
            disclosure::mean(&t.ratings, ratings),
        ])
    }

    /// The figures of cells summed (months of an e-service, or e-services of a month), each
    /// of which is published on its own: a sum is hidden where it would give a hidden cell away.
    pub fn sum<'a>(parts: impl IntoIterator<Item = &'a Tally>) -> Figures {
        let parts: Vec<&Tally> = parts.into_iter().collect();
        let total = |f: fn(&Tally) -> u64| {
            disclosure::total(&parts.iter().map(|t| f(t)).collect::<Vec<_>>())
        };
        let days: Vec<u32> = parts.iter().flat_map(|t| t.days.iter().copied()).collect();
        let stars: Vec<u8> = parts
            .iter()
            .flat_map(|t| t.ratings.iter().copied())
            .collect();
        let ratings = total(|t| t.ratings.len() as u64);
        Figures([
            total(|t| t.views),
            total(|t| t.started),
            total(|t| t.submitted),
            total(|t| t.granted),
            total(|t| t.refused),
            total(|t| t.withdrawn),
            total(|t| t.overdue),
            disclosure::median(&days),
            disclosure::percentile_90(&days),
            ratings,
            disclosure::mean(&stars, ratings),
        ])
    }

    pub fn get(&self, name: &str) -> Figure {
        self.0[index(name)]
    }

    /// The names of the measures suppressed.
    pub fn hidden(&self) -> Vec<&'static str> {
        FIELDS
            .iter()
            .zip(&self.0)
            .filter(|(_, f)| matches!(f, Figure::Hidden | Figure::Withheld))
            .map(|(field, _)| field.name)
            .collect()
    }

    /// The figures as a JSON object by measure name: a number, or `null` (suppressed or
    /// nothing to measure; `hidden` says which).
    pub fn json(&self) -> serde_json::Map<String, Value> {
        FIELDS
            .iter()
            .zip(&self.0)
            .map(|(field, figure)| (field.name.to_string(), number(*field, *figure)))
            .collect()
    }

    /// The figures as the pages show them: `text` in words, `hidden` for a suppressed one.
    pub fn view(&self) -> Vec<Value> {
        FIELDS
            .iter()
            .zip(&self.0)
            .map(|(field, figure)| {
                json!({
                    "name": field.name,
                    "title": field.title,
                    "text": words(*field, *figure),
                    "hidden": matches!(figure, Figure::Hidden | Figure::Withheld),
                })
            })
            .collect()
    }
}

/// A figure as a JSON number (an integer for a count), `null` when not shown.
pub fn number(field: Field, figure: Figure) -> Value {
    match figure {
        Figure::Shown(v) if field.integer => json!(v as u64),
        Figure::Shown(v) => json!(v),
        _ => Value::Null,
    }
}

/// A figure as plain text (`4.5`), empty when not shown: the CSV's cell.
pub fn plain(field: Field, figure: Figure) -> String {
    match figure {
        Figure::Shown(v) if field.integer => format!("{}", v as u64),
        Figure::Shown(v) => format!("{v}"),
        _ => String::new(),
    }
}

/// A figure as the pages say it: a decimal comma, "менше 5" for a count of 1–4 people,
/// "приховано" for a number that would give one away.
pub fn words(field: Field, figure: Figure) -> String {
    match figure {
        Figure::Shown(_) => plain(field, figure).replace('.', ","),
        Figure::Hidden => format!("менше {}", disclosure::THRESHOLD),
        Figure::Withheld => "приховано".to_string(),
        Figure::Absent => "—".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(refused: u64, ratings: &[u8]) -> Tally {
        Tally {
            submitted: 12,
            granted: 9,
            refused,
            days: vec![1; 9 + refused as usize],
            ratings: ratings.to_vec(),
            ..Tally::default()
        }
    }

    #[test]
    fn a_rare_refusal_is_hidden_in_its_month_and_in_every_sum_over_it() {
        let rare = month(2, &[1]);
        let common = month(7, &[5, 5, 4, 5, 5]);
        let alone = Figures::of(&rare);
        assert_eq!(alone.get("refused"), Figure::Hidden);
        assert_eq!(alone.get("ratings"), Figure::Hidden);
        assert_eq!(alone.get("rating_mean"), Figure::Hidden);
        assert_eq!(alone.get("granted"), Figure::Shown(9.0));
        assert_eq!(alone.hidden(), ["refused", "ratings", "rating_mean"]);
        let both = Figures::sum([&rare, &common]);
        assert_eq!(
            both.get("refused"),
            Figure::Withheld,
            "9 − 7 would give the 2 away"
        );
        assert_eq!(
            both.get("ratings"),
            Figure::Withheld,
            "6 − 5 would give the 1 away"
        );
        assert_eq!(both.get("rating_mean"), Figure::Withheld);
        assert_eq!(both.hidden(), ["refused", "ratings", "rating_mean"]);
        assert_eq!(both.get("submitted"), Figure::Shown(24.0));
        assert_eq!(both.json()["refused"], Value::Null);
        assert_eq!(both.json()["submitted"], json!(24));
        assert_eq!(words(FIELDS[index("refused")], Figure::Hidden), "менше 5");
        assert_eq!(
            words(FIELDS[index("refused")], Figure::Withheld),
            "приховано"
        );
        assert_eq!(
            words(FIELDS[index("rating_mean")], Figure::Shown(4.8)),
            "4,8"
        );
    }
}
