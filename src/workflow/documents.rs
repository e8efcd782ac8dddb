//! The `issue` action: a document rendered from its template, registered in its journal under
//! the journal's numbering pattern, given its PDF visual form and verification code, sealed by
//! the participant (CMS, detached: the text and the PDF) and stored with its case and its
//! original's record, all in the transition's transaction; the same idempotency key gives the
//! same one.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use minijinja::Environment;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::stack::Stack;
use serde_json::{Value, json};

use super::result_pdf::{self, ResultForm, Signatory};
use super::verification_code;
use crate::crypto::Seal;
use crate::crypto::document_seal::organisation;
use crate::spec::model::{Journal, Reset, Template};
use crate::store::{DocumentRow, OriginalKind, OriginalRow, Store, Tx, original_digest};

/// What to issue.
pub struct IssueRequest<'a> {
    /// Idempotency: a second request with this key returns the first document.
    pub key: &'a str,
    pub case_id: &'a str,
    pub template: &'a Template,
    /// The journal that registers it, when it is numbered.
    pub journal: Option<&'a Journal>,
    /// The case of the case index (справа, e.g. `03-10`) the document is filed in: the
    /// `{case}` of a journal's numbering pattern, from the `issue` action's `case=`.
    pub filed_in: Option<&'a str>,
    /// An object with `application`, `applicant`, `registry` and `decision`; the template also
    /// sees `document.number` and `document.date`.
    pub context: &'a Value,
    /// The seal of the participant that issues it.
    pub seal: &'a Seal,
    pub at: DateTime<Utc>,
    /// The city's time zone (the system calendar's): a document's date, and the year and day in
    /// its number, are the city's, not UTC's.
    pub zone: chrono_tz::Tz,
    /// The official who fired the transition; `None` for one the engine fired by itself.
    pub official: Option<Signatory<'a>>,
    /// Where anyone verifies it (`…/verify`), printed on its visual form.
    pub verify_url: &'a str,
    /// Whom it is for (the applicant's id), kept with the original.
    pub destination: &'a str,
    /// The retention rule that keeps it, kept with the original.
    pub retention: Option<&'a str>,
}

/// An issued document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDocument {
    pub id: String,
    pub number: Option<String>,
    pub text: String,
    /// CMS SignedData (DER), detached: the signed content is `text` as UTF-8.
    pub signature: Vec<u8>,
    pub issued_at: DateTime<Utc>,
    /// The visual form and its seal (`None` for a document issued before results had one).
    pub pdf: Option<Vec<u8>>,
    pub pdf_seal: Option<Vec<u8>>,
    pub code: Option<String>,
}

