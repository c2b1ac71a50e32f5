//! Trusted devices ("Remember this device"): a browser that passed the second factor with the
//! box ticked gets a random value (cookie `cx_device`, set by the route) stored only as a hash;
//! a later password or SSO sign-in of the same user and site from that browser skips the second
//! factor. The first factor is always checked before anything here runs.

use crate::auth::session::Authentication;
use crate::auth::tokens::{looks_like_token, random_token, token_hash};
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::tenants::{self, SitePolicy};
use crate::db::trusted_devices::{self, TrustedDevice};
use crate::db::users::User;
use crate::db::AnyConnection;
use crate::error::ApiError;

/// Bytes of randomness in a `cx_device` value (256 bits).
pub const DEVICE_TOKEN_BYTES: usize = 32;

/// The `amr` value of a sign-in whose second factor was remembered, not presented.
pub const TRUSTED_DEVICE_AMR: &str = "trusted_device";

/// A device just trusted: the cookie's value and its `Max-Age` in seconds.
#[derive(Debug)]
pub struct Remembered {
    pub token: String,
    pub max_age: i64,
}

/// The `acr` a site chose for remembered sign-ins (anything unexpected is the weaker `aal1`).
pub fn acr_of(policy: &SitePolicy) -> &'static str {
    match policy.remembered_device_acr.as_str() {
        "aal2" => "aal2",
        _ => "aal1",
    }
}

/// The number of days the second-factor step may offer to remember a device for, `None` when
/// the site does not allow remembering (the `remember_device_days` of `mfa_required`).
pub fn offered_days(conn: &mut AnyConnection, tenant_id: &str) -> Result<Option<i32>, ApiError> {
    Ok(tenants::policy(conn, tenant_id)?.filter(|p| p.remember_device).map(|p| p.remember_device_days))
}

/// The hash a `cx_device` value is stored and looked up under, if it can be one we issued.
pub fn cookie_hash(cookie: &str) -> Option<String> {
    looks_like_token(cookie, DEVICE_TOKEN_BYTES).then(|| token_hash(cookie))
}

/// Trusts this browser for `user` after a verified second factor, inside the caller's
/// transaction, when the site allows it: the row (hash only) and its `device_trusted` audit.
/// `None` when the site does not allow remembering.
pub fn remember(
    conn: &mut AnyConnection,
    user: &User,
    origin: &Origin,
    now: i64,
) -> Result<Option<Remembered>, ApiError> {
    let Some(policy) = tenants::policy(conn, &user.tenant_id)?.filter(|p| p.remember_device) else {
        return Ok(None);
    };
    let days = i64::from(policy.remember_device_days.clamp(1, 90));
    let max_age = days * 86_400;
    let token = random_token(DEVICE_TOKEN_BYTES);
    let device = TrustedDevice {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        token_hash: token_hash(&token),
        label: crate::domain::device_name(origin.user_agent.as_deref().unwrap_or("")),
        created_at: now,
        expires_at: now + max_age,
        last_used_at: None,
    };
    trusted_devices::insert(conn, &device)?;
    let details = serde_json::json!({ "device_id": device.id, "label": device.label, "days": days });
    audit::record(conn, origin, now, NewEvent::own(&user.tenant_id, &user.id, "device_trusted", details))?;
    Ok(Some(Remembered { token, max_age }))
}

/// Whether the browser's `cx_device` value stands for a live trusted device of `user` at a site
/// that still allows remembering; if so it is marked used and the second factor is skipped with
/// the returned authentication (`first` followed by `trusted_device`, the site's `acr`). Runs
/// inside the caller's transaction.
pub fn recognise(
    conn: &mut AnyConnection,
    user: &User,
    cookie: &str,
    first: Vec<String>,
    now: i64,
) -> Result<Option<Authentication>, ApiError> {
    let Some(hash) = cookie_hash(cookie) else { return Ok(None) };
    let Some(policy) = tenants::policy(conn, &user.tenant_id)?.filter(|p| p.remember_device) else {
        return Ok(None);
    };
    if !trusted_devices::use_live(conn, &hash, &user.id, &user.tenant_id, now)? {
        return Ok(None);
    }
    let mut amr = first;
    amr.push(TRUSTED_DEVICE_AMR.into());
    Ok(Some(Authentication { amr, acr: acr_of(&policy) }))
}

/// Forgets the user's trusted devices but the one of `keep` (a cookie's hash) inside the
/// caller's transaction, with a `trusted_devices_forgotten` audit row naming `reason` when any
/// were forgotten; how many.
pub fn forget(
    conn: &mut AnyConnection,
    origin: &Origin,
    user: &User,
    actor_id: Option<&str>,
    keep: Option<&str>,
    reason: &str,
    now: i64,
) -> Result<usize, ApiError> {
    let n = trusted_devices::forget_all(conn, &user.id, keep)?;
    if n > 0 {
        let event = NewEvent {
            tenant_id: Some(&user.tenant_id),
            kind: "trusted_devices_forgotten",
            user_id: Some(&user.id),
            actor_id,
            details: serde_json::json!({ "reason": reason, "count": n }),
        };
        audit::record(conn, origin, now, event)?;
    }
    Ok(n)
}
