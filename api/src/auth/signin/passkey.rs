//! Passkeys: sign-in (`/auth/passkey/*`), re-authentication (`/auth/reauth/passkey*`) and, in
//! [`manage`], the user's own passkeys (`/me/passkeys*`). Every ceremony's challenge is stored in the database
//! for 5 minutes and taken out by one statement before the authenticator's answer is checked
//! (`db::passkeys::take_challenge`), so a challenge serves one answer only, on any instance.
//!
//! A passkey sign-in asks for no password and no second factor: the passkey is both (something
//! the user has, unlocked by user verification). Its session says so: `amr` `["hwk"|"swk","user"]`,
//! `acr` `aal2`.

pub mod manage;

use webauthn_rs::prelude::{PublicKeyCredential, Webauthn};

use crate::auth::passkeys::{self as mechanics, Ceremony, Purpose, Refused, Verified};
use crate::auth::session::{self, Authentication, Issued};
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::passkeys::{self, NewChallenge, PasskeyRow, Taken, Use};
use crate::db::tenants::{self, Tenant};
use crate::db::users::{self, User};
use crate::db::{write_tx, AnyConnection};
use crate::domain::TenantSlug;
use crate::error::ApiError;
use crate::state::AppState;

use super::{lifetimes, AddressBudget};

/// A ceremony started: the challenge's id and the options for the browser.
#[derive(Debug)]
pub struct Challenge {
    pub challenge_id: String,
    /// webauthn-rs's `CreationChallengeResponse` or `RequestChallengeResponse` (`{publicKey: …}`).
    pub options: serde_json::Value,
}

/// The relying party, unless passkeys are unavailable (`AUTH_PUBLIC_URL` on an IP address).
fn relying_party(state: &AppState) -> Option<std::sync::Arc<Webauthn>> {
    state.webauthn.clone()
}

/// Whether the site `tenant_id` lets its users use passkeys.
fn site_allows(conn: &mut AnyConnection, tenant_id: &str) -> Result<bool, ApiError> {
    Ok(tenants::policy(conn, tenant_id)?.is_some_and(|p| p.passkeys_enabled))
}

fn new_challenge(
    tenant_id: Option<String>,
    user_id: Option<String>,
    purpose: Purpose,
    state: String,
    now: i64,
) -> NewChallenge {
    NewChallenge {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id,
        user_id,
        purpose: purpose.as_str().to_string(),
        state,
        created_at: now,
        expires_at: now + mechanics::CHALLENGE_SECS,
    }
}

fn refused_internally(e: Refused) -> ApiError {
    ApiError::internal_context("starting a WebAuthn ceremony", anyhow::anyhow!(e))
}

// ----- Sign-in -------------------------------------------------------------------------------

/// What asking for sign-in options came to.
#[derive(Debug)]
pub enum OptionsOutcome {
    Started(Challenge),
    /// The site turned passkeys off (or they are unavailable on this server).
    Disabled,
    AddressLimited {
        retry_after: i64,
    },
}

/// Starts a discoverable sign-in at the site `slug`. Spends the address's sign-in budget. An
/// unknown site gets a challenge like any other, bound to no site: it can never succeed, and
/// the answer does not tell the site does not exist.
pub async fn sign_in_options(
    state: &AppState,
    slug: &TenantSlug,
    budget: &AddressBudget,
) -> Result<OptionsOutcome, ApiError> {
    if let Err(retry_after) = budget.spend_alone(state).await? {
        state.metrics.signin("rate_limited");
        return Ok(OptionsOutcome::AddressLimited { retry_after: retry_after.max(1) });
    }
    let Some(webauthn) = relying_party(state) else { return Ok(OptionsOutcome::Disabled) };
    let started = mechanics::start_sign_in(&webauthn).map_err(refused_internally)?;
    let (slug, now) = (slug.as_str().to_string(), state.now());
    state
        .db
        .run(move |conn| {
            let tenant = tenants::find_by_slug(conn, &slug)?;
            if let Some(t) = &tenant {
                if !site_allows(conn, &t.id)? {
                    return Ok(OptionsOutcome::Disabled);
                }
            }
            let challenge = new_challenge(tenant.map(|t| t.id), None, Purpose::SignIn, started.state, now);
            passkeys::put_challenge(conn, &challenge)?;
            Ok::<_, ApiError>(OptionsOutcome::Started(Challenge {
                challenge_id: challenge.id,
                options: started.options,
            }))
        })
        .await
}

