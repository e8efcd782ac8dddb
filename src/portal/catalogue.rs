//! The catalogue of the home page: its filters as a citizen sends them (`?q=`, `category`,
//! `user`), and which e-services match: a search over titles, codes and descriptions that
//! ignores case and apostrophes, by category and by who may receive the service; and what of
//! the spec the public pages may show (no upstream address).

use serde::Serialize;
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use crate::compile::Compiled;
use crate::spec::Spec;
use crate::spec::labels;
use crate::spec::model::{EService, Status, UserCategory};

/// What stands in a public page for an upstream address.
const HIDDEN: &str = "[адресу приховано]";

/// The longest search a citizen may send, in characters.
pub const MAX_QUERY: usize = 200;

/// Every user category, in the order the filter offers them.
pub const USER_CATEGORIES: [UserCategory; 3] = [
    UserCategory::Individual,
    UserCategory::Entrepreneur,
    UserCategory::LegalEntity,
];

/// The filters of one request.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Filters {
    /// The search as typed (trimmed).
    pub q: String,
    pub category: Option<String>,
    pub user: Option<UserCategory>,
}

/// A filter that cannot be used, against the id of the input it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl Filters {
    /// The filters in a raw query string; what cannot be used is left out and said.
    pub fn parse(query: Option<&str>) -> (Filters, Vec<FieldError>) {
        let mut filters = Filters::default();
        let mut errors = Vec::new();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let value = value.trim();
            match key.as_ref() {
                "q" if value.chars().count() > MAX_QUERY => errors.push(FieldError {
                    field: "q",
                    message: format!(
                        "Пошуковий запит задовгий: скоротіть його до {MAX_QUERY} символів"
                    ),
                }),
                "q" => filters.q = value.to_string(),
                "category" if !value.is_empty() => filters.category = Some(value.to_string()),
                "user" if !value.is_empty() => match user_category(value) {
                    Some(user) => filters.user = Some(user),
                    None => errors.push(FieldError {
                        field: "user",
                        message: "Оберіть категорію отримувачів із переліку".into(),
                    }),
                },
                _ => {}
            }
        }
        (filters, errors)
    }

    /// Whether the citizen narrowed the catalogue at all.
    pub fn any(&self) -> bool {
        !self.q.is_empty() || self.category.is_some() || self.user.is_some()
    }
}

/// The user category a filter value names (`individual`, `entrepreneur`, `legal-entity`).
fn user_category(value: &str) -> Option<UserCategory> {
    serde_json::from_value(Value::String(value.to_string())).ok()
}

/// A user category as the filter's value writes it.
pub fn user_value(category: UserCategory) -> String {
    serde_json::to_value(category)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `text` as the search compares it: composed, lower case, without apostrophes (', ’, ʼ, …),
/// every run of other non-letters and non-digits one space.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.nfc().flat_map(char::to_lowercase) {
        if matches!(c, '\'' | '’' | 'ʼ' | '‘' | '`' | '´' | '′' | 'ʻ' | '＇') {
            continue;
        }
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

/// A searched word without its inflected ending (trailing vowels, `ь`, `й`), so that «вода»
/// finds «водопостачання» and «довідка» «довідки»; never shorter than three letters.
fn stem(word: &str) -> String {
    const ENDING: &[char] = &['а', 'е', 'є', 'и', 'і', 'ї', 'о', 'у', 'ю', 'я', 'ь', 'й'];
    let letters: Vec<char> = word.chars().collect();
    let mut end = letters.len();
    while end > 3 && ENDING.contains(&letters[end - 1]) {
        end -= 1;
    }
    letters[..end].iter().collect()
}

/// What the search looks in for `e_service`: its title and code first, then its category,
/// conditions and result, and its provider's name.
fn searched(spec: &Spec, e_service: &EService) -> (String, String) {
    let provider = e_service
        .provider
        .as_ref()
        .and_then(|p| spec.participant(&p.participant))
        .map(|p| p.name.as_str());
    let rest = [
        e_service.category.as_deref(),
        e_service.conditions.as_deref(),
        e_service.result.as_ref().map(|r| r.description.as_str()),
        provider,
    ];
    let heading = format!(
        "{} {}",
        e_service.title,
        e_service.code.as_deref().unwrap_or_default()
    );
    (
        normalise(&heading),
        normalise(&rest.into_iter().flatten().collect::<Vec<_>>().join(" ")),
    )
}

/// The e-services of `spec` that pass `filters`: those whose title or code hold every word of
/// the search first, then those that hold them anywhere; otherwise in the spec's order.
pub fn matching<'a>(spec: &'a Spec, filters: &Filters) -> Vec<&'a EService> {
    let words: Vec<String> = normalise(&filters.q)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(stem)
        .collect();
    let mut found: Vec<(bool, &EService)> = spec
        .e_services
        .iter()
        .filter(|e| {
            filters
                .category
                .as_ref()
                .is_none_or(|c| e.category.as_deref() == Some(c.as_str()))
        })
        .filter(|e| filters.user.is_none_or(|u| e.user_category.contains(&u)))
        .filter_map(|e| {
            if words.is_empty() {
                return Some((true, e));
            }
            let (heading, rest) = searched(spec, e);
            let found_in = |text: &str| words.iter().all(|w| text.contains(w.as_str()));
            let in_heading = found_in(&heading);
            let anywhere = words
                .iter()
                .all(|w| heading.contains(w.as_str()) || rest.contains(w.as_str()));
            anywhere.then_some((in_heading, e))
        })
        .collect();
    found.sort_by_key(|(in_heading, _)| !in_heading);
    found.into_iter().map(|(_, e)| e).collect()
}