/// Issues the document `request` describes in `tx` (which the caller commits): its number is
/// taken from the journal's counter in `tx`, so a rolled-back transition gives it back.
pub async fn issue(
    store: &Store,
    tx: &mut Tx,
    request: IssueRequest<'_>,
) -> Result<IssuedDocument, String> {
    if let Some(row) = store
        .document_by_key(tx, request.key)
        .await
        .map_err(|e| e.to_string())?
    {
        return issued_before(row, &request);
    }
    let template = request.template;
    let mut numbered = None;
    let day = request.at.with_timezone(&request.zone).date_naive();
    if let Some(journal) = request.journal {
        if journal.participant != request.seal.participant() {
            return Err(format!(
                "template `{}` is to be registered in journal `{}`, which participant `{}` \
                 keeps, but sealed by `{}`; a participant registers only the documents it seals",
                template.id,
                journal.id,
                journal.participant,
                request.seal.participant()
            ));
        }
        // Checked before a number is taken, though the transaction would give it back anyway.
        number_text(journal, 1, day, request.filed_in)?;
        let period = period(journal, day);
        let seq = store
            .next_number(tx, &journal.id, &period)
            .await
            .map_err(|e| e.to_string())?;
        let number = number_text(journal, seq, day, request.filed_in)?;
        numbered = Some((journal, period, seq, number));
    }
    let number = numbered.as_ref().map(|(.., number)| number.clone());
    let text = render(template, request.context, number.as_deref(), day)?;
    let signature = request.seal.sign_detached(text.as_bytes(), request.at)?;
    let code = verification_code::new_code()?;
    let sealed_by = organisation(request.seal.certificate())
        .unwrap_or_else(|| request.seal.participant().to_string());
    let pdf = result_pdf::render(&ResultForm {
        title: &template.title,
        text: &text,
        issued_at: request.at.with_timezone(&request.zone),
        official: request.official,
        number: number.as_deref(),
        sealed_by: &sealed_by,
        code: &code,
        verify_url: request.verify_url,
    });
    let pdf_seal = request.seal.sign_detached(&pdf, request.at)?;
    let issued_at = request.at.to_rfc3339_opts(SecondsFormat::Nanos, true);
    let original = OriginalRow {
        kind: OriginalKind::Document.as_str().to_string(),
        record_id: String::new(),
        media_type: "application/pdf".into(),
        digest: original_digest(&pdf),
        origin: format!("participant:{}", request.seal.participant()),
        destination: format!("applicant:{}", request.destination),
        created_at: issued_at.clone(),
        delivered_at: None,
        retention: request.retention.map(str::to_string),
    };
    let row = DocumentRow {
        id: uuid::Uuid::now_v7().to_string(),
        key: request.key.to_string(),
        case_id: request.case_id.to_string(),
        template: template.id.clone(),
        title: template.title.clone(),
        journal: numbered.as_ref().map(|(j, ..)| j.id.clone()),
        period: numbered.as_ref().map(|(_, period, ..)| period.clone()),
        seq: numbered.as_ref().map(|(_, _, seq, _)| *seq),
        number: number.clone(),
        text,
        signature,
        sealed_by: request.seal.participant().to_string(),
        issued_at,
        pdf: Some(pdf),
        pdf_seal: Some(pdf_seal),
        code: Some(code),
        official_name: request.official.map(|s| s.name.to_string()),
        official_position: request.official.map(|s| s.position.to_string()),
    };
    store
        .insert_document(tx, &row)
        .await
        .map_err(|e| e.to_string())?;
    store
        .insert_original(
            tx,
            &OriginalRow {
                record_id: row.id.clone(),
                ..original
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(IssuedDocument {
        id: row.id,
        number,
        text: row.text,
        signature: row.signature,
        issued_at: request.at,
        pdf: row.pdf,
        pdf_seal: row.pdf_seal,
        code: row.code,
    })
}

/// The document stored under the request's key, as long as it is of the same case and its
/// seal still holds for its text (a row rewritten in the database is refused, not handed out).
fn issued_before(row: DocumentRow, request: &IssueRequest<'_>) -> Result<IssuedDocument, String> {
    if row.case_id != request.case_id {
        return Err(format!(
            "the idempotency key `{}` already issued document {} for another case; a retried \
             transition must use the key it used the first time, and another transition a new one",
            request.key, row.id
        ));
    }
    let pdf = match (&row.pdf, &row.pdf_seal) {
        (Some(pdf), Some(seal)) => verify_detached(seal, pdf, request.seal),
        (None, None) => Ok(()),
        _ => Err("its visual form or the seal over it is missing".to_string()),
    };
    pdf.and_then(|()| verify_detached(&row.signature, row.text.as_bytes(), request.seal))
        .map_err(|e| {
            format!(
                "document {} (number {}) of case `{}` no longer matches its seal: {e}; its row in \
             the store was changed after it was issued, restore it from a backup",
                row.id,
                row.number.as_deref().unwrap_or("none"),
                row.case_id
            )
        })?;
    let issued_at = DateTime::parse_from_rfc3339(&row.issued_at)
        .map_err(|e| {
            format!(
                "document {} has an unreadable issue time `{}` in the store: {e}",
                row.id, row.issued_at
            )
        })?
        .with_timezone(&Utc);
    Ok(IssuedDocument {
        id: row.id,
        number: row.number,
        text: row.text,
        signature: row.signature,
        issued_at,
        pdf: row.pdf,
        pdf_seal: row.pdf_seal,
        code: row.code,
    })
}

/// Checks that `signature` is `seal`'s detached CMS signature over `content`.
fn verify_detached(signature: &[u8], content: &[u8], seal: &Seal) -> Result<(), String> {
    let mut cms = CmsContentInfo::from_der(signature).map_err(|e| e.to_string())?;
    let mut signers = Stack::new().map_err(|e| e.to_string())?;
    signers
        .push(seal.certificate().clone())
        .map_err(|e| e.to_string())?;
    cms.verify(
        Some(&signers),
        None,
        Some(content),
        None,
        CMSOptions::BINARY | CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::NOINTERN,
    )
    .map_err(|e| e.to_string())
}

/// The numbering period of `journal` on the city's `day`: the year for a yearly reset, `` for none.
pub fn period(journal: &Journal, at: NaiveDate) -> String {
    match journal.reset {
        Reset::Yearly => at.year().to_string(),
        Reset::Never => String::new(),
    }
}

/// The registration number `seq` of `journal` at `at` by its pattern: `{seq}`, `{yyyy}`,
/// `{yy}`, `{mm}`, `{dd}` (the city's date) and `{case}` (`filed_in`).
pub fn number_text(
    journal: &Journal,
    seq: i64,
    at: NaiveDate,
    filed_in: Option<&str>,
) -> Result<String, String> {
    let mut number = String::new();
    let mut rest = journal.numbering.as_str();
    while let Some(open) = rest.find('{') {
        number.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| {
            format!(
                "journal `{}` has the numbering pattern `{}` with a `{{` never closed; \
                 `hromada validate` reports it as H0309",
                journal.id, journal.numbering
            )
        })?;
        match &after[..close] {
            "seq" => number.push_str(&seq.to_string()),
            "yyyy" => number.push_str(&format!("{:04}", at.year())),
            "yy" => number.push_str(&format!("{:02}", at.year().rem_euclid(100))),
            "mm" => number.push_str(&format!("{:02}", at.month())),
            "dd" => number.push_str(&format!("{:02}", at.day())),
            "case" => number.push_str(filed_in.ok_or_else(|| {
                format!(
                    "journal `{}` numbers documents as `{}`, whose `{{case}}` is the case of \
                     the case index the document is filed in, and none was given for it",
                    journal.id, journal.numbering
                )
            })?),
            other => {
                return Err(format!(
                    "journal `{}` has the numbering pattern `{}` with the unknown placeholder \
                     `{{{other}}}`; `hromada validate` reports it as H0309",
                    journal.id, journal.numbering
                ));
            }
        }
        rest = &after[close + 1..];
    }
    number.push_str(rest);
    Ok(number)
}

/// The template's body rendered over `context` and `document.number`/`document.date`.
fn render(
    template: &Template,
    context: &Value,
    number: Option<&str>,
    at: NaiveDate,
) -> Result<String, String> {
    let mut context = match context {
        Value::Object(map) => map.clone(),
        Value::Null => serde_json::Map::new(),
        other => {
            return Err(format!(
                "the data for template `{}` must be an object with `application`, `applicant`, \
                 `registry` and `decision`, not {other}",
                template.id
            ));
        }
    };
    context.insert(
        "document".into(),
        json!({ "number": number, "date": at.format("%d.%m.%Y").to_string() }),
    );
    Environment::new()
        .render_str(&template.body, exact(&Value::Object(context)))
        .map_err(|e| {
            let line = e
                .line()
                .map(|l| format!(" (line {l} of its body)"))
                .unwrap_or_default();
            format!("cannot render template `{}`{line}: {e}", template.id)
        })
}

/// `value` for the template, each number with the digits it was given (an amount of
/// `1500.50` is printed so, not as a float).
fn exact(value: &Value) -> minijinja::Value {
    match value {
        Value::Null => minijinja::Value::from(()),
        Value::Bool(b) => minijinja::Value::from(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => minijinja::Value::from(i),
            None => minijinja::Value::from(n.to_string()),
        },
        Value::String(s) => minijinja::Value::from(s.as_str()),
        Value::Array(items) => minijinja::Value::from(items.iter().map(exact).collect::<Vec<_>>()),
        Value::Object(map) => minijinja::Value::from(
            map.iter()
                .map(|(k, v)| (k.clone(), exact(v)))
                .collect::<std::collections::BTreeMap<String, minijinja::Value>>(),
        ),
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::spec::model::Direction;

    fn journal(numbering: &str) -> Journal {
        Journal {
            id: "council-outgoing".into(),
            title: "Вихідні".into(),
            participant: "city-council".into(),
            direction: Direction::Outgoing,
            numbering: numbering.into(),
            reset: Reset::Yearly,
            kinds: Vec::new(),
            formats: Vec::new(),
            execution: None,
            control_days: None,
        }
    }

    #[test]
    fn numbers_follow_the_journal_pattern() {
        let at = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        let cases = [
            ("{seq}/01-{yyyy}", None, "17/01-2026"),
            ("Ж-{seq}/{yy}", None, "Ж-17/26"),
            ("ПР-{seq}/{mm}-{yyyy}", None, "ПР-17/03-2026"),
            ("{dd}.{mm}-{seq}", None, "09.03-17"),
            ("{case}/{seq}", Some("03-10"), "03-10/17"),
        ];
        for (pattern, filed_in, expected) in cases {
            assert_eq!(
                number_text(&journal(pattern), 17, at, filed_in).as_deref(),
                Ok(expected),
                "{pattern}"
            );
        }
    }

    #[test]
    fn a_pattern_that_cannot_be_filled_says_which_journal_and_why() {
        let at = Utc::now().date_naive();
        let error = number_text(&journal("{case}/{seq}"), 1, at, None).unwrap_err();
        assert!(
            error.contains("`council-outgoing`") && error.contains("{case}"),
            "{error}"
        );
        let error = number_text(&journal("{seq}/{week}"), 1, at, None).unwrap_err();
        assert!(error.contains("`{week}`"), "{error}");
        let error = number_text(&journal("{seq}/{yyyy"), 1, at, None).unwrap_err();
        assert!(error.contains("never closed"), "{error}");
    }

    #[test]
    fn a_document_prints_amounts_with_their_digits_and_its_own_number_and_date() {
        let template = Template {
            id: "decision".into(),
            title: "Рішення".into(),
            body: "№ {{ document.number }} від {{ document.date }}: {{ applicant.name }}, \
                   {{ decision.amount }} грн"
                .into(),
        };
        let context: Value = serde_json::from_str(
            r#"{"applicant": {"name": "Олена"}, "decision": {"amount": 1500.50}}"#,
        )
        .unwrap();
        let at = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        assert_eq!(
            render(&template, &context, Some("03-10/7"), at).unwrap(),
            "№ 03-10/7 від 09.03.2026: Олена, 1500.50 грн"
        );
    }

    #[test]
    fn the_period_is_the_year_unless_the_journal_never_resets() {
        let at = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let mut j = journal("{seq}");
        assert_eq!(period(&j, at), "2026");
        j.reset = Reset::Never;
        assert_eq!(period(&j, at), "");
    }
}