/// What `/auth/passkey/login` submits.
pub struct PasskeySignIn {
    pub slug: TenantSlug,
    pub challenge_id: String,
    pub answer: PublicKeyCredential,
    pub budget: AddressBudget,
}

/// What a passkey sign-in came to.
#[derive(Debug)]
pub enum SignInOutcome {
    Authenticated(Issued),
    /// Every failure, whatever it was (the audit log keeps the reason).
    InvalidCredentials,
    AddressLimited {
        retry_after: i64,
    },
}

/// Who a sign-in's answer names, once the challenge is taken and checked.
struct Candidate {
    user: User,
    passkey: PasskeyRow,
    state: String,
}

/// The challenge taken (one statement, before anything else is looked at), then the site, the
/// passkey found by the answer's credential ID and its user, each checked. `Err(reason)` for the
/// audit log, with the user when one is known.
fn take_and_identify(
    conn: &mut AnyConnection,
    challenge_id: &str,
    slug: &str,
    answer: &PublicKeyCredential,
    now: i64,
) -> Result<Result<Candidate, (&'static str, Option<User>)>, ApiError> {
    let Some(Taken { tenant_id, state, .. }) = passkeys::take_challenge(conn, challenge_id, "signin", now)? else {
        return Ok(Err(("challenge_invalid", None)));
    };
    let Some(tenant) = tenant_id.map(|id| tenants::find(conn, &id)).transpose()?.flatten() else {
        return Ok(Err(("unknown_site", None)));
    };
    if tenant.slug != slug {
        return Ok(Err(("challenge_of_another_site", None)));
    }
    if !site_allows(conn, &tenant.id)? {
        return Ok(Err(("passkeys_disabled", None)));
    }
    let credential_id = mechanics::credential_id_text(answer.get_credential_id());
    let Some(passkey) = passkeys::find_by_credential_id(conn, &credential_id)? else {
        return Ok(Err(("unknown_passkey", None)));
    };
    if passkey.tenant_id != tenant.id {
        return Ok(Err(("passkey_of_another_site", None)));
    }
    let Some(user) = users::find_in_tenant(conn, &tenant.id, &passkey.user_id)? else {
        return Ok(Err(("unknown_passkey", None)));
    };
    if user.disabled {
        return Ok(Err(("user_disabled", Some(user))));
    }
    // The soft authenticator of the tests sends no user handle; a browser with a discoverable
    // credential does, and then it must name the passkey's owner.
    if let Some(handle) = answer.get_user_unique_id() {
        if handle != mechanics::user_handle(&user.id).as_bytes() {
            return Ok(Err(("user_handle_mismatch", Some(user))));
        }
    }
    Ok(Ok(Candidate { user, passkey, state }))
}

fn failed_event<'a>(user: Option<&'a User>, kind: &'a str, reason: &str, extra: serde_json::Value) -> NewEvent<'a> {
    let mut details = serde_json::json!({ "method": "passkey", "reason": reason });
    if let (Some(map), Some(more)) = (details.as_object_mut(), extra.as_object()) {
        map.extend(more.clone());
    }
    NewEvent {
        tenant_id: user.map(|u| u.tenant_id.as_str()),
        kind,
        user_id: user.map(|u| u.id.as_str()),
        actor_id: None,
        details,
    }
}

