//! The one error type of the HTTP API, rendered as RFC 9457 problem+json with a stable `code`.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbError;

/// One invalid field of a 422 answer.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_string(), message: message.into() }
    }
}

/// The stable machine-readable `code` of a problem answer: every code the service can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    ValidationFailed,
    WeakPassword,
    InvalidCredentials,
    InvalidCode,
    InvalidRefreshToken,
    InvalidMfaToken,
    Unauthenticated,
    ReauthRequired,
    Forbidden,
    MfaSetupRequired,
    PasskeysDisabled,
    NotFound,
    MfaAlreadyEnabled,
    MfaNotEnabled,
    MfaRequiredBySite,
    SelfActionForbidden,
    SsoNotConfigured,
    SsoAlreadyConnected,
    SsoFailed,
    MethodNotAllowed,
    PayloadTooLarge,
    TooManyAttempts,
    EmailDeliveryFailed,
    ServiceUnavailable,
    InternalError,
}

impl ProblemCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationFailed => "validation_failed",
            Self::WeakPassword => "weak_password",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidCode => "invalid_code",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::InvalidMfaToken => "invalid_mfa_token",
            Self::Unauthenticated => "unauthenticated",
            Self::ReauthRequired => "reauth_required",
            Self::Forbidden => "forbidden",
            Self::MfaSetupRequired => "mfa_setup_required",
            Self::PasskeysDisabled => "passkeys_disabled",
            Self::NotFound => "not_found",
            Self::MfaAlreadyEnabled => "mfa_already_enabled",
            Self::MfaNotEnabled => "mfa_not_enabled",
            Self::MfaRequiredBySite => "mfa_required_by_site",
            Self::SelfActionForbidden => "self_action_forbidden",
            Self::SsoNotConfigured => "sso_not_configured",
            Self::SsoAlreadyConnected => "sso_already_connected",
            Self::SsoFailed => "sso_failed",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::TooManyAttempts => "too_many_attempts",
            Self::EmailDeliveryFailed => "email_delivery_failed",
            Self::ServiceUnavailable => "service_unavailable",
            Self::InternalError => "internal_error",
        }
    }
}

