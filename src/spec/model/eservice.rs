//! The `e-service` kind: a catalogue entry of the portal carrying every item of 003 Annex 1
//! (provider, user category, title and code, legal basis, FAQ, documents, submission methods,
//! term, refusal grounds, appeal, fee, result), the catalogue's category, and the form and
//! workflow that serve it.
//! Annex 1 items are optional in the grammar so that `check` can name the missing item itself.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Spec;
use super::common::Days;
use super::directory::{Direction, Journal};

/// An electronic service of the portal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"e-service "housing-subsidy" {
    title "Призначення житлової субсидії"
    code "01178"
    category "Соціальний захист"
    provider "social-dept" unit="subsidies"
    user-category "individual"
    legal-basis "Постанова КМУ від 21.10.1995 №848"
    conditions "Для домогосподарств, витрати яких на житлово-комунальні послуги перевищують встановлену частку доходу"
    faq "Чи потрібно щороку подавати заяву?" answer="Ні, субсидія призначається автоматично на наступний період"
    document "Заява про призначення субсидії"
    submission "portal" "cnap"
    term 10 counting="working"
    refusal-ground "Подання неповного пакета документів"
    appeal "Рішення може бути оскаржене до Департаменту соціальної політики або до суду"
    fee "free"
    result "Рішення про призначення субсидії" {
        delivery "cabinet" "email"
    }
    form "subsidy-application"
    workflow "subsidy"
}"#))]
pub struct EService {
    /// E-service id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Name of the service (Annex 1 item 3).
    pub title: String,
    /// Code of the service, where it has one (Annex 1 item 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The catalogue's heading the service is listed under (free text, e.g. «Соціальний
    /// захист»); services with the same category are listed together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Provider (Annex 1 item 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// Who may receive the service (Annex 1 item 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_category: Vec<UserCategory>,
    /// Legal grounds (Annex 1 item 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "legal-basis"))]
    pub legal_basis: Vec<String>,
    /// Conditions and cases in which the service is provided (Annex 1 item 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// Frequently asked questions with answers (Annex 1 item 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "faq"))]
    pub faq: Vec<Faq>,
    /// Exhaustive list of documents required (Annex 1 item 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "document"))]
    pub documents: Vec<String>,
    /// Ways to submit the application (Annex 1 item 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub submission: Vec<SubmissionMethod>,
    /// Term of provision (Annex 1 item 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<Days>,
    /// Grounds for refusal (Annex 1 item 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "refusal-ground"))]
    pub refusal_grounds: Vec<String>,
    /// How decisions, actions or inaction can be appealed (Annex 1 item 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal: Option<String>,
    /// Fee (Annex 1 item 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Fee>,
    /// Result and how it is received (Annex 1 item 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ServiceResult>,
    /// The application form.
    pub form: String,
    /// The workflow that processes applications.
    pub workflow: String,
    /// The provider's incoming journal that registers applications from the portal (003
    /// §5.10); needed only when the provider keeps more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
    /// The provider handles the applications in its own information system (003 §5.4): the
    /// signed application is delivered to a service of that system through the gateway, and
    /// the system reports the case's progress back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_by: Option<HandledBy>,
}

impl EService {
    /// Whether citizens apply for it on the portal.
    pub fn on_portal(&self) -> bool {
        self.submission.contains(&SubmissionMethod::Portal)
    }
}

/// The provider of an e-service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Provider {
    /// Participant id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub participant: String,
    /// Unit id of that participant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub unit: Option<String>,
}

/// The provider's own information system an e-service's applications are delivered to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HandledBy {
    /// The provider's subsystem, `participant/subsystem`.
    #[schemars(extend("x-kdl" = "arg"))]
    pub subsystem: String,
    /// The service of that subsystem that receives the applications (a `POST` operation); the
    /// portal's subsystem needs an agreement to call it.
    #[schemars(extend("x-kdl" = "prop"))]
    pub service: String,
}

impl HandledBy {
    /// The participant of the subsystem.
    pub fn participant(&self) -> &str {
        self.subsystem.split('/').next().unwrap_or_default()
    }

