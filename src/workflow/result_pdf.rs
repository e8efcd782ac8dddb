//! The visual form of an issued result (003 §5.8–5.9; 001 §4.3): its text, then the date and
//! time it was issued, who issued it (the official's name and position, or that it was issued
//! automatically), its registration number, who sealed it, and how anyone can verify it.

use chrono::DateTime;
use chrono_tz::Tz;

use super::pdf::{self, Line, Style};

/// Who issued a document, as it says on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signatory<'a> {
    pub name: &'a str,
    pub position: &'a str,
}

/// What the visual form of one result shows.
pub struct ResultForm<'a> {
    pub title: &'a str,
    pub text: &'a str,
    /// The moment it was issued, in the city's time zone.
    pub issued_at: DateTime<Tz>,
    /// `None` when the engine issued it by itself.
    pub official: Option<Signatory<'a>>,
    pub number: Option<&'a str>,
    /// The sealing participant as people know it (its certificate's organisation).
    pub sealed_by: &'a str,
    pub code: &'a str,
    /// Where to verify it (`…/verify`).
    pub verify_url: &'a str,
}

/// The PDF of `form` (the same form always gives the same bytes).
pub fn render(form: &ResultForm<'_>) -> Vec<u8> {
    let mut lines = vec![Line::new(Style::Title, form.title)];
    lines.extend(
        form.text
            .trim()
            .split("\n\n")
            .map(|paragraph| Line::new(Style::Body, paragraph.trim())),
    );
    lines.push(Line::new(
        Style::Heading,
        "Відомості про електронний документ",
    ));
    lines.push(Line::new(
        Style::Body,
        format!(
            "Дата і час формування: {} ({})",
            form.issued_at.format("%d.%m.%Y %H:%M:%S"),
            form.issued_at.timezone().name()
        ),
    ));
    lines.push(Line::new(
        Style::Body,
        match form.official {
            Some(s) => format!("Сформував: {}, {}", s.name, s.position),
            None => "Сформовано автоматично, без участі посадової особи".to_string(),
        },
    ));
    if let Some(number) = form.number {
        lines.push(Line::new(
            Style::Body,
            format!("Реєстраційний номер: {number}"),
        ));
    }
    lines.push(Line::new(
        Style::Body,
        format!("Засвідчено електронною печаткою: {}", form.sealed_by),
    ));
    lines.push(Line::new(
        Style::Body,
        format!("Код перевірки: {}", form.code),
    ));
    lines.push(Line::new(
        Style::Small,
        format!(
            "Перевірити документ: {} (номер і код перевірки, або цей файл і його печатка .p7s)",
            form.verify_url
        ),
    ));
    pdf::render(form.title, &lines)
}
