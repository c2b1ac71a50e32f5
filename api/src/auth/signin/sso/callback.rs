//! The callback's work: the attempt's state checked, the code exchanged, the ID token
//! validated, a connect made, and what it found stored under a one-time `result`.

use crate::auth::oidc::{Expectation, Identity, OidcError};
use crate::auth::secrets::ct_eq;
use crate::auth::tokens::{looks_like_token, random_token, token_hash};
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::sso::{self, Attempt, Provider, SsoResult};
use crate::db::{users, write_tx};
use crate::error::ApiError;
use crate::state::AppState;

use super::{binding_hash, client_secret_aad, connect, redirect_uri, Found, RESULT_SECS, SSO_TOKEN_BYTES};

/// The query of the provider's redirect to our callback.
pub struct ProviderReply {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// Where the callback leaves the attempt: success or failure, it is stored under a result.
pub enum CallbackOutcome {
    /// Stored under this one-time `result` (2 minutes, bound to the same `cx_sso` cookie).
    Stored { result: String },
    /// The database did not take it.
    Unavailable,
}

/// The callback's work: the state checked against the `cx_sso` cookie (single use, 10
/// minutes), the code exchanged with PKCE, the ID token validated, and a connect made; what it
/// found — a failure included — stored under a fresh `result`.
pub async fn callback(
    state: &AppState,
    sso_cookie: Option<&str>,
    reply: ProviderReply,
    origin: &Origin,
) -> CallbackOutcome {
    let binding = binding_hash(sso_cookie);
    let (found, return_to) = match run_callback(state, &binding, reply, origin).await {
        Ok(found) => found,
        Err(reason) => (Found::Failed { reason: reason.to_string() }, None),
    };
    let result = random_token(SSO_TOKEN_BYTES);
    let now = state.now();
    let row = SsoResult {
        result_hash: token_hash(&result),
        binding_hash: binding,
        intent: match &found {
            Found::Connected { .. } => "connect".into(),
            _ => "login".into(),
        },
        outcome: serde_json::to_string(&found).unwrap_or_default(),
        return_to,
        created_at: now,
        expires_at: now + RESULT_SECS,
        used_at: None,
    };
    if let Found::Failed { reason } = &found {
        tracing::info!(reason = %reason, "sso attempt failed");
    }
    match state.db.run(move |conn| sso::insert_result(conn, &row).map_err(ApiError::from)).await {
        Ok(()) => CallbackOutcome::Stored { result },
        Err(_) => CallbackOutcome::Unavailable,
    }
}

async fn run_callback(
    state: &AppState,
    binding: &str,
    q: ProviderReply,
    origin: &Origin,
) -> Result<(Found, Option<String>), &'static str> {
    // A value we could not have issued is refused before any database work.
    let stoken = q.state.filter(|s| looks_like_token(s, SSO_TOKEN_BYTES)).ok_or("state_invalid")?;
    let (sh, b, now) = (token_hash(&stoken), binding.to_string(), state.now());
    let attempt = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            write_tx(conn, |conn| {
                let Some(a) = sso::find_attempt(conn, &sh)? else { return Ok(Err("state_invalid")) };
                // Single use, whatever happens next; then bound to this browser and 10 minutes.
                if !sso::use_attempt(conn, &sh, now)? || !ct_eq(&a.binding_hash, &b) {
                    return Ok(Err("state_invalid"));
                }
                if a.expires_at <= now {
                    return Ok(Err("expired"));
                }
                Ok(Ok(a))
            })
        })
        .await
        .map_err(|_| "provider_error")??;
    let return_to = attempt.return_to.clone();
    let fail = |reason: &'static str| Ok((Found::Failed { reason: reason.into() }, return_to.clone()));
    if q.error.is_some() {
        return fail("provider_error");
    }
    let Some(code) = q.code else { return fail("provider_error") };
    let pid = attempt.provider_id.clone();
    let Some(provider) = state
        .db
        .run(move |conn| sso::find_provider(conn, &pid).map_err(ApiError::from))
        .await
        .map_err(|_| "provider_error")?
        .filter(|p| p.enabled)
    else {
        return fail("provider_error");
    };
    let identity = match exchange_and_validate(state, &provider, &attempt, &code, q.iss.as_deref()).await {
        Ok(identity) => identity,
        Err(e) => {
            tracing::info!(provider = %provider.id, error = %e, "sso token rejected");
            audit_failure(state, &provider, attempt.user_id.as_deref(), e.reason(), origin).await;
            return fail(e.reason());
        }
    };
    if attempt.intent == "login" {
        return Ok((Found::Login { provider_id: provider.id.clone(), identity }, return_to));
    }
    // Connect: the attempt carries the signed-in user who started it.
    let Some(user_id) = attempt.user_id.clone() else { return fail("state_invalid") };
    let (st, o) = (state.clone(), origin.clone());
    let connected = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let user = users::find(conn, &user_id)?.ok_or(ApiError::NotFound)?;
                connect(conn, &st, &user, &provider, &identity, &o, now)
            })
        })
        .await;
    match connected {
        Ok(id) => Ok((Found::Connected { connection_id: id, user_id: attempt.user_id.unwrap_or_default() }, return_to)),
        Err(ApiError::SsoAlreadyConnected) => fail("already_connected"),
        Err(_) => fail("provider_error"),
    }
}

