//! Ukrainian wording for the model's enums and values as the documentation site and the portal
//! show them: member classes, input types, outcomes, retention periods, day counts with the
//! right plural forms, and so on.

use crate::spec::model::*;

/// Chooses the Ukrainian plural form for `n`: one (1, 21…), few (2–4, 22–24…), many (the rest).
pub fn plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    let (d10, d100) = (n % 10, n % 100);
    if d10 == 1 && d100 != 11 {
        one
    } else if (2..=4).contains(&d10) && !(12..=14).contains(&d100) {
        few
    } else {
        many
    }
}

/// `10 робочих днів`, `1 календарний день`.
pub fn days(d: &Days) -> String {
    let n = u64::from(d.days);
    let words = match d.counting {
        DayCount::Working => plural(n, "робочий день", "робочі дні", "робочих днів"),
        DayCount::Calendar => plural(n, "календарний день", "календарні дні", "календарних днів"),
    };
    format!("{n} {words}")
}

/// A duration such as `5y`, `18mo`, `90d` or `permanent`, in words.
pub fn period(p: &str) -> String {
    if p == "permanent" {
        return "постійно".into();
    }
    let split = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
    let (num, unit) = p.split_at(split);
    let Ok(n) = num.parse::<u64>() else {
        return p.to_string();
    };
    let words = match unit {
        "y" => plural(n, "рік", "роки", "років"),
        "mo" => plural(n, "місяць", "місяці", "місяців"),
        "w" => plural(n, "тиждень", "тижні", "тижнів"),
        "d" => plural(n, "день", "дні", "днів"),
        "h" => plural(n, "година", "години", "годин"),
        "m" => plural(n, "хвилина", "хвилини", "хвилин"),
        "s" => plural(n, "секунда", "секунди", "секунд"),
        _ => return p.to_string(),
    };
    format!("{n} {words}")
}

/// `2026-01-31` as Ukrainian readers write it, `31.01.2026`; anything else as written.
pub fn date(iso: &str) -> String {
    match chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d") {
        Ok(d) => d.format("%d.%m.%Y").to_string(),
        Err(_) => iso.to_string(),
    }
}

pub fn member_class(c: MemberClass) -> &'static str {
    match c {
        MemberClass::Gov => "GOV — органи державної влади та місцевого самоврядування",
        MemberClass::Com => "COM — комунальні та комерційні підприємства",
        MemberClass::Ngo => "NGO — громадські об'єднання",
        MemberClass::Nee => "NEE — неприбуткові установи",
    }
}

pub fn status(s: Status) -> &'static str {
    match s {
        Status::Active => "бере участь у взаємодії",
        Status::Suspended => "участь призупинено",
    }
}

pub fn field_type(t: FieldType) -> &'static str {
    match t {
        FieldType::String => "рядок",
        FieldType::Integer => "ціле число",
        FieldType::Decimal => "десяткове число",
        FieldType::Boolean => "логічне значення",
        FieldType::Date => "дата",
        FieldType::Datetime => "дата й час",
        FieldType::Object => "об'єкт",
        FieldType::Array => "масив",
    }
}

pub fn level(l: Level) -> &'static str {
    match l {
        Level::Public => "відкриті",
        Level::Personal => "персональні",
        Level::Sensitive => "чутливі",
    }
}

pub fn mask_target(m: MaskTarget) -> &'static str {
    match m {
        MaskTarget::Logs => "у журналах",
        MaskTarget::Exports => "в експорті та статистиці",
    }
}

pub fn rate_period(p: RatePeriod) -> &'static str {
    match p {
        RatePeriod::Second => "за секунду",
        RatePeriod::Minute => "за хвилину",
        RatePeriod::Hour => "за годину",
        RatePeriod::Day => "за добу",
    }
}

pub fn user_category(c: UserCategory) -> &'static str {
    match c {
        UserCategory::Individual => "фізичні особи",
        UserCategory::Entrepreneur => "фізичні особи — підприємці",
        UserCategory::LegalEntity => "юридичні особи",
    }
}

pub fn submission(s: SubmissionMethod) -> &'static str {
    match s {
        SubmissionMethod::Portal => "в електронній формі через Портал послуг",
        SubmissionMethod::Cnap => "особисто в центрі надання адміністративних послуг (ЦНАП)",
        SubmissionMethod::Mail => "поштою",
        SubmissionMethod::Email => "електронною поштою з кваліфікованим електронним підписом",
    }
}

/// When the portal asks for a fee, as the end of «Збір можна сплатити карткою на порталі …».
pub fn pay_when(w: PayWhen) -> &'static str {
    match w {
        PayWhen::BeforeSubmission => "перед поданням заяви",
        PayWhen::BeforeResult => "перед отриманням результату",
    }
}

pub fn delivery(d: Delivery) -> &'static str {
    match d {
        Delivery::Cabinet => "в електронному кабінеті на Порталі послуг",
        Delivery::Email => "електронною поштою",
        Delivery::Cnap => "особисто в центрі надання адміністративних послуг (ЦНАП)",
        Delivery::Mail => "поштою",
    }
}

