//! The second factor of a sign-in: the challenge (`mfa_token`) started after the first factor,
//! its verification, the resent e-mail code, and the check shared with re-authentication.

use crate::auth::mfa::{self as mfa_auth, Factor, Submission, EMAIL_CODE_SECS, MFA_TOKEN_SECS, RESEND_COOLDOWN_SECS};
use crate::auth::secrets;
use crate::auth::session::{self, Authentication, Issued};
use crate::auth::tokens::{random_token, token_hash};
use crate::db::attempts::{GiveBack, Reservation, Settled, PASSWORD, SECOND_FACTOR};
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::mfa::{self, Challenge};
use crate::db::tenants::Tenant;
use crate::db::users::{self, User};
use crate::db::{write_tx, AnyConnection};
use crate::domain::Locale;
use crate::error::ApiError;
use crate::mail::letters::{CodePurpose, Letter};
use crate::mail::OutgoingMail;
use crate::notices::{self, Notice, Recipient};
use crate::state::AppState;

use super::lifetimes;

/// Bytes of randomness in an `mfa_token` (128 bits).
const MFA_TOKEN_BYTES: usize = 16;

/// The mail with a one-time code, in the recipient's language.
pub fn code_mail(to: &Recipient<'_>, code: &str, purpose: CodePurpose) -> OutgoingMail {
    let composed = Letter::Code { purpose, code }.compose(to.locale);
    OutgoingMail { to: to.email.to_string(), subject: composed.subject, text: composed.text }
}

/// Hands a code to the mail server, or answers 503 `email_delivery_failed`.
pub async fn send_code(state: &AppState, mail: OutgoingMail) -> Result<(), ApiError> {
    state.mailer.send(&mail).await.map_err(|e| {
        tracing::warn!(error = %e, "a one-time code could not be handed to the mail server");
        ApiError::EmailDeliveryFailed
    })
}

/// A challenge started: the `mfa_token` for `/auth/mfa/verify` and the method it asks for.
#[derive(Debug)]
pub struct Started {
    pub mfa_token: String,
    pub method: String,
    /// Seconds the `mfa_token` lives.
    pub expires_in: i64,
    /// Days the step may offer to remember the device for; `None` when the site does not allow it.
    pub remember_device_days: Option<i32>,
}

/// The password attempt a second-factor challenge gives back once it is started (the password
/// was right), owned.
#[derive(Debug, Clone)]
pub struct PasswordGiveBack {
    pub account_key: String,
}

/// The first factor was right, the second is next: a new challenge (and, for e-mail, the code
/// sent first: no challenge exists whose code never left). `password` is given back with it.
#[expect(clippy::too_many_arguments, reason = "the whole context of a sign-in's second step")]
pub async fn start(
    state: &AppState,
    user: &User,
    tenant: &Tenant,
    method: &str,
    password: Option<PasswordGiveBack>,
    first_factor: &str,
    link_token_hash: Option<String>,
    origin: Origin,
) -> Result<Started, ApiError> {
    let now = state.now();
    let token = random_token(MFA_TOKEN_BYTES);
    let th = token_hash(&token);
    let mut challenge = Challenge {
        token_hash: th.clone(),
        user_id: user.id.clone(),
        purpose: "signin".into(),
        method: method.into(),
        code_hash: None,
        code_expires_at: None,
        last_sent_at: None,
        expires_at: now + MFA_TOKEN_SECS,
        consumed_at: None,
        created_at: now,
        first_factor: first_factor.to_string(),
        link_token_hash,
    };
    if method == "email" {
        let code = secrets::new_email_code();
        let to = Recipient::user(user, origin.browser_locale);
        send_code(state, code_mail(&to, &code, CodePurpose::SignIn)).await?;
        challenge.code_hash = Some(mfa_auth::otp_hash(&state.data_key, &th, &code));
        challenge.code_expires_at = Some(now + EMAIL_CODE_SECS);
        challenge.last_sent_at = Some(now);
    }
    let (user_id, tenant_id) = (user.id.clone(), tenant.id.clone());
    let remember_device_days = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                if let Some(back) = &password {
                    PASSWORD.give_back(conn, &back.account_key)?;
                }
                mfa::put_challenge(conn, &challenge)?;
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent::own(
                        &tenant_id,
                        &user_id,
                        "sign_in_mfa_required",
                        serde_json::json!({ "method": challenge.method }),
                    ),
                )?;
                super::trusted::offered_days(conn, &tenant_id)
            })
        })
        .await?;
    Ok(Started { mfa_token: token, method: method.to_string(), expires_in: MFA_TOKEN_SECS, remember_device_days })
}

