//! The envelope's coded values: each enumeration of the schema as a Rust type (named where the
//! СЕВ ОВВ regulation names its values, a checked number where it does not), and its dates and
//! times in the schema's lexical forms.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};

/// An enumeration whose values the regulation names, written as its number.
macro_rules! named_codes {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant = $code,)*
        }

        impl $name {
            /// Every value, in the schema's order.
            pub const ALL: &[$name] = &[$($name::$variant),*];

            /// The number the message carries.
            pub fn code(self) -> u8 {
                self as u8
            }

            /// The value numbered `code`; `None` for a number the schema does not list.
            pub fn from_code(code: u8) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

/// An enumeration the schema lists by number only: a number checked against its range.
macro_rules! numbered_codes {
    ($(#[$doc:meta])* $name:ident, $max:literal { $($(#[$cdoc:meta])* $constant:ident = $code:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(u8);

        impl $name {
            $($(#[$cdoc])* pub const $constant: $name = $name($code);)*

            /// The value numbered `code`; `None` past the schema's 0 to its largest.
            pub fn new(code: u8) -> Option<$name> {
                (code <= $max).then_some($name(code))
            }

            /// The number the message carries.
            pub fn code(self) -> u8 {
                self.0
            }

            /// The largest number the schema lists.
            pub const MAX: u8 = $max;
        }
    };
}

named_codes! {
    /// `Acknowledgement/@ack_type`, the notices of the regulation's ДС13–ДС17.
    AckType {
        /// Сповіщення про доставку повідомлення (ДС13).
        Delivered = 1,
        /// Сповіщення про прийняття повідомлення (ДС14).
        Accepted = 2,
        /// Сповіщення про реєстрацію документа (ДС15), with the receiver's `RegNumber`.
        Registered = 3,
        /// Сповіщення про відхилення документа (ДС16), the ground in `AckResult/@errortext`.
        Refused = 4,
        /// Сповіщення про закриття документа (ДС17): the receiver has dealt with it.
        Closed = 5,
    }
}

named_codes! {
    /// `Document/@purpose_type`: what the document is sent for.
    Purpose {
        /// Інформування.
        Information = 0,
        /// На погодження.
        Approval = 1,
        /// Для узагальнення.
        Generalisation = 2,
        /// На виконання (with `TaskList`).
        Execution = 3,
        /// Звітність: an answer to a document received.
        Reporting = 4,
        /// До виконання на погодження.
        ExecutionOnApproval = 5,
        /// На погодження за дорученням.
        ApprovalByInstruction = 6,
    }
}

named_codes! {
    /// `Executor/@responsible`: an executor's part in a task.
    Responsibility {
        /// Співвиконавець.
        CoExecutor = 0,
        /// Відповідальний (головний) виконавець; one executor of a task at most.
        Responsible = 1,
        /// До відома.
        ForInformation = 2,
    }
}

numbered_codes! {
    /// `Header/@msg_type`: 0 a notice, 1 a document, 3 a document in answer (the regulation's
    /// names); 2 and 4 the schema lists without a meaning.
    MsgType, 4 {
        /// Сповіщення.
        NOTICE = 0,
        /// Основний документ.
        DOCUMENT = 1,
        /// Документ-відповідь.
        ANSWER = 3,
    }
}

numbered_codes! {
    /// `Header/@msg_acknow` (0 to 2, default 0): which notices the sender asks for. The
    /// regulation's documents carry 2, its notices 0.
    MsgAcknow, 2 {
        /// What notices carry.
        NONE = 0,
        /// What the regulation's documents carry: every notice.
        ALL = 2,
    }
}

numbered_codes! {
    /// `Document/@type` (0 to 2); the regulation's documents carry 0.
    DocType, 2 {
        /// What the regulation's documents carry.
        DOCUMENT = 0,
    }
}

numbered_codes! {
    /// `Addressee/@type` (0 or 1); the regulation's documents carry 0.
    AddresseeType, 1 {
        /// What the regulation's documents carry.
        ORGANISATION = 0,
    }
}

/// `Econtact/@type`: what a contact is (the schema's letters, named in the regulation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcontactType {
    /// `р`: a work telephone.
    WorkPhone,
    /// `д`: a home telephone.
    HomePhone,
    /// `м`: a mobile telephone.
    Mobile,
    /// `ф`: a fax.
    Fax,
    /// `п`: an e-mail address.
    Email,
    /// `і`: a web site.
    Web,
    /// `s`: Skype.
    Skype,
    /// `c`: ICQ.
    Icq,
}

impl EcontactType {
    pub const ALL: &[EcontactType] = &[
        EcontactType::WorkPhone,
        EcontactType::HomePhone,
        EcontactType::Mobile,
        EcontactType::Fax,
        EcontactType::Email,
        EcontactType::Web,
        EcontactType::Skype,
        EcontactType::Icq,
    ];

    /// The schema's letter.
    pub fn letter(self) -> &'static str {
        match self {
            EcontactType::WorkPhone => "р",
            EcontactType::HomePhone => "д",
            EcontactType::Mobile => "м",
            EcontactType::Fax => "ф",
            EcontactType::Email => "п",
            EcontactType::Web => "і",
            EcontactType::Skype => "s",
            EcontactType::Icq => "c",
        }
    }

    pub fn from_letter(letter: &str) -> Option<EcontactType> {
        EcontactType::ALL
            .iter()
            .copied()
            .find(|t| t.letter() == letter)
    }
}

/// An `xs:dateTime` as the message carries it: the clock reading and, when it has one, its
/// offset from UTC (СЕВ ОВВ's own samples write `SigningTime` without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SevTime {
    pub local: NaiveDateTime,
    pub offset: Option<FixedOffset>,
}

impl SevTime {
    /// `at` written in UTC (`…Z`), as this appliance writes its times.
    pub fn utc(at: DateTime<Utc>) -> SevTime {
        SevTime {
            local: at.naive_utc(),
            offset: Some(Utc.fix()),
        }
    }

    /// The instant, when the time has an offset.
    pub fn instant(&self) -> Option<DateTime<FixedOffset>> {
        self.offset?.from_local_datetime(&self.local).single()
    }

    /// `text` in the schema's lexical form (`2015-09-11T06:56:34Z`, fractions and an offset
    /// `+03:00` or none allowed); `None` if it is not one.
    pub(super) fn parse(text: &str) -> Option<SevTime> {
        let (local, offset) = split_zone(text.trim())?;
        let local = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
        Some(SevTime { local, offset })
    }

    /// The schema's lexical form. An offset with seconds, which the schema cannot write, is
    /// written as the same instant in UTC.
    pub(super) fn lexical(&self) -> String {
        let (local, offset) = match self.offset {
            Some(offset) if offset.local_minus_utc() % 60 != 0 => {
                (self.local - offset, Some(Utc.fix()))
            }
            other => (self.local, other),
        };
        let zone = match offset {
            None => String::new(),
            Some(offset) if offset.local_minus_utc() == 0 => "Z".to_string(),
            Some(offset) => {
                let seconds = offset.local_minus_utc();
                let sign = if seconds < 0 { '-' } else { '+' };
                let minutes = seconds.abs() / 60;
                format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
            }
        };
        format!("{}{zone}", local.format("%Y-%m-%dT%H:%M:%S%.f"))
    }
}

/// An `xs:date` (`2015-09-08`; an offset after it, which a registration date has no use for, is
/// dropped).
pub(super) fn parse_date(text: &str) -> Option<NaiveDate> {
    let (date, _) = split_zone(text.trim())?;
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

pub(super) fn date_lexical(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// `text` without its zone (`Z`, `+hh:mm`, `-hh:mm`) and the zone's offset; `None` for an
/// offset past ±14:00.
fn split_zone(text: &str) -> Option<(&str, Option<FixedOffset>)> {
    if let Some(rest) = text.strip_suffix('Z') {
        return Some((rest, Some(Utc.fix())));
    }
    let bytes = text.as_bytes();
    let n = bytes.len();
    if n > 6 && matches!(bytes[n - 6], b'+' | b'-') && bytes[n - 3] == b':' {
        let (rest, zone) = (text.get(..n - 6)?, text.get(n - 6..)?);
        let hours: i32 = zone.get(1..3)?.parse().ok()?;
        let minutes: i32 = zone.get(4..6)?.parse().ok()?;
        if hours > 14 || minutes > 59 || (hours == 14 && minutes > 0) {
            return None;
        }
        let seconds = (hours * 60 + minutes) * 60;
        let seconds = if zone.starts_with('-') {
            -seconds
        } else {
            seconds
        };
        return Some((rest, Some(FixedOffset::east_opt(seconds)?)));
    }
    Some((text, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_keep_their_offset_or_its_absence() {
        for text in [
            "2015-09-11T06:56:34Z",
            "2015-09-08T13:12:07",
            "2026-12-07T15:04:05.250+02:00",
            "2026-12-07T15:04:05-05:30",
        ] {
            let time = SevTime::parse(text).unwrap();
            assert_eq!(time.lexical(), text);
        }
        let kyiv = SevTime::parse("2026-12-07T15:04:05+02:00").unwrap();
        assert_eq!(
            kyiv.instant().unwrap().with_timezone(&Utc),
            Utc.with_ymd_and_hms(2026, 12, 7, 13, 4, 5).unwrap()
        );
        assert_eq!(
            SevTime::parse("2015-09-08T13:12:07").unwrap().instant(),
            None
        );
        for bad in [
            "",
            "2015-09-11",
            "2015-09-11T06:56",
            "2015-13-11T06:56:34Z",
            "x+02:00",
        ] {
            assert_eq!(SevTime::parse(bad), None, "{bad}");
        }
        assert_eq!(SevTime::parse("2015-09-11T06:56:34+15:00"), None);
    }

    #[test]
    fn dates_read_with_or_without_a_zone() {
        let date = NaiveDate::from_ymd_opt(2015, 9, 8).unwrap();
        for text in [
            "2015-09-08",
            "2015-09-08Z",
            "2015-09-08+02:00",
            " 2015-09-08 ",
        ] {
            assert_eq!(parse_date(text), Some(date), "{text}");
        }
        assert_eq!(date_lexical(date), "2015-09-08");
        assert_eq!(parse_date("08.09.2015"), None);
    }

    #[test]
    fn codes_outside_the_schema_have_no_value() {
        assert_eq!(AckType::from_code(3), Some(AckType::Registered));
        assert_eq!(AckType::from_code(0), None);
        assert_eq!(AckType::from_code(6), None);
        assert_eq!(Purpose::from_code(3), Some(Purpose::Execution));
        assert_eq!(Purpose::from_code(7), None);
        assert_eq!(MsgType::new(4).map(MsgType::code), Some(4));
        assert_eq!(MsgType::new(5), None);
        assert_eq!(EcontactType::from_letter("п"), Some(EcontactType::Email));
        assert_eq!(EcontactType::from_letter("x"), None);
    }
}
