//! The `template` kind: a document that a workflow issues and the provider seals — a decision,
//! a certificate, a reply — written as a minijinja template over the application's data.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A template of an issued document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"template "subsidy-decision" {
    title "Рішення про призначення житлової субсидії"
    body """
        Заявнику {{ applicant.name }} призначено житлову субсидію.
        """
}"#))]
pub struct Template {
    /// Template id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Title of the issued document.
    pub title: String,
    /// Body: minijinja template over `application`, `applicant`, `registry` and `decision`.
    pub body: String,
}