pub fn input_type(t: InputType) -> &'static str {
    match t {
        InputType::Text => "текст",
        InputType::Textarea => "багаторядковий текст",
        InputType::Integer => "ціле число",
        InputType::Decimal => "десяткове число",
        InputType::Date => "дата",
        InputType::Boolean => "так / ні",
        InputType::Email => "адреса електронної пошти",
        InputType::Phone => "номер телефону",
        InputType::Rnokpp => "РНОКПП",
        InputType::Edrpou => "код ЄДРПОУ",
        InputType::Select => "вибір з класифікатора",
        InputType::File => "файл",
    }
}

pub fn identity_binding(b: IdentityBinding) -> &'static str {
    match b {
        IdentityBinding::Rnokpp => "РНОКПП",
        IdentityBinding::FullName => "прізвище, ім'я, по батькові",
        IdentityBinding::FamilyName => "прізвище",
        IdentityBinding::GivenName => "ім'я",
        IdentityBinding::MiddleName => "по батькові",
        IdentityBinding::Edrpou => "код ЄДРПОУ юридичної особи, яку представляє заявник",
        IdentityBinding::Email => "адреса електронної пошти",
    }
}

pub fn signature(s: SignatureRequirement) -> &'static str {
    match s {
        SignatureRequirement::None => "не потрібен: достатньо автентифікації на Порталі",
        SignatureRequirement::Advanced => "удосконалений електронний підпис",
        SignatureRequirement::Qualified => "кваліфікований електронний підпис (КЕП)",
    }
}

pub fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Granted => "послугу надано",
        Outcome::Refused => "у наданні відмовлено",
        Outcome::Withdrawn => "заяву відкликано",
    }
}

pub fn record_class(r: RecordClass) -> &'static str {
    match r {
        RecordClass::Document => "зареєстровані документи",
        RecordClass::Application => "заяви на електронні послуги",
        RecordClass::MessageLog => "журнал повідомлень шлюзу",
        RecordClass::AuditLog => "журнал аудиту",
        RecordClass::SubjectLog => "записи про запити щодо суб'єктів даних",
        RecordClass::OperationalLog => "записи оперативного моніторингу",
        RecordClass::Notification => "надіслані сповіщення",
        RecordClass::Draft => "чернетки заяв на порталі",
    }
}

pub fn trigger(t: Trigger) -> &'static str {
    match t {
        Trigger::Created => "від створення запису",
        Trigger::Closed => "від закриття справи або заяви",
        Trigger::Decided => "від ухвалення останнього рішення",
    }
}

pub fn retention_action(a: RetentionAction) -> &'static str {
    match a {
        RetentionAction::Destroy => "знищити",
        RetentionAction::Archive => "передати до архіву",
        RetentionAction::Review => "переглянути експертною комісією",
        RetentionAction::Anonymise => "знеособити",
    }
}

pub fn permission(p: Permission) -> &'static str {
    match p {
        Permission::ApplicationsRead => "переглядати заяви своєї черги",
        Permission::ApplicationsDecide => "ухвалювати рішення за заявами",
        Permission::DocumentsRegister => "реєструвати вхідні та вихідні документи",
        Permission::DocumentsRead => "переглядати реєстраційні картки",
        Permission::DocumentsResolve => "накладати резолюції та призначати виконавців",
        Permission::DocumentsExecute => "виконувати доручені документи",
        Permission::DocumentsExchange => "обмінюватися документами між учасниками",
        Permission::DocumentsControl => {
            "тримати документи на контролі: змінювати строки, знімати з контролю"
        }
        Permission::DocumentsArchive => {
            "вести архів: експертиза цінності, акти про знищення, юридичні утримання"
        }
        Permission::AuditRead => "переглядати журнал повідомлень і журнал аудиту",
        Permission::UsersManage => "блокувати та відновлювати доступ користувачів",
    }
}

pub fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Incoming => "вхідні",
        Direction::Outgoing => "вихідні",
        Direction::Internal => "внутрішні",
    }
}

pub fn reset(r: Reset) -> &'static str {
    match r {
        Reset::Yearly => "щороку з 1 січня",
        Reset::Never => "наскрізна, без скидання",
    }
}

pub fn yes_no(b: bool) -> &'static str {
    if b { "так" } else { "ні" }
}

/// A number as people write it: `3`, not `3.0`; a decimal comma.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}").replace('.', ",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ukrainian_plurals() {
        assert_eq!(period("1y"), "1 рік");
        assert_eq!(period("3y"), "3 роки");
        assert_eq!(period("5y"), "5 років");
        assert_eq!(period("11y"), "11 років");
        assert_eq!(period("22mo"), "22 місяці");
        assert_eq!(period("permanent"), "постійно");
        let d = Days {
            days: 21,
            counting: DayCount::Calendar,
        };
        assert_eq!(days(&d), "21 календарний день");
        let d = Days {
            days: 14,
            counting: DayCount::Working,
        };
        assert_eq!(days(&d), "14 робочих днів");
    }

    #[test]
    fn dates() {
        assert_eq!(date("2026-01-31"), "31.01.2026");
        assert_eq!(date("someday"), "someday");
    }

    #[test]
    fn numbers() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(2.5), "2,5");
    }
}
