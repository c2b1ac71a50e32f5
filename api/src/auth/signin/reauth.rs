//! Re-authentication (`/auth/reauth`): the password again and, for a user with 2FA, a second
//! factor, for a fresh `auth_time` on the current session.

use crate::auth::mfa::Submission;
use crate::auth::session::{self, account_key, Authentication, Issued};
use crate::db::attempts::{Settled, PASSWORD};
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::tenants::Tenant;
use crate::db::users::User;
use crate::db::{mfa, write_tx};
use crate::domain::Secret;
use crate::error::{ApiError, Context};
use crate::state::AppState;

use super::challenge::{check_second_factor, reauth_challenge_hash, SecondFactor};
use super::lifetimes;

/// Who re-authenticates, in which session, with what.
pub struct Reauth {
    pub user: User,
    pub tenant: Tenant,
    /// The session (refresh family) of the bearer token.
    pub family_id: String,
    pub password: Secret<String>,
    pub second_factor: Submission,
}

/// What a re-authentication came to.
#[derive(Debug)]
pub enum ReauthOutcome {
    Authenticated(Issued),
    InvalidCredentials,
    InvalidCode,
    Locked { retry_after: i64 },
}

/// Re-authenticates: the password attempt is reserved in the account's budget (the one sign-in
/// uses) before Argon2id runs, the second factor in the user's budget before it is compared;
/// a right one gives its reservation back.
pub async fn reauthenticate(state: &AppState, input: Reauth, origin: Origin) -> Result<ReauthOutcome, ApiError> {
    let Reauth { user, tenant, family_id, password, second_factor } = input;
    let key = account_key(&tenant.slug, &user.email);
    let now = state.now();
    let k = key.clone();
    let reserved = state.db.run(move |conn| PASSWORD.reserve(conn, &k, now).map_err(ApiError::from)).await?;
    if let Err(retry_after) = super::admitted(state, &key, reserved).await? {
        return Ok(ReauthOutcome::Locked { retry_after });
    }
    let ok = state
        .hasher
        .verify(password, Some(user.password_hash.clone()))
        .await
        .context_api("verifying the password of a re-authentication")?;
    let st = state.clone();
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                if !ok {
                    let Settled { count, .. } = PASSWORD.settle_failure(conn, &key, now)?;
                    audit::record(
                        conn,
                        &origin,
                        now,
                        NewEvent::own(
                            &tenant.id,
                            &user.id,
                            "reauth_failed",
                            serde_json::json!({ "reason": "invalid_credentials", "consecutive_failures": count }),
                        ),
                    )?;
                    return Ok(ReauthOutcome::InvalidCredentials);
                }
                // The password was right, whatever the second factor turns out to be.
                PASSWORD.give_back(conn, &key)?;
                let how = match mfa::find(conn, &user.id)? {
                    None => Authentication::password(),
                    Some(method) => {
                        let challenge = mfa::find_challenge(conn, &reauth_challenge_hash(&family_id))?
                            .filter(|c| c.purpose == "reauth" && c.consumed_at.is_none() && c.expires_at > now);
                        let checked = check_second_factor(
                            conn,
                            &st,
                            &user,
                            &method,
                            challenge.as_ref(),
                            &second_factor,
                            &origin,
                            now,
                        )?;
                        match checked {
                            SecondFactor::Passed(factor) => Authentication { amr: factor.amr("pwd"), acr: "aal2" },
                            SecondFactor::Wrong => return Ok(ReauthOutcome::InvalidCode),
                            SecondFactor::Locked(retry_after) => return Ok(ReauthOutcome::Locked { retry_after }),
                        }
                    }
                };
                let issued = session::reauthenticate(conn, &st.keys, lifetimes(&st), &user, &family_id, &how, now)?;
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent::own(
                        &tenant.id,
                        &user.id,
                        "reauthenticated",
                        serde_json::json!({ "session_id": family_id, "amr": how.amr }),
                    ),
                )?;
                Ok::<_, ApiError>(ReauthOutcome::Authenticated(issued))
            })
        })
        .await
}
