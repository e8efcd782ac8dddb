//! The `participant` kind: a body, communal enterprise or business taking part in electronic
//! interaction, with its contacts (003 Annex 1 item 1, Annex 2), structural units, gateway, seal,
//! subsystems (its information systems acting as clients) and the web services it publishes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{MemberClass, Operation, Status};

/// A participant of electronic interaction (учасник).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"participant "vodokanal" {
    name "КП «Водоканал»"
    edrpou "03327121"
    class "COM"
    gateway "gw-core"
    seal cert="pki/vodokanal.crt"
    contacts {
        kind "комунальне підприємство"
        address "вул. Водопровідна, 1"
        phone "+380442000000"
        email "info@vodokanal.example"
        website "https://vodokanal.example"
        schedule "пн–пт 08:00–17:00"
        responsible "Петренко Олена Іванівна" unit="billing" phone="+380442000001" email="petrenko@vodokanal.example"
    }
    unit "billing" title="Абонентський відділ"
    subsystem "billing" title="Білінгова система"
    service "abonent-debt" {
        title "Заборгованість абонента"
        description "Стан розрахунків абонента за водопостачання"
        upstream "http://billing.vodokanal.local:8080"
        operation "GET" "/accounts/*/debt"
        subject path-segment=2
        response {
            field "account" type="string"
            field "debt-uah" type="decimal"
        }
        health path="/health" every="30s"
    }
}"#))]
pub struct Participant {
    /// Participant id (kebab-case); the subsystem and service references start with it.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Full legal name.
    pub name: String,
    /// EDRPOU code, used as the X-Road member code.
    pub edrpou: String,
    /// X-Road member class.
    pub class: MemberClass,
    /// Whether the participant may take part (000 §16).
    #[serde(default)]
    pub status: Status,
    /// The gateway node that serves this participant.
    pub gateway: String,
    /// The participant's electronic seal.
    pub seal: Seal,
    /// Contact details published in the catalogue (003 Annex 1 item 1, Annex 2).
    pub contacts: Contacts,
    /// Structural units.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "unit"))]
    pub units: Vec<Unit>,
    /// Information systems acting as clients.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "subsystem"))]
    pub subsystems: Vec<Subsystem>,
    /// Web services published through the gateway.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "service"))]
    pub services: Vec<Service>,
}

impl Participant {
    /// The subsystem providing `service`: the one it names, or else the participant's only one.
    pub fn provider_subsystem<'a>(&'a self, service: &'a Service) -> Option<&'a str> {
        match (&service.subsystem, self.subsystems.as_slice()) {
            (Some(named), _) => Some(named),
            (None, [only]) => Some(&only.id),
            (None, _) => None,
        }
    }
}

/// The seal certificate; the private key is referenced, never part of the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Seal {
    /// X.509 certificate (PEM, ECDSA P-256), relative to the spec root.
    #[schemars(extend("x-kdl" = "prop"))]
    pub cert: String,
}

/// Contact details of a provider (003 Annex 1 item 1, Annex 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Contacts {
    /// Kind of entity (орган місцевого самоврядування, комунальне підприємство, …).
    pub kind: String,
    /// Location.
    pub address: String,
    /// Contact phone, international format.
    pub phone: String,
    /// Official e-mail.
    pub email: String,
    /// Official website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Working hours.
    pub schedule: String,
    /// Officials responsible for keeping the information current (003 Annex 2).
    #[serde(default)]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "responsible"))]
    pub responsible: Vec<Responsible>,
}

/// A responsible official (003 Annex 2 items 2–5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Responsible {
    /// Full name (прізвище, ім'я, по батькові).
    #[schemars(extend("x-kdl" = "arg"))]
    pub name: String,
    /// Unit id of this participant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub unit: Option<String>,
    /// Contact phone.
    #[schemars(extend("x-kdl" = "prop"))]
    pub phone: String,
    /// E-mail.
    #[schemars(extend("x-kdl" = "prop"))]
    pub email: String,
}

/// A structural unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Unit {
    /// Unit id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Name of the unit.
    #[schemars(extend("x-kdl" = "prop"))]
    pub title: String,
}

/// An information system of the participant that calls services (X-Road subsystem).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Subsystem {
    /// Subsystem code.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// Name of the system.
    #[schemars(extend("x-kdl" = "prop"))]
    pub title: String,
    /// How the subsystem's information systems connect to their gateway node. A subsystem that
    /// declares none cannot call services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<Connection>,
}

