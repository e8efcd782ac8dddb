//! Ukrainian word forms for search: text cut into words, lowercased, apostrophes folded and each
//! word reduced to a stem by a light suffix-stripping stemmer, so that «допомога» and «допомозі»
//! meet. The same function makes the indexed text and a query's terms on both databases.

use unicode_normalization::UnicodeNormalization;

/// The most a card's distinct stems may take (bytes); the rest is not indexed. Under
/// PostgreSQL's limit of a tsvector (1 MB).
pub const MAX_INDEX: usize = 512 * 1024;
/// Longer "words" (a hash, a run of letters) are not words anyone searches for.
const MAX_WORD: usize = 64;

/// Endings stripped from a word (the longest that fits): noun and adjective endings of Ukrainian
/// and the present tense's plural, after the published light stemmers; endings that are also a
/// noun's letters (-ла, -ти, -ати) are left alone.
const SUFFIXES: &[&str] = &[
    "ього", "ьому", "ами", "ями", "ові", "еві", "єві", "ими", "іми", "ого", "ому", "ать", "ять",
    "уть", "ють", "ах", "ях", "ам", "ям", "ом", "ем", "єм", "ою", "ею", "єю", "ій", "ий", "ої",
    "ії", "ім", "им", "их", "іх", "ів", "їв", "ей", "ая", "яя", "ую", "юю", "а", "я", "і", "ї",
    "у", "ю", "о", "е", "є", "и", "ь", "й",
];

/// The shortest stem a suffix may leave (in letters).
const MIN_STEM: usize = 3;

/// The stems of `text`'s words, in order, joined by single spaces.
pub fn stemmed(text: &str) -> String {
    words(text).join(" ")
}

/// The distinct stems of `text`'s words in order of first use, joined by single spaces, at most
/// `MAX_INDEX`: what both databases index for a card.
pub fn index_text(text: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    for word in words(text) {
        if out.len() + word.len() + 1 > MAX_INDEX {
            break;
        }
        if seen.insert(word.clone()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&word);
        }
    }
    out
}

/// The stems of `text`'s words, in order: letters and digits only, so that SQLite's
/// `unicode61` and PostgreSQL's `simple` configuration cut them the same way.
pub fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut push = |word: String| {
        if word.chars().count() <= MAX_WORD {
            words.push(stem(&word));
        }
    };
    for c in text.nfc() {
        if is_apostrophe(c) {
            continue;
        }
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        push(word);
    }
    words
}

/// ' ’ ʼ ` and the other apostrophes people type inside a Ukrainian word (сім'я, сім’я, сімʼя).
fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`' | '‘' | 'ʹ' | '′')
}

/// The stem of one lowercased word: a word with a digit or without Cyrillic letters as it is;
/// otherwise its longest ending that leaves `MIN_STEM` letters stripped, a doubled «нн» of verbal
/// nouns made single (рішення, рішень) and the stem's last consonant taken for its alternation's
/// pair (г/з, к/ц, х/с), so that допомога meets допомозі and довідка довідці.
pub fn stem(word: &str) -> String {
    if word.chars().any(|c| c.is_ascii_digit()) || !word.chars().any(is_cyrillic) {
        return word.to_string();
    }
    let letters = word.chars().count();
    let stripped = SUFFIXES
        .iter()
        .filter(|s| word.ends_with(*s) && letters - s.chars().count() >= MIN_STEM)
        .max_by_key(|s| s.chars().count())
        .map_or(word, |suffix| &word[..word.len() - suffix.len()]);
    let mut stem = collapse(stripped.to_string());
    let paired = match stem.chars().last() {
        Some('з') => Some('г'),
        Some('ц') => Some('к'),
        Some('с') => Some('х'),
        _ => None,
    };
    if let Some(c) = paired {
        stem.pop();
        stem.push(c);
    }
    stem
}

/// «рішенн» → «рішен», so that рішення and рішень meet.
fn collapse(mut stem: String) -> String {
    if stem.ends_with("нн") && stem.chars().count() > MIN_STEM {
        stem.pop();
    }
    stem
}

fn is_cyrillic(c: char) -> bool {
    ('\u{0400}'..='\u{04FF}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_stem(forms: &[&str]) {
        let stems: Vec<String> = forms.iter().map(|w| stemmed(w)).collect();
        assert!(
            stems.iter().all(|s| *s == stems[0]),
            "{forms:?} gave {stems:?}"
        );
    }

    #[test]
    fn the_cases_of_a_noun_meet() {
        one_stem(&["допомога", "допомоги", "допомогу", "допомогою", "допомозі"]);
        one_stem(&[
            "заява",
            "заяви",
            "заяв",
            "заявою",
            "заяві",
            "заявами",
            "заявах",
        ]);
        one_stem(&["рішення", "рішенням", "рішенню", "рішень"]);
        one_stem(&[
            "документ",
            "документа",
            "документів",
            "документами",
            "документу",
        ]);
        one_stem(&["область", "області", "областю"]);
        one_stem(&["вулиця", "вулиці", "вулицею"]);
        one_stem(&["довідка", "довідки", "довідці", "довідкою"]);
        one_stem(&["база", "бази", "базі"]);
        one_stem(&["дорога", "дороги", "дорозі"]);
    }

    #[test]
    fn the_forms_of_an_adjective_meet() {
        one_stem(&[
            "соціальна",
            "соціальної",
            "соціальній",
            "соціальну",
            "соціальною",
            "соціальний",
            "соціального",
            "соціальному",
        ]);
    }

    #[test]
    fn case_and_apostrophes_do_not_matter() {
        one_stem(&["Сім'я", "СІМ’Я", "сімʼя", "сім`я"]);
        assert_eq!(stemmed("ЗАЯВА"), stemmed("заява"));
    }

    #[test]
    fn ge_and_he_stay_apart() {
        assert_ne!(stemmed("ґанок"), stemmed("ганок"));
    }

    #[test]
    fn different_words_stay_apart() {
        assert_ne!(stemmed("допомога"), stemmed("догана"));
        assert_ne!(stemmed("заява"), stemmed("заявник"));
    }

    #[test]
    fn numbers_latin_and_punctuation() {
        assert_eq!(stemmed("№ 01-12/345, PDF-файл"), "01 12 345 pdf файл");
        assert_eq!(stemmed("  ,,, "), "");
        assert_eq!(words("вул. Шевченка, 5"), vec!["вул", "шевченк", "5"]);
    }

    #[test]
    fn short_words_keep_their_letters() {
        assert_eq!(stem("про"), "про");
        assert_eq!(stem("дім"), "дім");
    }

    #[test]
    fn the_index_holds_each_stem_once_and_is_capped() {
        assert_eq!(index_text("заява, заяви і ще заявою"), "заяв і ще");
        let long: String = (0..200_000).map(|i| format!("слово{i} ")).collect();
        let index = index_text(&long);
        assert!(index.len() <= MAX_INDEX && index.len() > MAX_INDEX - 20);
        assert!(words(&"я".repeat(MAX_WORD + 1)).is_empty());
    }

    #[test]
    fn a_letter_with_a_combining_mark_is_one_letter() {
        assert_eq!(stemmed("Украі\u{0308}на"), stemmed("Україна"));
        assert_eq!(stemmed("и\u{0306}"), "й");
    }
}
