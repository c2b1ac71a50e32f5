//! `/api/v1/auth`: password sign-in, refresh, logout, re-authentication.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::session::{self, account_key, Authentication, Issued, Lifetimes, Refreshed};
use crate::auth::tokens::{looks_like_token, token_hash};
use crate::db::audit::{self, NewEvent};
use crate::db::{sessions, throttle, write_tx};
use crate::domain::{Email, Secret, TenantSlug, MAX_PASSWORD_CHARS};
use crate::error::{ApiError, FieldError, Problem};
use crate::routes::extract::{self, AuthUser, OptionalJson};
use crate::routes::mfa;
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The site's slug.
    #[schema(example = "acme")]
    pub tenant: String,
    #[schema(example = "agent@acme.example")]
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
    /// From an SSO attempt that found no connected account ("connect from the login page").
    #[serde(default)]
    pub link_token: Option<String>,
    #[serde(default)]
    pub token_delivery: Option<TokenDelivery>,
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

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub token_delivery: Option<TokenDelivery>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReauthRequest {
    #[schema(format = Password)]
    pub password: String,
    /// A one-time code, for a user with 2FA.
    #[serde(default)]
    pub code: Option<String>,
    /// A backup code, for a user with 2FA.
    #[serde(default)]
    pub backup_code: Option<String>,
    #[serde(default)]
    pub token_delivery: Option<TokenDelivery>,
}

pub(crate) fn lifetimes(state: &AppState) -> Lifetimes {
    Lifetimes {
        access_secs: AppState::ACCESS_TOKEN_SECS,
        family_max_secs: state.session_max_secs(),
        family_idle_secs: state.session_idle_secs(),
    }
}

