//! Formats of written values (H03xx): ids, EDRPOU and RNOKPP codes with their check digits,
//! IBANs, URLs, durations, dates, e-mail addresses, phone numbers, operation path globs, and
//! the calendar's working hours, time zone and working week.
//! The validators are public so that the portal can check applicants' input the same way.

use std::sync::LazyLock;

use regex::Regex;

use crate::spec::agreement_rules::parse_date;
use crate::spec::model::common::parse_duration_days;
use crate::spec::{Diagnostic, Kind};

use super::Checker;

static ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(-[a-z0-9]+)*$").expect("id pattern"));
static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9_]*$").expect("name pattern"));

/// EDRPOU: 8 digits, the last a check digit (the Ministry of Finance algorithm).
pub fn valid_edrpou(code: &str) -> bool {
    let Some(d) = digits(code, 8) else {
        return false;
    };
    let n: u32 = code.parse().unwrap_or(0);
    let base: [u32; 7] = if (30_000_000..60_000_000).contains(&n) {
        [7, 1, 2, 3, 4, 5, 6]
    } else {
        [1, 2, 3, 4, 5, 6, 7]
    };
    let sum = |shift: u32| -> u32 {
        base.iter()
            .zip(&d)
            .map(|(w, x)| (w + shift) * x)
            .sum::<u32>()
            % 11
    };
    let mut check = sum(0);
    if check == 10 {
        check = sum(2) % 10;
    }
    check == d[7]
}

/// RNOKPP (taxpayer number of an individual): 10 digits, the last a check digit.
pub fn valid_rnokpp(code: &str) -> bool {
    let Some(d) = digits(code, 10) else {
        return false;
    };
    let weights: [i64; 9] = [-1, 5, 7, 9, 4, 6, 10, 5, 7];
    let sum: i64 = weights.iter().zip(&d).map(|(w, x)| w * *x as i64).sum();
    (sum.rem_euclid(11) % 10) as u32 == d[9]
}

/// A Ukrainian IBAN: `UA`, two check digits, 25 more characters, mod-97 equal to 1.
pub fn valid_iban(iban: &str) -> bool {
    let iban: String = iban.chars().filter(|c| !c.is_whitespace()).collect();
    if iban.len() != 29
        || !iban.starts_with("UA")
        || !iban.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return false;
    }
    let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
    let mut rem = 0u32;
    for ch in rearranged.chars() {
        let v = ch.to_digit(36).unwrap_or(0);
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

fn digits(code: &str, len: usize) -> Option<Vec<u32>> {
    let d: Vec<u32> = code
        .chars()
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()?;
    (d.len() == len).then_some(d)
}

pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
        && !domain.contains('@')
}

/// International format: `+` and 10 to 15 digits; spaces, hyphens and brackets may separate them.
pub fn valid_phone(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('+') else {
        return false;
    };
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    rest.chars()
        .all(|c| c.is_ascii_digit() || " -()".contains(c))
        && (10..=15).contains(&digits)
}

/// Problems with an operation path glob, if any.
pub fn path_glob_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("a path starts with `/`");
    }
    for segment in path.split('/').skip(1) {
        if segment == ".." || segment == "." {
            return Some("`.` and `..` segments are not allowed");
        }
        if segment.contains('*') && segment != "*" && segment != "**" {
            return Some("`*` and `**` stand for whole segments only, as in `/accounts/*/debt`");
        }
    }
    None
}

