//! The profile's connected accounts: the site's applications, the user's connections, and
//! disconnecting one.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::rfc3339;
use crate::db::audit::{self, NewEvent};
use crate::db::sso::{self, Connection};
use crate::db::write_tx;
use crate::domain::ProviderKind;
use crate::error::{ApiError, Problem};
use crate::notices::{self, Letter, Recipient};
use crate::routes::extract::{self, AuthUser};
use crate::state::AppState;

use super::signin::ProviderSummary;

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    pub id: String,
    pub provider_id: String,
    #[schema(value_type = ProviderKind)]
    pub kind: String,
    /// Shown only; accounts are never matched by e-mail.
    pub email: Option<String>,
    pub connected_at: String,
}

pub(super) fn connection_view(c: Connection, kind: String) -> ConnectionView {
    ConnectionView { id: c.id, provider_id: c.provider_id, kind, email: c.email, connected_at: rfc3339(c.connected_at) }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MySso {
    /// The site's enabled applications; empty: "You haven't added any application. Please contact your system admin."
    pub providers: Vec<ProviderSummary>,
    pub connections: Vec<ConnectionView>,
}

/// The site's applications and the user's connected accounts.
#[utoipa::path(
    get, path = "/api/v1/me/sso", tag = "single sign-on",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MySso),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn my_sso(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let (tid, uid) = (user.user.tenant_id.clone(), user.user.id.clone());
    let (providers, connections) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            Ok((sso::providers(conn, &tid, true)?, sso::connections_of(conn, &uid)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(MySso {
        providers: providers.iter().map(Into::into).collect(),
        connections: connections.into_iter().map(|(c, k)| connection_view(c, k)).collect(),
    }))
}

/// Disconnect an external account.
#[utoipa::path(
    delete, path = "/api/v1/me/sso/connections/{id}", tag = "single sign-on",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Disconnected"),
        (status = 403, description = "`reauth_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disconnect(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    user.require_fresh(now)?;
    let (id, origin, key) = (path.into_inner(), extract::origin(&req, &state), state.data_key.clone());
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let gone = sso::delete_connection(conn, &user.user.id, &id)?.ok_or(ApiError::NotFound)?;
                let provider = sso::find_provider(conn, &gone.provider_id)?;
                let name = provider.map(|p| p.display_name);
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent {
                        tenant_id: Some(&user.user.tenant_id),
                        kind: "sso_disconnected",
                        user_id: Some(&user.user.id),
                        actor_id: Some(&user.user.id),
                        details: serde_json::json!({ "provider_id": gone.provider_id, "connection_id": gone.id }),
                    },
                )?;
                let letter = Letter::SsoDisconnected { application: name.as_deref(), email: gone.email.as_deref() };
                notices::queue(conn, &key, &Recipient::user(&user.user, origin.browser_locale), &letter, now)?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}
