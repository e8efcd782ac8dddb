//! The grounds on which a provider revokes a document it issued: a fixed few, in general words
//! that anyone verifying the document may read (the official's own reason is for the applicant).

/// Each ground's key, as stored, and its words.
pub const GROUNDS: &[(&str, &str)] = &[
    ("error", "у документі виявлено помилку"),
    ("replaced", "замість нього видано інший документ"),
    (
        "annulled",
        "рішення, на підставі якого його видано, скасовано",
    ),
    ("request", "на прохання отримувача"),
];

/// The words of ground `key`; `None` for a key that is not one.
pub fn ground_words(key: &str) -> Option<&'static str> {
    GROUNDS.iter().find(|(k, _)| *k == key).map(|(_, w)| *w)
}
