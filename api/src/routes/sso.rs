//! Single sign-on: the login page's buttons, authorize → provider → callback → complete, the
//! profile's connections, connecting from the login page, and the admin's applications.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::oidc::{self, Expectation, Identity, OidcError};
use crate::auth::secrets::ct_eq;
use crate::auth::session::{self, Authentication};
use crate::auth::signin::lifetimes;
use crate::auth::tokens::{looks_like_token, random_token, token_hash};
use crate::clock::rfc3339;
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::sso::{self, Attempt, Connection, LinkToken, Provider, SsoResult};
use crate::db::users::User;
use crate::db::{mfa, tenants, users, write_tx, AnyConnection};
use crate::error::{ApiError, FieldError, Problem};
use crate::notices;
use crate::routes::extract::{self, AdminUser, AuthUser};
use crate::routes::views::{refresh_cookie, TokenDelivery, AUTH_COOKIE_PATH};
use crate::state::AppState;

pub const SSO_COOKIE: &str = "cx_sso";
const ATTEMPT_SECS: i64 = 600;
const RESULT_SECS: i64 = 120;
const LINK_SECS: i64 = 600;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderSummary {
    pub id: String,
    /// `google`, `microsoft` or `oidc`.
    pub kind: String,
    pub display_name: String,
}

