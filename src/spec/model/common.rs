//! Value types shared by several kinds: references, validity periods, operations, enums of
//! the X-Road member classes and participant statuses. Dates, durations and references are kept
//! as the strings the author wrote; `crate::check` validates their formats with precise locations,
//! and a duration is read by the one [`parse_duration_days`] that checks and the runtime share.

use std::sync::LazyLock;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

static DURATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]+)(s|m|h|d|w|mo|y)$").expect("duration pattern"));

/// A duration such as `30s`, `5m`, `2h`, `10d`, `2w`, `18mo`, `5y`, in days (`permanent`: infinite).
pub fn parse_duration_days(s: &str) -> Option<f64> {
    if s == "permanent" {
        return Some(f64::INFINITY);
    }
    let caps = DURATION.captures(s)?;
    let n: f64 = caps[1].parse().ok()?;
    let per_day = match &caps[2] {
        "s" => 1.0 / 86_400.0,
        "m" => 1.0 / 1_440.0,
        "h" => 1.0 / 24.0,
        "d" => 1.0,
        "w" => 7.0,
        "mo" => 30.0,
        _ => 365.0,
    };
    Some(n * per_day)
}

/// X-Road member class of a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum MemberClass {
    /// State and local self-government bodies.
    Gov,
    /// Communal and commercial enterprises.
    Com,
    /// Non-governmental organisations.
    Ngo,
    /// Non-commercial entities.
    Nee,
}

impl MemberClass {
    /// The class code as the spec and X-Road identifiers write it (`GOV`, `COM`, …).
    pub fn code(self) -> &'static str {
        match self {
            MemberClass::Gov => "GOV",
            MemberClass::Com => "COM",
            MemberClass::Ngo => "NGO",
            MemberClass::Nee => "NEE",
        }
    }
}

#[cfg(test)]
mod member_class_tests {
    use super::MemberClass;

    #[test]
    fn the_code_is_the_class_as_the_spec_writes_it() {
        for class in [
            MemberClass::Gov,
            MemberClass::Com,
            MemberClass::Ngo,
            MemberClass::Nee,
        ] {
            assert_eq!(serde_json::to_value(class).unwrap(), class.code());
        }
    }
}

/// Whether a participant may take part in electronic interaction (000 §16).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    #[default]
    Active,
    /// Participation is suspended: every grant to or from it is refused.
    Suspended,
}

/// A period of validity; `until` may be left open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Validity {
    /// First day of validity, `YYYY-MM-DD`.
    #[schemars(extend("x-kdl" = "prop"))]
    pub from: String,
    /// Last day of validity, `YYYY-MM-DD`; open-ended when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kdl" = "prop"))]
    pub until: Option<String>,
}

/// An HTTP operation: a method and a path glob (`*` one segment, `**` any number of segments).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Operation {
    /// HTTP method.
    #[schemars(extend("x-kdl" = "arg"))]
    pub method: Method,
    /// Path glob, starting with `/`.
    #[schemars(extend("x-kdl" = "arg"))]
    pub path: String,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    /// `GET` without the body; granted wherever `GET` is.
    Head,
    Post,
    Put,
    Patch,
    Delete,
    /// The methods and options a path supports; granted only where named.
    Options,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }

    /// Whether an operation of this method also admits a request of `asked`: its own method,
    /// and `HEAD` where `GET` is granted (the same answer without its body, RFC 9110 §9.3.2).
    pub fn admits(self, asked: Method) -> bool {
        self == asked || (self == Method::Get && asked == Method::Head)
    }
}

/// Ways of counting days for terms and deadlines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DayCount {
    /// Working days by the system's calendar (weekends and public holidays skipped).
    #[default]
    Working,
    /// Calendar days.
    Calendar,
}

/// A term in days, counted as working or calendar days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Days {
    /// Number of days.
    #[schemars(extend("x-kdl" = "arg"))]
    pub days: u32,
    /// How the days are counted.
    #[serde(default)]
    #[schemars(extend("x-kdl" = "prop"))]
    pub counting: DayCount,
}
