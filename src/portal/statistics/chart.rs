//! A bar chart of one measure over the months, drawn as SVG by the templates from the geometry
//! computed here: every bar labelled with its number in text (no meaning in colour alone), a
//! suppressed month marked in words, and the same numbers in the table beside it.

use serde_json::{Value, json};

use super::disclosure::Figure;
use super::published::{self, Field};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
/// Room above the bars for their numbers, and below them for the months.
const TOP: f64 = 28.0;
const BOTTOM: f64 = 48.0;
const SIDE: f64 = 8.0;

/// The chart of `field` over `months` (`YYYY-MM`, each with its figure), as the chart template
/// takes it. `id` makes its title and description referable (`aria-labelledby`).
pub fn bars(id: &str, title: &str, field: Field, months: &[(String, Figure)]) -> Value {
    let max = months
        .iter()
        .filter_map(|(_, f)| f.value())
        .fold(0.0_f64, f64::max);
    let plot = HEIGHT - TOP - BOTTOM;
    let slot = (WIDTH - 2.0 * SIDE) / months.len().max(1) as f64;
    let baseline = HEIGHT - BOTTOM;
    let bars: Vec<Value> = months
        .iter()
        .enumerate()
        .map(|(i, (month, figure))| {
            let height = match figure.value() {
                Some(v) if max > 0.0 => (v / max * plot).max(if v > 0.0 { 1.0 } else { 0.0 }),
                _ => 0.0,
            };
            let x = SIDE + slot * i as f64;
            json!({
                "x": round(x + slot * 0.2),
                "y": round(baseline - height),
                "width": round(slot * 0.6),
                "height": round(height),
                "centre": round(x + slot / 2.0),
                "text_y": round(baseline - height - 6.0),
                "text": short(field, *figure),
                "hidden": matches!(figure, Figure::Hidden | Figure::Withheld),
                "month": month_label(month),
                "month_y": round(baseline + 20.0),
                "year_y": round(baseline + 42.0),
                "year": month.get(..4).unwrap_or_default(),
                "words": published::words(field, *figure),
            })
        })
        .collect();
    let highest = months
        .iter()
        .filter(|(_, f)| f.value() == Some(max) && max > 0.0)
        .map(|(m, _)| month_words(m))
        .collect::<Vec<_>>();
    let hidden = months
        .iter()
        .any(|(_, f)| matches!(f, Figure::Hidden | Figure::Withheld));
    let mut desc = match (months.first(), months.last()) {
        (Some((first, _)), Some((last, _))) => format!(
            "Стовпчикова діаграма за місяцями з {} до {}.",
            month_words(first),
            month_words(last)
        ),
        _ => "Стовпчикова діаграма за місяцями.".to_string(),
    };
    if highest.is_empty() {
        desc.push_str(" Відомих значень більше нуля немає.");
    } else {
        desc.push_str(&format!(
            " Найбільше значення — {} ({}).",
            published::words(field, Figure::Shown(max)),
            highest.join(", ")
        ));
    }
    if hidden {
        desc.push_str(
            " Значення, що стосуються менше ніж п'яти осіб або дають змогу їх обчислити, приховано.",
        );
    }
    desc.push_str(" Усі числа — у таблиці поруч.");
    json!({
        "id": id,
        "title": title,
        "desc": desc,
        "width": WIDTH,
        "height": HEIGHT,
        "baseline": baseline,
        "right": WIDTH - SIDE,
        "bars": bars,
        "field": field.title,
    })
}

/// The number above a bar: short, "<5" for a count of 1–4 people, "×" for one withheld.
fn short(field: Field, figure: Figure) -> String {
    match figure {
        Figure::Hidden => "<5".to_string(),
        Figure::Withheld => "×".to_string(),
        _ => published::words(field, figure),
    }
}

/// `2026-12` as `12` (the axis gives the year under it).
fn month_label(month: &str) -> &str {
    month.get(5..).unwrap_or(month)
}

/// `2026-12` as `12.2026`.
pub fn month_words(month: &str) -> String {
    match (month.get(..4), month.get(5..)) {
        (Some(year), Some(m)) => format!("{m}.{year}"),
        _ => month.to_string(),
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::statistics::published::{FIELDS, index};

    #[test]
    fn every_bar_says_its_number_and_a_hidden_one_says_so() {
        let field = FIELDS[index("refused")];
        let chart = bars(
            "c",
            "Відмовлено",
            field,
            &[
                ("2026-11".into(), Figure::Shown(10.0)),
                ("2026-12".into(), Figure::Hidden),
                ("2027-01".into(), Figure::Shown(0.0)),
            ],
        );
        let bars = chart["bars"].as_array().unwrap();
        assert_eq!(bars[0]["text"], "10");
        assert_eq!(bars[0]["height"], json!(184.0));
        assert_eq!(bars[1]["text"], "<5");
        assert_eq!(bars[1]["height"], json!(0.0));
        assert_eq!(bars[1]["words"], "менше 5");
        assert_eq!(bars[2]["text"], "0");
        let desc = chart["desc"].as_str().unwrap();
        assert!(desc.contains("з 11.2026 до 01.2027"), "{desc}");
        assert!(desc.contains("Найбільше значення — 10 (11.2026)"), "{desc}");
        assert!(desc.contains("приховано"), "{desc}");
    }
}
