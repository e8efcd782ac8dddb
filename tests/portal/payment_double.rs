//! A payment provider on loopback that speaks LiqPay's checkout protocol, written from the
//! protocol rather than from the portal's code: `POST /api/3/checkout` checks the merchant's
//! signature and renders a checkout page for the order, `POST /pay` "pays" it (sends the signed
//! server-to-server callback, then the browser back to `result_url`), and the test can send any
//! callback it likes: another status, amount or currency, a replay, or a forged one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::common::federation::serve_on_loopback;

pub const PUBLIC_KEY: &str = "sandbox_i75320614289";
pub const PRIVATE_KEY: &str = "sandbox_dbl7Yk2pQe9s1uVx0aZrT4mN";

/// What a callback says, where the test wants it to differ from the order.
#[derive(Debug, Clone)]
pub struct Said {
    pub status: &'static str,
    /// The amount as the provider writes it (a JSON number); the order's when `None`.
    pub amount: Option<&'static str>,
    pub currency: Option<&'static str>,
}

impl Said {
    pub fn status(status: &'static str) -> Said {
        Said {
            status,
            amount: None,
            currency: None,
        }
    }
}

/// A callback as sent, with the portal's answer.
#[derive(Debug, Clone)]
pub struct Sent {
    pub data: String,
    pub signature: String,
    pub status: u16,
    pub body: String,
}

struct Inner {
    url: std::sync::OnceLock<String>,
    orders: Mutex<HashMap<String, Value>>,
    next_transaction: Mutex<u64>,
    /// Checkouts refused for a bad signature.
    refused: Mutex<usize>,
}

#[derive(Clone)]
pub struct PaymentDouble(Arc<Inner>);

/// base64(sha1(private + data + private)), as the protocol defines it.
pub fn sign(private_key: &str, data: &str) -> String {
    let mut raw = Vec::new();
    raw.extend_from_slice(private_key.as_bytes());
    raw.extend_from_slice(data.as_bytes());
    raw.extend_from_slice(private_key.as_bytes());
    STANDARD.encode(openssl::sha::sha1(&raw))
}

impl PaymentDouble {
    pub async fn start() -> PaymentDouble {
        let double = PaymentDouble(Arc::new(Inner {
            url: std::sync::OnceLock::new(),
            orders: Mutex::new(HashMap::new()),
            next_transaction: Mutex::new(2_402_117_000),
            refused: Mutex::new(0),
        }));
        let router = Router::new()
            .route("/api/3/checkout", post(checkout))
            .route("/pay", post(pay))
            .with_state(double.clone());
        let port = serve_on_loopback(router).await;
        let _ = double.0.url.set(format!("http://127.0.0.1:{port}"));
        double
    }

    pub fn checkout_url(&self) -> String {
        format!("{}/api/3/checkout", self.0.url.get().unwrap())
    }

    pub fn pay_url(&self) -> String {
        format!("{}/pay", self.0.url.get().unwrap())
    }

    /// The order the portal sent for `order_id`, as decoded.
    pub fn order(&self, order_id: &str) -> Option<Value> {
        self.0.orders.lock().unwrap().get(order_id).cloned()
    }

    /// Checkouts refused for a signature that was not the merchant's.
    pub fn refused(&self) -> usize {
        *self.0.refused.lock().unwrap()
    }

    /// Sends the callback for `order_id` saying `said`, signed with the merchant's key.
    pub async fn callback(&self, order_id: &str, said: &Said) -> Sent {
        let data = self.callback_data(order_id, said);
        let signature = sign(PRIVATE_KEY, &data);
        self.send(order_id, &data, &signature).await
    }

