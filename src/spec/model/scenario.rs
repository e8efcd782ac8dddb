//! The `scenario` kind: one application of an e-service told as a city's reviewer reads it — who
//! applies, with what data, what the registries answer, which officials act when — and what must
//! follow (states, outcome, documents, notices, deadlines). `hromada test` runs it on the engine.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::workflow::Outcome;

/// An application of an e-service run through its workflow, with what must follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r##"scenario "subsidy-granted" {
    title "Субсидію призначено після перевірки спеціалістом"
    e-service "housing-subsidy"
    applicant "Петренко Іван Михайлович" rnokpp="3012345670" email="petrenko@example.com"
    submitted "2026-03-02T10:00+02:00"
    registry "vodokanal/abonent-debt" #"{"account": "12345678", "debt_uah": 0}"#
    data {
        field "rnokpp" "3012345670"
        field "account" "12345678"
        group "family" {
            field "name" "Петренко Олена Іванівна"
        }
    }
    step "approve" by="koval-o" at="2026-03-04T11:30+02:00"
    step "approve" by="koval-o" refused=#true
    wait until="2026-03-31T09:00+03:00"
    expect {
        states "submitted" "granted"
        outcome "granted"
        document "subsidy-decision" number="*/02-2026"
        notice "applicant" contains="Субсидію призначено"
        deadline "submitted" due="2026-03-09"
    }
}"##))]
pub struct Scenario {
    /// Scenario id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// What the scenario shows, in a sentence.
    pub title: String,
    /// The e-service applied for.
    pub e_service: String,
    /// Who applies.
    pub applicant: Applicant,
    /// When the application is submitted: `YYYY-MM-DDTHH:MM` with the UTC offset, e.g. `+02:00`.
    pub submitted: String,
    /// What a registry service answers instead of a live call, one per service the workflow calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "registry"))]
    pub registry: Vec<RegistryAnswer>,
    /// The application's data, as the applicant entered it in the form.
    #[serde(default)]
    pub data: ApplicationData,
    /// What happens after submission, in order: officials' or the applicant's steps, and time
    /// passing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "variants"))]
    pub steps: Vec<Step>,
    /// What must follow.
    pub expect: Expectations,
}

/// The applicant of a scenario (fictional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Applicant {
    /// Full name.
    #[schemars(extend("x-kdl" = "arg"))]
    pub name: String,
    /// Taxpayer number (РНОКПП).
    #[schemars(extend("x-kdl" = "prop"))]
    pub rnokpp: String,
    /// E-mail the applicant's notices are sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub email: Option<String>,
}

/// The answer of one provider service: a JSON document, or none at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RegistryAnswer {
    /// Provider service, `participant/service`.
    #[schemars(extend("x-kdl" = "arg"))]
    pub service: String,
    /// The JSON the service answers (before the portal's agreement cuts it to its fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "arg"))]
    pub answer: Option<String>,
    /// The service does not answer (down, timed out, refused).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub unavailable: bool,
}

/// Form data: values as the applicant typed them (the form's field types read them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ApplicationData {
    /// Fields, by the form's field id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "field"))]
    pub fields: Vec<FieldValue>,
    /// Entries of repeat groups, one node per entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "group"))]
    pub groups: Vec<GroupEntry>,
}

/// One value the applicant entered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FieldValue {
    /// Field id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub name: String,
    /// The value as typed, e.g. `"4500.50"`, `"2026-03-02"`, `"true"`.
    #[schemars(extend("x-kdl" = "arg"))]
    pub value: String,
}

/// One entry of a repeat group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GroupEntry {
    /// Group id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub group: String,
    /// The entry's fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "field"))]
    pub fields: Vec<FieldValue>,
}

/// Something that happens after submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// A person fires a transition of the state the application is in.
    Step(Act),
    /// Time passes: deadlines, reminders and escalations due by then take effect.
    Wait(Wait),
}

/// A transition fired by an official or the applicant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Act {
    /// The transition's event.
    #[schemars(extend("x-kdl" = "arg"))]
    pub event: String,
    /// Who fires it: an official's id, `applicant`, or `provider-system` (the e-service's `handled-by`
    /// system reporting it).
    #[schemars(extend("x-kdl" = "prop"))]
    pub by: String,
    /// When, `YYYY-MM-DDTHH:MM` with the UTC offset; the moment of the previous step when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub at: Option<String>,
    /// The engine must refuse the step (a guard that does not hold, a case already decided); the
    /// application stays where it was.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub refused: bool,
}

/// The clock moves on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Wait {
    /// Until when, `YYYY-MM-DDTHH:MM` with the UTC offset.
    #[schemars(extend("x-kdl" = "prop"))]
    pub until: String,
}

/// What must follow from a scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Expectations {
    /// Every state the application is in, in order, from the start state to the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<Vec<String>>,
    /// The outcome; `open` when the application must still be undecided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ExpectedOutcome>,
    /// Text the decision's reason contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Every document issued, in order; none issued when no `document` is listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "document"))]
    pub documents: Vec<ExpectedDocument>,
    /// Notices that must have been sent (others may be sent too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "notice"))]
    pub notices: Vec<ExpectedNotice>,
    /// The deadline set when the application last entered a state and stayed there (a state it
    /// leaves by an automatic transition at once is not waited in).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "deadline"))]
    pub deadlines: Vec<ExpectedDeadline>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectedOutcome {
    /// The service was provided.
    Granted,
    /// The service was refused.
    Refused,
    /// The applicant withdrew the application.
    Withdrawn,
    /// Not decided yet.
    Open,
}

impl ExpectedOutcome {
    /// The outcome this expects, `None` for `open`.
    pub fn outcome(self) -> Option<Outcome> {
        match self {
            ExpectedOutcome::Granted => Some(Outcome::Granted),
            ExpectedOutcome::Refused => Some(Outcome::Refused),
            ExpectedOutcome::Withdrawn => Some(Outcome::Withdrawn),
            ExpectedOutcome::Open => None,
        }
    }
}

/// A document that must be issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExpectedDocument {
    /// Template id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub template: String,
    /// Its registration number; `*` stands for any run of characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub number: Option<String>,
}

/// A notice that must be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExpectedNotice {
    /// To whom: `applicant`, an official's id or a role id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub to: String,
    /// Text the notice contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub contains: Option<String>,
}

/// A deadline that must be set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExpectedDeadline {
    /// State id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub state: String,
    /// The last day of the term, `YYYY-MM-DD`, in the city's time zone.
    #[schemars(extend("x-kdl" = "prop"))]
    pub due: String,
}
