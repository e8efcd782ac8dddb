//! LiqPay's checkout protocol (API version 3): the order as base64 `data` of a JSON object, and
//! `signature` = base64(SHA-1(private key + data + private key)); its callback carries `data`
//! and `signature` the same way, checked in constant time before a byte of `data` is read.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{Callback, CallbackError, Checkout, Order, PaymentProvider, ProviderStatus, kopiyky};

/// The largest `data` a callback may carry: LiqPay's are a few KiB.
const MAX_DATA: usize = 16 * 1024;

pub struct LiqPay {
    checkout_url: String,
    public_key: String,
    private_key: String,
}

impl LiqPay {
    pub fn new(checkout_url: &str, public_key: &str, private_key: String) -> LiqPay {
        LiqPay {
            checkout_url: checkout_url.to_string(),
            public_key: public_key.to_string(),
            private_key,
        }
    }

    /// The signature of `data` under this merchant's private key.
    pub fn sign(&self, data: &str) -> String {
        let mut hasher = openssl::sha::Sha1::new();
        hasher.update(self.private_key.as_bytes());
        hasher.update(data.as_bytes());
        hasher.update(self.private_key.as_bytes());
        STANDARD.encode(hasher.finish())
    }
}

impl PaymentProvider for LiqPay {
    fn name(&self) -> &'static str {
        "liqpay"
    }

    fn checkout(&self, order: &Order<'_>) -> Checkout {
        let amount: serde_json::Number = super::decimal(order.amount)
            .parse()
            .unwrap_or_else(|_| serde_json::Number::from(0));
        let data = json!({
            "version": 3,
            "public_key": self.public_key,
            "action": "pay",
            "amount": amount,
            "currency": order.currency,
            "description": order.description,
            "order_id": order.id,
            "result_url": order.result_url,
            "server_url": order.server_url,
            "language": "uk",
        });
        let data = STANDARD.encode(data.to_string());
        let signature = self.sign(&data);
        Checkout {
            action: self.checkout_url.clone(),
            fields: vec![("data", data), ("signature", signature)],
        }
    }

    fn callback(&self, fields: &[(String, String)]) -> Result<Callback, CallbackError> {
        let field = |name: &str| {
            let mut found = fields.iter().filter(|(k, _)| k == name);
            match (found.next(), found.next()) {
                (Some((_, v)), None) => Ok(v.as_str()),
                (None, _) => Err(CallbackError::Malformed(format!(
                    "the callback has no `{name}` field"
                ))),
                (Some(_), Some(_)) => Err(CallbackError::Malformed(format!(
                    "the callback has more than one `{name}` field"
                ))),
            }
        };
        let data = field("data")?;
        let signature = field("signature")?;
        if data.len() > MAX_DATA {
            return Err(CallbackError::Malformed(format!(
                "the callback's data is longer than {MAX_DATA} bytes"
            )));
        }
        let expected = self.sign(data);
        if expected.len() != signature.len()
            || !openssl::memcmp::eq(expected.as_bytes(), signature.as_bytes())
        {
            return Err(CallbackError::Forged);
        }
        let decoded = STANDARD
            .decode(data)
            .map_err(|_| CallbackError::Malformed("the callback's data is not base64".into()))?;
        let order: Value = serde_json::from_slice(&decoded).map_err(|_| {
            CallbackError::Malformed("the callback's data is not a JSON object".into())
        })?;
        if let Some(key) = order.get("public_key").and_then(Value::as_str)
            && key != self.public_key
        {
            return Err(CallbackError::Malformed(
                "the callback is for another merchant's public key".into(),
            ));
        }
        let order_id = text(&order, "order_id")
            .filter(|id| !id.is_empty() && id.len() <= 128)
            .ok_or_else(|| {
                CallbackError::Malformed("the callback's data names no order_id".into())
            })?;
        let said = text(&order, "status")
            .ok_or_else(|| CallbackError::Malformed("the callback's data has no status".into()))?;
        let said: String = said
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect();
        let status = match said.as_str() {
            "success" => ProviderStatus::Success,
            "failure" | "error" => ProviderStatus::Failure,
            "reversed" => ProviderStatus::Reversed,
            "processing" | "prepared" | "wait_accept" | "wait_secure" | "wait_bitcoin"
            | "wait_card" | "wait_compensation" | "wait_lc" | "wait_reserve" | "3ds_verify"
            | "cvv_verify" | "otp_verify" | "sender_verify" | "receiver_verify"
            | "phone_verify" | "ivr_verify" | "pin_verify" | "captcha_verify"
            | "password_verify" | "senderapp_verify" => ProviderStatus::Processing,
            _ => ProviderStatus::Other,
        };
        let transaction_id = text(&order, "transaction_id")
            .or_else(|| text(&order, "payment_id"))
            .filter(|t| t.len() <= 64);
        Ok(Callback {
            order_id,
            status,
            said,
            amount: text(&order, "amount").and_then(|a| kopiyky(&a)),
            currency: text(&order, "currency").filter(|c| c.len() <= 8),
            transaction_id,
            digest: crate::crypto::sha256_hex(data.as_bytes()),
        })
    }
}

