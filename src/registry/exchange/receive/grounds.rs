//! The grounds a received document is refused on, each with a stable code (the notice's
//! `AckResult/@errorcode`) and its Ukrainian text: 002 §3.4's five, found by the automatic
//! checks, and КМУ №55 п.21's closed list, from which a registrar picks.

/// A ground of refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ground {
    /// 002 §3.4: not addressed to this participant.
    NotAddressed,
    /// 002 §3.4: a file is infected.
    Infected,
    /// 002 §3.4: a file's integrity fails.
    Integrity,
    /// 002 §3.4: a signature or seal fails.
    Signature,
    /// 002 §3.4: a file's format or structure is not allowed.
    Format,
    /// п.21: not drawn up in the required form.
    WrongForm,
    /// п.21: not for this body.
    NotOurs,
    /// п.21: received again.
    ReceivedAgain,
    /// п.21: its contents (annexes) are not as the document declares.
    ContentsDiffer,
    /// п.21: the registration card differs from the document.
    CardDiffers,
    /// п.21: a required signature or seal is missing.
    SignatureMissing,
    /// п.21: signed by someone other than the author.
    OtherSigner,
    /// п.21: a signature or seal cannot be verified.
    SignatureUnverifiable,
    /// п.21: no qualified electronic timestamp.
    NoTimestamp,
    /// п.21: the visual form cannot be read.
    VisualUnreadable,
}

impl Ground {
    /// The grounds a registrar may refuse on (п.21), in the regulation's order.
    pub const MANUAL: &[Ground] = &[
        Ground::WrongForm,
        Ground::NotOurs,
        Ground::ReceivedAgain,
        Ground::ContentsDiffer,
        Ground::CardDiffers,
        Ground::SignatureMissing,
        Ground::OtherSigner,
        Ground::SignatureUnverifiable,
        Ground::NoTimestamp,
        Ground::VisualUnreadable,
    ];

    /// The stable code a notice carries (`AckResult/@errorcode`).
    pub fn code(self) -> i64 {
        match self {
            Ground::NotAddressed => 101,
            Ground::Infected => 102,
            Ground::Integrity => 103,
            Ground::Signature => 104,
            Ground::Format => 105,
            Ground::WrongForm => 201,
            Ground::NotOurs => 202,
            Ground::ReceivedAgain => 203,
            Ground::ContentsDiffer => 204,
            Ground::CardDiffers => 205,
            Ground::SignatureMissing => 206,
            Ground::OtherSigner => 207,
            Ground::SignatureUnverifiable => 208,
            Ground::NoTimestamp => 209,
            Ground::VisualUnreadable => 210,
        }
    }

    /// The ground of code `code`.
    pub fn of_code(code: i64) -> Option<Ground> {
        Ground::AUTOMATIC
            .iter()
            .chain(Ground::MANUAL)
            .copied()
            .find(|g| g.code() == code)
    }

    /// The grounds the automatic checks find (002 §3.4).
    pub const AUTOMATIC: &[Ground] = &[
        Ground::NotAddressed,
        Ground::Infected,
        Ground::Integrity,
        Ground::Signature,
        Ground::Format,
    ];

    /// The ground in words, as the notice and the journal carry it.
    pub fn text(self) -> &'static str {
        match self {
            Ground::NotAddressed => "Електронний документ надійшов не за адресою",
            Ground::Infected => "Електронний документ заражений вірусом",
            Ground::Integrity => "Електронний документ не пройшов перевірку на цілісність",
            Ground::Signature => {
                "Накладений на електронний документ електронний підпис чи електронна печатка \
                 не пройшли перевірку на справжність"
            }
            Ground::Format => {
                "Формат чи структура файлу не відповідає вимогам, встановленим адміністратором"
            }
            Ground::WrongForm => "Документ оформлено з порушенням встановлених вимог до форми",
            Ground::NotOurs => "Документ надійшов не за належністю",
            Ground::ReceivedAgain => "Документ надійшов повторно",
            Ground::ContentsDiffer => {
                "Склад документа не відповідає зазначеному в ньому (відсутні або не ті додатки)"
            }
            Ground::CardDiffers => {
                "Реєстраційні дані документа не відповідають реквізитам самого документа"
            }
            Ground::SignatureMissing => {
                "Відсутній обов'язковий електронний підпис або електронна печатка"
            }
            Ground::OtherSigner => "Документ підписано особою, яка не є його підписувачем",
            Ground::SignatureUnverifiable => {
                "Електронний підпис або електронну печатку неможливо перевірити"
            }
            Ground::NoTimestamp => "Відсутня кваліфікована електронна позначка часу",
            Ground::VisualUnreadable => "Візуальна форма документа не читається",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_read_back() {
        let all: Vec<Ground> = Ground::AUTOMATIC
            .iter()
            .chain(Ground::MANUAL)
            .copied()
            .collect();
        let mut codes: Vec<i64> = all.iter().map(|g| g.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for ground in all {
            assert_eq!(Ground::of_code(ground.code()), Some(ground));
            assert!(!ground.text().is_empty());
        }
        assert_eq!(Ground::of_code(0), None);
        assert_eq!(Ground::MANUAL.len(), 10);
    }
}
