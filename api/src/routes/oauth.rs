//! `/oauth/*`: client-credentials tokens (RFC 6749 §4.4) and introspection (RFC 7662) for other
//! CloudCX services. Errors here are RFC 6749 §5.2 JSON, not problem+json.

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::jwt::Claims;
use crate::auth::secrets::ct_eq;
use crate::auth::tokens::token_hash;
use crate::db::service_clients::ServiceClient;
use crate::db::DbError;
use crate::domain::Role;
use crate::error::ApiError;
use crate::revocation::check;
use crate::state::AppState;

/// Service access tokens live 10 minutes.
pub const SERVICE_TOKEN_SECS: i64 = 10 * 60;

/// RFC 6749 §5.2 error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    pub error: String,
    pub error_description: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, description: description.into() }
    }

    fn invalid_client() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed")
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status);
        resp.insert_header((header::CACHE_CONTROL, "no-store"));
        if self.error == "invalid_client" {
            resp.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"cloudcx\""));
        }
        resp.json(OAuthErrorBody { error: self.error.to_string(), error_description: self.description.clone() })
    }
}

impl From<ApiError> for OAuthError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::ServiceUnavailable => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "the service is unavailable")
            }
            ApiError::BadRequest(detail) => Self::invalid_request(detail),
            other => {
                tracing::error!(error = %other.report(), "oauth endpoint failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "internal error")
            }
        }
    }
}

impl From<DbError> for OAuthError {
    fn from(e: DbError) -> Self {
        ApiError::from(e).into()
    }
}

/// The form body, checked for its content type.
fn form<T: serde::de::DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, OAuthError> {
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    serde_urlencoded::from_bytes(body).map_err(|e| OAuthError::invalid_request(e.to_string()))
}