/// A field of the callback's data as text: a string, or a number with its exact digits.
fn text(order: &Value, name: &str) -> Option<String> {
    match order.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merchant() -> LiqPay {
        LiqPay::new(
            "https://pay.example/api/3/checkout",
            "sandbox_i1",
            "secret-key".into(),
        )
    }

    fn posted(data: &str, signature: &str) -> Vec<(String, String)> {
        vec![
            ("data".into(), data.into()),
            ("signature".into(), signature.into()),
        ]
    }

    #[test]
    fn the_signature_is_the_documented_one() {
        // base64(sha1("secret-key" + "eyJhIjoxfQ==" + "secret-key")), computed independently.
        let data = STANDARD.encode(r#"{"a":1}"#);
        let mut raw = Vec::new();
        raw.extend_from_slice(b"secret-key");
        raw.extend_from_slice(data.as_bytes());
        raw.extend_from_slice(b"secret-key");
        assert_eq!(
            merchant().sign(&data),
            STANDARD.encode(openssl::sha::sha1(&raw))
        );
    }

    #[test]
    fn the_checkout_carries_the_order_with_its_exact_amount() {
        let checkout = merchant().checkout(&Order {
            id: "p1",
            amount: 33280,
            currency: "UAH",
            description: "Присвоєння адреси",
            result_url: "https://portal/payments/p1/return",
            server_url: "https://portal/payments/callback/liqpay",
        });
        assert_eq!(checkout.action, "https://pay.example/api/3/checkout");
        let data = &checkout.fields[0].1;
        let order: Value = serde_json::from_slice(&STANDARD.decode(data).unwrap()).unwrap();
        assert_eq!(order["version"], 3);
        assert_eq!(order["action"], "pay");
        assert_eq!(order["amount"].to_string(), "332.80");
        assert_eq!(order["public_key"], "sandbox_i1");
        assert_eq!(order["order_id"], "p1");
        assert_eq!(checkout.fields[1], ("signature", merchant().sign(data)));
    }

    #[test]
    fn a_callback_is_read_only_under_the_merchants_signature() {
        let data = STANDARD.encode(
            r#"{"public_key":"sandbox_i1","order_id":"p1","status":"success","amount":332.8,"currency":"UAH","transaction_id":123456}"#,
        );
        let callback = merchant()
            .callback(&posted(&data, &merchant().sign(&data)))
            .unwrap();
        assert_eq!(callback.order_id, "p1");
        assert_eq!(callback.status, ProviderStatus::Success);
        assert_eq!(callback.amount, Some(33280));
        assert_eq!(callback.transaction_id.as_deref(), Some("123456"));

        let forged = LiqPay::new("https://x", "sandbox_i1", "other".into()).sign(&data);
        assert_eq!(
            merchant().callback(&posted(&data, &forged)),
            Err(CallbackError::Forged)
        );
        assert_eq!(
            merchant().callback(&posted(&data, "short")),
            Err(CallbackError::Forged)
        );
        let altered = STANDARD.encode(
            r#"{"public_key":"sandbox_i1","order_id":"p1","status":"success","amount":1,"currency":"UAH"}"#,
        );
        assert_eq!(
            merchant().callback(&posted(&altered, &merchant().sign(&data))),
            Err(CallbackError::Forged)
        );
        let other_merchant =
            STANDARD.encode(r#"{"public_key":"x","order_id":"p1","status":"success"}"#);
        assert!(matches!(
            merchant().callback(&posted(&other_merchant, &merchant().sign(&other_merchant))),
            Err(CallbackError::Malformed(_))
        ));
        assert!(matches!(
            merchant().callback(&[("data".into(), data.clone())]),
            Err(CallbackError::Malformed(_))
        ));
    }
}
