//! Payments of paid e-services' fees (PORTAL-9; 001 §2.1.5): the applicant is handed to a
//! payment provider with an ordinary form, the provider's signed server-to-server callback
//! settles the payment, and the fee gates signing or the result as the spec's `pay` says.

pub mod callback;
pub mod checkout;
pub mod liqpay;
pub mod settle;
pub mod withheld;

use std::path::{Path, PathBuf};

use crate::spec::model::{EService, FeeKind, PayWhen, PaymentProviderKind, Payments};

/// The only currency the portal takes fees in.
pub const CURRENCY: &str = "UAH";

/// An order as the provider is told of it.
#[derive(Debug, Clone)]
pub struct Order<'a> {
    /// The payment's id, the provider's `order_id`.
    pub id: &'a str,
    /// In kopiyky.
    pub amount: i64,
    pub currency: &'a str,
    pub description: &'a str,
    /// Where the provider sends the applicant's browser back.
    pub result_url: &'a str,
    /// Where the provider posts its callback.
    pub server_url: &'a str,
}

/// The form that hands the applicant to the provider: POSTed by the browser to `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub action: String,
    pub fields: Vec<(&'static str, String)>,
}

/// What the provider's status means to the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderStatus {
    /// Paid.
    Success,
    /// Refused or failed.
    Failure,
    /// Paid, then returned to the payer.
    Reversed,
    /// Under way.
    Processing,
    /// Anything else the provider may say; recorded, never acted on.
    Other,
}

/// A callback whose signature held, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub order_id: String,
    pub status: ProviderStatus,
    /// The provider's own word for it, as recorded (at most 40 characters of `[a-z0-9_]`).
    pub said: String,
    /// In kopiyky; `None` when absent or not an amount.
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub transaction_id: Option<String>,
    /// SHA-256 (hex) of the signed data: a replay is known by it.
    pub digest: String,
}

/// Why a callback was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackError {
    /// Its signature is not the provider's over its data: forged or altered.
    Forged,
    /// It does not read as the protocol says (what is wrong).
    Malformed(String),
}

/// A payment provider's protocol.
pub trait PaymentProvider: Send + Sync {
    /// Its name in `/payments/callback/{name}`.
    fn name(&self) -> &'static str;
    /// The form that hands the applicant to it for `order`.
    fn checkout(&self, order: &Order<'_>) -> Checkout;
    /// The callback posted with form `fields`, verified and read.
    fn callback(&self, fields: &[(String, String)]) -> Result<Callback, CallbackError>;
}

/// The portal's payment providers, built from the applied spec with keys read under `keys`.
#[derive(Debug, Clone)]
pub struct Providers {
    keys: PathBuf,
}

impl Providers {
    pub fn new(keys: &Path) -> Providers {
        Providers {
            keys: keys.to_path_buf(),
        }
    }

    /// The provider `payments` declares, its private key read now (so a rotated key is used
    /// from the next request on).
    pub fn provider(&self, payments: &Payments) -> Result<Box<dyn PaymentProvider>, String> {
        let path = self.keys.join(&payments.private_key_file);
        let private_key = std::fs::read_to_string(&path)
            .map_err(|e| {
                format!(
                    "the payment provider's private key file {} cannot be read ({e}); put the \
                     key the provider issued there (`private-key-file` is relative to the keys \
                     folder, `serve --keys`)",
                    path.display()
                )
            })?
            .trim()
            .to_string();
        if private_key.is_empty() {
            return Err(format!(
                "the payment provider's private key file {} is empty",
                path.display()
            ));
        }
        Ok(match payments.provider {
            PaymentProviderKind::Liqpay => Box::new(liqpay::LiqPay::new(
                &payments.checkout_url,
                &payments.public_key,
                private_key,
            )),
        })
    }
}

/// What the portal asks of an e-service's applicants: the amount (kopiyky) and when.
pub fn fee_due(e_service: &EService) -> Option<(i64, PayWhen)> {
    let fee = e_service.fee.as_ref()?;
    if fee.kind != FeeKind::Paid {
        return None;
    }
    Some((kopiyky(fee.amount.as_deref()?)?, fee.pay?))
}

/// A decimal amount in hryvnias (`332.80`, `332.8`, `332`) in kopiyky; `None` for anything
/// else, or a fraction of a kopiyka.
pub fn kopiyky(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || whole.len() > 12
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (text.contains('.') && fraction.is_empty())
    {
        return None;
    }
    let (cents, rest) = fraction.split_at(fraction.len().min(2));
    if rest.bytes().any(|b| b != b'0') {
        return None;
    }
    let cents: i64 = format!("{cents:0<2}").parse().ok()?;
    Some(whole.parse::<i64>().ok()? * 100 + cents)
}

/// Kopiyky as the decimal the provider is sent: `332.80`.
pub fn decimal(kopiyky: i64) -> String {
    format!("{}.{:02}", kopiyky / 100, kopiyky % 100)
}

/// Kopiyky as an applicant reads them: `332,80 грн`.
pub fn hryvnias(kopiyky: i64) -> String {
    format!("{},{:02} грн", kopiyky / 100, kopiyky % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_exactly_in_kopiyky() {
        for (text, want) in [
            ("332.80", 33280),
            ("332.8", 33280),
            ("332", 33200),
            ("0.05", 5),
            ("332.800", 33280),
        ] {
            assert_eq!(kopiyky(text), Some(want), "{text}");
        }
        for bad in [
            "", ".5", "5.", "332,80", "-1", "1e3", "332.801", " 1", "0x10",
        ] {
            assert_eq!(kopiyky(bad), None, "{bad}");
        }
        assert_eq!(decimal(33280), "332.80");
        assert_eq!(decimal(5), "0.05");
        assert_eq!(hryvnias(33280), "332,80 грн");
    }
}
