//! The `form` kind: an e-service application form — typed fields on pages, repeat groups,
//! conditional visibility, rules as minijinja expressions, prefill and cross-checks against
//! registry services (through the portal's agreements), fields bound to the signed-in identity,
//! the consents and declaration shown before signing, attachments and the signature required.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An application form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"form "subsidy-application" {
    title "Заява про призначення житлової субсидії"
    page "applicant" title="Заявник" {
        field "rnokpp" type="rnokpp" label="РНОКПП" required=#true bind="rnokpp"
        field "full_name" type="text" label="ПІБ" required=#true bind="full-name"
        field "account" type="text" label="Особовий рахунок" required=#true pattern="^[0-9]{8}$" {
            prefill from="vodokanal/abonent-debt" field="account"
        }
        field "benefit" type="select" label="Пільга" classifier="benefit-category"
        group "family" label="Члени домогосподарства" max=10 {
            field "name" type="text" label="ПІБ" required=#true
        }
    }
    rule "income >= 0" message="Дохід не може бути від'ємним"
    attachment "income-statement" label="Довідка про доходи" required=#true max-files=3 max-mib=10 {
        accept "pdf"
    }
    consent "personal-data" text="Даю згоду на обробку моїх персональних даних і на запити до реєстрів для розгляду заяви" required=#true
    declaration "Підтверджую, що відомості в заяві достовірні"
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
    /// Consents the applicant gives (or refuses) before signing, e.g. to the processing of
    /// personal data and the registry requests made for the application.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "consent"))]
    pub consents: Vec<Consent>,
    /// A statement the applicant confirms before signing (that the data given is true, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declaration: Option<String>,
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
    /// Filled from the signed-in person's identity and not editable by the applicant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub bind: Option<IdentityBinding>,
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

/// What of the signed-in person's identity a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityBinding {
    /// The person's РНОКПП (a `rnokpp` field).
    Rnokpp,
    /// Family name, given name and middle name, in that order (a `text` field).
    FullName,
    /// Family name (прізвище) (a `text` field).
    FamilyName,
    /// Given name (ім'я) (a `text` field).
    GivenName,
    /// Middle name (по батькові) (a `text` field).
    MiddleName,
    /// EDRPOU code of the legal entity the person represents (an `edrpou` field).
    Edrpou,
    /// The person's e-mail address (an `email` field).
    Email,
}

impl IdentityBinding {
    /// The binding as the spec writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityBinding::Rnokpp => "rnokpp",
            IdentityBinding::FullName => "full-name",
            IdentityBinding::FamilyName => "family-name",
            IdentityBinding::GivenName => "given-name",
            IdentityBinding::MiddleName => "middle-name",
            IdentityBinding::Edrpou => "edrpou",
            IdentityBinding::Email => "email",
        }
    }

    /// The input type a field bound this way must have.
    pub fn input_type(self) -> InputType {
        match self {
            IdentityBinding::Rnokpp => InputType::Rnokpp,
            IdentityBinding::Edrpou => InputType::Edrpou,
            IdentityBinding::Email => InputType::Email,
            IdentityBinding::FullName
            | IdentityBinding::FamilyName
            | IdentityBinding::GivenName
            | IdentityBinding::MiddleName => InputType::Text,
        }
    }
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
    /// Most files the applicant may attach here; the portal's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub max_files: Option<u32>,
    /// Largest file, in MiB; the portal's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub max_mib: Option<u32>,
    /// Accepted formats, as file extensions (`pdf`, `jpg`, …).
    pub accept: Vec<String>,
}

impl Attachment {
    /// Files per attachment when the spec names no `max-files`.
    pub const DEFAULT_FILES: u32 = 5;
    /// Largest file, in MiB, when the spec names no `max-mib`.
    pub const DEFAULT_MIB: u32 = 10;
    /// The most `max-files` may say.
    pub const CEILING_FILES: u32 = 20;
    /// The most `max-mib` may say: the portal reads a whole upload into memory.
    pub const CEILING_MIB: u32 = 25;

    /// Most files the applicant may attach here.
    pub fn max_files(&self) -> u32 {
        self.max_files.unwrap_or(Self::DEFAULT_FILES)
    }

    /// Largest file in bytes.
    pub fn max_bytes(&self) -> u64 {
        u64::from(self.max_mib.unwrap_or(Self::DEFAULT_MIB)) * 1024 * 1024
    }
}

/// A consent the applicant gives by ticking a box before signing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Consent {
    /// Consent id, recorded with the application.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// What the applicant consents to, as shown next to the box.
    #[schemars(extend("x-kdl" = "prop"))]
    pub text: String,
    /// Whether the application cannot be signed without it.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "prop"))]
    pub required: bool,
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
