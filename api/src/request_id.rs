//! The request id: one per answer, in its `X-Request-Id` header, in the `request_id` of a 5xx
//! problem body, and in every log line written while serving it (through the request's span).
//! An operator given the id from a user's screen or a caller's log finds the lines at once.

use std::fmt;

use actix_web::body::{BoxBody, MessageBody as _};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::HttpResponse;

/// `X-Request-Id`, read from the request and set on every answer.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming id that is kept (a UUID is 36 characters, a W3C trace id 32).
const MAX_LEN: usize = 64;

/// The id of one request: the caller's own if it is short and plain, else a fresh UUID v4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// A caller's id (a proxy's or another service's) is kept, so one id follows a call across
    /// services, but only if it is at most 64 of `[A-Za-z0-9._-]`: anything else could forge
    /// log lines or carry markup into a log viewer, and is replaced.
    pub fn of(headers: &HeaderMap) -> Self {
        match headers.get(&HEADER) {
            Some(value) if is_safe(value.as_bytes()) => Self(value.clone()),
            _ => Self::generate(),
        }
    }

    /// A fresh random id (UUID v4, hyphenated).
    pub fn generate() -> Self {
        let mut buf = uuid::Uuid::encode_buffer();
        let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
        // A hyphenated UUID is always a valid header value.
        Self(HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid")))
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from checked ASCII.
        self.0.to_str().unwrap_or_default()
    }

    /// The answer with its id: the `X-Request-Id` header, and on a 5xx problem+json answer the
    /// `request_id` field, which a user can quote when reporting the failure.
    pub fn stamp(&self, mut res: HttpResponse<BoxBody>) -> HttpResponse<BoxBody> {
        res.headers_mut().insert(HEADER, self.0.clone());
        let is_problem =
            res.headers().get(CONTENT_TYPE).is_some_and(|ct| ct.as_bytes().starts_with(b"application/problem+json"));
        if !res.status().is_server_error() || !is_problem {
            return res;
        }
        // Rare (a 5xx) and small: the body is read back, the field added, the body written again.
        let (head, body) = res.into_parts();
        let body = match body.try_into_bytes() {
            Ok(bytes) => match with_request_id(&bytes, self.as_str()) {
                Some(json) => BoxBody::new(json),
                None => BoxBody::new(bytes),
            },
            Err(body) => body,
        };
        head.set_body(body)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_safe(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// A problem body (a JSON object) with `request_id` set; None if it is not a JSON object.
fn with_request_id(body: &[u8], id: &str) -> Option<Vec<u8>> {
    let mut problem: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).ok()?;
    problem.insert("request_id".into(), id.into());
    serde_json::to_vec(&problem).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HEADER, HeaderValue::from_str(value).expect("header"));
        h
    }

    #[test]
    fn a_short_plain_id_is_kept_and_anything_else_replaced() {
        for kept in ["abc", "0af7651916cd43dd8448eb211c80319c", "req-1.2_3", &"x".repeat(64)] {
            assert_eq!(RequestId::of(&headers(kept)).as_str(), kept);
        }
        for replaced in ["", "a b", "<script>", "a\"b", "x;y", "ü", &"x".repeat(65)] {
            let mut h = HeaderMap::new();
            h.insert(HEADER, HeaderValue::from_bytes(replaced.as_bytes()).expect("header"));
            let id = RequestId::of(&h);
            assert_ne!(id.as_str(), replaced);
            assert!(uuid::Uuid::parse_str(id.as_str()).is_ok(), "{id} is a UUID");
        }
        assert_ne!(RequestId::of(&HeaderMap::new()), RequestId::of(&HeaderMap::new()));
    }

    #[test]
    fn a_5xx_problem_gets_the_id_in_its_body_and_every_answer_in_its_header() {
        let id = RequestId::of(&headers("abc-123"));
        let problem = HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR)
            .content_type("application/problem+json")
            .body(r#"{"code":"internal_error","status":500}"#);
        let res = id.stamp(problem);
        assert_eq!(res.headers().get(HEADER).expect("header"), "abc-123");
        let body = res.into_body().try_into_bytes().expect("bytes");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["request_id"], "abc-123");
        assert_eq!(json["code"], "internal_error");

        let not_found = HttpResponse::build(StatusCode::NOT_FOUND)
            .content_type("application/problem+json")
            .body(r#"{"code":"not_found"}"#);
        let res = id.stamp(not_found);
        assert_eq!(res.headers().get(HEADER).expect("header"), "abc-123");
        assert_eq!(res.into_body().try_into_bytes().expect("bytes"), r#"{"code":"not_found"}"#);
    }
}
