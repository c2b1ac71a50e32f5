//! Extractors: the signed-in user, the admin, where the request comes from, optional JSON bodies.

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::auth::jwt::Claims;
use crate::auth::signin::{rate_limited, AddressBudget};
use crate::db::audit::Origin;
use crate::db::tenants::Tenant;
use crate::db::users::User;
use crate::domain::Locale;
use crate::error::{extractors::BODY_LIMIT, ApiError};
use crate::revocation::check;
use crate::state::AppState;

/// How recent a sign-in must be for sensitive actions.
pub const FRESH_SIGN_IN_SECS: i64 = 10 * 60;

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))
}

/// A signed-in user: a valid, unrevoked user access token of an enabled account.
pub struct AuthUser {
    pub claims: Claims,
    pub user: User,
    pub tenant: Tenant,
    /// The site requires 2FA and this user has none yet.
    pub mfa_setup_required: bool,
}

/// Where a user who must still set up 2FA may go.
fn reachable_without_mfa(path: &str) -> bool {
    // A passkey satisfies the site's 2FA rule, so adding one is a way out too.
    path == "/api/v1/me"
        || path.starts_with("/api/v1/me/2fa")
        || path.starts_with("/api/v1/me/passkeys")
        || path.starts_with("/api/v1/auth/")
}

impl AuthUser {
    /// 403 `reauth_required` unless the session's sign-in is at most 10 minutes old.
    pub fn require_fresh(&self, now: i64) -> Result<(), ApiError> {
        match self.claims.auth_time {
            Some(t) if now - t <= FRESH_SIGN_IN_SECS => Ok(()),
            _ => Err(ApiError::ReauthRequired),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user.role == "admin"
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string()).filter(|t| !t.is_empty())
}

/// Checks a user access token: signature and claims, revocation, and the account behind it —
/// from this instance's revocation view, with no database statement once the account is cached
/// ([`crate::revocation::check`]).
pub async fn authenticate(state: &AppState, token: &str, path: &str) -> Result<AuthUser, ApiError> {
    let claims = state.keys.verify(token, state.now()).map_err(|_| ApiError::Unauthenticated)?;
    if claims.role.is_none() {
        return Err(ApiError::Forbidden("a service token cannot use user routes".into()));
    }
    // A user's token always names its session, and dies with it.
    let Some(sid) = claims.sid.as_deref() else { return Err(ApiError::Unauthenticated) };
    let account = check::account(&state.db, sid, &claims.sub, &claims.tid).await?.ok_or(ApiError::Unauthenticated)?;
    let mfa_setup_required = account.mfa_setup_required();
    if mfa_setup_required && !reachable_without_mfa(path) {
        return Err(ApiError::MfaSetupRequired);
    }
    let check::Account { user, tenant } = account;
    Ok(AuthUser {
        claims,
        user: Arc::unwrap_or_clone(user).user,
        tenant: Arc::unwrap_or_clone(tenant),
        mfa_setup_required,
    })
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = state(req);
        let token = bearer(req);
        let path = req.path().to_string();
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or(ApiError::Unauthenticated)?;
            authenticate(&state, &token, &path).await
        })
    }
}

/// A signed-in admin of their own site.
pub struct AdminUser(pub AuthUser);

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            if !user.is_admin() {
                return Err(ApiError::Forbidden("this needs an administrator of the site".into()));
            }
            Ok(AdminUser(user))
        })
    }
}

/// A signed-in admin whose sign-in is at most 10 minutes old: what every state-changing admin
/// route takes, so a stolen admin token or refresh cookie is not a lasting takeover of the site.
/// Checked in order: 401 `unauthenticated`, 403 `forbidden` (not an admin), then 403
/// `reauth_required` (the session's `auth_time` against the app's clock; `POST /auth/reauth`
/// renews it). Handlers destructure it, `FreshAdmin(admin): FreshAdmin`, and go on with the
/// [`AdminUser`] inside.
pub struct FreshAdmin(pub AdminUser);

impl FromRequest for FreshAdmin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = state(req);
        let admin = AdminUser::from_request(req, payload);
        Box::pin(async move {
            let admin = admin.await?;
            admin.0.require_fresh(state?.now())?;
            Ok(FreshAdmin(admin))
        })
    }
}

/// The client's address: the peer, or — only when the peer is a trusted proxy — the nearest
/// untrusted address of `X-Forwarded-For`.
pub fn client_ip(req: &HttpRequest, state: &AppState) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted = |ip: &IpAddr| state.config.trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return Some(peer);
    }
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut chain: Vec<IpAddr> = forwarded.split(',').filter_map(|s| s.trim().parse().ok()).collect();
    chain.insert(0, peer);
    // Walk from the nearest hop outwards; the first address not ours is the client.
    let mut client = peer;
    for ip in chain.iter().skip(1).rev() {
        client = *ip;
        if !trusted(ip) {
            break;
        }
    }
    Some(client)
}

/// Address and user agent for audit rows and sessions, and the browser's language for mails.
pub fn origin(req: &HttpRequest, state: &AppState) -> Origin {
    Origin {
        ip: client_ip(req, state).map(|ip| ip.to_string()),
        user_agent: req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
        browser_locale: browser_locale(req),
    }
}

/// The language of ours the request's `Accept-Language` prefers, if it names one.
pub fn browser_locale(req: &HttpRequest) -> Option<Locale> {
    req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Locale::from_accept_language)
}

/// The browser's preferred language of ours (`Accept-Language`), for the mails a request causes
/// to a user who has not chosen one; `None` when it names none of ours. Never fails.
pub struct BrowserLocale(pub Option<Locale>);

impl FromRequest for BrowserLocale {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self(browser_locale(req))))
    }
}

/// The per-address budget of the sign-in endpoints → 429 with `Retry-After`.
pub async fn limit_signin(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    signin_budget(req, state).spend_alone(state).await?.map_err(|retry| rate_limited(state, retry))
}

/// The sign-in budget of the client address of `req`.
pub fn signin_budget(req: &HttpRequest, state: &AppState) -> AddressBudget {
    AddressBudget::new(client_ip(req, state), state.config.signin_per_ip_per_min, state.now())
}

/// A JSON body that may be absent (an empty body gives `T::default()`); same limits and
/// errors as the `Json` extractor.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"));
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::BadRequest(e.to_string()))?;
                if body.len() + chunk.len() > BODY_LIMIT {
                    return Err(ApiError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            if body.iter().all(|b| b.is_ascii_whitespace()) {
                return Ok(Self(T::default()));
            }
            if is_json != Some(true) {
                return Err(ApiError::BadRequest("the body must be JSON (Content-Type: application/json)".into()));
            }
            serde_json::from_slice(&body).map(Self).map_err(|e| {
                if e.is_data() {
                    ApiError::Invalid(vec![crate::error::extractors::field_error_from_serde(&e.to_string())])
                } else {
                    ApiError::BadRequest(format!("malformed JSON: {e}"))
                }
            })
        })
    }
}