/// The outcome of checking a second factor, its guess already counted and audited.
#[derive(Debug)]
pub enum SecondFactor {
    Passed(Factor),
    Wrong,
    Locked(i64),
}

/// Checks and spends a second factor of `user` inside the caller's write transaction: the guess
/// is reserved in the user's budget first ([`SECOND_FACTOR`]; refused while locked), then the
/// code is compared; a right one gives its reservation back, a wrong one is settled as a
/// failure, audited, and warns the user when it locks.
#[expect(clippy::too_many_arguments, reason = "one transaction step with its whole context")]
pub fn check_second_factor(
    conn: &mut AnyConnection,
    state: &AppState,
    user: &User,
    method: &mfa::UserMfa,
    challenge: Option<&Challenge>,
    submission: &Submission,
    origin: &Origin,
    now: i64,
) -> Result<SecondFactor, ApiError> {
    match SECOND_FACTOR.reserve(conn, &user.id, now)? {
        Reservation::Reserved => {}
        Reservation::Refused { retry_after } => return Ok(SecondFactor::Locked(retry_after)),
        // Not while the caller's transaction holds the row (PostgreSQL) or the database
        // (SQLite): every reservation is settled in the transaction that made it.
        Reservation::Busy => return Ok(SecondFactor::Locked(1)),
    }
    let Some(factor) = mfa_auth::verify(conn, &state.data_key, method, challenge, submission, now)? else {
        let Settled { count, lock_secs } = SECOND_FACTOR.settle_failure(conn, &user.id, now)?;
        audit::record(
            conn,
            origin,
            now,
            NewEvent::own(
                &user.tenant_id,
                &user.id,
                "mfa_failed",
                serde_json::json!({ "consecutive_failures": count, "lock_seconds": lock_secs }),
            ),
        )?;
        if count == mfa::MFA_LOCK_AFTER || count == mfa::MFA_HARD_LOCK {
            let to = Recipient::user(user, origin.browser_locale);
            notices::queue(conn, &state.data_key, &to, &Letter::Notice(Notice::SecondFactorGuessed), now)?;
        }
        return Ok(SecondFactor::Wrong);
    };
    SECOND_FACTOR.give_back(conn, &user.id)?;
    if factor == Factor::BackupCode {
        let remaining = mfa_auth::remaining_backup_codes(conn, &user.id)?;
        audit::record(
            conn,
            origin,
            now,
            NewEvent::own(&user.tenant_id, &user.id, "backup_code_used", serde_json::json!({ "remaining": remaining })),
        )?;
        if remaining == 2 {
            let to = Recipient::user(user, origin.browser_locale);
            notices::queue(conn, &state.data_key, &to, &Letter::Notice(Notice::BackupCodesRunningLow), now)?;
        }
    }
    Ok(SecondFactor::Passed(factor))
}

/// What `/auth/mfa/verify` came to.
#[derive(Debug)]
pub enum Verified {
    /// Signed in; with the device just trusted when the user ticked "Remember this device" and
    /// the site allows it.
    Authenticated(Issued, Option<super::trusted::Remembered>),
    /// Unknown, expired or used `mfa_token`, or its user is gone or disabled.
    BadToken,
    Wrong,
    Locked(i64),
}

