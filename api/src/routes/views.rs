//! Answer shapes shared by several route modules, and the sign-in answers built from them.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header;
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::session::Issued;
use crate::auth::signin::challenge::Started;
use crate::state::AppState;

pub const REFRESH_COOKIE: &str = "cx_refresh";
pub const AUTH_COOKIE_PATH: &str = "/api/v1/auth";

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
        /// `totp` or `email` (for `email` the code has just been sent).
        method: String,
        expires_in: i64,
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
    })
}

/// 202 with the seconds a mailed code stays valid.
pub fn code_sent(expires_in: i64) -> HttpResponse {
    HttpResponse::Accepted().json(CodeSent { expires_in })
}
