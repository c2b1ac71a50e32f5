//! Single sign-on over HTTP, by audience: the sign-in page's buttons and the authorize →
//! provider → callback → complete journey (`signin`), the profile's connected accounts
//! (`connections`), and the admin's SSO applications (`admin`). The flow itself lives in
//! `auth::signin::sso`.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::HttpRequest;

use crate::auth::signin::sso::SignedIn;
use crate::error::ApiError;
use crate::routes::extract;
use crate::routes::views::AUTH_COOKIE_PATH;
use crate::state::AppState;

pub mod admin;
pub mod connections;
pub mod signin;

// The handlers (with their OpenAPI path items) and answer shapes keep their old paths,
// `routes::sso::callback`, `routes::sso::list_providers`…
pub use admin::*;
pub use connections::*;
pub use signin::*;

/// The attempt cookie binding an SSO attempt, its result and its link token to one browser.
pub const SSO_COOKIE: &str = "cx_sso";

/// The `cx_sso` cookie: `SameSite=Lax`, since a Strict one would not come back on the
/// provider's redirect.
fn sso_cookie<'a>(state: &AppState, value: String, max_age: i64) -> Cookie<'a> {
    Cookie::build(SSO_COOKIE, value)
        .http_only(true)
        .same_site(SameSite::Lax)
        .path(AUTH_COOKIE_PATH)
        .secure(state.cookies_secure())
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

/// The value of the request's `cx_sso` cookie.
fn sso_cookie_value(req: &HttpRequest) -> Option<String> {
    req.cookie(SSO_COOKIE).map(|c| c.value().to_string())
}

/// The user behind the request's bearer token, for a flow step that may need one; the step
/// decides whether an `Err` matters.
async fn signed_in(req: &HttpRequest, state: &AppState) -> Result<SignedIn, ApiError> {
    let token = extract::bearer(req).ok_or(ApiError::Unauthenticated)?;
    let user = extract::authenticate(state, &token, req.path()).await?;
    let fresh = user.require_fresh(state.now()).is_ok();
    Ok(SignedIn { user: user.user, fresh })
}