/// How an information system reaches its gateway node and proves which subsystem it is (X-Road's
/// connection type and internal TLS certificates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"connection "https" {
    client cert="pki/systems/council-registry.crt"
}"#))]
pub struct Connection {
    /// `https`: over TLS, presenting one of the listed client certificates; `http`: plain HTTP
    /// from the gateway node's own host, without authentication.
    #[schemars(extend("x-kdl" = "arg"))]
    pub protocol: ConnectionProtocol,
    /// The client certificates the subsystem's systems present (pinned: only these are
    /// accepted, whoever issued them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "client"))]
    pub clients: Vec<ClientCertificate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionProtocol {
    Https,
    Http,
}

/// A client certificate an information system presents for its subsystem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClientCertificate {
    /// X.509 certificate (PEM), relative to the spec root.
    #[schemars(extend("x-kdl" = "prop"))]
    pub cert: String,
}

/// A web service published through the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Service {
    /// Service code.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// The participant's subsystem that provides the service: the subsystem code of its X-Road
    /// identifier. May be left out when the participant has exactly one subsystem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub subsystem: Option<String>,
    /// Name shown in the catalogue.
    pub title: String,
    /// What the service gives.
    pub description: String,
    /// Base URL of the provider's system; never shown to consumers. Absent for an exchange
    /// service, which the registry on the participant's node receives itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The registries' exchange this service receives instead of an upstream: `sev`, СЕВ ОВВ
    /// messages POSTed to `/messages` by other participants' registries, stored by the registry
    /// on the provider's node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub exchange: Option<ExchangeProtocol>,
    /// Operations offered.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "operation"))]
    pub operations: Vec<Operation>,
    /// Where the data subject's id travels in a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<SubjectLocation>,
    /// Fields of the JSON response, with their data classes.
    #[serde(default)]
    pub response: Response,
    /// The shape of the service's error answers (4xx, 5xx and redirects' bodies); when absent,
    /// the X-Road error fields `type`, `message` and `detail`, all strings. Nothing else of an
    /// error answer reaches a consumer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_response: Option<ErrorResponse>,
    /// Health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthCheck>,
    /// OpenAPI document of the service, relative to the spec root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openapi: Option<String>,
}

/// The document exchanges a registry receives through an exchange service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExchangeProtocol {
    /// СЕВ ОВВ's `Header` envelope (standard 1207, version 1.5), one message a request.
    Sev,
}

impl ExchangeProtocol {
    /// The only operation an exchange service has: the method and path messages are posted to.
    pub const OPERATION: (&'static str, &'static str) = ("POST", "/messages");
}

/// Where the data subject's identifier travels in a request (exactly one of the three).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SubjectLocation {
    /// A request header, for example `X-Road-UserId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub header: Option<String>,
    /// A 1-based segment of the operation path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub path_segment: Option<u32>,
    /// A query parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub query: Option<String>,
}

/// The JSON response of a service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Response {
    /// Response headers that pass to consumers besides those that always do (`Content-Type`,
    /// `Content-Length`, caching, `Content-Language`, `Retry-After`); every other is dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// Response fields.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "field"))]
    pub fields: Vec<ResponseField>,
}

/// The JSON body of a service's error answers: only these fields, typed, reach a consumer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ErrorResponse {
    /// Error fields.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "field"))]
    pub fields: Vec<ResponseField>,
}

impl Response {
    /// Every field, depth first, with its dotted path (`address.street`) and its JSON pointer
    /// inside the response (`/fields/0/fields/1`).
    pub fn walk(&self) -> Vec<FieldAt<'_>> {
        fn walk<'a>(
            prefix: &str,
            ptr: &str,
            inherited: &'a str,
            fields: &'a [ResponseField],
            out: &mut Vec<FieldAt<'a>>,
        ) {
            for (i, f) in fields.iter().enumerate() {
                let path = if prefix.is_empty() {
                    f.name.clone()
                } else {
                    format!("{prefix}.{}", f.name)
                };
                let pointer = format!("{ptr}/fields/{i}");
                let class = f.class.as_deref().unwrap_or(inherited);
                walk(&path, &pointer, class, &f.fields, out);
                out.push(FieldAt {
                    path,
                    pointer,
                    class,
                    field: f,
                });
            }
        }
        let mut out = Vec::new();
        walk("", "", "public", &self.fields, &mut out);
        out
    }

    /// The effective data class of the field at a dotted path (see `ResponseField::class`).
    pub fn class_of(&self, path: &str) -> Option<&str> {
        let mut fields = &self.fields;
        let mut class = "public";
        for part in path.split('.') {
            let f = fields.iter().find(|f| f.name == part)?;
            class = f.class.as_deref().unwrap_or(class);
            fields = &f.fields;
        }
        Some(class)
    }

    /// The field at a dotted path.
    pub fn find(&self, path: &str) -> Option<&ResponseField> {
        let mut fields = &self.fields;
        let mut found = None;
        for part in path.split('.') {
            let f = fields.iter().find(|f| f.name == part)?;
            fields = &f.fields;
            found = Some(f);
        }
        found
    }
}