pub(crate) fn refresh_cookie<'a>(state: &AppState, value: String, max_age: i64) -> Cookie<'a> {
    Cookie::build(REFRESH_COOKIE, value)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(AUTH_COOKIE_PATH)
        .secure(state.cookies_secure())
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

/// 200 authenticated, the refresh token in the cookie or (when asked) in the body.
pub(crate) fn authenticated(state: &AppState, issued: Issued, delivery: TokenDelivery) -> HttpResponse {
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

/// The cookie is only taken from our own origin (CSRF): `Origin` must be `AUTH_PUBLIC_URL`'s.
fn cookie_token(req: &HttpRequest, state: &AppState) -> Result<Option<String>, ApiError> {
    let Some(cookie) = req.cookie(REFRESH_COOKIE) else { return Ok(None) };
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin != Some(public_origin(&state.public_url)) {
        return Err(ApiError::Forbidden("the refresh cookie is only accepted from the app's own origin".into()));
    }
    Ok(Some(cookie.value().to_string()))
}

/// `scheme://host[:port]` of a URL.
pub fn public_origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

fn validate_login(body: &LoginRequest) -> Result<(TenantSlug, Email), ApiError> {
    let mut errors = Vec::new();
    let slug = TenantSlug::parse(&body.tenant).map_err(|m| errors.push(FieldError::new("tenant", m)));
    let email = Email::parse(&body.email).map_err(|m| errors.push(FieldError::new("email", m)));
    if body.password.is_empty() {
        errors.push(FieldError::new("password", "the password is required"));
    } else if body.password.chars().count() > MAX_PASSWORD_CHARS {
        // Refused before hashing: no valid password is this long.
        errors.push(FieldError::new("password", "at most 128 characters"));
    }
    match (slug, email) {
        (Ok(s), Ok(e)) if errors.is_empty() => Ok((s, e)),
        _ => Err(ApiError::Invalid(errors)),
    }
}

/// Sign in with site, e-mail and password.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "sign-in",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (refresh token in the `cx_refresh` cookie unless `token_delivery` is `body`)", body = SignInResponse),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_credentials`: wrong password, unknown user or site, disabled user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: the account is locked or the address is over its budget", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (slug, email) = validate_login(&body)?;
    let origin = extract::origin(&req, &state);
    let key = account_key(slug.as_str(), email.as_str());
    let now = state.now();

    // The per-address budget is counted in the database step of the look-up, in the same statement.
    let budget = extract::SigninBudget::of(&req, &state);
    let (k, s, e) = (key.clone(), slug.as_str().to_string(), email.as_str().to_string());
    let looked_up = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let found = budget.spend_looking_up(conn, &k, &s, &e)?;
            if let Err(retry) = found.spent {
                return Ok(Err(retry));
            }
            let (account, method) = match found.account {
                Some((tenant, user, method)) => (Some((tenant, user)), method),
                None => (None, None),
            };
            Ok(Ok((found.failures, account, method)))
        })
        .await?;
    let (failures, account, method) = looked_up.map_err(|retry| extract::signin_rate_limited(&state, retry))?;
    let link_hash = match &body.link_token {
        Some(t) => Some(
            crate::auth::signin::sso::check_link_token(
                &state,
                req.cookie("cx_sso").map(|c| c.value().to_string()).as_deref(),
                t,
                slug.as_str(),
            )
            .await?,
        ),
        None => None,
    };
    if let Some(retry) = failures.locked_for {
        state.metrics.signin("locked");
        return Err(ApiError::TooManyAttempts { retry_after: retry as u64 });
    }

    let hash = account.as_ref().map(|(_, u)| u.password_hash.clone());
    let password_ok = state.hasher.verify(Secret::new(body.password), hash).await.map_err(ApiError::internal)?;
    let known = account.as_ref().map(|(t, u)| (t.id.clone(), u.id.clone()));
    let usable = account.filter(|(_, u)| !u.disabled);

    let (keys, life, st) = (state.keys.clone(), lifetimes(&state), state.get_ref().clone());
    match (password_ok, usable) {
        (true, Some((tenant, user))) if method.is_some() => {
            let method = method.map(|m| m.method).unwrap_or_default();
            let (token, method) =
                mfa::start_challenge(&state, &user, &tenant, &method, Some(key), "pwd", link_hash, origin).await?;
            state.metrics.signin("mfa_required");
            Ok(mfa::mfa_required(token, method))
        }
        (true, Some((_, user))) => {
            let issued = state
                .db
                .run(move |conn| {
                    let sign_in = |conn: &mut crate::db::AnyConnection| {
                        let details = serde_json::json!({ "method": "password" });
                        let how = Authentication::password();
                        session::sign_in(conn, &st.data_key, &keys, life, &user, &how, &origin, now, details)
                    };
                    if !failures.counted && link_hash.is_none() {
                        return session::sign_in_by_itself(conn, sign_in);
                    }
                    write_tx(conn, |conn| {
                        if failures.counted {
                            throttle::reset(conn, &key)?;
                        }
                        if let Some(link) = &link_hash {
                            crate::auth::signin::sso::redeem_link(conn, &st, &user, link, &origin, now)?;
                        }
                        sign_in(conn)
                    })
                })
                .await?;
            state.metrics.signin("success");
            Ok(authenticated(&state, issued, body.token_delivery.unwrap_or_default()))
        }
        _ => {
            // The site and user are named in the audit only when they exist; the answer is the same.
            let (tenant_id, user_id) = known.unzip();
            state
                .db
                .run(move |conn| {
                    write_tx(conn, |conn| {
                        let (failures, lock) = throttle::record_failure(conn, &key, now)?;
                        audit::record(
                            conn,
                            &origin,
                            now,
                            NewEvent {
                                tenant_id: tenant_id.as_deref(),
                                kind: "sign_in_failed",
                                user_id: user_id.as_deref(),
                                actor_id: None,
                                details: serde_json::json!({ "reason": "invalid_credentials", "consecutive_failures": failures }),
                            },
                        )?;
                        if lock > 0 {
                            audit::record(
                                conn,
                                &origin,
                                now,
                                NewEvent {
                                    tenant_id: tenant_id.as_deref(),
                                    kind: "account_locked",
                                    user_id: user_id.as_deref(),
                                    actor_id: None,
                                    details: serde_json::json!({ "consecutive_failures": failures, "lock_seconds": lock }),
                                },
                            )?;
                        }
                        Ok::<_, ApiError>(())
                    })
                })
                .await?;
            state.metrics.signin("invalid_credentials");
            Err(ApiError::InvalidCredentials { in_session: false })
        }
    }
}

/// Rotate the refresh token and get a new access token.
#[utoipa::path(
    post, path = "/api/v1/auth/token/refresh", tag = "sign-in",
    request_body(content = RefreshRequest, description = "Empty for the cookie; `{refresh_token, token_delivery: \"body\"}` otherwise"),
    responses(
        (status = 200, description = "A new access token and a rotated refresh token", body = SignInResponse),
        (status = 401, description = "`invalid_refresh_token`: unknown, expired, revoked or re-used (a re-use ends the whole family)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the cookie came without our `Origin`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OptionalJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let token = match body.refresh_token {
        Some(t) => t,
        None => cookie_token(&req, &state)?.ok_or(ApiError::InvalidRefreshToken)?,
    };
    if !looks_like_token(&token, 32) {
        return Err(ApiError::InvalidRefreshToken);
    }
    let origin = extract::origin(&req, &state);
    let (keys, life, now) = (state.keys.clone(), lifetimes(&state), state.now());
    let outcome = state.db.run(move |conn| session::refresh(conn, &keys, life, &token, &origin, now)).await?;
    match outcome {
        Refreshed::Ok(issued) => Ok(authenticated(&state, issued, body.token_delivery.unwrap_or_default())),
        Refreshed::Refused => Err(ApiError::InvalidRefreshToken),
    }
}