/// HTTP Basic client authentication against the stored secret hash.
async fn authenticate_client(req: &HttpRequest, state: &AppState) -> Result<Arc<ServiceClient>, OAuthError> {
    let value = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (scheme, encoded) = value.split_once(' ').ok_or_else(OAuthError::invalid_client)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(OAuthError::invalid_client)?;
    let (id, secret) = decoded.split_once(':').ok_or_else(OAuthError::invalid_client)?;
    if id.contains('\0') {
        return Err(OAuthError::invalid_client()); // no client has one (and PostgreSQL text cannot hold it)
    }
    let presented = token_hash(secret);
    let client = check::client(&state.db, id).await?;
    // Compare even for an unknown client, so timing says nothing.
    let stored = client.as_ref().map(|c| c.secret_hash.clone()).unwrap_or_else(|| token_hash("no such client"));
    match client {
        Some(c) if ct_eq(&stored, &presented) => Ok(c),
        _ => Err(OAuthError::invalid_client()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Only `client_credentials`.
    pub grant_type: Option<String>,
    /// Space-separated; default: all of the client's scopes.
    pub scope: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceTokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub scope: String,
}

/// Client-credentials token for another CloudCX service (HTTP Basic client authentication).
#[utoipa::path(
    post, path = "/oauth/token", tag = "services",
    security(("client_basic" = [])),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = ServiceTokenResponse),
        (status = 400, description = "`unsupported_grant_type`, `invalid_scope` or `invalid_request`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody),
    )
)]
pub async fn token(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, OAuthError> {
    let client = authenticate_client(&req, &state).await?;
    let form: TokenRequest = form(&req, &body)?;
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", "only client_credentials"))
        }
        None => return Err(OAuthError::invalid_request("grant_type is required")),
    }
    let granted: Vec<String> = client.scope_list().iter().map(|s| s.to_string()).collect();
    let scope = match form.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => granted.join(" "),
        Some(asked) => {
            let asked: Vec<&str> = asked.split_whitespace().collect();
            if asked.iter().any(|s| !granted.iter().any(|g| g == s)) {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "a scope the client does not have",
                ));
            }
            asked.join(" ")
        }
    };
    let now = state.now();
    let claims = Claims {
        iss: state.keys.issuer().to_string(),
        sub: format!("svc:{}", client.client_id),
        aud: state.keys.audience().to_string(),
        exp: now + SERVICE_TOKEN_SECS,
        iat: now,
        nbf: now,
        jti: uuid::Uuid::now_v7().to_string(),
        tid: client.tenant_id.clone(),
        role: None,
        auth_time: None,
        amr: Vec::new(),
        acr: None,
        sid: None,
        mfa_setup_required: None,
        client_id: Some(client.client_id.clone()),
        scope: Some(scope.clone()),
    };
    // Nothing is recorded: the token names its client, and dies with it (the revocation log).
    let access_token = state.keys.sign(&claims).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(ServiceTokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: SERVICE_TOKEN_SECS,
        scope,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IntrospectRequest {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
}

/// RFC 7662 answer: the claims of an active token, or exactly `{"active": false}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Role>)]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// How the user signed in: `pwd`; `sso` and the kind; `otp`, `email` or `backup_code` with
    /// `mfa` for a second factor presented; `trusted_device` when a remembered browser stood in
    /// for the second factor (not presented at this sign-in: `acr` is then the site's choice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}

impl IntrospectionResponse {
    fn inactive() -> Self {
        Self {
            active: false,
            sub: None,
            tid: None,
            role: None,
            scope: None,
            client_id: None,
            exp: None,
            iat: None,
            amr: None,
            acr: None,
            iss: None,
            aud: None,
            token_type: None,
        }
    }
}

/// Is this token live? (RFC 7662; scope `tokens:introspect`)
///
/// Sees a revocation at once on the instance that made it and within 1 s on every other
/// instance (docs/SCALING.md).
#[utoipa::path(
    post, path = "/oauth/introspect", tag = "services",
    security(("client_basic" = [])),
    request_body(content = IntrospectRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = IntrospectionResponse),
        (status = 400, description = "`invalid_request`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody),
        (status = 403, description = "`insufficient_scope`: the client lacks `tokens:introspect`", body = OAuthErrorBody),
    )
)]
pub async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let client = authenticate_client(&req, &state).await?;
    if !client.scope_list().contains(&"tokens:introspect") {
        return Err(OAuthError::new(StatusCode::FORBIDDEN, "insufficient_scope", "the client lacks tokens:introspect"));
    }
    let form: IntrospectRequest = form(&req, &body)?;
    let token = form.token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let answer = match state.keys.verify(&token, state.now()) {
        Err(_) => IntrospectionResponse::inactive(),
        Ok(claims) if claims.tid != client.tenant_id => IntrospectionResponse::inactive(),
        // A user's token always names its session, and dies with it.
        Ok(claims) if claims.client_id.is_none() && claims.sid.is_none() => IntrospectionResponse::inactive(),
        Ok(claims) => {
            // `Some(role)` while the token is live: the role the user holds now (a role change
            // ends the user's sessions anyway; this answers from the account, never from the
            // claim, whatever happened in between), none for a service client's token.
            let live: Option<Option<String>> = match (&claims.client_id, &claims.sid) {
                (Some(id), _) => {
                    check::client(&state.db, id).await?.filter(|c| c.tenant_id == claims.tid).map(|_| None)
                }
                (None, Some(sid)) => check::account(&state.db, sid, &claims.sub, &claims.tid)
                    .await?
                    .map(|a| Some(a.user.user.role.clone())),
                (None, None) => None,
            };
            match live {
                Some(role) => IntrospectionResponse {
                    active: true,
                    sub: Some(claims.sub),
                    tid: Some(claims.tid),
                    role,
                    scope: claims.scope,
                    client_id: claims.client_id,
                    exp: Some(claims.exp),
                    iat: Some(claims.iat),
                    amr: (!claims.amr.is_empty()).then_some(claims.amr),
                    acr: claims.acr,
                    iss: Some(claims.iss),
                    aud: Some(claims.aud),
                    token_type: Some("Bearer".into()),
                },
                None => IntrospectionResponse::inactive(),
            }
        }
    };
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(answer))
}