/// Completes a sign-in with its second factor: one write transaction that reserves the guess,
/// checks it, consumes the challenge, redeems a pending SSO link, opens the session and, when
/// `remember_device` is asked for and the site allows it, trusts this browser.
pub async fn verify(
    state: &AppState,
    mfa_token: &str,
    submission: Submission,
    remember_device: bool,
    origin: Origin,
) -> Result<Verified, ApiError> {
    let th = token_hash(mfa_token);
    let now = state.now();
    let st = state.clone();
    let outcome = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let challenge = mfa::find_challenge(conn, &th)?
                    .filter(|c| c.purpose == "signin" && c.consumed_at.is_none() && c.expires_at > now);
                let Some(challenge) = challenge else { return Ok(Verified::BadToken) };
                let user = users::find(conn, &challenge.user_id)?.filter(|u| !u.disabled);
                let (Some(user), Some(method)) = (user, mfa::find(conn, &challenge.user_id)?) else {
                    return Ok(Verified::BadToken);
                };
                match check_second_factor(conn, &st, &user, &method, Some(&challenge), &submission, &origin, now)? {
                    SecondFactor::Locked(retry) => Ok(Verified::Locked(retry)),
                    SecondFactor::Wrong => Ok(Verified::Wrong),
                    SecondFactor::Passed(factor) => {
                        if !mfa::consume_challenge(conn, &th, now)? {
                            return Err(ApiError::InvalidMfaToken);
                        }
                        let how = Authentication { amr: factor.amr(&challenge.first_factor), acr: "aal2" };
                        if let Some(link) = &challenge.link_token_hash {
                            super::sso::redeem_link(conn, &st, &user, link, &origin, now)?;
                        }
                        let details = serde_json::json!({ "method": factor.as_str() });
                        let life = lifetimes(&st);
                        let issued =
                            session::sign_in(conn, &st.data_key, &st.keys, life, &user, &how, &origin, now, details)?;
                        let remembered =
                            if remember_device { super::trusted::remember(conn, &user, &origin, now)? } else { None };
                        Ok::<_, ApiError>(Verified::Authenticated(issued, remembered))
                    }
                }
            })
        })
        .await?;
    match &outcome {
        Verified::Authenticated(..) => state.metrics.signin("success"),
        Verified::Wrong => state.metrics.signin("invalid_code"),
        Verified::Locked(_) => state.metrics.signin("locked"),
        Verified::BadToken => {}
    }
    Ok(outcome)
}

/// What a request for a new e-mailed code came to.
#[derive(Debug)]
pub enum Resent {
    /// A new code was handed to the mail server; the old one is void. Seconds it stays valid.
    Sent(i64),
    /// No live e-mail challenge behind the token (`/auth/mfa/resend`).
    BadToken,
    /// Within the cool-down of the last code.
    CoolingDown(i64),
}

/// A new e-mailed code for the sign-in challenge of `mfa_token`, at most one a minute; `browser`
/// is the request's language (for a user who has not chosen one).
pub async fn resend(state: &AppState, mfa_token: &str, browser: Option<Locale>) -> Result<Resent, ApiError> {
    let th = token_hash(mfa_token);
    let now = state.now();
    let found = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let Some(c) = mfa::find_challenge(conn, &th)?.filter(|c| {
                c.purpose == "signin" && c.method == "email" && c.consumed_at.is_none() && c.expires_at > now
            }) else {
                return Ok(None);
            };
            Ok(users::find(conn, &c.user_id)?.map(|u| (c, u)))
        })
        .await?;
    let Some((challenge, user)) = found else { return Ok(Resent::BadToken) };
    let to = Recipient::user(&user, browser);
    send_again(state, &challenge.token_hash, challenge.last_sent_at, &to, CodePurpose::SignIn).await
}

/// The cool-down's slot is taken by one conditional update on the challenge's `last_sent_at`
/// before anything is sent: of parallel requests exactly one wins and mails a code. The new
/// code replaces the old one only once the mail server has it; if it refuses, the slot is given
/// back and the old code still works (nothing changed).
async fn send_again(
    state: &AppState,
    token_hash: &str,
    previous: Option<i64>,
    to: &Recipient<'_>,
    purpose: CodePurpose,
) -> Result<Resent, ApiError> {
    let now = state.now();
    if let Some(sent) = previous {
        let wait = sent + RESEND_COOLDOWN_SECS - now;
        if wait > 0 {
            return Ok(Resent::CoolingDown(wait));
        }
    }
    let (th, t) = (token_hash.to_string(), token_hash.to_string());
    let claimed = state.db.run(move |conn| mfa::claim_send(conn, &t, previous, now).map_err(ApiError::from)).await?;
    let t = th.clone();
    if !claimed {
        return Ok(Resent::CoolingDown(RESEND_COOLDOWN_SECS));
    }
    let undo = move |conn: &mut AnyConnection| mfa::release_send(conn, &t, previous, now);
    mail_code_in_slot(state, &th, to, purpose, now, undo).await
}

