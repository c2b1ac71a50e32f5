//! The SSO sign-in flow: the callback's outcome, link tokens, connecting an account.

use crate::db::audit::Origin;
use crate::db::users::User;
use crate::db::AnyConnection;
use crate::error::ApiError;
use crate::state::AppState;

/// Checks a `link_token` before a password sign-in: this site, this browser (`sso_cookie`),
/// live. Returns the token's hash.
pub async fn check_link_token(
    state: &AppState,
    sso_cookie: Option<&str>,
    token: &str,
    tenant_slug: &str,
) -> Result<String, ApiError> {
    crate::routes::sso::check_link_token(state, sso_cookie, token, tenant_slug).await
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
    crate::routes::sso::redeem_link(conn, state, user, link_hash, origin, now)
}