async fn exchange_and_validate(
    state: &AppState,
    provider: &Provider,
    attempt: &Attempt,
    code: &str,
    iss: Option<&str>,
) -> Result<Identity, OidcError> {
    let discovered = state.oidc.discover(&provider.issuer, false).await?;
    // RFC 9207: an `iss` on the redirect must be this application's issuer (mix-up defence).
    if let Some(iss) = iss {
        if !discovered.doc.issuer.contains("{tenantid}") && iss != discovered.doc.issuer {
            return Err(OidcError::Token("the response comes from another issuer".into()));
        }
    }
    let secret = state
        .data_key
        .open(&provider.client_secret_sealed, &client_secret_aad(&provider.id))
        .map_err(|_| OidcError::Provider("the client secret cannot be read with this AUTH_DATA_KEY".into()))?;
    let verifier = state
        .data_key
        .open(&attempt.pkce_verifier, b"pkce")
        .map_err(|_| OidcError::Provider("attempt unreadable".into()))?;
    let raw = state
        .oidc
        .exchange(
            &discovered.doc,
            &provider.client_id,
            &String::from_utf8_lossy(&secret),
            code,
            &redirect_uri(state),
            &String::from_utf8_lossy(&verifier),
        )
        .await?;
    let allowed: Vec<String> = provider.allowed_tenants.split_whitespace().map(str::to_string).collect();
    let expect = Expectation {
        client_id: &provider.client_id,
        nonce: &attempt.nonce,
        microsoft: provider.kind == "microsoft",
        allowed_tenants: &allowed,
        now: state.clock.now(),
    };
    state.oidc.validate(&provider.issuer, &raw, &expect).await
}

/// A rejected token is audited on its own: the attempt it belonged to is already spent.
async fn audit_failure(state: &AppState, provider: &Provider, user_id: Option<&str>, reason: &str, origin: &Origin) {
    let (tid, pid, uid, reason, origin, now) = (
        provider.tenant_id.clone(),
        provider.id.clone(),
        user_id.map(str::to_string),
        reason.to_string(),
        origin.clone(),
        state.now(),
    );
    let _ = state
        .db
        .run(move |conn| {
            audit::record(
                conn,
                &origin,
                now,
                NewEvent {
                    tenant_id: Some(&tid),
                    kind: "sso_failed",
                    user_id: uid.as_deref(),
                    actor_id: uid.as_deref(),
                    details: serde_json::json!({ "provider_id": pid, "reason": reason }),
                },
            )
            .map_err(ApiError::from)
        })
        .await;
}
