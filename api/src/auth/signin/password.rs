//! Password sign-in (`/auth/login`): the address's budget, the password attempt reserved for
//! the submitted account, Argon2id for a reserved attempt only, then a session or a challenge.

use crate::auth::session::{self, account_key, Authentication, Issued};
use crate::db::attempts::{GiveBack, Settled, PASSWORD};
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::write_tx;
use crate::domain::{Email, Secret, TenantSlug};
use crate::error::{ApiError, Context};
use crate::state::AppState;

use super::challenge::{self, PasswordGiveBack, Started};
use super::{lifetimes, AddressBudget};

/// A link token from an SSO attempt that found no connected account ("connect from the login
/// page"), with the `cx_sso` cookie of the browser that started that attempt.
#[derive(Debug, Clone)]
pub struct LinkRequest {
    pub token: String,
    pub sso_cookie: Option<String>,
}

/// What `/auth/login` submits, validated.
pub struct PasswordSignIn {
    pub slug: TenantSlug,
    pub email: Email,
    pub password: Secret<String>,
    pub link: Option<LinkRequest>,
    pub budget: AddressBudget,
    /// The browser's `cx_device` cookie: a trusted device of this user skips the second factor.
    pub device: Option<String>,
}

/// What a password sign-in came to.
#[derive(Debug)]
pub enum PasswordOutcome {
    Authenticated(Issued),
    /// The password was right; the second factor is next.
    SecondFactorRequired(Started),
    /// Wrong password, unknown site or user, or a disabled user: one answer for all.
    InvalidCredentials,
    /// The account's lock is in force: the password was not checked.
    Locked {
        retry_after: i64,
    },
    /// The client's address spent its sign-in budget: nothing was counted or checked.
    AddressLimited {
        retry_after: i64,
    },
}

/// Signs in with a password. The attempt is reserved (refused while the account is locked, held
/// back while the guesses in flight use its budget) in the same statement that spends the
/// address's budget and looks the account up; Argon2id runs only for a reserved attempt; a right
/// password gives it back in the statement that opens the session (or with the challenge), a
/// wrong one is settled as a failure with its audit row.
pub async fn sign_in(state: &AppState, input: PasswordSignIn, origin: Origin) -> Result<PasswordOutcome, ApiError> {
    let PasswordSignIn { slug, email, password, link, budget, device } = input;
    // The link token is checked first: a foreign or expired one fails the sign-in before any
    // attempt is counted for it.
    let link_hash = match &link {
        Some(l) => Some(super::sso::check_link_token(state, l.sso_cookie.as_deref(), &l.token, slug.as_str()).await?),
        None => None,
    };
    let key = account_key(slug.as_str(), email.as_str());
    let now = state.now();
    let (k, s, e) = (key.clone(), slug.as_str().to_string(), email.as_str().to_string());
    let found = state.db.run(move |conn| budget.spend_looking_up(conn, &k, &s, &e).map_err(ApiError::from)).await?;
    if let Err(retry_after) = found.spent {
        state.metrics.signin("rate_limited");
        return Ok(PasswordOutcome::AddressLimited { retry_after: retry_after.max(1) });
    }
    let Some(reservation) = found.attempt else {
        return Err(ApiError::internal(anyhow::anyhow!("the sign-in look-up reserved no attempt")));
    };
    if let Err(retry_after) = super::admitted(state, &key, reservation).await? {
        state.metrics.signin("locked");
        return Ok(PasswordOutcome::Locked { retry_after });
    }
    let (account, method) = match found.account {
        Some((tenant, user, method)) => (Some((tenant, user)), method),
        None => (None, None),
    };

    let hash = account.as_ref().map(|(_, u)| u.password_hash.clone());
    let password_ok = state.hasher.verify(password, hash).await.context_api("verifying the submitted password")?;
    let known = account.as_ref().map(|(t, u)| (t.id.clone(), u.id.clone()));
    let usable = account.filter(|(_, u)| !u.disabled);

    match (password_ok, usable) {
        (true, Some((tenant, user))) if method.is_some() => {
            // Looked at only now: the password was right and a second factor is due.
            if let Some(device) = device {
                let remembered =
                    remembered_sign_in(state, &user, &device, &key, link_hash.as_deref(), &origin, now).await?;
                if let Some(issued) = remembered {
                    state.metrics.signin("success");
                    return Ok(PasswordOutcome::Authenticated(issued));
                }
            }
            let method = method.map(|m| m.method).unwrap_or_default();
            let back = PasswordGiveBack { account_key: key };
            let started =
                challenge::start(state, &user, &tenant, &method, Some(back), "pwd", link_hash, origin).await?;
            state.metrics.signin("mfa_required");
            Ok(PasswordOutcome::SecondFactorRequired(started))
        }
        (true, Some((_, user))) => {
            let (st, life) = (state.clone(), lifetimes(state));
            let issued = state
                .db
                .run(move |conn| {
                    let how = Authentication::password();
                    let start = session::Start {
                        data_key: &st.data_key,
                        keys: &st.keys,
                        life,
                        user: &user,
                        how: &how,
                        origin: &origin,
                        now,
                    };
                    let details = serde_json::json!({ "method": "password" });
                    let back = Some(GiveBack { key: &key });
                    let Some(link) = &link_hash else {
                        // The session's writes and the give-back: one statement on PostgreSQL.
                        return start.run(conn, details, back, true);
                    };
                    write_tx(conn, |conn| {
                        super::sso::redeem_link(conn, &st, &user, link, &origin, now)?;
                        start.run(conn, details, back, false)
                    })
                })
                .await?;
            state.metrics.signin("success");
            Ok(PasswordOutcome::Authenticated(issued))
        }
        _ => {
            // The site and user are named in the audit only when they exist; the answer is the same.
            let (tenant_id, user_id) = known.unzip();
            state
                .db
                .run(move |conn| {
                    write_tx(conn, |conn| {
                        let Settled { count, lock_secs } = PASSWORD.settle_failure(conn, &key, now)?;
                        let failed = NewEvent {
                            tenant_id: tenant_id.as_deref(),
                            kind: "sign_in_failed",
                            user_id: user_id.as_deref(),
                            actor_id: None,
                            details: serde_json::json!({ "reason": "invalid_credentials", "consecutive_failures": count }),
                        };
                        audit::record(conn, &origin, now, failed)?;
                        if lock_secs > 0 {
                            let locked = NewEvent {
                                tenant_id: tenant_id.as_deref(),
                                kind: "account_locked",
                                user_id: user_id.as_deref(),
                                actor_id: None,
                                details: serde_json::json!({ "consecutive_failures": count, "lock_seconds": lock_secs }),
                            };
                            audit::record(conn, &origin, now, locked)?;
                        }
                        Ok::<_, ApiError>(())
                    })
                })
                .await?;
            state.metrics.signin("invalid_credentials");
            Ok(PasswordOutcome::InvalidCredentials)
        }
    }
}