    /// The signed data of a callback for `order_id` saying `said`, unsent.
    pub fn callback_data(&self, order_id: &str, said: &Said) -> String {
        let order = self.order(order_id).expect("an order the portal sent");
        let transaction = {
            let mut next = self.0.next_transaction.lock().unwrap();
            *next += 1;
            *next
        };
        let amount: serde_json::Number = said
            .amount
            .map(|a| a.parse().unwrap())
            .unwrap_or_else(|| order["amount"].as_number().unwrap().clone());
        let data = json!({
            "payment_id": transaction,
            "action": "pay",
            "status": said.status,
            "version": 3,
            "type": "buy",
            "paytype": "card",
            "public_key": PUBLIC_KEY,
            "acq_id": 414963,
            "order_id": order_id,
            "liqpay_order_id": format!("DBL{transaction}"),
            "description": order["description"],
            "amount": amount,
            "currency": said.currency.unwrap_or("UAH"),
            "sender_commission": 0.0,
            "receiver_commission": 9.15,
            "transaction_id": transaction,
            "end_date": 1_796_000_000_000_u64,
        });
        STANDARD.encode(data.to_string())
    }

    /// POSTs `data` and `signature` to the order's `server_url` as the provider would.
    pub async fn send(&self, order_id: &str, data: &str, signature: &str) -> Sent {
        let server_url = self
            .order(order_id)
            .and_then(|o| o["server_url"].as_str().map(str::to_string))
            .expect("an order with its server_url");
        self.send_to(&server_url, data, signature).await
    }

    /// POSTs `data` and `signature` to `server_url`.
    pub async fn send_to(&self, server_url: &str, data: &str, signature: &str) -> Sent {
        let response = reqwest::Client::new()
            .post(server_url)
            .form(&[("data", data), ("signature", signature)])
            .send()
            .await
            .unwrap();
        Sent {
            data: data.into(),
            signature: signature.into(),
            status: response.status().as_u16(),
            body: response.text().await.unwrap_or_default(),
        }
    }
}

/// `POST /api/3/checkout`: the browser arrives with the merchant's order.
async fn checkout(
    State(double): State<PaymentDouble>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (Some(data), Some(signature)) = (form.get("data"), form.get("signature")) else {
        return (StatusCode::BAD_REQUEST, "data and signature required").into_response();
    };
    if sign(PRIVATE_KEY, data) != *signature {
        *double.0.refused.lock().unwrap() += 1;
        return (StatusCode::FORBIDDEN, "invalid signature").into_response();
    }
    let order: Value = match STANDARD
        .decode(data)
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
    {
        Some(order) => order,
        None => return (StatusCode::BAD_REQUEST, "data is not base64 JSON").into_response(),
    };
    if order["version"] != 3 || order["action"] != "pay" || order["public_key"] != PUBLIC_KEY {
        return (
            StatusCode::BAD_REQUEST,
            "not a version 3 pay order of this merchant",
        )
            .into_response();
    }
    let order_id = order["order_id"].as_str().unwrap_or_default().to_string();
    let page = format!(
        "<!doctype html><html lang=\"uk\"><title>Оплата</title><h1>{}</h1><p>Сума: {} {}</p>\
         <form method=\"post\" action=\"/pay\"><input type=\"hidden\" name=\"order_id\" \
         value=\"{order_id}\"><button>Сплатити</button></form></html>",
        order["description"].as_str().unwrap_or_default(),
        order["amount"],
        order["currency"].as_str().unwrap_or_default(),
    );
    double.0.orders.lock().unwrap().insert(order_id, order);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// `POST /pay`: the card is charged; the callback goes to the merchant, then the browser back.
async fn pay(
    State(double): State<PaymentDouble>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(order) = form.get("order_id").and_then(|id| double.order(id)) else {
        return (StatusCode::NOT_FOUND, "no such order").into_response();
    };
    let id = order["order_id"].as_str().unwrap().to_string();
    let sent = double.callback(&id, &Said::status("success")).await;
    if sent.status != 200 {
        return (
            StatusCode::BAD_GATEWAY,
            format!("the merchant refused the callback: {}", sent.body),
        )
            .into_response();
    }
    let back = order["result_url"].as_str().unwrap().to_string();
    (StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response()
}