/// An identity provider's issuer: https, or http on this machine's loopback only.
pub fn issuer_allowed(issuer: &str) -> bool {
    let Some(url) = url::Url::parse(issuer).ok().filter(|u| u.has_host()) else {
        return false;
    };
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// A file named relative to the keys folder that cannot leave it.
fn key_file_inside(file: &str) -> bool {
    let path = std::path::Path::new(file);
    !file.trim().is_empty()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn claim_pointer(name: &str) -> &'static str {
    match name {
        "rnokpp" => "/sign-in/claims/rnokpp",
        "edrpou" => "/sign-in/claims/edrpou",
        "family-name" => "/sign-in/claims/family-name",
        "given-name" => "/sign-in/claims/given-name",
        "middle-name" => "/sign-in/claims/middle-name",
        _ => "/sign-in/claims/email",
    }
}

struct Formats<'c, 'a> {
    c: &'c mut Checker<'a>,
    kind: Kind,
    id: String,
}

impl Formats<'_, '_> {
    fn bad(&mut self, code: &'static str, pointer: &str, summary: String, help: &str) {
        let span = self.c.at(self.kind, &self.id, pointer);
        self.c.report(
            Diagnostic::error(code, summary)
                .at(span)
                .help(help.to_string()),
        );
    }

    fn id(&mut self, pointer: &str, what: &str, value: &str) {
        if !ID.is_match(value) {
            self.bad(
                "H0203",
                pointer,
                format!("{what} id `{value}` is not kebab-case"),
                "ids use lowercase Latin letters, digits and single hyphens, e.g. `water-billing`",
            );
        }
    }

    fn name(&mut self, pointer: &str, what: &str, value: &str) {
        if !NAME.is_match(value) {
            self.bad(
                "H0203",
                pointer,
                format!("{what} `{value}` is not a valid name"),
                "form names are used in expressions: lowercase Latin letters, digits and `_`, starting with a letter, e.g. `birth_date`",
            );
        }
    }

    fn edrpou(&mut self, pointer: &str, value: &str) {
        if !valid_edrpou(value) {
            self.bad(
                "H0301",
                pointer,
                format!("`{value}` is not a valid EDRPOU code"),
                "an EDRPOU code is 8 digits whose last digit is a check digit; copy it from the Unified State Register",
            );
        }
    }

    /// Checks a URL; `named` is what the summary calls it instead of quoting it (an upstream
    /// address, which `/api/status` and the logs must not show).
    fn url(&mut self, pointer: &str, value: &str, https_only: bool, named: Option<&str>) {
        let ok = url::Url::parse(value)
            .ok()
            .filter(|u| u.has_host())
            .is_some_and(|u| u.scheme() == "https" || (!https_only && u.scheme() == "http"));
        if !ok {
            let want = if https_only {
                "an https URL"
            } else {
                "an http or https URL"
            };
            let what = named.map_or_else(|| format!("`{value}`"), str::to_string);
            self.bad(
                "H0303",
                pointer,
                format!("{what} is not {want}"),
                if https_only {
                    "write it as `https://host[:port]`"
                } else {
                    "write it as `http://host[:port][/path]`"
                },
            );
        }
    }

    fn duration(&mut self, pointer: &str, value: &str, permanent_allowed: bool) {
        let ok =
            parse_duration_days(value).is_some() && (permanent_allowed || value != "permanent");
        if !ok {
            self.bad(
                "H0304",
                pointer,
                format!("`{value}` is not a duration"),
                if permanent_allowed {
                    "write a number and a unit (s, m, h, d, w, mo, y), e.g. `30s`, `18mo`, `5y`, or `permanent`"
                } else {
                    "write a number and a unit (s, m, h, d, w, mo, y), e.g. `30s` or `2h`"
                },
            );
        }
    }

    fn date(&mut self, pointer: &str, value: &str) {
        if parse_date(value).is_none() {
            self.bad(
                "H0305",
                pointer,
                format!("`{value}` is not a date"),
                "write dates as YYYY-MM-DD, e.g. `2026-01-31`",
            );
        }
    }

    fn calendar(&mut self, calendar: &crate::spec::model::Calendar) {
        let hours = &calendar.working_hours;
        let help = "write times of day as HH:MM on the 24-hour clock, e.g. `working-hours \"09:00\" \"18:00\"`";
        for (pointer, value, parsed) in [
            (
                "/calendar/working-hours/opens",
                &hours.opens,
                hours.opening(),
            ),
            (
                "/calendar/working-hours/closes",
                &hours.closes,
                hours.closing(),
            ),
        ] {
            if parsed.is_none() {
                self.bad(
                    "H0313",
                    pointer,
                    format!("`{value}` is not a time of day"),
                    help,
                );
            }
        }
        if let (Some(opens), Some(closes)) = (hours.opening(), hours.closing())
            && closes <= opens
        {
            self.bad(
                "H0313",
                "/calendar/working-hours/closes",
                format!(
                    "the working day closes at {} but opens only at {}",
                    hours.closes, hours.opens
                ),
                "give the opening time first, then the closing time",
            );
        }
        if calendar.zone().is_none() {
            let zones = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name());
            let help = crate::spec::diagnostics::did_you_mean(&calendar.time_zone, zones)
                .unwrap_or_else(|| "name an IANA time zone, e.g. `Europe/Kyiv`".into());
            self.bad(
                "H0314",
                "/calendar/time-zone",
                format!("`{}` is not a known time zone", calendar.time_zone),
                &help,
            );
        }
        if calendar.working_week.is_empty() {
            self.bad(
                "H0315",
                "/calendar/working-week",
                "the working week names no day, so no deadline could ever end".into(),
                "list the working days, e.g. `working-week \"mon\" \"tue\" \"wed\" \"thu\" \"fri\"`",
            );
        }
    }

    /// The identity provider: an https issuer (http only on loopback, for tests and a local
    /// provider), a client id, a secret file, and a name for every claim read.
    fn sign_in(&mut self, sign_in: &crate::spec::model::SignIn) {
        if !issuer_allowed(&sign_in.issuer) {
            self.bad(
                "H0316",
                "/sign-in/issuer",
                format!(
                    "the sign-in issuer `{}` is not an https URL",
                    sign_in.issuer
                ),
                "write the identity provider's issuer as `https://host[/path]`, exactly as its \
                 discovery document names it; plain http is allowed only on 127.0.0.1 or localhost",
            );
        }
        let mut empty = vec![];
        if sign_in.client_id.trim().is_empty() {
            empty.push(("/sign-in/client-id", "the sign-in client id"));
        }
        if sign_in.client_secret_file.trim().is_empty() {
            empty.push((
                "/sign-in/client-secret-file",
                "the sign-in client secret file",
            ));
        }
        for (name, claim) in sign_in.claims.named() {
            if claim.trim().is_empty() {
                empty.push((claim_pointer(name), "a sign-in claim name"));
            }
        }
        for (pointer, what) in empty {
            self.bad(
                "H0317",
                pointer,
                format!("{what} is empty"),
                "give the value the identity provider registered: the client id it issued, the \
                 file (under the keys folder) holding the secret, and the claim that carries each \
                 item of the person's identity",
            );
        }
    }

    /// The payment provider: an https checkout (http only on loopback), a public key, and a
    /// private key file that stays inside the keys folder.
    fn payments(&mut self, payments: &crate::spec::model::Payments) {
        if !issuer_allowed(&payments.checkout_url) {
            self.bad(
                "H0320",
                "/payments/checkout-url",
                format!(
                    "the payment checkout `{}` is not an https URL",
                    payments.checkout_url
                ),
                "write the provider's checkout address as `https://host/path`, as its \
                 documentation names it; plain http is allowed only on 127.0.0.1 or localhost",
            );
        }
        if payments.public_key.trim().is_empty() {
            self.bad(
                "H0321",
                "/payments/public-key",
                "the payment provider's public key is empty".into(),
                "give the merchant's public key the provider issued when the portal was connected",
            );
        }
        if !key_file_inside(&payments.private_key_file) {
            self.bad(
                "H0322",
                "/payments/private-key-file",
                format!(
                    "the payment private key file `{}` is not a relative path inside the keys \
                     folder",
                    payments.private_key_file
                ),
                "name the file relative to the keys folder (`serve --keys`), without `..`, e.g. \
                 `payments/liqpay-private-key`: the key itself never lives in the spec",
            );
        }
    }

    fn email(&mut self, pointer: &str, value: &str) {
        if !valid_email(value) {
            self.bad(
                "H0306",
                pointer,
                format!("`{value}` is not an e-mail address"),
                "write it as `name@domain.example`",
            );
        }
    }

    fn phone(&mut self, pointer: &str, value: &str) {
        if !valid_phone(value) {
            self.bad(
                "H0307",
                pointer,
                format!("`{value}` is not a phone number in international format"),
                "write it with the country code, e.g. `+380 44 123 45 67`",
            );
        }
    }

    fn glob(&mut self, pointer: &str, value: &str) {
        if let Some(problem) = path_glob_problem(value) {
            self.bad(
                "H0308",
                pointer,
                format!("`{value}` is not a valid operation path"),
                problem,
            );
        }
    }
}

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    macro_rules! formats {
        ($kind:expr, $id:expr) => {
            Formats {
                c: &mut *c,
                kind: $kind,
                id: $id.to_string(),
            }
        };
    }
    for s in &spec.systems {
        let mut f = formats!(Kind::System, s.id);
        f.id("/id", "system", &s.id);
        f.edrpou("/holder/edrpou", &s.holder.edrpou);
        f.edrpou("/administrator/edrpou", &s.administrator.edrpou);
        for (i, n) in s.nodes.iter().enumerate() {
            f.id(&format!("/nodes/{i}/id"), "gateway node", &n.id);
            f.url(&format!("/nodes/{i}/address"), &n.address, true, None);
        }
        for (i, h) in s.calendar.holidays.iter().enumerate() {
            f.date(&format!("/calendar/holidays/{i}/date"), &h.date);
        }
        f.calendar(&s.calendar);
        if let Some(sign_in) = &s.sign_in {
            f.sign_in(sign_in);
        }
        if let Some(payments) = &s.payments {
            f.payments(payments);
        }
    }
    for p in &spec.participants {
        let mut f = formats!(Kind::Participant, p.id);
        f.id("/id", "participant", &p.id);
        f.edrpou("/edrpou", &p.edrpou);
        f.phone("/contacts/phone", &p.contacts.phone);
        f.email("/contacts/email", &p.contacts.email);
        if let Some(w) = &p.contacts.website {
            f.url("/contacts/website", w, false, None);
        }
        for (i, r) in p.contacts.responsible.iter().enumerate() {
            f.phone(&format!("/contacts/responsible/{i}/phone"), &r.phone);
            f.email(&format!("/contacts/responsible/{i}/email"), &r.email);
        }
        for (i, u) in p.units.iter().enumerate() {
            f.id(&format!("/units/{i}/id"), "unit", &u.id);
        }
        for (i, s) in p.subsystems.iter().enumerate() {
            f.id(&format!("/subsystems/{i}/id"), "subsystem", &s.id);
        }
        for (i, s) in p.services.iter().enumerate() {
            f.id(&format!("/services/{i}/id"), "service", &s.id);
            if let Some(upstream) = &s.upstream {
                f.url(
                    &format!("/services/{i}/upstream"),
                    upstream,
                    false,
                    Some(&format!("the upstream of service `{}`", s.id)),
                );
            }
            for (o, op) in s.operations.iter().enumerate() {
                f.glob(&format!("/services/{i}/operations/{o}/path"), &op.path);
            }
            if let Some(h) = &s.health {
                f.glob(&format!("/services/{i}/health/path"), &h.path);
                f.duration(&format!("/services/{i}/health/every"), &h.every, false);
                if let Some(t) = &h.timeout {
                    f.duration(&format!("/services/{i}/health/timeout"), t, false);
                }
            }
        }
    }
    for a in &spec.agreements {
        let mut f = formats!(Kind::Agreement, a.id);
        f.id("/id", "agreement", &a.id);
        f.date("/valid/from", &a.valid.from);
        if let Some(u) = &a.valid.until {
            f.date("/valid/until", u);
        }
        for (o, op) in a.operations.iter().enumerate() {
            f.glob(&format!("/operations/{o}/path"), &op.path);
        }
    }
    for e in &spec.e_services {
        let mut f = formats!(Kind::EService, e.id);
        f.id("/id", "e-service", &e.id);
        if let Some(p) = e.fee.as_ref().and_then(|fee| fee.payment.as_ref()) {
            f.edrpou("/fee/payment/edrpou", &p.edrpou);
            if !valid_iban(&p.iban) {
                f.bad(
                    "H0310",
                    "/fee/payment/iban",
                    format!("`{}` is not a valid Ukrainian IBAN", p.iban),
                    "an IBAN is `UA`, two check digits and 25 more characters; copy it from the recipient's bank details",
                );
            }
        }
    }
    for form in &spec.forms {
        let mut f = formats!(Kind::Form, form.id);
        f.id("/id", "form", &form.id);
        for (pi, page) in form.pages.iter().enumerate() {
            f.id(&format!("/pages/{pi}/id"), "page", &page.id);
            for (fi, field) in page.fields.iter().enumerate() {
                f.name(
                    &format!("/pages/{pi}/fields/{fi}/id"),
                    "field name",
                    &field.id,
                );
            }
            for (gi, group) in page.groups.iter().enumerate() {
                f.name(
                    &format!("/pages/{pi}/groups/{gi}/id"),
                    "group name",
                    &group.id,
                );
                for (fi, field) in group.fields.iter().enumerate() {
                    f.name(
                        &format!("/pages/{pi}/groups/{gi}/fields/{fi}/id"),
                        "field name",
                        &field.id,
                    );
                }
            }
        }
        for (ai, att) in form.attachments.iter().enumerate() {
            f.id(&format!("/attachments/{ai}/id"), "attachment", &att.id);
        }
    }
    for w in &spec.workflows {
        let mut f = formats!(Kind::Workflow, w.id);
        f.id("/id", "workflow", &w.id);
        for (si, s) in w.states.iter().enumerate() {
            f.id(&format!("/states/{si}/id"), "state", &s.id);
        }
    }
    for t in &spec.templates {
        formats!(Kind::Template, t.id).id("/id", "template", &t.id);
    }
    for r in &spec.retention {
        let mut f = formats!(Kind::Retention, r.id);
        f.id("/id", "retention rule", &r.id);
        f.duration("/period", &r.period, true);
    }
    for d in &spec.data_classes {
        formats!(Kind::DataClass, d.id).id("/id", "data class", &d.id);
    }
    for p in &spec.policies {
        let mut f = formats!(Kind::Policy, p.id);
        f.id("/id", "policy", &p.id);
        for (i, floor) in p.retention_floors.iter().enumerate() {
            f.duration(
                &format!("/retention-floors/{i}/period"),
                &floor.period,
                true,
            );
        }
    }
    for cl in &spec.classifiers {
        formats!(Kind::Classifier, cl.id).id("/id", "classifier", &cl.id);
    }
    for r in &spec.roles {
        formats!(Kind::Role, r.id).id("/id", "role", &r.id);
    }
    for o in &spec.officials {
        let mut f = formats!(Kind::Official, o.id);
        f.id("/id", "official", &o.id);
        f.email("/email", &o.email);
        if let Some(p) = &o.phone {
            f.phone("/phone", p);
        }
        if let Some(code) = &o.rnokpp
            && !valid_rnokpp(code)
        {
            f.bad(
                    "H0302",
                    "/rnokpp",
                    format!("`{code}` is not a valid RNOKPP"),
                    "an RNOKPP is 10 digits whose last digit is a check digit; copy it from the official's certificate",
                );
        }
        if let Some(blocked) = &o.blocked
            && blocked.last_day().is_err()
        {
            f.bad(
                "H0318",
                "/blocked/until",
                format!(
                    "`{}` is not a day: the official's block would never be known to end",
                    blocked.until.as_deref().unwrap_or_default()
                ),
                "write the last day of the block as YYYY-MM-DD, e.g. `blocked until=\"2027-01-31\" \
                 reason=\"…\"`, or leave `until` out to block for good",
            );
        }
    }
    for j in &spec.journals {
        formats!(Kind::Journal, j.id).id("/id", "journal", &j.id);
    }
    for ci in &spec.case_indexes {
        let mut f = formats!(Kind::CaseIndex, ci.id);
        f.id("/id", "case index", &ci.id);
        for (i, case) in ci.cases.iter().enumerate() {
            f.duration(&format!("/cases/{i}/retention"), &case.retention, true);
        }
    }
    for poll in &spec.polls {
        let mut f = formats!(Kind::Poll, poll.id);
        f.id("/id", "poll", &poll.id);
        f.date("/period/from", &poll.period.from);
        if let Some(until) = &poll.period.until {
            f.date("/period/until", until);
        }
        for (i, option) in poll.options.iter().enumerate() {
            f.id(&format!("/options/{i}/id"), "poll option", &option.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edrpou_check_digits() {
        for good in ["00022527", "03327121", "14360570", "21560045", "00032129"] {
            assert!(valid_edrpou(good), "{good} should be valid");
        }
        for bad in ["00022528", "0332712", "0332712a", "12345670"] {
            assert!(!valid_edrpou(bad), "{bad} should be invalid");
        }
    }

    #[test]
    fn rnokpp_check_digits() {
        assert!(valid_rnokpp("3184710691"));
        assert!(!valid_rnokpp("3184710692"));
        assert!(!valid_rnokpp("318471069"));
    }

    #[test]
    fn iban_checksum() {
        assert!(valid_iban("UA213223130000026007233566001"));
        assert!(!valid_iban("UA213223130000026007233566002"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_days("2w"), Some(14.0));
        assert_eq!(parse_duration_days("5y"), Some(1825.0));
        assert!(parse_duration_days("5 years").is_none());
        assert!(parse_duration_days("permanent").unwrap().is_infinite());
    }

    #[test]
    fn path_globs() {
        assert!(path_glob_problem("/accounts/*/debt").is_none());
        assert!(path_glob_problem("/a/**").is_none());
        assert!(path_glob_problem("/a/../b").is_some());
        assert!(path_glob_problem("/a/x*").is_some());
        assert!(path_glob_problem("a").is_some());
    }
}
