//! The `system` kind: the appliance itself — its X-Road instance id, holder and technical
//! administrator, gateway nodes, trust anchors, where the portal and registry run, and the
//! working-day calendar every deadline is counted by. Exactly one per spec tree.

use chrono::NaiveTime;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The electronic interaction system: one per spec tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"system "kyiv" {
    title "Система електронної взаємодії міста"
    holder "Виконавчий орган міської ради" edrpou="00022527"
    administrator "КП «Інфотех»" edrpou="31726654"
    node "gw-core" address="https://gw-core.city.example:8443" cert="pki/gw-core.crt"
    trust-anchor "city-ca" cert="pki/ca.crt"
    portal node="gw-core" subsystem="city-council/portal"
    registry node="gw-core" subsystem="city-council/registry"
    sign-in {
        issuer "https://id.city.example"
        client-id "city-portal"
        client-secret-file "sign-in/client-secret"
        claims rnokpp="drfocode" edrpou="edrpoucode"
    }
    payments {
        provider "liqpay"
        checkout-url "https://pay.city.example/api/3/checkout"
        public-key "sandbox_i00000000"
        private-key-file "payments/liqpay-private-key"
    }
    calendar {
        working-hours "09:00" "18:00"
        time-zone "Europe/Kyiv"
        holiday "2026-01-01" "Новий рік"
    }
}"#))]
pub struct System {
    /// System id, used as the X-Road instance identifier.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Name of the system.
    pub title: String,
    /// The holder (володілець) of the system.
    pub holder: Organisation,
    /// The technical administrator of the system.
    pub administrator: Organisation,
    /// Gateway nodes (the core and participants' local components).
    #[serde(default)]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "node"))]
    pub nodes: Vec<GatewayNode>,
    /// Certificates every seal and TLS identity must chain to.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "trust-anchor"))]
    pub trust_anchors: Vec<TrustAnchor>,
    /// Where the e-services portal runs and as which subsystem it calls services.
    pub portal: Placement,
    /// Where the document registry runs and as which subsystem it calls services: one
    /// `registry` a node at most. A participant that keeps journals is served by the registry
    /// on its own gateway node, or else by the first one.
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "registry"))]
    pub registries: Vec<Placement>,
    /// The working-day calendar.
    #[serde(default)]
    pub calendar: Calendar,
    /// The identity provider citizens sign in with (OpenID Connect); without it the portal's
    /// sign-in says it is not configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<SignIn>,
    /// The payment provider the portal hands applicants to for a paid e-service's fee; without
    /// it no e-service may ask for payment on the portal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payments: Option<Payments>,
}

impl System {
    /// The registry serving `participant` (whose gateway node is `gateway`), given whether it
    /// keeps journals: the one on its own node if it does and one runs there, else the first.
    pub fn registry_serving(&self, gateway: &str, keeps_journals: bool) -> Option<&Placement> {
        keeps_journals
            .then(|| self.registry_on(gateway))
            .flatten()
            .or_else(|| self.registries.first())
    }

    /// The registry running on `node`, if one does.
    pub fn registry_on(&self, node: &str) -> Option<&Placement> {
        self.registries.iter().find(|r| r.node == node)
    }
}

/// A payment provider the portal is a merchant of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Payments {
    /// The provider's protocol.
    pub provider: PaymentProviderKind,
    /// Where the applicant's browser posts the order (https; http only on this machine's
    /// loopback).
    pub checkout_url: String,
    /// The merchant's public key the provider issued.
    pub public_key: String,
    /// File holding the merchant's private key, relative to the appliance's keys folder
    /// (`serve --keys`): keys never live in the spec.
    pub private_key_file: String,
}

/// The payment protocols the portal speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentProviderKind {
    /// LiqPay's checkout (API version 3): base64 `data` with its SHA-1 `signature`.
    Liqpay,
}

impl PaymentProviderKind {
    /// The provider's name in URLs (`/payments/callback/{name}`).
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentProviderKind::Liqpay => "liqpay",
        }
    }
}

/// An OpenID Connect identity provider this system is a relying party of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SignIn {
    /// The provider's issuer URL (https; http only on this machine's loopback).
    pub issuer: String,
    /// The client id the provider registered this system under.
    pub client_id: String,
    /// File holding the client secret, relative to the appliance's keys folder (`serve
    /// --keys`): secrets never live in the spec.
    pub client_secret_file: String,
    /// Which claims of the ID token carry the person's identity.
    #[serde(default)]
    pub claims: SignInClaims,
}

/// The names of the ID-token claims that carry a person's identity; national identity brokers
/// put the RNOKPP in `drfocode` and a legal entity's EDRPOU in `edrpoucode`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SignInClaims {
    /// The claim with the person's RNOKPP.
    #[serde(default = "default_rnokpp_claim")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub rnokpp: String,
    /// The claim with the EDRPOU of the legal entity the person represents.
    #[serde(default = "default_edrpou_claim")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub edrpou: String,
    /// The claim with the family name.
    #[serde(default = "default_family_name_claim")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub family_name: String,
    /// The claim with the given name.
    #[serde(default = "default_given_name_claim")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub given_name: String,
    /// The claim with the middle name (patronymic).
    #[serde(default = "default_middle_name_claim")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub middle_name: String,
    /// The claim with the e-mail address.
    #[serde(default = "default_email_claim")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub email: String,
}