/// End the session of a refresh token (and of the bearer token, if one is sent).
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "sign-in",
    request_body(content = LogoutRequest, description = "Empty for the cookie"),
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 403, description = "`forbidden`: the cookie came without our `Origin`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OptionalJson<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = match body.0.refresh_token {
        Some(t) => Some(t),
        None => cookie_token(&req, &state)?,
    };
    let bearer_family = match extract::bearer(&req) {
        Some(b) => state.keys.verify(&b, state.now()).ok().and_then(|c| c.sid.map(|sid| (sid, c.sub))),
        None => None,
    };
    let origin = extract::origin(&req, &state);
    let now = state.now();
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let mut families = Vec::new();
                if let Some(t) = token.filter(|t| looks_like_token(t, 32)) {
                    families.extend(sessions::family_of_token(conn, &token_hash(&t))?);
                }
                if let Some((sid, sub)) = bearer_family {
                    families.extend(sessions::find_family(conn, &sid)?.filter(|f| f.user_id == sub));
                }
                for family in families {
                    if sessions::revoke_family(conn, &family.id, "logout", now)? {
                        audit::record(
                            conn,
                            &origin,
                            now,
                            NewEvent {
                                tenant_id: Some(&family.tenant_id),
                                kind: "signed_out",
                                user_id: Some(&family.user_id),
                                actor_id: Some(&family.user_id),
                                details: serde_json::json!({ "session_id": family.id }),
                            },
                        )?;
                    }
                }
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    let mut gone = refresh_cookie(&state, String::new(), 0);
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// Confirm the password again: a fresh `auth_time` for sensitive actions, and a rotated refresh token.
#[utoipa::path(
    post, path = "/api/v1/auth/reauth", tag = "sign-in",
    request_body = ReauthRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new access token with a fresh `auth_time`", body = SignInResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`invalid_credentials` or `invalid_code`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reauth(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<ReauthRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ApiError::invalid("password", "at most 128 characters"));
    }
    extract::limit_signin(&req, &state).await?;
    let origin = extract::origin(&req, &state);
    let key = account_key(&user.tenant.slug, &user.user.email);
    let now = state.now();
    let k = key.clone();
    if let Some(retry) = state.db.run(move |conn| throttle::locked_for(conn, &k, now).map_err(ApiError::from)).await? {
        return Err(ApiError::TooManyAttempts { retry_after: retry as u64 });
    }
    let ok = state
        .hasher
        .verify(Secret::new(body.password), Some(user.user.password_hash.clone()))
        .await
        .map_err(ApiError::internal)?;
    let family_id = user.claims.sid.clone().ok_or(ApiError::Unauthenticated)?;
    let submission = crate::auth::mfa::Submission { code: body.code, backup_code: body.backup_code };
    let st = state.get_ref().clone();
    let AuthUser { user: account, tenant, .. } = user;
    let result = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                if !ok {
                    let (failures, _) = throttle::record_failure(conn, &key, now)?;
                    audit::record(
                        conn,
                        &origin,
                        now,
                        NewEvent {
                            tenant_id: Some(&tenant.id),
                            kind: "reauth_failed",
                            user_id: Some(&account.id),
                            actor_id: Some(&account.id),
                            details: serde_json::json!({ "reason": "invalid_credentials", "consecutive_failures": failures }),
                        },
                    )?;
                    return Ok(Err(ApiError::InvalidCredentials { in_session: true }));
                }
                let how = match crate::db::mfa::find(conn, &account.id)? {
                    None => Authentication::password(),
                    Some(method) => {
                        let challenge = crate::db::mfa::find_challenge(conn, &mfa::reauth_challenge_hash(&family_id))?
                            .filter(|c| c.purpose == "reauth" && c.consumed_at.is_none() && c.expires_at > now);
                        match mfa::check_second_factor(
                            conn, &st, &account, &method, challenge.as_ref(), &submission, &origin, now,
                        )? {
                            mfa::SecondFactor::Passed(factor) => Authentication { amr: factor.amr("pwd"), acr: "aal2" },
                            mfa::SecondFactor::Wrong => return Ok(Err(ApiError::InvalidCode { in_session: true })),
                            mfa::SecondFactor::Locked(retry) => {
                                return Ok(Err(ApiError::TooManyAttempts { retry_after: retry as u64 }))
                            }
                        }
                    }
                };
                throttle::reset(conn, &key)?;
                let issued = session::reauthenticate(conn, &st.keys, lifetimes(&st), &account, &family_id, &how, now)?;
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent {
                        tenant_id: Some(&tenant.id),
                        kind: "reauthenticated",
                        user_id: Some(&account.id),
                        actor_id: Some(&account.id),
                        details: serde_json::json!({ "session_id": family_id, "amr": how.amr }),
                    },
                )?;
                Ok::<_, ApiError>(Ok(issued))
            })
        })
        .await?;
    Ok(authenticated(&state, result?, body.token_delivery.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::public_origin;

    #[test]
    fn the_origin_of_the_public_url_drops_any_path() {
        assert_eq!(public_origin("https://auth.example.com"), "https://auth.example.com");
        assert_eq!(public_origin("https://auth.example.com/x/y"), "https://auth.example.com");
        assert_eq!(public_origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