/// RFC 9457 problem details, as every error under `/api/` is answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code (see docs/API.md, "Errors").
    pub code: ProblemCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// SSO failures echo the attempt's `return_to`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
    /// On a 5xx answer: the answer's `X-Request-Id`, to quote when reporting the failure.
    // Set by the request-id middleware (`RequestId::stamp`), which alone knows the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request is malformed: {0}")]
    BadRequest(String),
    #[error("some fields are invalid")]
    Invalid(Vec<FieldError>),
    #[error("the password is too weak: {0}")]
    WeakPassword(String),
    /// Wrong password. `in_session` selects 403 (a confirmation inside a signed-in session) over 401.
    #[error("the e-mail or password is wrong")]
    InvalidCredentials { in_session: bool },
    #[error("the code is wrong, expired or already used")]
    InvalidCode { in_session: bool },
    #[error("the refresh token is not valid")]
    InvalidRefreshToken,
    #[error("the mfa_token is not valid")]
    InvalidMfaToken,
    #[error("authentication is required")]
    Unauthenticated,
    #[error("this action needs a recent sign-in")]
    ReauthRequired,
    #[error("{0}")]
    Forbidden(String),
    #[error("passkeys are turned off for this site")]
    PasskeysDisabled,
    #[error("the site requires two-factor authentication: set it up first")]
    MfaSetupRequired,
    #[error("not found")]
    NotFound,
    #[error("two-factor authentication is already enabled")]
    MfaAlreadyEnabled,
    #[error("two-factor authentication is not enabled")]
    MfaNotEnabled,
    #[error("the site requires two-factor authentication")]
    MfaRequiredBySite,
    #[error("{0}")]
    SelfActionForbidden(String),
    #[error("no enabled SSO application with that id")]
    SsoNotConfigured,
    #[error("that external account is already connected")]
    SsoAlreadyConnected,
    #[error("the single sign-on attempt failed")]
    SsoFailed { reason: &'static str, return_to: Option<String> },
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("the request body is larger than 64 KiB")]
    PayloadTooLarge,
    #[error("too many attempts; try again in {retry_after} seconds")]
    TooManyAttempts { retry_after: u64 },
    #[error("the e-mail could not be handed to the mail server")]
    EmailDeliveryFailed,
    #[error("the service is temporarily unavailable")]
    ServiceUnavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The stable `code` (docs/API.md, "Errors").
    pub fn code(&self) -> &'static str {
        self.problem_code().as_str()
    }

    /// The `code` as the enum the OpenAPI document lists: a variant without one does not compile.
    pub fn problem_code(&self) -> ProblemCode {
        match self {
            Self::BadRequest(_) | Self::Invalid(_) => ProblemCode::ValidationFailed,
            Self::WeakPassword(_) => ProblemCode::WeakPassword,
            Self::InvalidCredentials { .. } => ProblemCode::InvalidCredentials,
            Self::InvalidCode { .. } => ProblemCode::InvalidCode,
            Self::InvalidRefreshToken => ProblemCode::InvalidRefreshToken,
            Self::InvalidMfaToken => ProblemCode::InvalidMfaToken,
            Self::Unauthenticated => ProblemCode::Unauthenticated,
            Self::ReauthRequired => ProblemCode::ReauthRequired,
            Self::Forbidden(_) => ProblemCode::Forbidden,
            Self::MfaSetupRequired => ProblemCode::MfaSetupRequired,
            Self::PasskeysDisabled => ProblemCode::PasskeysDisabled,
            Self::NotFound => ProblemCode::NotFound,
            Self::MfaAlreadyEnabled => ProblemCode::MfaAlreadyEnabled,
            Self::MfaNotEnabled => ProblemCode::MfaNotEnabled,
            Self::MfaRequiredBySite => ProblemCode::MfaRequiredBySite,
            Self::SelfActionForbidden(_) => ProblemCode::SelfActionForbidden,
            Self::SsoNotConfigured => ProblemCode::SsoNotConfigured,
            Self::SsoAlreadyConnected => ProblemCode::SsoAlreadyConnected,
            Self::SsoFailed { .. } => ProblemCode::SsoFailed,
            Self::MethodNotAllowed { .. } => ProblemCode::MethodNotAllowed,
            Self::PayloadTooLarge => ProblemCode::PayloadTooLarge,
            Self::TooManyAttempts { .. } => ProblemCode::TooManyAttempts,
            Self::EmailDeliveryFailed => ProblemCode::EmailDeliveryFailed,
            Self::ServiceUnavailable => ProblemCode::ServiceUnavailable,
            Self::Internal(_) => ProblemCode::InternalError,
        }
    }

    fn title(&self) -> &'static str {
        match self.status_code() {
            StatusCode::BAD_REQUEST => "Bad Request",
            StatusCode::UNAUTHORIZED => "Unauthorized",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::NOT_FOUND => "Not Found",
            StatusCode::METHOD_NOT_ALLOWED => "Method Not Allowed",
            StatusCode::CONFLICT => "Conflict",
            StatusCode::PAYLOAD_TOO_LARGE => "Payload Too Large",
            StatusCode::UNPROCESSABLE_ENTITY => "Unprocessable Content",
            StatusCode::TOO_MANY_REQUESTS => "Too Many Requests",
            StatusCode::SERVICE_UNAVAILABLE => "Service Unavailable",
            _ => "Internal Server Error",
        }
    }

    /// A 422 for one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// An unexpected error: a logged, opaque 500. Prefer [`Context::context_api`], which also
    /// says what was being done.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }

    /// An unexpected error and what was being done when it happened (`"reading the user's 2FA
    /// method"`): the log line reads `reading the user's 2FA method: <cause>: <its cause>`.
    pub fn internal_context<C>(context: C, e: impl Into<anyhow::Error>) -> Self
    where
        C: fmt::Display + Send + Sync + 'static,
    {
        Self::Internal(e.into().context(context))
    }

    /// The error as an operator needs it: for an internal error its whole context chain
    /// (`doing X: because Y: because Z`), for the others their message. Never sent to clients.
    pub fn report(&self) -> String {
        match self {
            Self::Internal(e) => format!("{e:#}"),
            other => other.to_string(),
        }
    }

    /// What was being done, added to an unexpected error; expected answers (404, 503, a wrong
    /// code…) are the client's or the outage's, not a bug, and pass unchanged.
    fn in_context<C>(self, context: C) -> Self
    where
        C: fmt::Display + Send + Sync + 'static,
    {
        match self {
            Self::Internal(e) => Self::Internal(e.context(context)),
            other => other,
        }
    }

    /// Any error as an answer: an [`ApiError`], a [`DbError`] or a diesel error keep their
    /// meaning (a missing row stays 404, an outage 503), anything else is unexpected (500).
    fn from_any(e: anyhow::Error) -> Self {
        let e = match e.downcast::<ApiError>() {
            Ok(api) => return api,
            Err(e) => e,
        };
        let e = match e.downcast::<DbError>() {
            Ok(db) => return Self::from(db),
            Err(e) => e,
        };
        match e.downcast::<diesel::result::Error>() {
            Ok(query) => Self::from(query),
            Err(e) => Self::Internal(e),
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        Problem {
            type_: format!("https://cloudcx.dev/problems/{}", self.code().replace('_', "-")),
            title: self.title().to_string(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: self.problem_code(),
            errors: match self {
                Self::Invalid(errors) => Some(errors.clone()),
                _ => None,
            },
            reason: match self {
                Self::SsoFailed { reason, .. } => Some((*reason).to_string()),
                _ => None,
            },
            return_to: match self {
                Self::SsoFailed { return_to, .. } => return_to.clone(),
                _ => None,
            },
            request_id: None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::SsoFailed { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid(_) | Self::WeakPassword(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::InvalidCredentials { in_session: true } | Self::InvalidCode { in_session: true } => {
                StatusCode::FORBIDDEN
            }
            Self::InvalidCredentials { .. }
            | Self::InvalidCode { .. }
            | Self::InvalidRefreshToken
            | Self::InvalidMfaToken
            | Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::ReauthRequired | Self::Forbidden(_) | Self::MfaSetupRequired | Self::PasskeysDisabled => {
                StatusCode::FORBIDDEN
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MfaAlreadyEnabled
            | Self::MfaNotEnabled
            | Self::MfaRequiredBySite
            | Self::SelfActionForbidden(_)
            | Self::SsoNotConfigured
            | Self::SsoAlreadyConnected => StatusCode::CONFLICT,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::EmailDeliveryFailed | Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // Inside the request's span: the line carries its route, method and request id. `{:#}`
        // prints the whole chain (`what was being done: the cause: its cause`) on one line.
        // An outage (503) is logged where its cause is known (`Db::run`, the conversions below).
        if let Self::Internal(e) = self {
            tracing::error!(error = %format_args!("{e:#}"), "unexpected error");
        }
        let mut builder = HttpResponse::build(self.status_code());
        builder.content_type("application/problem+json");
        builder.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            Self::TooManyAttempts { retry_after } => {
                builder.insert_header((header::RETRY_AFTER, retry_after.max(&1).to_string()));
            }
            Self::MethodNotAllowed { allow } => {
                builder.insert_header((header::ALLOW, allow.as_str()));
            }
            Self::Unauthenticated => {
                builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        builder.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Self::ServiceUnavailable
            }
            DbError::Query(q) => Self::from(q),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => Self::NotFound,
            // A connection dropped mid-query is an outage, not a bug.
            Error::DatabaseError(
                kind @ (DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand),
                info,
            ) => {
                tracing::warn!(error = %info.message(), ?kind, "database connection lost");
                Self::ServiceUnavailable
            }
            // PostgreSQL text cannot hold U+0000 (SQLite can): a NUL that reached a query came
            // from the request (a JSON string, a path or query parameter), so it is the client's
            // error, never a 500. Nothing was written: the statement failed.
            Error::DatabaseError(_, info) if is_nul_in_text(info.message()) => {
                Self::BadRequest("text must not contain NUL (U+0000) characters".into())
            }
            other => Self::Internal(other.into()),
        }
    }
}

/// Adds what was being done to an error on its way to becoming an answer:
/// `step().context_api("reading the user's 2FA method")?`. An unexpected error becomes a 500 whose
/// log line reads `reading the user's 2FA method: <cause>: …`; an error that already is an
/// answer (an [`ApiError`], a [`DbError`], a diesel `NotFound`) keeps its meaning.
pub trait Context<T> {
    /// Adds `context` (what was being done) to an unexpected error.
    fn context_api<C>(self, context: C) -> Result<T, ApiError>
    where
        C: fmt::Display + fmt::Debug + Send + Sync + 'static;

    /// Like [`Context::context_api`], the context built only when there is an error.
    fn with_context_api<C, F>(self, context: F) -> Result<T, ApiError>
    where
        C: fmt::Display + fmt::Debug + Send + Sync + 'static,
        F: FnOnce() -> C;
}

impl<T, E> Context<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn context_api<C>(self, context: C) -> Result<T, ApiError>
    where
        C: fmt::Display + fmt::Debug + Send + Sync + 'static,
    {
        self.map_err(|e| ApiError::from_any(e.into()).in_context(context))
    }

    fn with_context_api<C, F>(self, context: F) -> Result<T, ApiError>
    where
        C: fmt::Display + fmt::Debug + Send + Sync + 'static,
        F: FnOnce() -> C,
    {
        self.map_err(|e| ApiError::from_any(e.into()).in_context(context()))
    }
}

/// A value that must be there: its absence is a bug (a 500 saying what was missing).
impl<T> Context<T> for Option<T> {
    fn context_api<C>(self, context: C) -> Result<T, ApiError>
    where
        C: fmt::Display + fmt::Debug + Send + Sync + 'static,
    {
        self.ok_or_else(|| ApiError::Internal(anyhow::Error::msg(context)))
    }

    fn with_context_api<C, F>(self, context: F) -> Result<T, ApiError>
    where
        C: fmt::Display + fmt::Debug + Send + Sync + 'static,
        F: FnOnce() -> C,
    {
        self.ok_or_else(|| ApiError::Internal(anyhow::Error::msg(context())))
    }
}

/// PostgreSQL's complaint about a NUL in a text value.
fn is_nul_in_text(message: &str) -> bool {
    message.starts_with("invalid byte sequence for encoding") && message.trim_end().ends_with("0x00")
}

/// Maps actix's extractor failures (JSON, query, path) to problem answers.
pub mod extractors {
    use super::{ApiError, FieldError};
    use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
    use actix_web::HttpRequest;

    /// 64 KiB: every request body the API takes is far smaller.
    pub const BODY_LIMIT: usize = 64 * 1024;

    pub fn json(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
        let api = match &err {
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                ApiError::PayloadTooLarge
            }
            JsonPayloadError::ContentType => {
                ApiError::BadRequest("the body must be JSON (Content-Type: application/json)".into())
            }
            JsonPayloadError::Deserialize(e) if e.is_data() => {
                ApiError::Invalid(vec![field_error_from_serde(&e.to_string())])
            }
            JsonPayloadError::Deserialize(e) => ApiError::BadRequest(format!("malformed JSON: {e}")),
            JsonPayloadError::Payload(actix_web::error::PayloadError::Overflow) => ApiError::PayloadTooLarge,
            other => ApiError::BadRequest(other.to_string()),
        };
        api.into()
    }

    pub fn query(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
        ApiError::BadRequest(format!("bad query string: {err}")).into()
    }

    pub fn path(err: PathError, _req: &HttpRequest) -> actix_web::Error {
        ApiError::BadRequest(format!("bad path: {err}")).into()
    }

    /// serde says "missing field `email` at line 1 column 20": keep the field name, drop the position.
    pub fn field_error_from_serde(message: &str) -> FieldError {
        let names_a_field =
            ["missing field", "unknown field", "duplicate field"].iter().any(|p| message.starts_with(p));
        let field = if names_a_field { message.split('`').nth(1).unwrap_or("body") } else { "body" }.to_string();
        let clean = message.split(" at line ").next().unwrap_or(message).to_string();
        FieldError { field, message: clean }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One answer of every variant. The match below has no wildcard arm: a new variant does not
    /// compile until it is named there, which is where its sample belongs too.
    fn one_of_each_variant() -> Vec<ApiError> {
        let all = vec![
            ApiError::BadRequest(String::new()),
            ApiError::invalid("email", "required"),
            ApiError::WeakPassword(String::new()),
            ApiError::InvalidCredentials { in_session: false },
            ApiError::InvalidCredentials { in_session: true },
            ApiError::InvalidCode { in_session: false },
            ApiError::InvalidCode { in_session: true },
            ApiError::InvalidRefreshToken,
            ApiError::InvalidMfaToken,
            ApiError::Unauthenticated,
            ApiError::ReauthRequired,
            ApiError::Forbidden(String::new()),
            ApiError::PasskeysDisabled,
            ApiError::MfaSetupRequired,
            ApiError::NotFound,
            ApiError::MfaAlreadyEnabled,
            ApiError::MfaNotEnabled,
            ApiError::MfaRequiredBySite,
            ApiError::SelfActionForbidden(String::new()),
            ApiError::SsoNotConfigured,
            ApiError::SsoAlreadyConnected,
            ApiError::SsoFailed { reason: "state_mismatch", return_to: None },
            ApiError::MethodNotAllowed { allow: "GET".into() },
            ApiError::PayloadTooLarge,
            ApiError::TooManyAttempts { retry_after: 3 },
            ApiError::EmailDeliveryFailed,
            ApiError::ServiceUnavailable,
            ApiError::internal(anyhow::anyhow!("boom")),
        ];
        let mut named = std::collections::BTreeSet::new();
        for e in &all {
            named.insert(match e {
                ApiError::BadRequest(_) => "BadRequest",
                ApiError::Invalid(_) => "Invalid",
                ApiError::WeakPassword(_) => "WeakPassword",
                ApiError::InvalidCredentials { .. } => "InvalidCredentials",
                ApiError::InvalidCode { .. } => "InvalidCode",
                ApiError::InvalidRefreshToken => "InvalidRefreshToken",
                ApiError::InvalidMfaToken => "InvalidMfaToken",
                ApiError::Unauthenticated => "Unauthenticated",
                ApiError::ReauthRequired => "ReauthRequired",
                ApiError::Forbidden(_) => "Forbidden",
                ApiError::PasskeysDisabled => "PasskeysDisabled",
                ApiError::MfaSetupRequired => "MfaSetupRequired",
                ApiError::NotFound => "NotFound",
                ApiError::MfaAlreadyEnabled => "MfaAlreadyEnabled",
                ApiError::MfaNotEnabled => "MfaNotEnabled",
                ApiError::MfaRequiredBySite => "MfaRequiredBySite",
                ApiError::SelfActionForbidden(_) => "SelfActionForbidden",
                ApiError::SsoNotConfigured => "SsoNotConfigured",
                ApiError::SsoAlreadyConnected => "SsoAlreadyConnected",
                ApiError::SsoFailed { .. } => "SsoFailed",
                ApiError::MethodNotAllowed { .. } => "MethodNotAllowed",
                ApiError::PayloadTooLarge => "PayloadTooLarge",
                ApiError::TooManyAttempts { .. } => "TooManyAttempts",
                ApiError::EmailDeliveryFailed => "EmailDeliveryFailed",
                ApiError::ServiceUnavailable => "ServiceUnavailable",
                ApiError::Internal(_) => "Internal",
            });
        }
        // 26 arms above, 26 variants sampled (some twice, for their two statuses).
        assert_eq!(named.len(), 26, "a variant of ApiError has no sample: {named:?}");
        all
    }

    /// The `code` enum of the OpenAPI document (`ProblemCode`) lists exactly the codes the
    /// errors answer: none missing (a client's exhaustive switch would miss it), none that no
    /// error produces (a client would handle a code that never comes).
    #[test]
    fn the_problem_code_enum_lists_exactly_the_codes_the_errors_answer() {
        use std::collections::BTreeSet;
        use utoipa::PartialSchema;

        let schema = serde_json::to_value(ProblemCode::schema()).expect("schema");
        let listed: BTreeSet<String> = schema["enum"]
            .as_array()
            .expect("ProblemCode is an enum of strings")
            .iter()
            .map(|v| v.as_str().expect("a string").to_string())
            .collect();
        let mut answered = BTreeSet::new();
        for e in one_of_each_variant() {
            let body: serde_json::Value = serde_json::to_value(e.problem()).expect("problem");
            let code = body["code"].as_str().expect("a code").to_string();
            assert_eq!(code, e.code(), "the answer's code and ApiError::code agree");
            assert!(listed.contains(&code), "{e:?} answers `{code}`, which ProblemCode does not list");
            answered.insert(code);
        }
        let unused: Vec<_> = listed.difference(&answered).collect();
        assert!(unused.is_empty(), "ProblemCode lists codes no error answers: {unused:?}");
    }

    #[test]
    fn every_code_is_snake_case_and_has_a_status() {
        for e in one_of_each_variant() {
            assert!(e.code().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(e.status_code().is_client_error() || e.status_code().is_server_error());
        }
    }

    #[test]
    fn a_nul_in_postgres_text_is_the_clients_error() {
        assert!(is_nul_in_text("invalid byte sequence for encoding \"UTF8\": 0x00"));
        assert!(!is_nul_in_text("invalid byte sequence for encoding \"UTF8\": 0xc3 0x28"));
        assert!(!is_nul_in_text("duplicate key value violates unique constraint"));
    }

    #[test]
    fn context_is_added_to_unexpected_errors_and_printed_as_one_chain() {
        let root: Result<(), std::io::Error> = Err(std::io::Error::other("disk on fire"));
        let e = root.context_api("reading the key file").with_context_api(|| "signing the token").unwrap_err();
        assert_eq!(e.code(), "internal_error");
        assert_eq!(e.report(), "signing the token: reading the key file: disk on fire");
        // The client sees none of it.
        assert_eq!(e.problem().detail, "internal error");

        let missing: Option<u8> = None;
        assert_eq!(missing.context_api("the user's 2FA secret").unwrap_err().report(), "the user's 2FA secret");
        let e = ApiError::internal_context("decrypting the secret", anyhow::anyhow!("bad tag"));
        assert_eq!(e.report(), "decrypting the secret: bad tag");
    }

    #[test]
    fn expected_answers_keep_their_meaning_under_context() {
        let not_found: Result<(), diesel::result::Error> = Err(diesel::result::Error::NotFound);
        assert_eq!(not_found.context_api("reading the user").unwrap_err().code(), "not_found");
        let outage: Result<(), DbError> = Err(DbError::Unavailable("timed out".into()));
        assert_eq!(outage.context_api("reading the user").unwrap_err().code(), "service_unavailable");
        let answer: Result<(), ApiError> = Err(ApiError::InvalidCode { in_session: true });
        let e = answer.context_api("checking the code").unwrap_err();
        assert_eq!((e.code(), e.status_code()), ("invalid_code", StatusCode::FORBIDDEN));
        let query: Result<(), DbError> = Err(DbError::Query(diesel::result::Error::RollbackTransaction));
        let e = query.context_api("writing the session").unwrap_err();
        assert_eq!(e.code(), "internal_error");
        assert!(e.report().starts_with("writing the session: "), "{}", e.report());
    }

    /// The log line of a 500 says what was being done, why it failed, and which request it was.
    #[test]
    fn an_internal_error_is_logged_with_its_chain_and_the_request_id() {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("buffer").extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = crate::telemetry::subscriber(move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let span =
                tracing::info_span!("request", method = "POST", route = "/api/v1/auth/login", request_id = "req-42");
            let _in = span.enter();
            let failed: Result<(), std::io::Error> = Err(std::io::Error::other("connection reset"));
            let e = failed.context_api("reading the user's 2FA method").unwrap_err();
            let _ = e.error_response();
        });
        let logged = String::from_utf8(buffer.0.lock().expect("buffer").clone()).expect("utf-8");
        let line = logged.lines().find(|l| l.contains("unexpected error")).expect("an error line");
        let json: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(json["level"], "ERROR");
        assert_eq!(json["fields"]["error"], "reading the user's 2FA method: connection reset");
        assert_eq!(json["spans"][0]["request_id"], "req-42");
        assert_eq!(json["spans"][0]["route"], "/api/v1/auth/login");
    }

    #[test]
    fn serde_field_names_are_extracted() {
        let f = extractors::field_error_from_serde("missing field `email` at line 1 column 2");
        assert_eq!(f.field, "email");
        assert_eq!(f.message, "missing field `email`");
        assert_eq!(extractors::field_error_from_serde("invalid type: integer `5`, expected a string").field, "body");
    }
}
