//! `/.well-known`: the JWK Set and the discovery document other services use.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// The public signing keys (RFC 7517): the current key and the previous ones.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "discovery",
    responses((status = 200, description = "JWK Set", content_type = "application/json", body = Object))
)]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=300")).json(state.keys.jwks())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoveryDocument {
    pub issuer: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    pub introspection_endpoint: String,
    pub grant_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
}

/// Where the keys and the service endpoints are.
#[utoipa::path(
    get, path = "/.well-known/openid-configuration", tag = "discovery",
    responses((status = 200, body = DiscoveryDocument))
)]
pub async fn openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    let base = &state.public_url;
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=300")).json(DiscoveryDocument {
        issuer: state.keys.issuer().to_string(),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        token_endpoint: format!("{base}/oauth/token"),
        introspection_endpoint: format!("{base}/oauth/introspect"),
        grant_types_supported: vec!["client_credentials".into()],
        token_endpoint_auth_methods_supported: vec!["client_secret_basic".into()],
        introspection_endpoint_auth_methods_supported: vec!["client_secret_basic".into()],
    })
}