/// Signs in with a passkey (see the module's text). Any failure is [`SignInOutcome::InvalidCredentials`].
pub async fn sign_in(state: &AppState, input: PasskeySignIn, origin: Origin) -> Result<SignInOutcome, ApiError> {
    let PasskeySignIn { slug, challenge_id, answer, budget } = input;
    if let Err(retry_after) = budget.spend_alone(state).await? {
        state.metrics.signin("rate_limited");
        return Ok(SignInOutcome::AddressLimited { retry_after: retry_after.max(1) });
    }
    let Some(webauthn) = relying_party(state) else { return Ok(SignInOutcome::InvalidCredentials) };
    let now = state.now();
    let answer = std::sync::Arc::new(answer);
    let (a, s) = (answer.clone(), slug.as_str().to_string());
    let found = state.db.run(move |conn| take_and_identify(conn, &challenge_id, &s, &a, now)).await?;
    let Candidate { user, passkey, state: ceremony } = match found {
        Ok(candidate) => candidate,
        Err((reason, user)) => return refuse_sign_in(state, user, reason, origin, now).await,
    };
    let verified =
        match mechanics::verify_assertion(&webauthn, Ceremony::SignIn, &ceremony, &passkey.credential, &answer) {
            Ok(v) => v,
            Err(e) => {
                tracing::info!(reason = %e, "a passkey sign-in was refused");
                return refuse_sign_in(state, Some(user), refusal_reason(&e), origin, now).await;
            }
        };
    let (st, life) = (state.clone(), lifetimes(state));
    let outcome = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                if !passkeys::record_use(conn, &use_of(&passkey, &verified, now))? {
                    let event = failed_event(
                        Some(&user),
                        "sign_in_failed",
                        "counter_not_increased",
                        serde_json::json!({ "passkey_id": passkey.id }),
                    );
                    audit::record(conn, &origin, now, event)?;
                    return Ok(None);
                }
                let how = Authentication { amr: mechanics::amr(verified.flags.backup_eligible), acr: "aal2" };
                let start = session::Start {
                    data_key: &st.data_key,
                    keys: &st.keys,
                    life,
                    user: &user,
                    how: &how,
                    origin: &origin,
                    now,
                };
                let details = serde_json::json!({ "method": "passkey", "passkey_id": passkey.id, "amr": how.amr });
                start.run(conn, details, None, false).map(Some)
            })
        })
        .await?;
    match outcome {
        Some(issued) => {
            state.metrics.signin("success");
            Ok(SignInOutcome::Authenticated(issued))
        }
        None => {
            state.metrics.signin("invalid_credentials");
            Ok(SignInOutcome::InvalidCredentials)
        }
    }
}

/// The audit reason of a refused assertion.
fn refusal_reason(e: &Refused) -> &'static str {
    use webauthn_rs::prelude::WebauthnError;
    match e {
        Refused::Webauthn(WebauthnError::CredentialPossibleCompromise) => "counter_not_increased",
        Refused::Webauthn(WebauthnError::InvalidRPOrigin) => "wrong_origin",
        Refused::Webauthn(_) => "assertion_invalid",
        Refused::State(_) | Refused::Credential(_) => "stored_state_unreadable",
    }
}

fn use_of<'a>(passkey: &'a PasskeyRow, verified: &'a Verified, now: i64) -> Use<'a> {
    Use {
        id: &passkey.id,
        credential: &verified.credential,
        backup_eligible: verified.flags.backup_eligible,
        backed_up: verified.flags.backed_up,
        counter: verified.flags.counter,
        now,
    }
}

async fn refuse_sign_in(
    state: &AppState,
    user: Option<User>,
    reason: &'static str,
    origin: Origin,
    now: i64,
) -> Result<SignInOutcome, ApiError> {
    // An unknown challenge or credential names nobody: nothing to audit for a site.
    if user.is_some() {
        state
            .db
            .run(move |conn| {
                let event = failed_event(user.as_ref(), "sign_in_failed", reason, serde_json::json!({}));
                audit::record(conn, &origin, now, event).map_err(ApiError::from)
            })
            .await?;
    }
    state.metrics.signin("invalid_credentials");
    Ok(SignInOutcome::InvalidCredentials)
}

// ----- Re-authentication -----------------------------------------------------------------------

/// What asking for re-authentication options came to.
#[derive(Debug)]
pub enum ReauthOptions {
    Started(Challenge),
    Disabled,
    /// The user has no passkey to confirm with.
    NoPasskey,
}