/// The categories of `spec`'s e-services in Ukrainian alphabetical order, each with how many
/// services it lists.
pub fn categories(spec: &Spec) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for category in spec.e_services.iter().filter_map(|e| e.category.as_ref()) {
        match out.iter_mut().find(|(c, _)| c == category) {
            Some((_, n)) => *n += 1,
            None => out.push((category.clone(), 1)),
        }
    }
    out.sort_by_cached_key(|(c, _)| alphabetical(c));
    out
}

/// A sort key that puts Ukrainian text in the order of its alphabet (Unicode's order puts «Є»,
/// «І», «Ї» before «А» and «Ґ» after «Я»); other characters after its letters.
pub fn alphabetical(text: &str) -> Vec<u32> {
    const ALPHABET: &str = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя";
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match ALPHABET.chars().position(|a| a == c) {
            Some(i) => i as u32,
            None => 64 + c as u32,
        })
        .collect()
}

/// One e-service as the catalogue lists it.
pub fn entry(spec: &Spec, e_service: &EService) -> Value {
    let provider = e_service
        .provider
        .as_ref()
        .and_then(|p| spec.participant(&p.participant));
    json!({
        "id": e_service.id,
        "title": e_service.title,
        "code": e_service.code,
        "category": e_service.category,
        "provider": provider.map(|p| p.name.clone()),
        "suspended": provider.is_some_and(|p| p.status == Status::Suspended),
        "users": e_service
            .user_category
            .iter()
            .map(|c| labels::user_category(*c))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// What the public pages shown of `context` (a page's JSON): every text with every upstream
/// address of the revision hidden, in any spelling, whatever field it was written in.
pub fn redacted(context: Value, compiled: &Compiled) -> Value {
    match context {
        Value::String(text) => Value::String(compiled.gateway.upstreams.redact(&text, HIDDEN)),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| redacted(v, compiled)).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, redacted(v, compiled)))
                .collect(),
        ),
        other => other,
    }
}

/// `/?key=value` with the value encoded for a link.
pub fn link(key: &str, value: &str) -> String {
    format!(
        "/?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair(key, value)
            .finish()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn city() -> Spec {
        crate::spec::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).spec
    }

    fn ids(spec: &Spec, filters: &Filters) -> Vec<String> {
        matching(spec, filters)
            .into_iter()
            .map(|e| e.id.clone())
            .collect()
    }

    fn search(q: &str) -> Filters {
        Filters {
            q: q.into(),
            ..Filters::default()
        }
    }

    #[test]
    fn case_apostrophes_and_punctuation_do_not_matter() {
        assert_eq!(normalise("Сім’ї  — ЗМР-0405!"), "сімї змр 0405");
        assert_eq!(normalise("сім'ї"), normalise("СІМʼЇ"));
        assert_eq!(
            normalise("й"),
            normalise("и\u{306}"),
            "composed and decomposed"
        );
    }

    #[test]
    fn the_search_finds_by_word_code_and_provider_and_not_by_nonsense() {
        let spec = city();
        assert_eq!(
            ids(&spec, &search("МАТЕРІАЛЬНОЇ допомоги")),
            ["material-aid"]
        );
        assert_eq!(ids(&spec, &search("змр-0301")), ["water-no-debt"]);
        assert_eq!(ids(&spec, &search("0301")), ["water-no-debt"]);
        assert_eq!(
            ids(&spec, &search("вода")),
            ["water-no-debt"],
            "an inflected word"
        );
        assert!(ids(&spec, &search("довідка")).contains(&"water-no-debt".to_string()));
        assert!(ids(&spec, &search("водоканал")).contains(&"water-no-debt".to_string()));
        assert!(ids(&spec, &search("щзфкшгвапр")).is_empty());
        assert_eq!(ids(&spec, &search("   ")).len(), spec.e_services.len());
    }

    #[test]
    fn filters_narrow_by_category_and_user_category() {
        let spec = city();
        let housing = Filters {
            category: Some("Житлово-комунальні послуги".into()),
            ..Filters::default()
        };
        assert_eq!(
            ids(&spec, &housing),
            ["heating-recalculation", "water-no-debt"]
        );
        let companies = Filters {
            user: Some(UserCategory::LegalEntity),
            ..Filters::default()
        };
        assert!(!ids(&spec, &companies).contains(&"material-aid".to_string()));
        assert!(ids(&spec, &companies).contains(&"parking-fine-appeal".to_string()));
    }

    #[test]
    fn categories_follow_the_ukrainian_alphabet() {
        let mut words = vec!["Яблуко", "Їжа", "Ґанок", "Адреси", "Євро", "Інше"];
        words.sort_by_cached_key(|w| alphabetical(w));
        assert_eq!(words, ["Адреси", "Ґанок", "Євро", "Інше", "Їжа", "Яблуко"]);
    }

    #[test]
    fn a_bad_filter_is_named_against_its_field() {
        let (filters, errors) = Filters::parse(Some("q=%D0%B4%D0%BE&user=alien&category="));
        assert_eq!(filters.q, "до");
        assert_eq!(filters.user, None);
        assert_eq!(filters.category, None);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "user");
        let long = format!("q={}", "а".repeat(MAX_QUERY + 1));
        let (filters, errors) = Filters::parse(Some(&long));
        assert_eq!(filters.q, "");
        assert_eq!(errors[0].field, "q");
        let (filters, errors) = Filters::parse(Some("user=legal-entity&q=%FF"));
        assert_eq!(filters.user, Some(UserCategory::LegalEntity));
        assert!(errors.is_empty());
    }
}
