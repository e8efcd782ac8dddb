//! The `form` kind: an e-service application form — typed fields on pages, repeat groups,
//! conditional visibility, rules as minijinja expressions, prefill and cross-checks against
//! registry services (through the portal's agreements), attachments and the signature required.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An application form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"form "subsidy-application" {
    title "Заява про призначення житлової субсидії"
    page "applicant" title="Заявник" {
        field "rnokpp" type="rnokpp" label="РНОКПП" required=#true
        field "account" type="text" label="Особовий рахунок" required=#true pattern="^[0-9]{8}$" {
            prefill from="vodokanal/abonent-debt" field="account"
        }
        field "benefit" type="select" label="Пільга" classifier="benefit-category"
        group "family" label="Члени домогосподарства" max=10 {
            field "name" type="text" label="ПІБ" required=#true
        }
    }
    rule "income >= 0" message="Дохід не може бути від'ємним"
    attachment "income-statement" label="Довідка про доходи" required=#true {
        accept "pdf"
    }
    signature "qualified"
}"#))]
pub struct Form {
    /// Form id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Heading of the form.
    pub title: String,
    /// Pages, shown one after another.
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "page"))]
    pub pages: Vec<Page>,
    /// Rules over the whole form: expressions that must be true, with the message shown when not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "rule"))]
    pub rules: Vec<Rule>,
    /// Files the applicant attaches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "attachment"))]
    pub attachments: Vec<Attachment>,
    /// The signature the applicant must apply.
    #[serde(default)]
    pub signature: SignatureRequirement,
}

/// One page of a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Page {
    /// Page id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Page heading.
    #[schemars(extend("x-kdl" = "prop"))]
    pub title: String,
    /// Shown only when this expression is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub visible_if: Option<String>,
    /// Fields of the page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "field"))]
    pub fields: Vec<FormField>,
    /// Repeat groups of the page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "group"))]
    pub groups: Vec<Group>,
}

/// A group of fields the applicant may repeat (family members, co-owners, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Group {
    /// Group id; in expressions it is the list of entries.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Heading of the group.
    #[schemars(extend("x-kdl" = "prop"))]
    pub label: String,
    /// Fewest entries.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "prop"))]
    pub min: u32,
    /// Most entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub max: Option<u32>,
    /// Shown only when this expression is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub visible_if: Option<String>,
    /// Fields of one entry.
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "field"))]
    pub fields: Vec<FormField>,
}

/// A typed input field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FormField {
    /// Field id; the name used in expressions.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Input type.
    #[serde(rename = "type")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub ty: InputType,
    /// Label shown to the applicant.
    #[schemars(extend("x-kdl" = "prop"))]
    pub label: String,
    /// Whether a value is required.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "prop"))]
    pub required: bool,
    /// Hint shown under the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub hint: Option<String>,
    /// Regular expression a text value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub pattern: Option<String>,
    /// Smallest number, or shortest text length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub min: Option<f64>,
    /// Largest number, or longest text length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub max: Option<f64>,
    /// Classifier whose items a `select` offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub classifier: Option<String>,
    /// Shown (and validated) only when this expression is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub visible_if: Option<String>,
    /// Filled in from a registry service through the portal's agreement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<RegistryField>,
    /// Compared with a registry service's field through the portal's agreement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_check: Option<CrossCheck>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InputType {
    Text,
    Textarea,
    Integer,
    Decimal,
    Date,
    Boolean,
    Email,
    Phone,
    /// Taxpayer number of an individual (РНОКПП), 10 digits with a check digit.
    Rnokpp,
    /// EDRPOU code of a legal entity, 8 digits with a check digit.
    Edrpou,
    /// One item of a classifier.
    Select,
    /// An uploaded file.
    File,
}

/// A field of a provider service's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RegistryField {
    /// Provider service, `participant/service`.
    #[schemars(extend("x-kdl" = "prop"))]
    pub from: String,
    /// Response field, by dotted path.
    #[schemars(extend("x-kdl" = "prop"))]
    pub field: String,
}

/// A check of the entered value against registry data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CrossCheck {
    /// Provider service, `participant/service`.
    #[schemars(extend("x-kdl" = "prop"))]
    pub from: String,
    /// Response field, by dotted path, that must equal the entered value.
    #[schemars(extend("x-kdl" = "prop"))]
    pub field: String,
    /// Message shown when the values differ.
    #[schemars(extend("x-kdl" = "prop"))]
    pub message: String,
}

/// An expression over the form's fields that must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Rule {
    /// Expression (minijinja syntax) over field ids.
    #[schemars(extend("x-kdl" = "arg"))]
    pub expr: String,
    /// Message shown when the expression is false.
    #[schemars(extend("x-kdl" = "prop"))]
    pub message: String,
}

/// A file the applicant attaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Attachment {
    /// Attachment id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Label shown to the applicant.
    #[schemars(extend("x-kdl" = "prop"))]
    pub label: String,
    /// Whether the file is required.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "prop"))]
    pub required: bool,
    /// Accepted formats, as file extensions (`pdf`, `jpg`, …).
    pub accept: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureRequirement {
    /// No signature: the authenticated session is enough.
    None,
    /// An advanced electronic signature.
    Advanced,
    /// A qualified electronic signature (КЕП).
    #[default]
    Qualified,
}