/// Starts a re-authentication with one of `user`'s passkeys (named in `allowCredentials`).
pub async fn reauth_options(state: &AppState, user: &User) -> Result<ReauthOptions, ApiError> {
    let Some(webauthn) = relying_party(state) else { return Ok(ReauthOptions::Disabled) };
    let (user, now) = (user.clone(), state.now());
    state
        .db
        .run(move |conn| {
            if !site_allows(conn, &user.tenant_id)? {
                return Ok(ReauthOptions::Disabled);
            }
            let credentials: Vec<String> =
                passkeys::list_of(conn, &user.id)?.into_iter().map(|p| p.credential).collect();
            if credentials.is_empty() {
                return Ok(ReauthOptions::NoPasskey);
            }
            let started = mechanics::start_reauth(&webauthn, &credentials).map_err(refused_internally)?;
            let challenge =
                new_challenge(Some(user.tenant_id.clone()), Some(user.id.clone()), Purpose::Reauth, started.state, now);
            passkeys::put_challenge(conn, &challenge)?;
            Ok::<_, ApiError>(ReauthOptions::Started(Challenge {
                challenge_id: challenge.id,
                options: started.options,
            }))
        })
        .await
}

/// Who re-authenticates with a passkey, in which session.
pub struct PasskeyReauth {
    pub user: User,
    pub tenant: Tenant,
    /// The session (refresh family) of the bearer token.
    pub family_id: String,
    pub challenge_id: String,
    pub answer: PublicKeyCredential,
}

/// What a passkey re-authentication came to.
#[derive(Debug)]
pub enum ReauthOutcome {
    Authenticated(Issued),
    InvalidCredentials,
}

/// Re-authenticates with a passkey: a fresh `auth_time` on the current session and a rotated
/// refresh token, as `/auth/reauth` gives (see `super::reauth`), audited `reauthenticated`.
pub async fn reauthenticate(state: &AppState, input: PasskeyReauth, origin: Origin) -> Result<ReauthOutcome, ApiError> {
    let PasskeyReauth { user, tenant, family_id, challenge_id, answer } = input;
    let Some(webauthn) = relying_party(state) else { return Ok(ReauthOutcome::InvalidCredentials) };
    let now = state.now();
    let answer = std::sync::Arc::new(answer);
    let (a, u) = (answer.clone(), user.clone());
    let found = state
        .db
        .run(move |conn| {
            let Some(taken) = passkeys::take_challenge(conn, &challenge_id, "reauth", now)? else {
                return Ok(Err("challenge_invalid"));
            };
            if taken.user_id.as_deref() != Some(u.id.as_str()) {
                return Ok(Err("challenge_of_another_user"));
            }
            if !site_allows(conn, &u.tenant_id)? {
                return Ok(Err("passkeys_disabled"));
            }
            let credential_id = mechanics::credential_id_text(a.get_credential_id());
            match passkeys::find_by_credential_id(conn, &credential_id)?.filter(|p| p.user_id == u.id) {
                Some(passkey) => Ok::<_, ApiError>(Ok((passkey, taken.state))),
                None => Ok(Err("unknown_passkey")),
            }
        })
        .await?;
    let verified = found.and_then(|(passkey, ceremony)| {
        mechanics::verify_assertion(&webauthn, Ceremony::Reauth, &ceremony, &passkey.credential, &answer)
            .map(|v| (passkey, v))
            .map_err(|e| {
                tracing::info!(reason = %e, "a passkey re-authentication was refused");
                refusal_reason(&e)
            })
    });
    let st = state.clone();
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let fail = |conn: &mut AnyConnection, reason: &str| -> Result<ReauthOutcome, ApiError> {
                    let event = failed_event(Some(&user), "reauth_failed", reason, serde_json::json!({}));
                    audit::record(conn, &origin, now, NewEvent { actor_id: Some(&user.id), ..event })?;
                    Ok(ReauthOutcome::InvalidCredentials)
                };
                let (passkey, verified) = match verified {
                    Ok(found) => found,
                    Err(reason) => return fail(conn, reason),
                };
                if !passkeys::record_use(conn, &use_of(&passkey, &verified, now))? {
                    return fail(conn, "counter_not_increased");
                }
                let how = Authentication { amr: mechanics::amr(verified.flags.backup_eligible), acr: "aal2" };
                let issued = session::reauthenticate(conn, &st.keys, lifetimes(&st), &user, &family_id, &how, now)?;
                let details = serde_json::json!({ "session_id": family_id, "amr": how.amr, "passkey_id": passkey.id });
                audit::record(conn, &origin, now, NewEvent::own(&tenant.id, &user.id, "reauthenticated", details))?;
                Ok(ReauthOutcome::Authenticated(issued))
            })
        })
        .await
}
