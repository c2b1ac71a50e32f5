//! Answer shapes shared by several route modules, so that no route module reaches into another
//! for a type, and the sign-in answers built from them. Pure: built from values already read,
//! never touching the database.
//
// The account types below carry plain comments, not doc comments, on purpose: utoipa turns doc
// comments into `description`s of the generated schema, and `openapi.yaml` is the contract.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::AccountStatus;
use crate::auth::session::Issued;
use crate::auth::signin::challenge::Started;
use crate::clock::rfc3339;
use crate::db::tenants::Tenant;
use crate::db::users::User;
use crate::domain::{Role, TwoFactorMethod};
use crate::state::AppState;

pub const REFRESH_COOKIE: &str = "cx_refresh";
pub const AUTH_COOKIE_PATH: &str = "/api/v1/auth";
/// The trusted-device cookie: sent to sign-in (`/auth/*`) and to `/me/trusted-devices` (which
/// marks the current device), hence the wider path.
pub const DEVICE_COOKIE: &str = "cx_device";
pub const DEVICE_COOKIE_PATH: &str = "/api/v1";

/// Where the refresh token goes: the `cx_refresh` cookie (browsers, the default) or the body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenDelivery {
    #[default]
    Cookie,
    Body,
}

/// The answer of a successful sign-in, refresh or re-authentication.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignInResponse {
    Authenticated {
        access_token: String,
        /// Always `Bearer`.
        token_type: String,
        /// Seconds until the access token expires.
        expires_in: i64,
        /// Only with `token_delivery: "body"`.
        #[serde(skip_serializing_if = "Option::is_none")]
        refresh_token: Option<String>,
    },
    /// The password was right; the second factor is next (`POST /auth/mfa/verify`).
    MfaRequired {
        /// Opaque, 5 minutes, for `/auth/mfa/verify` and `/auth/mfa/resend` only.
        mfa_token: String,
        /// For `email` the code has just been sent.
        #[schema(value_type = TwoFactorMethod)]
        method: String,
        expires_in: i64,
        /// For how many days `/auth/mfa/verify` with `remember_device: true` trusts this browser
        /// (cookie `cx_device`); null when the site does not allow remembering devices.
        #[schema(required = true)]
        remember_device_days: Option<i32>,
    },
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSent {
    /// Seconds the e-mailed code stays valid.
    pub expires_in: i64,
}

/// The `cx_refresh` cookie (`max_age` 0 and [`Cookie::make_removal`] to clear it).
pub fn refresh_cookie<'a>(state: &AppState, value: String, max_age: i64) -> Cookie<'a> {
    Cookie::build(REFRESH_COOKIE, value)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(AUTH_COOKIE_PATH)
        .secure(state.cookies_secure())
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

/// The hash of this request's `cx_device` cookie, if it carries one: the trusted device of this
/// browser, as the sign-in stored it.
pub fn this_device(req: &HttpRequest) -> Option<String> {
    req.cookie(DEVICE_COOKIE).and_then(|c| crate::auth::signin::trusted::cookie_hash(c.value()))
}

/// The `cx_device` cookie of a trusted device (`max_age` 0 and [`Cookie::make_removal`] to clear it).
pub fn device_cookie<'a>(state: &AppState, value: String, max_age: i64) -> Cookie<'a> {
    Cookie::build(DEVICE_COOKIE, value)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(DEVICE_COOKIE_PATH)
        .secure(state.cookies_secure())
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

/// The `cx_device` cookie that clears the browser's one.
pub fn device_cookie_removal<'a>(state: &AppState) -> Cookie<'a> {
    let mut gone = device_cookie(state, String::new(), 0);
    gone.make_removal();
    gone
}

/// 200 authenticated, the refresh token in the cookie or (when asked) in the body.
pub fn authenticated(state: &AppState, issued: Issued, delivery: TokenDelivery) -> HttpResponse {
    let mut resp = HttpResponse::Ok();
    resp.insert_header((header::CACHE_CONTROL, "no-store"));
    let refresh_token = match delivery {
        TokenDelivery::Body => Some(issued.refresh_token),
        TokenDelivery::Cookie => {
            resp.cookie(refresh_cookie(state, issued.refresh_token, issued.refresh_max_age));
            None
        }
    };
    resp.json(SignInResponse::Authenticated {
        access_token: issued.access_token,
        token_type: "Bearer".into(),
        expires_in: issued.expires_in,
        refresh_token,
    })
}

/// 200 `mfa_required`.
pub fn mfa_required(started: Started) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(SignInResponse::MfaRequired {
        mfa_token: started.mfa_token,
        method: started.method,
        expires_in: started.expires_in,
        remember_device_days: started.remember_device_days,
    })
}

/// 202 with the seconds a mailed code stays valid.
pub fn code_sent(expires_in: i64) -> HttpResponse {
    HttpResponse::Accepted().json(CodeSent { expires_in })
}

// A user's second factor at a glance (the admin's user list, the services' user answer).
#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorSummary {
    pub enabled: bool,
    /// Null while 2FA is off.
    #[schema(value_type = Option<TwoFactorMethod>)]
    pub method: Option<String>,
}

impl TwoFactorSummary {
    /// Enabled exactly when there is a method.
    pub fn of(method: Option<String>) -> Self {
        Self { enabled: method.is_some(), method }
    }
}

// A site, as `/me` and the services' user answer name it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: String,
    pub slug: String,
    pub name: String,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self { id: t.id, slug: t.slug, name: t.name }
    }
}

// A user as the admin sees them (`/admin/users`, `PATCH /admin/users/{id}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub disabled: bool,
    pub two_factor: TwoFactorSummary,
    /// A password or second-factor lock is in force.
    pub locked: bool,
    pub created_at: String,
    pub last_sign_in_at: Option<String>,
}

impl UserView {
    /// The user, whether a lock is in force, and their 2FA method (`None`: 2FA is off).
    pub fn from_parts(user: User, locked: bool, method: Option<String>) -> Self {
        Self {
            id: user.id,
            email: user.email,
            display_name: user.display_name,
            role: user.role,
            disabled: user.disabled,
            two_factor: TwoFactorSummary::of(method),
            locked,
            created_at: rfc3339(user.created_at),
            last_sign_in_at: user.last_sign_in_at.map(rfc3339),
        }
    }
}

impl From<AccountStatus> for UserView {
    fn from(s: AccountStatus) -> Self {
        Self::from_parts(s.user, s.locked, s.mfa_method)
    }
}