/// The session of a right password from a trusted device of `user` (`None`: not one, the
/// second factor is due): one transaction that recognises the device, redeems a pending SSO link,
/// gives the password attempt back and opens the session (`amr` `pwd, trusted_device`).
async fn remembered_sign_in(
    state: &AppState,
    user: &crate::db::users::User,
    device: &str,
    key: &str,
    link_hash: Option<&str>,
    origin: &Origin,
    now: i64,
) -> Result<Option<Issued>, ApiError> {
    let (st, life, user, device, key) =
        (state.clone(), lifetimes(state), user.clone(), device.to_string(), key.to_string());
    let (link_hash, origin) = (link_hash.map(str::to_string), origin.clone());
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let Some(how) = super::trusted::recognise(conn, &user, &device, vec!["pwd".into()], now)? else {
                    return Ok(None);
                };
                if let Some(link) = &link_hash {
                    super::sso::redeem_link(conn, &st, &user, link, &origin, now)?;
                }
                let start = session::Start {
                    data_key: &st.data_key,
                    keys: &st.keys,
                    life,
                    user: &user,
                    how: &how,
                    origin: &origin,
                    now,
                };
                let details = serde_json::json!({ "method": "password", "second_factor": "trusted_device" });
                start.run(conn, details, Some(GiveBack { key: &key }), false).map(Some)
            })
        })
        .await
}

/// What a signed-in user's password confirmation came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirmation {
    Right,
    Wrong,
    Locked { retry_after: i64 },
}

/// Confirms the password of a signed-in user before a sensitive change (`/me/password`,
/// `/me/2fa/disable`): a guess like any other, in the same account budget as sign-in and
/// re-authentication — reserved before Argon2id runs, settled and audited when wrong (as
/// `reauth_failed`, with what it was `for`), given back when right.
pub async fn confirm(
    state: &AppState,
    tenant_slug: &str,
    user: &crate::db::users::User,
    password: Secret<String>,
    purpose: &'static str,
    origin: Origin,
) -> Result<Confirmation, ApiError> {
    let key = account_key(tenant_slug, &user.email);
    let (k, now) = (key.clone(), state.now());
    let reserved = state.db.run(move |conn| PASSWORD.reserve(conn, &k, now).map_err(ApiError::from)).await?;
    if let Err(retry_after) = super::admitted(state, &key, reserved).await? {
        return Ok(Confirmation::Locked { retry_after });
    }
    let hash = Some(user.password_hash.clone());
    let ok = state.hasher.verify(password, hash).await.context_api("verifying a password confirmation")?;
    let (tenant_id, user_id) = (user.tenant_id.clone(), user.id.clone());
    state
        .db
        .run(move |conn| {
            if ok {
                PASSWORD.give_back(conn, &key)?;
                return Ok(Confirmation::Right);
            }
            write_tx(conn, |conn| {
                let Settled { count, .. } = PASSWORD.settle_failure(conn, &key, now)?;
                let details = serde_json::json!({
                    "reason": "invalid_credentials", "for": purpose, "consecutive_failures": count
                });
                audit::record(conn, &origin, now, NewEvent::own(&tenant_id, &user_id, "reauth_failed", details))?;
                Ok::<_, ApiError>(Confirmation::Wrong)
            })
        })
        .await
}