impl Default for SignInClaims {
    fn default() -> Self {
        SignInClaims {
            rnokpp: default_rnokpp_claim(),
            edrpou: default_edrpou_claim(),
            family_name: default_family_name_claim(),
            given_name: default_given_name_claim(),
            middle_name: default_middle_name_claim(),
            email: default_email_claim(),
        }
    }
}

impl SignInClaims {
    /// Each claim name with where it is written, for checks.
    pub fn named(&self) -> [(&'static str, &str); 6] {
        [
            ("rnokpp", &self.rnokpp),
            ("edrpou", &self.edrpou),
            ("family-name", &self.family_name),
            ("given-name", &self.given_name),
            ("middle-name", &self.middle_name),
            ("email", &self.email),
        ]
    }
}

fn default_rnokpp_claim() -> String {
    "drfocode".into()
}

fn default_edrpou_claim() -> String {
    "edrpoucode".into()
}

fn default_family_name_claim() -> String {
    "family_name".into()
}

fn default_given_name_claim() -> String {
    "given_name".into()
}

fn default_middle_name_claim() -> String {
    "middle_name".into()
}

fn default_email_claim() -> String {
    "email".into()
}

/// A legal entity named with its EDRPOU code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Organisation {
    /// Full name.
    #[schemars(extend("x-kdl" = "arg"))]
    pub name: String,
    /// EDRPOU code (8 digits with a check digit).
    #[schemars(extend("x-kdl" = "prop"))]
    pub edrpou: String,
}

/// One gateway node of the system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GatewayNode {
    /// Node id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Address other nodes reach it at (`https://host:port`).
    #[schemars(extend("x-kdl" = "prop"))]
    pub address: String,
    /// The node's TLS certificate (PEM), relative to the spec root.
    #[schemars(extend("x-kdl" = "prop"))]
    pub cert: String,
}

/// A trusted root certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TrustAnchor {
    /// Anchor id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// The CA certificate (PEM), relative to the spec root.
    #[schemars(extend("x-kdl" = "prop"))]
    pub cert: String,
}

/// Which node serves a component and which subsystem it acts as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Placement {
    /// Gateway node id.
    #[schemars(extend("x-kdl" = "prop"))]
    pub node: String,
    /// Consumer subsystem, `participant/subsystem`.
    #[schemars(extend("x-kdl" = "prop"))]
    pub subsystem: String,
}

/// Working days, working hours, the city's time zone and public holidays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Calendar {
    /// Days of the week that are working days.
    #[serde(default = "default_working_week")]
    pub working_week: Vec<Weekday>,
    /// When a working day opens and closes, `HH:MM` local time: a document that arrives after
    /// closing (or on a day off) is counted from the next working day.
    #[serde(default)]
    pub working_hours: WorkingHours,
    /// The city's IANA time zone: days start and deadlines end at its midnight.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Public holidays (non-working days).
    #[serde(default)]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "holiday"))]
    pub holidays: Vec<Holiday>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            working_week: default_working_week(),
            working_hours: WorkingHours::default(),
            time_zone: default_time_zone(),
            holidays: Vec::new(),
        }
    }
}

fn default_working_week() -> Vec<Weekday> {
    use Weekday::*;
    vec![Mon, Tue, Wed, Thu, Fri]
}

impl Calendar {
    /// The declared time zone, if it is a known IANA name.
    pub fn zone(&self) -> Option<chrono_tz::Tz> {
        self.time_zone.parse().ok()
    }
}

fn default_time_zone() -> String {
    "Europe/Kyiv".into()
}

/// The working day's opening and closing times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WorkingHours {
    /// Opening time, `HH:MM`.
    #[schemars(extend("x-kdl" = "arg"))]
    pub opens: String,
    /// Closing time, `HH:MM`.
    #[schemars(extend("x-kdl" = "arg"))]
    pub closes: String,
}

impl WorkingHours {
    pub fn opening(&self) -> Option<NaiveTime> {
        parse_hour(&self.opens)
    }

    pub fn closing(&self) -> Option<NaiveTime> {
        parse_hour(&self.closes)
    }
}

/// A time of day written `HH:MM` (00:00 to 23:59).
pub fn parse_hour(text: &str) -> Option<NaiveTime> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

impl Default for WorkingHours {
    fn default() -> Self {
        WorkingHours {
            opens: "09:00".into(),
            closes: "18:00".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// A public holiday.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Holiday {
    /// Date, `YYYY-MM-DD`.
    #[schemars(extend("x-kdl" = "arg"))]
    pub date: String,
    /// Name of the holiday.
    #[schemars(extend("x-kdl" = "arg"))]
    pub name: String,
}