impl Response {
    /// The data that granting `path` releases: the field itself, or for an object every field
    /// nested in it that holds a value (objects declaring no fields count as values), by dotted
    /// path, each with its effective data class: its own, or else that of its nearest classified
    /// ancestor, or else `public`. Empty when the path names no field.
    pub fn released(&self, path: &str) -> Vec<(String, &str)> {
        let mut fields = &self.fields;
        let mut inherited = None;
        let mut found = None;
        for part in path.split('.') {
            let Some(f) = fields.iter().find(|f| f.name == part) else {
                return Vec::new();
            };
            inherited = f.class.as_deref().or(inherited);
            fields = &f.fields;
            found = Some(f);
        }
        let mut out = Vec::new();
        if let Some(f) = found {
            collect(path.to_string(), f, inherited.unwrap_or("public"), &mut out);
        }
        out
    }
}

fn collect<'a>(
    path: String,
    field: &'a ResponseField,
    class: &'a str,
    out: &mut Vec<(String, &'a str)>,
) {
    for child in &field.fields {
        let class = child.class.as_deref().unwrap_or(class);
        collect(format!("{path}.{}", child.name), child, class, out);
    }
    if field.fields.is_empty() {
        out.push((path, class));
    }
}

/// A response field located by its dotted path and JSON pointer.
pub struct FieldAt<'a> {
    pub path: String,
    pub pointer: String,
    /// The effective data class: the field's own or its enclosing object's.
    pub class: &'a str,
    pub field: &'a ResponseField,
}

/// A field of a service's JSON response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ResponseField {
    /// JSON property name.
    #[schemars(extend("x-kdl" = "arg"))]
    pub name: String,
    /// JSON type.
    #[serde(rename = "type")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub ty: FieldType,
    /// Data class (a `data-class` id from the policies); when absent, the class of the enclosing
    /// object, and `public` at the top level. Granting an object releases everything in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub class: Option<String>,
    /// What the field holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub description: Option<String>,
    /// The type of an array's elements; `object` when nested fields are given, else `string`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub items: Option<ItemType>,
    /// Nested fields of an object, or of the objects in an array.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "field"))]
    pub fields: Vec<ResponseField>,
}

impl ResponseField {
    /// The type of this array's elements (see `items`); meaningless for other types.
    pub fn item_type(&self) -> ItemType {
        self.items.unwrap_or(if self.fields.is_empty() {
            ItemType::String
        } else {
            ItemType::Object
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FieldType {
    String,
    Integer,
    Decimal,
    Boolean,
    Date,
    Datetime,
    Object,
    Array,
}

/// The type of an array's elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ItemType {
    String,
    Integer,
    Decimal,
    Boolean,
    Date,
    Datetime,
    Object,
}

impl ItemType {
    /// The field type an element of this item type has.
    pub fn field_type(self) -> FieldType {
        match self {
            ItemType::String => FieldType::String,
            ItemType::Integer => FieldType::Integer,
            ItemType::Decimal => FieldType::Decimal,
            ItemType::Boolean => FieldType::Boolean,
            ItemType::Date => FieldType::Date,
            ItemType::Datetime => FieldType::Datetime,
            ItemType::Object => FieldType::Object,
        }
    }
}

/// A periodic health check of the upstream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HealthCheck {
    /// Path on the upstream that answers 2xx when healthy.
    #[schemars(extend("x-kdl" = "prop"))]
    pub path: String,
    /// Interval, e.g. `30s`.
    #[schemars(extend("x-kdl" = "prop"))]
    pub every: String,
    /// Timeout of one check, e.g. `2s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub timeout: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, class: Option<&str>, fields: Vec<ResponseField>) -> ResponseField {
        ResponseField {
            name: name.into(),
            ty: if fields.is_empty() {
                FieldType::String
            } else {
                FieldType::Object
            },
            class: class.map(String::from),
            description: None,
            items: None,
            fields,
        }
    }

    #[test]
    fn granting_an_object_releases_its_fields_with_inherited_classes() {
        let response = Response {
            headers: Vec::new(),
            fields: vec![
                field("id", None, vec![]),
                field(
                    "person",
                    Some("personal"),
                    vec![
                        field("name", None, vec![]),
                        field("health", Some("sensitive"), vec![]),
                    ],
                ),
            ],
        };
        let released = response.released("person");
        assert_eq!(
            released,
            vec![
                ("person.name".to_string(), "personal"),
                ("person.health".to_string(), "sensitive"),
            ]
        );
        assert_eq!(
            response.released("person.name"),
            vec![("person.name".to_string(), "personal")]
        );
        assert_eq!(response.class_of("id"), Some("public"));
        assert_eq!(response.class_of("person"), Some("personal"));
        assert!(response.released("nobody").is_empty());
    }
}
