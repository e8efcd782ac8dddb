//! Rating a decided application (003 §2.2(9)): 1 to 5 stars and an optional comment, once per
//! application and final, so a month's figures never change after they are published. Kept by
//! e-service and month under a keyed digest of the application, never with the person.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::PortalState;
use super::cabinet::{self, Owned, owned, service_title};
use super::citizen::Citizen;
use super::pages::Chrome;
use crate::store::NewRating;

/// The longest comment kept, in characters.
pub const MAX_COMMENT: usize = 2000;

/// Whether `owned`'s case has a result a person can rate: decided, and not withdrawn.
pub fn rateable(owned: &Owned) -> bool {
    owned.case.as_ref().is_some_and(|(case, _)| {
        case.outcome
            .as_deref()
            .is_some_and(|outcome| outcome != "withdrawn")
    })
}

/// What the application page shows of rating: `null` before a result, else the rating given
/// (`given`) or the form.
pub async fn view(portal: &PortalState, owned: &Owned) -> Result<Value, String> {
    if !rateable(owned) {
        return Ok(Value::Null);
    }
    let key = portal.digests.application(&owned.application.id)?;
    let given = portal
        .store
        .rating_of(&key)
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!({
        "given": given.map(|r| json!({"stars": r.stars, "comment": r.comment})),
        "stars": Value::Null,
        "comment": "",
        "errors": [],
        "max_comment": MAX_COMMENT,
    }))
}

/// `POST /cabinet/applications/{id}/rating`: `stars` 1–5, `comment`, `csrf`.
pub async fn rate(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(id): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let pairs = match form {
        Ok(Form(pairs)) => pairs,
        Err(_) => Vec::new(),
    };
    if let Err(refused) = citizen.check_csrf(super::forms::posted_csrf(&pairs)) {
        return refused;
    }
    let Some(compiled) = portal.current.load_full() else {
        return cabinet::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let owned = match owned(&portal, &citizen, &chrome, &id).await {
        Ok(owned) => owned,
        Err(refused) => return refused,
    };
    if !rateable(&owned) {
        return portal.pages.problem(
            StatusCode::CONFLICT,
            &chrome,
            "Оцінити ще не можна",
            "Оцінити послугу можна після того, як за заявою ухвалено рішення. Поверніться до \
             сторінки заяви, щоб побачити її стан.",
        );
    }
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let (stars_text, comment) = (field("stars"), field("comment"));
    let stars = stars_text
        .parse::<i64>()
        .ok()
        .filter(|s| (1..=5).contains(s));
    let mut errors = Vec::new();
    if stars.is_none() {
        errors.push(json!({"field": "rating-stars-1", "message": "Оберіть оцінку від 1 до 5"}));
    }
    if comment.chars().count() > MAX_COMMENT {
        errors.push(json!({"field": "rating-comment",
            "message": format!("Скоротіть коментар до {MAX_COMMENT} символів")}));
    }
    let Some(stars) = stars.filter(|_| errors.is_empty()) else {
        return again(
            &portal,
            &chrome,
            &owned,
            &compiled.spec,
            &stars_text,
            &comment,
            errors,
        );
    };
    let key = match portal.digests.application(&id) {
        Ok(key) => key,
        Err(e) => return cabinet::unavailable(&portal, &chrome, &e),
    };
    let rating = NewRating {
        application_key: key,
        e_service: owned.application.e_service.clone(),
        stars,
        comment: Some(comment).filter(|c| !c.is_empty()),
        at: portal.engine.clock().now(),
    };
    match portal.store.rate(&rating).await {
        Ok(true) => (
            StatusCode::SEE_OTHER,
            [(
                header::LOCATION,
                format!("/cabinet/applications/{id}#rating"),
            )],
        )
            .into_response(),
        Ok(false) => portal.pages.problem(
            StatusCode::CONFLICT,
            &chrome,
            "Ви вже оцінили цю послугу",
            "Оцінку за цією заявою вже збережено, і змінити її не можна. Дякуємо за відгук!",
        ),
        Err(e) => cabinet::unavailable(&portal, &chrome, &e.to_string()),
    }
}

/// The rating form again with what was wrong (400).
fn again(
    portal: &PortalState,
    chrome: &Chrome,
    owned: &Owned,
    spec: &crate::spec::Spec,
    stars: &str,
    comment: &str,
    errors: Vec<Value>,
) -> Response {
    portal.pages.render(
        StatusCode::BAD_REQUEST,
        "cabinet/rate.html",
        chrome,
        json!({
            "id": owned.application.id,
            "number": owned.application.number,
            "service": service_title(spec, &owned.application.e_service),
            "rating": {
                "given": Value::Null,
                "stars": stars,
                "comment": comment,
                "errors": errors,
                "max_comment": MAX_COMMENT,
            },
        }),
    )
}
