//! Declared answer shapes (H0311, H0312): the gateway releases each response and error field as
//! its declared type, so a field's type, item type and nested fields must agree; and a declared
//! response header must be a header name the gateway may pass at all.

use axum::http::HeaderName;

use crate::http_headers::never_passes;
use crate::spec::model::{FieldType, ItemType, Response};
use crate::spec::{Diagnostic, Kind};

use super::Checker;

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    for p in &spec.participants {
        for (i, s) in p.services.iter().enumerate() {
            let at = format!("/services/{i}");
            fields(c, &p.id, &format!("{at}/response"), &s.response);
            if let Some(errors) = &s.error_response {
                let shape = Response {
                    headers: Vec::new(),
                    fields: errors.fields.clone(),
                };
                fields(c, &p.id, &format!("{at}/error-response"), &shape);
            }
            for (h, name) in s.response.headers.iter().enumerate() {
                header(c, &p.id, &format!("{at}/response/headers/{h}"), name);
            }
        }
    }
}

/// H0311: `items` on a field that is not an array, nested fields under a scalar, or an array
/// with nested fields whose items are not objects.
fn fields(c: &mut Checker, participant: &str, base: &str, response: &Response) {
    for at in response.walk() {
        let f = at.field;
        let problem = match (f.ty, f.items, f.fields.is_empty()) {
            (FieldType::Array, Some(items), false) if items != ItemType::Object => Some((
                "items",
                format!(
                    "array `{}` declares fields of its elements but items of another type",
                    at.path
                ),
                "nested fields describe objects: drop `items`, or set `items=\"object\"`",
            )),
            (FieldType::Array, _, _) => None,
            (_, Some(_), _) => Some((
                "items",
                format!("`{}` is not an array but declares `items`", at.path),
                "`items` gives the type of an array's elements: drop it, or make the field `type=\"array\"`",
            )),
            (FieldType::Object, None, _) | (_, None, true) => None,
            (_, None, false) => Some((
                "type",
                format!("`{}` is a scalar but declares nested fields", at.path),
                "only objects and arrays of objects have fields: make it `type=\"object\"`, or drop the nested fields",
            )),
        };
        if let Some((prop, summary, help)) = problem {
            let span = c
                .at(
                    Kind::Participant,
                    participant,
                    &format!("{base}{}/{prop}", at.pointer),
                )
                .or_else(|| {
                    c.at(
                        Kind::Participant,
                        participant,
                        &format!("{base}{}", at.pointer),
                    )
                });
            c.report(
                Diagnostic::error("H0311", summary)
                    .at(span)
                    .detail("the gateway releases every field only as its declared type, so the declaration must say one thing")
                    .help(help),
            );
        }
    }
}

/// H0312: a declared response header that is no header name, or one the gateway never passes.
fn header(c: &mut Checker, participant: &str, pointer: &str, name: &str) {
    let diagnostic = if HeaderName::from_bytes(name.as_bytes()).is_err() {
        Diagnostic::error("H0312", format!("`{name}` is not an HTTP header name"))
            .detail("a header name is a token: letters, digits and `!#$%&'*+-.^_`|~`, no spaces")
    } else if never_passes(name) {
        Diagnostic::error(
            "H0312",
            format!("the gateway never passes the response header `{name}`"),
        )
        .detail("cookies, redirects, content codings, hop-by-hop and X-Road headers are the gateway's own or could carry what minimisation removes")
    } else {
        return;
    };
    let span = c.at(Kind::Participant, participant, pointer);
    c.report(
        diagnostic.at(span).help(
            "declare only headers that describe the answer, such as `X-Total-Count` or `ETag`",
        ),
    );
}
