//! What a verified callback does to its payment. A success settles only for exactly the amount
//! and currency ordered; a late success (after the payment failed or expired) still settles,
//! since the applicant's money was taken for this order, unless the fee was paid meanwhile by
//! another order, in which case it is flagged for refund. Nothing final is undone by a later
//! intermediate status; only the provider's `reversed` takes a settled payment back.

use super::{Callback, ProviderStatus, hryvnias};
use crate::store::{PaymentRow, PaymentStatus, Settlement};

/// The settlement of `payment` by `callback`, given whether another payment of the same draft
/// is already paid.
pub fn decide(payment: &PaymentRow, other_paid: bool, callback: &Callback) -> Settlement {
    let keep = |note: String| Settlement {
        status: payment.status,
        receipt: false,
        note,
    };
    let to = |status: PaymentStatus, receipt: bool, note: String| Settlement {
        status,
        receipt,
        note,
    };
    let settled = matches!(
        payment.status,
        PaymentStatus::Paid | PaymentStatus::RefundDue
    );
    match callback.status {
        ProviderStatus::Success => {
            let exact = callback.amount == Some(payment.amount)
                && callback.currency.as_deref() == Some(payment.currency.as_str())
                && callback.transaction_id.is_some();
            if !exact {
                let reported = match (callback.amount, callback.currency.as_deref()) {
                    (Some(amount), Some("UAH")) => hryvnias(amount),
                    (Some(amount), Some(currency)) => format!("{amount} kopiyky in {currency}"),
                    _ => "no readable amount or currency".into(),
                };
                let note = format!(
                    "a success for {reported}{} while {} was ordered: not settled; reconcile with \
                     the provider",
                    if callback.transaction_id.is_none() {
                        " without a transaction"
                    } else {
                        ""
                    },
                    hryvnias(payment.amount)
                );
                return if settled {
                    keep(format!(
                        "{note} (the payment was settled before and stays so)"
                    ))
                } else {
                    to(PaymentStatus::Mismatch, false, note)
                };
            }
            if settled {
                return keep("the success confirmed again".into());
            }
            if other_paid {
                return to(
                    PaymentStatus::RefundDue,
                    true,
                    "paid while the fee had already been paid by another order: refund it".into(),
                );
            }
            let note = match payment.status {
                PaymentStatus::Failed | PaymentStatus::Expired | PaymentStatus::Mismatch => {
                    format!(
                        "a late success after the payment was {}: settled, the money was taken \
                         for this order",
                        payment.status.as_str()
                    )
                }
                PaymentStatus::Reversed => "paid again after a reversal: settled".into(),
                _ => "paid".into(),
            };
            to(PaymentStatus::Paid, true, note)
        }
        ProviderStatus::Failure if settled => keep(format!(
            "the provider said `{}` after confirming the payment: recorded, the payment stays {}",
            callback.said,
            payment.status.as_str()
        )),
        ProviderStatus::Failure => to(
            PaymentStatus::Failed,
            false,
            format!("the provider said `{}`", callback.said),
        ),
        ProviderStatus::Reversed => to(
            PaymentStatus::Reversed,
            false,
            "the provider returned the money to the payer: no longer settled".into(),
        ),
        ProviderStatus::Processing if payment.status.open() => to(
            PaymentStatus::Processing,
            false,
            format!("under way (`{}`)", callback.said),
        ),
        ProviderStatus::Processing | ProviderStatus::Other => keep(format!(
            "the provider said `{}`: recorded, nothing changed",
            callback.said
        )),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn payment(status: PaymentStatus) -> PaymentRow {
        PaymentRow {
            id: "p1".into(),
            owner: "o".into(),
            draft_id: "d".into(),
            e_service: "s".into(),
            provider: "liqpay".into(),
            amount: 33280,
            currency: "UAH".into(),
            status,
            created_at: Utc::now(),
            expires_at: Utc::now(),
            updated_at: Utc::now(),
            receipt: None,
        }
    }

    fn said(status: ProviderStatus, amount: i64, currency: &str) -> Callback {
        Callback {
            order_id: "p1".into(),
            status,
            said: "x".into(),
            amount: Some(amount),
            currency: Some(currency.into()),
            transaction_id: Some("t1".into()),
            digest: "d".into(),
        }
    }

    #[test]
    fn only_the_exact_amount_and_currency_settle() {
        let ok = said(ProviderStatus::Success, 33280, "UAH");
        let pending = payment(PaymentStatus::Pending);
        assert_eq!(decide(&pending, false, &ok).status, PaymentStatus::Paid);
        assert!(decide(&pending, false, &ok).receipt);
        for wrong in [
            said(ProviderStatus::Success, 100, "UAH"),
            said(ProviderStatus::Success, 33280, "USD"),
        ] {
            let s = decide(&pending, false, &wrong);
            assert_eq!(s.status, PaymentStatus::Mismatch, "{}", s.note);
            assert!(!s.receipt);
        }
        let mut no_transaction = ok.clone();
        no_transaction.transaction_id = None;
        assert_eq!(
            decide(&pending, false, &no_transaction).status,
            PaymentStatus::Mismatch
        );
    }

    #[test]
    fn a_late_success_settles_unless_the_fee_was_paid_by_another_order() {
        let ok = said(ProviderStatus::Success, 33280, "UAH");
        for before in [PaymentStatus::Failed, PaymentStatus::Expired] {
            let s = decide(&payment(before), false, &ok);
            assert_eq!(s.status, PaymentStatus::Paid);
            assert!(s.note.contains("late success"), "{}", s.note);
        }
        let s = decide(&payment(PaymentStatus::Expired), true, &ok);
        assert_eq!(s.status, PaymentStatus::RefundDue);
        assert!(s.receipt);
    }

    #[test]
    fn nothing_final_is_undone_but_by_a_reversal() {
        let paid = payment(PaymentStatus::Paid);
        for later in [
            said(ProviderStatus::Failure, 33280, "UAH"),
            said(ProviderStatus::Processing, 33280, "UAH"),
            said(ProviderStatus::Other, 33280, "UAH"),
            said(ProviderStatus::Success, 1, "UAH"),
        ] {
            assert_eq!(decide(&paid, false, &later).status, PaymentStatus::Paid);
        }
        assert_eq!(
            decide(&paid, false, &said(ProviderStatus::Reversed, 33280, "UAH")).status,
            PaymentStatus::Reversed
        );
        assert_eq!(
            decide(
                &payment(PaymentStatus::Failed),
                false,
                &said(ProviderStatus::Processing, 33280, "UAH")
            )
            .status,
            PaymentStatus::Failed
        );
    }
}