impl From<&Provider> for ProviderSummary {
    fn from(p: &Provider) -> Self {
        Self { id: p.id.clone(), kind: p.kind.clone(), display_name: p.display_name.clone() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderList {
    pub providers: Vec<ProviderSummary>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProvidersQuery {
    /// The site's slug.
    pub tenant: String,
}

/// The site's enabled SSO applications, for the "Sign in with …" buttons. An unknown site gets none.
#[utoipa::path(
    get, path = "/api/v1/auth/sso/providers", tag = "single sign-on",
    params(ProvidersQuery),
    responses(
        (status = 200, body = ProviderList),
        (status = 400, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn providers(
    state: web::Data<AppState>,
    query: web::Query<ProvidersQuery>,
) -> Result<HttpResponse, ApiError> {
    let slug = query.tenant.trim().to_ascii_lowercase();
    let list = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            Ok(match tenants::find_by_slug(conn, &slug)? {
                Some(t) => sso::providers(conn, &t.id, true)?,
                None => Vec::new(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(ProviderList { providers: list.iter().map(Into::into).collect() }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Login,
    Connect,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    pub intent: Intent,
    /// A path on this origin to return to afterwards.
    #[serde(default)]
    pub return_to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizeResponse {
    pub authorization_url: String,
}

/// Random bytes in an SSO `state`, `result` and `link_token` (128 bits, base64url: 22 characters).
pub const SSO_TOKEN_BYTES: usize = 16;

/// Only a path on our own origin: no scheme, no host, no `//`, no backslash.
pub fn valid_return_to(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(|c| c.is_control() || c.is_whitespace())
        && path.len() <= 512
}

fn sso_cookie<'a>(state: &AppState, value: String, max_age: i64) -> Cookie<'a> {
    Cookie::build(SSO_COOKIE, value)
        .http_only(true)
        .same_site(SameSite::Lax)
        .path(AUTH_COOKIE_PATH)
        .secure(state.cookies_secure())
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

fn binding_hash(req: &HttpRequest) -> String {
    binding_hash_of(req.cookie(SSO_COOKIE).map(|c| c.value().to_string()).as_deref())
}

fn binding_hash_of(sso_cookie: Option<&str>) -> String {
    token_hash(&format!("sso-binding\n{}", sso_cookie.unwrap_or_default()))
}

fn redirect_uri(state: &AppState) -> String {
    format!("{}/api/v1/auth/sso/callback", state.public_url)
}

fn sso_aad(id: &str) -> Vec<u8> {
    format!("sso-provider\n{id}").into_bytes()
}

/// Start an SSO attempt: the provider's URL, and the `cx_sso` cookie binding it to this browser.
#[utoipa::path(
    post, path = "/api/v1/auth/sso/{provider_id}/authorize", tag = "single sign-on",
    params(("provider_id" = String, Path)),
    request_body = AuthorizeRequest,
    responses(
        (status = 200, body = AuthorizeResponse),
        (status = 400, description = "`sso_failed` (`provider_error`): the provider cannot be reached", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated` (connect needs a bearer token)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required` (connect)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`sso_not_configured` or `sso_already_connected`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (e.g. a `return_to` off our origin)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn authorize(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<AuthorizeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if let Some(r) = &body.return_to {
        if !valid_return_to(r) {
            return Err(ApiError::invalid("return_to", "a path on this site, such as /settings"));
        }
    }
    let provider_id = path.into_inner();
    let id = provider_id.clone();
    let provider = state
        .db
        .run(move |conn| sso::find_provider(conn, &id).map_err(ApiError::from))
        .await?
        .filter(|p| p.enabled)
        .ok_or(ApiError::SsoNotConfigured)?;
    let now = state.now();
    let user_id = match body.intent {
        Intent::Login => None,
        Intent::Connect => {
            let token = extract::bearer(&req).ok_or(ApiError::Unauthenticated)?;
            let user = extract::authenticate(&state, &token, req.path()).await?;
            if user.user.tenant_id != provider.tenant_id {
                return Err(ApiError::SsoNotConfigured);
            }
            user.require_fresh(now)?;
            let (uid, pid) = (user.user.id.clone(), provider.id.clone());
            let has = state
                .db
                .run(move |conn| sso::connections_of(conn, &uid).map_err(ApiError::from))
                .await?
                .iter()
                .any(|(c, _)| c.provider_id == pid);
            if has {
                return Err(ApiError::SsoAlreadyConnected);
            }
            Some(user.user.id)
        }
    };
    let discovered = state
        .oidc
        .discover(&provider.issuer, false)
        .await
        .map_err(|e| ApiError::SsoFailed { reason: e.reason(), return_to: body.return_to.clone() })?;
    let (stoken, nonce, verifier, binding) =
        (random_token(SSO_TOKEN_BYTES), random_token(16), random_token(32), random_token(16));
    let url = oidc::authorization_url(
        &discovered.doc,
        &provider.client_id,
        &redirect_uri(&state),
        &stoken,
        &nonce,
        &verifier,
    );
    let attempt = Attempt {
        state_hash: token_hash(&stoken),
        provider_id: provider.id.clone(),
        tenant_id: provider.tenant_id.clone(),
        intent: match body.intent {
            Intent::Login => "login".into(),
            Intent::Connect => "connect".into(),
        },
        user_id,
        binding_hash: token_hash(&format!("sso-binding\n{binding}")),
        nonce,
        pkce_verifier: state.data_key.seal(verifier.as_bytes(), b"pkce"),
        return_to: body.return_to,
        created_at: now,
        expires_at: now + ATTEMPT_SECS,
        used_at: None,
    };
    state.db.run(move |conn| sso::insert_attempt(conn, &attempt).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(sso_cookie(&state, binding, ATTEMPT_SECS))
        .json(AuthorizeResponse { authorization_url: url }))
}

/// What the callback found, kept for `/sso/complete`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Outcome {
    Failed { reason: String },
    Login { provider_id: String, identity: Identity },
    Connected { connection_id: String, user_id: String },
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// The provider's redirect. Always answers 302 to `{AUTH_PUBLIC_URL}/sso/complete?result=…`; no
/// token ever travels in a URL.
#[utoipa::path(
    get, path = "/api/v1/auth/sso/callback", tag = "single sign-on",
    params(CallbackQuery),
    responses((status = 302, description = "To the app's `/sso/complete?result=…`"))
)]
pub async fn callback(req: HttpRequest, state: web::Data<AppState>, query: web::Query<CallbackQuery>) -> HttpResponse {
    let binding = binding_hash(&req);
    let origin = extract::origin(&req, &state);
    let (outcome, return_to) = match run_callback(&state, &binding, query.into_inner(), &origin).await {
        Ok(found) => found,
        Err(reason) => (Outcome::Failed { reason: reason.to_string() }, None),
    };
    let result = random_token(SSO_TOKEN_BYTES);
    let now = state.now();
    let row = SsoResult {
        result_hash: token_hash(&result),
        binding_hash: binding,
        intent: match &outcome {
            Outcome::Connected { .. } => "connect".into(),
            _ => "login".into(),
        },
        outcome: serde_json::to_string(&outcome).unwrap_or_default(),
        return_to,
        created_at: now,
        expires_at: now + RESULT_SECS,
        used_at: None,
    };
    if let Outcome::Failed { reason } = &outcome {
        tracing::info!(reason = %reason, "sso attempt failed");
    }
    let stored = state.db.run(move |conn| sso::insert_result(conn, &row).map_err(ApiError::from)).await;
    let location = match stored {
        Ok(()) => format!("{}/sso/complete?result={result}", state.public_url),
        Err(_) => format!("{}/sso/complete?result=unavailable", state.public_url),
    };
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

async fn run_callback(
    state: &AppState,
    binding: &str,
    q: CallbackQuery,
    origin: &Origin,
) -> Result<(Outcome, Option<String>), &'static str> {
    // A value we could not have issued is refused before any database work.
    let stoken = q.state.filter(|s| looks_like_token(s, SSO_TOKEN_BYTES)).ok_or("state_invalid")?;
    let (sh, b, now) = (token_hash(&stoken), binding.to_string(), state.now());
    let attempt = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            write_tx(conn, |conn| {
                let Some(a) = sso::find_attempt(conn, &sh)? else { return Ok(Err("state_invalid")) };
                // Single use, whatever happens next; then bound to this browser and 10 minutes.
                if !sso::use_attempt(conn, &sh, now)? || !ct_eq(&a.binding_hash, &b) {
                    return Ok(Err("state_invalid"));
                }
                if a.expires_at <= now {
                    return Ok(Err("expired"));
                }
                Ok(Ok(a))
            })
        })
        .await
        .map_err(|_| "provider_error")??;
    let return_to = attempt.return_to.clone();
    let fail = |reason: &'static str| Ok((Outcome::Failed { reason: reason.into() }, return_to.clone()));
    if q.error.is_some() {
        return fail("provider_error");
    }
    let Some(code) = q.code else { return fail("provider_error") };
    let pid = attempt.provider_id.clone();
    let Some(provider) = state
        .db
        .run(move |conn| sso::find_provider(conn, &pid).map_err(ApiError::from))
        .await
        .map_err(|_| "provider_error")?
        .filter(|p| p.enabled)
    else {
        return fail("provider_error");
    };
    let identity = match exchange_and_validate(state, &provider, &attempt, &code, q.iss.as_deref()).await {
        Ok(identity) => identity,
        Err(e) => {
            tracing::info!(provider = %provider.id, error = %e, "sso token rejected");
            audit_failure(state, &provider, attempt.user_id.as_deref(), e.reason(), origin).await;
            return fail(e.reason());
        }
    };
    if attempt.intent == "login" {
        return Ok((Outcome::Login { provider_id: provider.id.clone(), identity }, return_to));
    }
    // Connect: the attempt carries the signed-in user who started it.
    let Some(user_id) = attempt.user_id.clone() else { return fail("state_invalid") };
    let (st, o) = (state.clone(), origin.clone());
    let connected = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let user = users::find(conn, &user_id)?.ok_or(ApiError::NotFound)?;
                connect(conn, &st, &user, &provider, &identity, &o, now)
            })
        })
        .await;
    match connected {
        Ok(id) => {
            Ok((Outcome::Connected { connection_id: id, user_id: attempt.user_id.unwrap_or_default() }, return_to))
        }
        Err(ApiError::SsoAlreadyConnected) => fail("already_connected"),
        Err(_) => fail("provider_error"),
    }
}

async fn exchange_and_validate(
    state: &AppState,
    provider: &Provider,
    attempt: &Attempt,
    code: &str,
    iss: Option<&str>,
) -> Result<Identity, OidcError> {
    let discovered = state.oidc.discover(&provider.issuer, false).await?;
    // RFC 9207: an `iss` on the redirect must be this application's issuer (mix-up defence).
    if let Some(iss) = iss {
        if !discovered.doc.issuer.contains("{tenantid}") && iss != discovered.doc.issuer {
            return Err(OidcError::Token("the response comes from another issuer".into()));
        }
    }
    let secret = state
        .data_key
        .open(&provider.client_secret_sealed, &sso_aad(&provider.id))
        .map_err(|_| OidcError::Provider("the client secret cannot be read with this AUTH_DATA_KEY".into()))?;
    let verifier = state
        .data_key
        .open(&attempt.pkce_verifier, b"pkce")
        .map_err(|_| OidcError::Provider("attempt unreadable".into()))?;
    let raw = state
        .oidc
        .exchange(
            &discovered.doc,
            &provider.client_id,
            &String::from_utf8_lossy(&secret),
            code,
            &redirect_uri(state),
            &String::from_utf8_lossy(&verifier),
        )
        .await?;
    let allowed: Vec<String> = provider.allowed_tenants.split_whitespace().map(str::to_string).collect();
    let expect = Expectation {
        client_id: &provider.client_id,
        nonce: &attempt.nonce,
        microsoft: provider.kind == "microsoft",
        allowed_tenants: &allowed,
        now: state.clock.now(),
    };
    state.oidc.validate(&provider.issuer, &raw, &expect).await
}

async fn audit_failure(state: &AppState, provider: &Provider, user_id: Option<&str>, reason: &str, origin: &Origin) {
    let (tid, pid, uid, reason, origin, now) = (
        provider.tenant_id.clone(),
        provider.id.clone(),
        user_id.map(str::to_string),
        reason.to_string(),
        origin.clone(),
        state.now(),
    );
    let _ = state
        .db
        .run(move |conn| {
            audit::record(
                conn,
                &origin,
                now,
                NewEvent {
                    tenant_id: Some(&tid),
                    kind: "sso_failed",
                    user_id: uid.as_deref(),
                    actor_id: uid.as_deref(),
                    details: serde_json::json!({ "provider_id": pid, "reason": reason }),
                },
            )
            .map_err(ApiError::from)
        })
        .await;
}

/// Links an external account to `user` inside the caller's transaction; audits and notifies.
fn connect(
    conn: &mut AnyConnection,
    state: &AppState,
    user: &User,
    provider: &Provider,
    identity: &Identity,
    origin: &Origin,
    now: i64,
) -> Result<String, ApiError> {
    if user.tenant_id != provider.tenant_id {
        return Err(ApiError::SsoNotConfigured);
    }
    let connection = Connection {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        provider_id: provider.id.clone(),
        issuer: identity.issuer.clone(),
        subject: identity.subject.clone(),
        email: identity.email.clone(),
        connected_at: now,
    };
    if !sso::insert_connection(conn, &connection)? {
        return Err(ApiError::SsoAlreadyConnected);
    }
    audit::record(
        conn,
        origin,
        now,
        NewEvent {
            tenant_id: Some(&user.tenant_id),
            kind: "sso_connected",
            user_id: Some(&user.id),
            actor_id: Some(&user.id),
            details: serde_json::json!({ "provider_id": provider.id, "kind": provider.kind, "email": identity.email }),
        },
    )?;
    notices::queue_text(
        conn,
        &state.data_key,
        &user.email,
        &format!("{} account connected", provider.display_name),
        &format!(
            "The {} account {} was connected to your CloudCX account. If this was not you, disconnect it in Security Settings and contact your administrator.",
            provider.display_name,
            identity.email.as_deref().unwrap_or("(no e-mail)")
        ),
        now,
    )?;
    Ok(connection.id)
}

/// Checks a `link_token` before a password sign-in: this site, this browser, live.
pub async fn check_link_token(
    state: &AppState,
    sso_cookie: Option<&str>,
    token: &str,
    tenant_slug: &str,
) -> Result<String, ApiError> {
    if !looks_like_token(token, SSO_TOKEN_BYTES) {
        return Err(ApiError::SsoFailed { reason: "state_invalid", return_to: None });
    }
    let (hash, binding, slug, now) =
        (token_hash(token), binding_hash_of(sso_cookie), tenant_slug.to_string(), state.now());
    let h = hash.clone();
    let found = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let link = sso::find_link_token(conn, &h)?;
            let tenant = tenants::find_by_slug(conn, &slug)?;
            Ok((link, tenant))
        })
        .await?;
    match found {
        (Some(link), Some(tenant)) if link.tenant_id == tenant.id && ct_eq(&link.binding_hash, &binding) => {
            if link.used_at.is_some() || link.expires_at <= now {
                Err(ApiError::SsoFailed { reason: "expired", return_to: None })
            } else {
                Ok(hash)
            }
        }
        _ => Err(ApiError::SsoFailed { reason: "state_invalid", return_to: None }),
    }
}

/// Redeems a link token at the end of a full sign-in of `user`: the external account is connected.
pub fn redeem_link(
    conn: &mut AnyConnection,
    state: &AppState,
    user: &User,
    link_hash: &str,
    origin: &Origin,
    now: i64,
) -> Result<(), ApiError> {
    let link = sso::find_link_token(conn, link_hash)?
        .filter(|l| l.tenant_id == user.tenant_id && l.expires_at > now)
        .ok_or(ApiError::SsoFailed { reason: "expired", return_to: None })?;
    if !sso::use_link_token(conn, link_hash, now)? {
        return Err(ApiError::SsoFailed { reason: "expired", return_to: None });
    }
    let provider = sso::find_provider(conn, &link.provider_id)?.ok_or(ApiError::SsoNotConfigured)?;
    let identity = Identity {
        issuer: link.issuer,
        subject: link.subject,
        email: link.email,
        email_verified: false,
        amr: Vec::new(),
    };
    connect(conn, state, user, &provider, &identity, origin, now).map(|_| ())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    pub result: String,
    #[serde(default)]
    pub token_delivery: Option<TokenDelivery>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    pub id: String,
    pub provider_id: String,
    pub kind: String,
    /// Shown only; accounts are never matched by e-mail.
    pub email: Option<String>,
    pub connected_at: String,
}

/// What `/sso/complete` answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CompleteResponse {
    Authenticated {
        access_token: String,
        token_type: String,
        expires_in: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        refresh_token: Option<String>,
        return_to: Option<String>,
    },
    MfaRequired {
        mfa_token: String,
        method: String,
        expires_in: i64,
        return_to: Option<String>,
    },
    /// No CloudCX account is connected to this external account: sign in with the password and
    /// this `link_token` to connect it.
    NotConnected {
        link_token: String,
        provider: ProviderSummary,
        email: Option<String>,
        return_to: Option<String>,
    },
    Connected {
        connection: ConnectionView,
        return_to: Option<String>,
    },
}

enum Completed {
    Signed(session::Issued),
    Challenge { user: User, method: String, first_factor: String },
    NotConnected(String, Provider, Option<String>),
    Connected(ConnectionView),
}

/// Redeem the callback's `result`.
#[utoipa::path(
    post, path = "/api/v1/auth/sso/complete", tag = "single sign-on",
    request_body = CompleteRequest,
    responses(
        (status = 200, body = CompleteResponse),
        (status = 400, description = "`sso_failed` with `reason`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated` (connect) or `invalid_credentials` (a disabled user)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`sso_already_connected`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn complete(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CompleteRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if !looks_like_token(&body.result, SSO_TOKEN_BYTES) {
        return Err(ApiError::SsoFailed { reason: "state_invalid", return_to: None });
    }
    let (hash, binding, now) = (token_hash(&body.result), binding_hash(&req), state.now());
    let row = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            write_tx(conn, |conn| {
                let Some(r) = sso::find_result(conn, &hash)? else { return Ok(Err("state_invalid")) };
                if !ct_eq(&r.binding_hash, &binding) {
                    return Ok(Err("state_invalid"));
                }
                if r.used_at.is_some() || r.expires_at <= now || !sso::use_result(conn, &hash, now)? {
                    return Ok(Err("expired"));
                }
                Ok(Ok(r))
            })
        })
        .await?
        .map_err(|reason| ApiError::SsoFailed { reason, return_to: None })?;
    let return_to = row.return_to.clone();
    let outcome: Outcome = serde_json::from_str(&row.outcome).map_err(ApiError::internal)?;
    let origin = extract::origin(&req, &state);
    let completed = match outcome {
        Outcome::Failed { reason } if reason == "already_connected" => return Err(ApiError::SsoAlreadyConnected),
        Outcome::Failed { reason } => {
            let reason = match reason.as_str() {
                "state_invalid" => "state_invalid",
                "expired" => "expired",
                "token_invalid" => "token_invalid",
                "tenant_not_allowed" => "tenant_not_allowed",
                _ => "provider_error",
            };
            return Err(ApiError::SsoFailed { reason, return_to });
        }
        Outcome::Connected { connection_id, user_id } => {
            let token = extract::bearer(&req).ok_or(ApiError::Unauthenticated)?;
            let user = extract::authenticate(&state, &token, req.path()).await?;
            if user.user.id != user_id {
                return Err(ApiError::Forbidden("this attempt belongs to another user".into()));
            }
            let uid = user.user.id.clone();
            let view = state
                .db
                .run(move |conn| -> Result<_, ApiError> {
                    let (c, kind) = sso::connections_of(conn, &uid)?
                        .into_iter()
                        .find(|(c, _)| c.id == connection_id)
                        .ok_or(ApiError::NotFound)?;
                    Ok(connection_view(c, kind))
                })
                .await?;
            Completed::Connected(view)
        }
        Outcome::Login { provider_id, identity } => {
            let (st, o, b) = (state.get_ref().clone(), origin.clone(), binding_hash(&req));
            state
                .db
                .run(move |conn| write_tx(conn, |conn| sso_sign_in(conn, &st, &provider_id, identity, &b, &o, now)))
                .await?
        }
    };
    let delivery = body.token_delivery.unwrap_or_default();
    let mut resp = HttpResponse::Ok();
    resp.insert_header((header::CACHE_CONTROL, "no-store"));
    let answer = match completed {
        Completed::Signed(issued) => {
            state.metrics.signin("success");
            let refresh_token = match delivery {
                TokenDelivery::Body => Some(issued.refresh_token),
                TokenDelivery::Cookie => {
                    resp.cookie(refresh_cookie(&state, issued.refresh_token, issued.refresh_max_age));
                    None
                }
            };
            CompleteResponse::Authenticated {
                access_token: issued.access_token,
                token_type: "Bearer".into(),
                expires_in: issued.expires_in,
                refresh_token,
                return_to,
            }
        }
        Completed::Challenge { user, method, first_factor } => {
            let uid = user.tenant_id.clone();
            let tenant = state
                .db
                .run(move |conn| tenants::find(conn, &uid).map_err(ApiError::from))
                .await?
                .ok_or(ApiError::NotFound)?;
            let started = crate::auth::signin::challenge::start(
                &state,
                &user,
                &tenant,
                &method,
                None,
                &first_factor,
                None,
                origin,
            )
            .await?;
            let (token, method) = (started.mfa_token, started.method);
            state.metrics.signin("mfa_required");
            CompleteResponse::MfaRequired {
                mfa_token: token,
                method,
                expires_in: crate::auth::mfa::MFA_TOKEN_SECS,
                return_to,
            }
        }
        Completed::NotConnected(link_token, provider, email) => {
            CompleteResponse::NotConnected { link_token, provider: (&provider).into(), email, return_to }
        }
        Completed::Connected(connection) => CompleteResponse::Connected { connection, return_to },
    };
    Ok(resp.json(answer))
}

fn sso_sign_in(
    conn: &mut AnyConnection,
    state: &AppState,
    provider_id: &str,
    identity: Identity,
    binding: &str,
    origin: &Origin,
    now: i64,
) -> Result<Completed, ApiError> {
    let provider = sso::find_provider(conn, provider_id)?
        .filter(|p| p.enabled)
        .ok_or(ApiError::SsoFailed { reason: "provider_error", return_to: None })?;
    let connection = sso::find_connection_by_subject(conn, &provider.id, &identity.issuer, &identity.subject)?;
    let Some(connection) = connection else {
        let link_token = random_token(SSO_TOKEN_BYTES);
        sso::insert_link_token(
            conn,
            &LinkToken {
                token_hash: token_hash(&link_token),
                tenant_id: provider.tenant_id.clone(),
                provider_id: provider.id.clone(),
                issuer: identity.issuer,
                subject: identity.subject,
                email: identity.email.clone(),
                binding_hash: binding.to_string(),
                expires_at: now + LINK_SECS,
                used_at: None,
            },
        )?;
        return Ok(Completed::NotConnected(link_token, provider, identity.email));
    };
    let user = users::find(conn, &connection.user_id)?
        .filter(|u| !u.disabled)
        .ok_or(ApiError::InvalidCredentials { in_session: false })?;
    let first_factor = format!("sso {}", provider.kind);
    let idp_mfa = provider.trust_idp_mfa && identity.amr.iter().any(|a| a == "mfa");
    if let Some(method) = mfa::find(conn, &user.id)? {
        if !idp_mfa {
            return Ok(Completed::Challenge { user, method: method.method, first_factor });
        }
    }
    let mut amr = vec!["sso".to_string(), provider.kind.clone()];
    if idp_mfa {
        amr.push("mfa".into());
    }
    let how = Authentication { amr, acr: if idp_mfa { "aal2" } else { "aal1" } };
    let details = serde_json::json!({ "method": "sso", "provider_id": provider.id });
    let issued =
        session::sign_in(conn, &state.data_key, &state.keys, lifetimes(state), &user, &how, origin, now, details)?;
    Ok(Completed::Signed(issued))
}

fn connection_view(c: Connection, kind: String) -> ConnectionView {
    ConnectionView { id: c.id, provider_id: c.provider_id, kind, email: c.email, connected_at: rfc3339(c.connected_at) }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MySso {
    /// The site's enabled applications; empty: "You haven't added any application. Please contact your system admin."
    pub providers: Vec<ProviderSummary>,
    pub connections: Vec<ConnectionView>,
}

/// The site's applications and the user's connected accounts.
#[utoipa::path(
    get, path = "/api/v1/me/sso", tag = "single sign-on",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MySso),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn my_sso(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let (tid, uid) = (user.user.tenant_id.clone(), user.user.id.clone());
    let (providers, connections) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            Ok((sso::providers(conn, &tid, true)?, sso::connections_of(conn, &uid)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(MySso {
        providers: providers.iter().map(Into::into).collect(),
        connections: connections.into_iter().map(|(c, k)| connection_view(c, k)).collect(),
    }))
}

/// Disconnect an external account.
#[utoipa::path(
    delete, path = "/api/v1/me/sso/connections/{id}", tag = "single sign-on",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Disconnected"),
        (status = 403, description = "`reauth_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disconnect(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    user.require_fresh(now)?;
    let (id, origin, key) = (path.into_inner(), extract::origin(&req, &state), state.data_key.clone());
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let gone = sso::delete_connection(conn, &user.user.id, &id)?.ok_or(ApiError::NotFound)?;
                let provider = sso::find_provider(conn, &gone.provider_id)?;
                let name = provider.map(|p| p.display_name).unwrap_or_else(|| "SSO".into());
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent {
                        tenant_id: Some(&user.user.tenant_id),
                        kind: "sso_disconnected",
                        user_id: Some(&user.user.id),
                        actor_id: Some(&user.user.id),
                        details: serde_json::json!({ "provider_id": gone.provider_id, "connection_id": gone.id }),
                    },
                )?;
                notices::queue_text(
                    conn,
                    &key,
                    &user.user.email,
                    &format!("{name} account disconnected"),
                    &format!(
                        "The {name} account {} was disconnected from your CloudCX account.",
                        gone.email.as_deref().unwrap_or("")
                    ),
                    now,
                )?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}

// ---- Administration of the site's applications ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    /// `google`, `microsoft` or `oidc` (on create).
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    /// Write-only.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Discovery base; defaults per kind.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Microsoft: a tenant GUID, or `organizations` / `common` with `allowed_tenants`.
    #[serde(default)]
    pub microsoft_tenant: Option<String>,
    #[serde(default)]
    pub allowed_tenants: Option<Vec<String>>,
    #[serde(default)]
    pub trust_idp_mfa: Option<bool>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    pub id: String,
    pub kind: String,
    pub display_name: String,
    pub client_id: String,
    pub issuer: String,
    pub microsoft_tenant: Option<String>,
    pub allowed_tenants: Vec<String>,
    pub trust_idp_mfa: bool,
    pub enabled: bool,
    /// Register this at the provider.
    pub redirect_uri: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderViewList {
    pub providers: Vec<ProviderView>,
}

fn provider_view(state: &AppState, p: Provider) -> ProviderView {
    ProviderView {
        allowed_tenants: p.allowed_tenants.split_whitespace().map(str::to_string).collect(),
        id: p.id,
        kind: p.kind,
        display_name: p.display_name,
        client_id: p.client_id,
        issuer: p.issuer,
        microsoft_tenant: p.microsoft_tenant,
        trust_idp_mfa: p.trust_idp_mfa,
        enabled: p.enabled,
        redirect_uri: redirect_uri(state),
        created_at: rfc3339(p.created_at),
        updated_at: rfc3339(p.updated_at),
    }
}

/// Applies `input` to `p` and checks the result; the secret is sealed here.
fn apply(state: &AppState, p: &mut Provider, input: ProviderInput, creating: bool) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if let Some(kind) = input.kind {
        if !creating && kind != p.kind {
            errors.push(FieldError::new("kind", "the kind cannot change"));
        }
        p.kind = kind;
    }
    if !["google", "microsoft", "oidc"].contains(&p.kind.as_str()) {
        errors.push(FieldError::new("kind", "google, microsoft or oidc"));
    }
    if let Some(n) = input.display_name {
        p.display_name = n.trim().to_string();
    }
    if p.display_name.is_empty() {
        p.display_name = match p.kind.as_str() {
            "google" => "Google".into(),
            "microsoft" => "Office 365".into(),
            _ => String::new(),
        };
    }
    if p.display_name.is_empty() || p.display_name.chars().count() > 60 {
        errors.push(FieldError::new("display_name", "1 to 60 characters"));
    }
    if let Some(c) = input.client_id {
        p.client_id = c.trim().to_string();
    }
    if p.client_id.is_empty() || p.client_id.len() > 300 {
        errors.push(FieldError::new("client_id", "required"));
    }
    match input.client_secret {
        Some(s) if !s.is_empty() && s.len() <= 500 => {
            p.client_secret_sealed = state.data_key.seal(s.as_bytes(), &sso_aad(&p.id))
        }
        Some(_) => errors.push(FieldError::new("client_secret", "1 to 500 characters")),
        None if creating => errors.push(FieldError::new("client_secret", "required")),
        None => {}
    }
    if let Some(t) = input.microsoft_tenant {
        p.microsoft_tenant = Some(t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty());
    }
    if let Some(list) = input.allowed_tenants {
        if list.iter().any(|t| !oidc::is_guid(t)) {
            errors.push(FieldError::new("allowed_tenants", "tenant ids are GUIDs"));
        }
        p.allowed_tenants = list.iter().map(|t| t.to_ascii_lowercase()).collect::<Vec<_>>().join(" ");
    }
    let allow_insecure = state.config.allow_insecure_issuers;
    let default_issuer = match p.kind.as_str() {
        "google" => Some("https://accounts.google.com".to_string()),
        "microsoft" => p.microsoft_tenant.as_ref().map(|t| format!("https://login.microsoftonline.com/{t}/v2.0")),
        _ => None,
    };
    match input.issuer.map(|i| i.trim().trim_end_matches('/').to_string()).filter(|i| !i.is_empty()) {
        Some(i) => {
            // Google is only ever accounts.google.com, except where test issuers are allowed.
            if p.kind == "google" && !allow_insecure && i != "https://accounts.google.com" {
                errors.push(FieldError::new("issuer", "Google's issuer is https://accounts.google.com"));
            }
            p.issuer = i;
        }
        None if creating || p.issuer.is_empty() => match default_issuer {
            Some(d) => p.issuer = d,
            None => errors.push(FieldError::new("issuer", "required for this kind")),
        },
        None => {}
    }
    if p.kind == "microsoft" {
        match p.microsoft_tenant.as_deref() {
            None => errors.push(FieldError::new("microsoft_tenant", "a tenant GUID, or organizations / common")),
            Some("organizations") | Some("common") if p.allowed_tenants.is_empty() => errors.push(FieldError::new(
                "allowed_tenants",
                "a multi-tenant application needs the list of tenants it accepts",
            )),
            Some(t) if t != "organizations" && t != "common" && !oidc::is_guid(t) => {
                errors.push(FieldError::new("microsoft_tenant", "a tenant GUID, or organizations / common"))
            }
            _ => {}
        }
    }
    if !p.issuer.is_empty() {
        if let Err(m) = oidc::check_issuer(&p.issuer, allow_insecure) {
            errors.push(FieldError::new("issuer", m));
        }
    }
    if let Some(t) = input.trust_idp_mfa {
        p.trust_idp_mfa = t;
    }
    if let Some(e) = input.enabled {
        p.enabled = e;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

async fn audit_admin(
    state: &AppState,
    req: &HttpRequest,
    admin: &User,
    kind: &'static str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let (origin, now, tid, aid) = (extract::origin(req, state), state.now(), admin.tenant_id.clone(), admin.id.clone());
    state
        .db
        .run(move |conn| {
            audit::record(
                conn,
                &origin,
                now,
                NewEvent { tenant_id: Some(&tid), kind, user_id: None, actor_id: Some(&aid), details },
            )
            .map_err(ApiError::from)
        })
        .await
}

/// The site's SSO applications (secrets never shown).
#[utoipa::path(
    get, path = "/api/v1/admin/sso-providers", tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProviderViewList),
        (status = 403, description = "`forbidden`: not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_providers(state: web::Data<AppState>, admin: AdminUser) -> Result<HttpResponse, ApiError> {
    let tid = admin.0.tenant.id;
    let list = state.db.run(move |conn| sso::providers(conn, &tid, false).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok()
        .json(ProviderViewList { providers: list.into_iter().map(|p| provider_view(&state, p)).collect() }))
}

/// Add an SSO application.
#[utoipa::path(
    post, path = "/api/v1/admin/sso-providers", tag = "administration",
    security(("bearer" = [])),
    request_body = ProviderInput,
    responses(
        (status = 201, body = ProviderView),
        (status = 403, description = "`forbidden`: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: AdminUser,
    body: web::Json<ProviderInput>,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    let mut p = Provider {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: admin.0.tenant.id.clone(),
        kind: String::new(),
        display_name: String::new(),
        client_id: String::new(),
        client_secret_sealed: String::new(),
        issuer: String::new(),
        microsoft_tenant: None,
        allowed_tenants: String::new(),
        trust_idp_mfa: false,
        enabled: true,
        created_at: now,
        updated_at: now,
    };
    apply(&state, &mut p, body.into_inner(), true)?;
    let row = p.clone();
    state.db.run(move |conn| sso::insert_provider(conn, &row).map_err(ApiError::from)).await?;
    audit_admin(
        &state,
        &req,
        &admin.0.user,
        "sso_provider_created",
        serde_json::json!({"provider_id": p.id, "kind": p.kind}),
    )
    .await?;
    Ok(HttpResponse::Created().json(provider_view(&state, p)))
}

async fn own_provider(state: &AppState, admin: &AdminUser, id: String) -> Result<Provider, ApiError> {
    let tid = admin.0.tenant.id.clone();
    state
        .db
        .run(move |conn| sso::find_provider(conn, &id).map_err(ApiError::from))
        .await?
        .filter(|p| p.tenant_id == tid)
        .ok_or(ApiError::NotFound)
}

/// One SSO application.
#[utoipa::path(
    get, path = "/api/v1/admin/sso-providers/{id}", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ProviderView),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_provider(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = own_provider(&state, &admin, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(provider_view(&state, p)))
}

/// Change an SSO application (enable, rename, new secret…).
#[utoipa::path(
    patch, path = "/api/v1/admin/sso-providers/{id}", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = ProviderInput,
    responses(
        (status = 200, body = ProviderView),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn patch_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
    body: web::Json<ProviderInput>,
) -> Result<HttpResponse, ApiError> {
    let mut p = own_provider(&state, &admin, path.into_inner()).await?;
    apply(&state, &mut p, body.into_inner(), false)?;
    p.updated_at = state.now();
    let row = p.clone();
    state.db.run(move |conn| sso::update_provider(conn, &row).map_err(ApiError::from)).await?;
    audit_admin(&state, &req, &admin.0.user, "sso_provider_changed", serde_json::json!({"provider_id": p.id})).await?;
    Ok(HttpResponse::Ok().json(provider_view(&state, p)))
}

/// Remove an SSO application (and the connections made through it).
#[utoipa::path(
    delete, path = "/api/v1/admin/sso-providers/{id}", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = own_provider(&state, &admin, path.into_inner()).await?;
    let (tid, id) = (p.tenant_id.clone(), p.id.clone());
    state.db.run(move |conn| sso::delete_provider(conn, &tid, &id).map_err(ApiError::from)).await?;
    audit_admin(&state, &req, &admin.0.user, "sso_provider_deleted", serde_json::json!({"provider_id": p.id})).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderTest {
    pub ok: bool,
    /// What is wrong, in plain words.
    pub problems: Vec<String>,
}

/// Fetch the application's discovery document and keys, and say what is wrong.
#[utoipa::path(
    post, path = "/api/v1/admin/sso-providers/{id}/test", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ProviderTest),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn test_provider(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = own_provider(&state, &admin, path.into_inner()).await?;
    let mut problems = Vec::new();
    match state.oidc.discover(&p.issuer, true).await {
        Err(e) => problems.push(format!("Could not read the provider's settings at {}: {e}", p.issuer)),
        Ok(d) => {
            if d.keys.keys().is_empty() {
                problems.push("The provider publishes no signing keys.".into());
            }
            if d.doc.issuer.contains("{tenantid}") && p.allowed_tenants.is_empty() {
                problems.push("This is a multi-tenant application: list the tenant ids it may accept.".into());
            }
        }
    }
    if state.data_key.open(&p.client_secret_sealed, &sso_aad(&p.id)).is_err() {
        problems.push("The client secret cannot be read with this AUTH_DATA_KEY: enter it again.".into());
    }
    if !p.enabled {
        problems.push("The application is disabled: agents do not see it.".into());
    }
    Ok(HttpResponse::Ok().json(ProviderTest { ok: problems.is_empty(), problems }))
}