/// Mails a new code in the send slot taken at `now` for the challenge `token_hash`, then stores
/// its hash there (the previous code void). If the mail server refuses it, `undo` gives the slot
/// back and the answer is 503 `email_delivery_failed`, nothing changed.
async fn mail_code_in_slot(
    state: &AppState,
    token_hash: &str,
    to: &Recipient<'_>,
    purpose: CodePurpose,
    now: i64,
    undo: impl FnOnce(&mut AnyConnection) -> diesel::QueryResult<()> + Send + 'static,
) -> Result<Resent, ApiError> {
    let code = secrets::new_email_code();
    if let Err(e) = send_code(state, code_mail(to, &code, purpose)).await {
        state.db.run(move |conn| undo(conn).map_err(ApiError::from)).await?;
        return Err(e);
    }
    let (th, hash) = (token_hash.to_string(), mfa_auth::otp_hash(&state.data_key, token_hash, &code));
    state
        .db
        .run(move |conn| mfa::store_code(conn, &th, &hash, now + EMAIL_CODE_SECS, now).map_err(ApiError::from))
        .await?;
    Ok(Resent::Sent(EMAIL_CODE_SECS))
}

/// The challenge key of a session's re-authentication code.
pub fn reauth_challenge_hash(family_id: &str) -> String {
    token_hash(&format!("reauth\n{family_id}"))
}

/// What a request for a re-authentication code came to.
#[derive(Debug)]
pub enum ReauthCode {
    Sent(Resent),
    /// The user's method is not e-mail.
    NotEmailMethod,
}

/// Mails a code for `/auth/reauth` to a user whose method is e-mail, at most one a minute per
/// session. A session's first code creates its challenge with the send slot taken, in one
/// conditional statement, so that parallel requests mail one code between them. `browser` is the
/// request's language (for a user who has not chosen one).
pub async fn reauth_email_code(
    state: &AppState,
    user: &User,
    family_id: &str,
    browser: Option<Locale>,
) -> Result<ReauthCode, ApiError> {
    let th = reauth_challenge_hash(family_id);
    let (uid, t, now) = (user.id.clone(), th.clone(), state.now());
    let (method, existing) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let existing = mfa::find_challenge(conn, &t)?.filter(|c| c.consumed_at.is_none() && c.expires_at > now);
            Ok((mfa::find(conn, &uid)?, existing))
        })
        .await?;
    if method.map(|m| m.method).as_deref() != Some("email") {
        return Ok(ReauthCode::NotEmailMethod);
    }
    if let Some(existing) = existing {
        let to = Recipient::user(user, browser);
        return Ok(ReauthCode::Sent(
            send_again(state, &th, existing.last_sent_at, &to, CodePurpose::Confirmation).await?,
        ));
    }
    let challenge = Challenge {
        token_hash: th.clone(),
        user_id: user.id.clone(),
        purpose: "reauth".into(),
        method: "email".into(),
        code_hash: None,
        code_expires_at: None,
        last_sent_at: Some(now),
        expires_at: now + EMAIL_CODE_SECS,
        consumed_at: None,
        created_at: now,
        first_factor: "pwd".into(),
        link_token_hash: None,
    };
    let created =
        state.db.run(move |conn| mfa::create_or_revive(conn, &challenge, now).map_err(ApiError::from)).await?;
    if !created {
        return Ok(ReauthCode::Sent(Resent::CoolingDown(RESEND_COOLDOWN_SECS)));
    }
    let t = th.clone();
    let undo = move |conn: &mut AnyConnection| mfa::delete_unsent(conn, &t, now);
    let to = Recipient::user(user, browser);
    Ok(ReauthCode::Sent(mail_code_in_slot(state, &th, &to, CodePurpose::Confirmation, now, undo).await?))
}

/// What password gives back with a challenge (see [`start`]).
impl From<GiveBack<'_>> for PasswordGiveBack {
    fn from(g: GiveBack<'_>) -> Self {
        Self { account_key: g.key.to_string() }
    }
}
