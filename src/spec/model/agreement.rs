//! The `agreement` kind: an access agreement (договір про інформаційну взаємодію) that lets one
//! consumer subsystem call one provider service for a stated purpose and legal basis, and receive
//! exactly the listed fields (MIN-1).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Operation, Validity};

/// An access agreement between a consumer subsystem and a provider service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"agreement "subsidy-reads-water-debt" {
    consumer "social-dept/subsidies"
    provider "vodokanal/abonent-debt"
    purpose "Призначення житлової субсидії"
    legal-basis "Постанова КМУ від 21.10.1995 №848, п. 14"
    fields "account" "debt-uah"
    operation "GET" "/accounts/*/debt"
    parameters "as-of"
    valid from="2026-01-01" until="2027-12-31"
    rate-limit 600 per="minute"
    notify-subject #true
}"#))]
pub struct Agreement {
    /// Agreement id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Consumer subsystem, `participant/subsystem`; or `participant` alone for the member itself
    /// (an `X-Road-Client` without a subsystem).
    pub consumer: String,
    /// Provider service, `participant/service`.
    pub provider: String,
    /// Why the consumer needs the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The law or decision that allows the exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// Response fields granted, by dotted path (`address.street`); nothing else is released.
    pub fields: Vec<String>,
    /// Operations granted; every operation of the service when none are listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "operation"))]
    pub operations: Vec<Operation>,
    /// Query parameters the consumer may send; any other is refused with its name (MIN-1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<String>,
    /// JSON request body fields the consumer may send, by dotted path; any other is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body_fields: Vec<String>,
    /// Whether a response that is not JSON (a PDF, an image) may pass; it cannot be projected to
    /// the granted fields, so it is refused unless the agreement says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_non_json: bool,
    /// Validity period.
    pub valid: Validity,
    /// Maximum request rate for the consumer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Whether data subjects are told of each exchange in their cabinet (MIN-4).
    #[serde(default)]
    pub notify_subject: bool,
}

/// A request rate limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RateLimit {
    /// Number of requests.
    #[schemars(extend("x-kdl" = "arg"))]
    pub requests: u32,
    /// Per which period.
    #[schemars(extend("x-kdl" = "prop"))]
    pub per: RatePeriod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RatePeriod {
    Second,
    Minute,
    Hour,
    Day,
}