    /// The receiving service as the gateway names it, `participant/service`.
    pub fn service_id(&self) -> String {
        format!("{}/{}", self.participant(), self.service)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UserCategory {
    /// Фізична особа.
    Individual,
    /// Фізична особа — підприємець.
    Entrepreneur,
    /// Юридична особа.
    LegalEntity,
}

/// A question with its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Faq {
    /// The question.
    #[schemars(extend("x-kdl" = "arg"))]
    pub question: String,
    /// The answer.
    #[schemars(extend("x-kdl" = "prop"))]
    pub answer: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SubmissionMethod {
    /// Through the e-services portal.
    Portal,
    /// In person at an administrative services centre (ЦНАП).
    Cnap,
    /// By post.
    Mail,
    /// By e-mail with a qualified signature.
    Email,
}

/// The fee for an e-service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Fee {
    /// Free or paid.
    #[schemars(extend("x-kdl" = "arg"))]
    pub kind: FeeKind,
    /// Amount in hryvnias, e.g. `85.00`, for a paid service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub amount: Option<String>,
    /// Payment details for a paid service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// When the portal asks for the fee through the system's payment provider; without it the
    /// applicant pays outside the portal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay: Option<PayWhen>,
}

/// When the portal asks for a paid e-service's fee (001 §2.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PayWhen {
    /// The application is signed and submitted only once the fee is paid.
    BeforeSubmission,
    /// The application is submitted unpaid; its result is shown only once the fee is paid.
    BeforeResult,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FeeKind {
    Free,
    Paid,
}

/// Where and how a fee is paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Payment {
    /// Recipient's name.
    #[schemars(extend("x-kdl" = "prop"))]
    pub recipient: String,
    /// Recipient's EDRPOU code.
    #[schemars(extend("x-kdl" = "prop"))]
    pub edrpou: String,
    /// Recipient's IBAN (UA…).
    #[schemars(extend("x-kdl" = "prop"))]
    pub iban: String,
    /// Purpose of payment.
    #[schemars(extend("x-kdl" = "prop"))]
    pub purpose: String,
}

/// The result of an e-service and how it is received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServiceResult {
    /// What the applicant receives.
    #[schemars(extend("x-kdl" = "arg"))]
    pub description: String,
    /// How the result is received.
    pub delivery: Vec<Delivery>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// In the applicant's cabinet on the portal.
    Cabinet,
    /// By e-mail.
    Email,
    /// In person at the administrative services centre.
    Cnap,
    /// By post.
    Mail,
}

/// Why an e-service has no one incoming journal for its portal applications.
#[derive(Debug, Clone, PartialEq)]
pub enum JournalProblem<'a> {
    /// It names no provider (H0801 reports that).
    NoProvider,
    /// Its `journal` names none declared.
    Unknown(&'a str),
    /// Its `journal` is not an incoming one, or another participant's.
    Unfit(&'a Journal),
    /// The provider keeps no incoming journal.
    NoneKept(&'a str),
    /// The provider keeps several and the e-service names none of them.
    Several(Vec<&'a Journal>),
}

impl EService {
    /// The provider's incoming journal that registers this e-service's applications: the one
    /// `journal` names, else the provider's only incoming journal.
    pub fn incoming_journal<'a>(
        &'a self,
        spec: &'a Spec,
    ) -> Result<&'a Journal, JournalProblem<'a>> {
        let provider = self
            .provider
            .as_ref()
            .map(|p| p.participant.as_str())
            .ok_or(JournalProblem::NoProvider)?;
        if let Some(id) = &self.journal {
            let journal = spec
                .journals
                .iter()
                .find(|j| &j.id == id)
                .ok_or(JournalProblem::Unknown(id))?;
            return if journal.direction == Direction::Incoming && journal.participant == provider {
                Ok(journal)
            } else {
                Err(JournalProblem::Unfit(journal))
            };
        }
        let kept: Vec<&Journal> = spec
            .journals
            .iter()
            .filter(|j| j.participant == provider && j.direction == Direction::Incoming)
            .collect();
        match kept.as_slice() {
            [one] => Ok(one),
            [] => Err(JournalProblem::NoneKept(provider)),
            _ => Err(JournalProblem::Several(kept)),
        }
    }
}
