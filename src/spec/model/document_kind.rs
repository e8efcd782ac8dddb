//! `document-kind`: a kind of document the registry keeps cards for (лист, звернення, розпорядження,
//! …), the directions it is used in, the optional requisites of КМУ №55 п.42 its card carries and
//! its own extra fields, each with an optional rule.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Direction;

/// The file formats a journal's `formats` may name.
pub const CARD_FORMATS: &[&str] = &[
    "pdf", "pdf-a", "odt", "ods", "docx", "xlsx", "jpeg", "png", "tiff", "txt", "xml",
];

/// The formats a journal that names none accepts: PDF/A and ODF.
pub const DEFAULT_CARD_FORMATS: &[&str] = &["pdf-a", "odt", "ods"];

/// A kind of document a journal registers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"document-kind "letter" {
    title "Лист"
    directions "incoming" "outgoing"
    requisites "access-mark" "annexes" "language"
    field "topic" title="Тематика" type="choice" classifier="letter-topics"
    field "answer-by" title="Відповісти до" type="date" validate="value >= '2026-01-01'" message="Дата не раніше 2026 року"
}"#))]
pub struct DocumentKind {
    /// Kind id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Name of the kind, as the card shows it.
    pub title: String,
    /// The directions a card of this kind may have.
    pub directions: Vec<Direction>,
    /// The optional requisites (п.42) a card of this kind carries.
    #[serde(default)]
    pub requisites: Vec<OptionalRequisite>,
    /// The kind's own fields.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "field"))]
    pub fields: Vec<KindField>,
}

/// An optional requisite of a card (КМУ №55 п.42).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OptionalRequisite {
    /// Гриф обмеження доступу.
    AccessMark,
    /// Мова документа.
    Language,
    /// Кількість аркушів додатків.
    Annexes,
    /// Відмітка про контроль.
    ControlMark,
    /// Спосіб надходження чи відправлення (пошта, електронна пошта, СЕВ ОВВ, особисто).
    Delivery,
    /// Кількість примірників.
    Copies,
}

impl OptionalRequisite {
    pub const ALL: &'static [OptionalRequisite] = &[
        OptionalRequisite::AccessMark,
        OptionalRequisite::Language,
        OptionalRequisite::Annexes,
        OptionalRequisite::ControlMark,
        OptionalRequisite::Delivery,
        OptionalRequisite::Copies,
    ];

    /// The requisite's id, as the spec and a card's `extra` name it.
    pub fn id(self) -> &'static str {
        match self {
            OptionalRequisite::AccessMark => "access-mark",
            OptionalRequisite::Language => "language",
            OptionalRequisite::Annexes => "annexes",
            OptionalRequisite::ControlMark => "control-mark",
            OptionalRequisite::Delivery => "delivery",
            OptionalRequisite::Copies => "copies",
        }
    }

    /// Its name on the card.
    pub fn title(self) -> &'static str {
        match self {
            OptionalRequisite::AccessMark => "Гриф обмеження доступу",
            OptionalRequisite::Language => "Мова документа",
            OptionalRequisite::Annexes => "Кількість аркушів додатків",
            OptionalRequisite::ControlMark => "Відмітка про контроль",
            OptionalRequisite::Delivery => "Спосіб надходження чи відправлення",
            OptionalRequisite::Copies => "Кількість примірників",
        }
    }

    /// Whether its value is a count.
    pub fn numeric(self) -> bool {
        matches!(self, OptionalRequisite::Annexes | OptionalRequisite::Copies)
    }
}

/// One field of a document kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct KindField {
    /// Field id, unique within the kind.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Label on the card.
    #[schemars(extend("x-kdl" = "prop"))]
    pub title: String,
    /// What it holds.
    #[serde(rename = "type")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub ty: KindFieldType,
    /// Whether a card is registered only with a value in it.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "prop"))]
    pub required: bool,
    /// For `choice`: the classifier whose items it offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub classifier: Option<String>,
    /// A rule (minijinja) over `value` (the field's value) and `card` that a value must meet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub validate: Option<String>,
    /// Said when the rule is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub message: Option<String>,
}

/// What a kind's field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KindFieldType {
    Text,
    /// `YYYY-MM-DD`.
    Date,
    Number,
    /// One item of its classifier.
    Choice,
}
