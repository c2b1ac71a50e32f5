//! The OpenAPI 3.1 document, generated from the handlers. `openapi.yaml` at the repository
//! root is this, printed by `cloudcx-auth openapi`; a test fails when they differ.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{admin, auth, lifecycle, me, mfa, oauth, ops, services, sso, two_factor, wellknown};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CloudCX Auth",
        description = "Account security for CloudCX: password sign-in, two-factor authentication, \
                       single sign-on, and JWTs that other CloudCX services verify on their own. \
                       Every error under `/api/` is RFC 9457 problem+json with a stable `code`.",
        license(name = "MIT"),
    ),
    paths(
        auth::login,
        auth::refresh,
        auth::logout,
        auth::reauth,
        mfa::reauth_email_code,
        mfa::verify,
        mfa::resend,
        lifecycle::forgot,
        lifecycle::reset,
        sso::providers,
        sso::authorize,
        sso::callback,
        sso::complete,
        me::me,
        sso::my_sso,
        lifecycle::change_password,
        lifecycle::list_sessions,
        lifecycle::delete_session,
        lifecycle::revoke_others,
        sso::disconnect,
        two_factor::status,
        two_factor::email_setup,
        two_factor::totp_setup,
        two_factor::confirm,
        two_factor::disable,
        two_factor::view_backup_codes,
        two_factor::download_backup_codes,
        two_factor::regenerate_backup_codes,
        admin::list_users,
        admin::create_user,
        admin::reset_two_factor,
        lifecycle::update_user,
        lifecycle::unlock,
        lifecycle::send_reset_link,
        lifecycle::delete_user,
        admin::get_settings,
        admin::patch_settings,
        admin::audit_events,
        sso::list_providers,
        sso::create_provider,
        sso::get_provider,
        sso::patch_provider,
        sso::delete_provider,
        sso::test_provider,
        services::list_clients,
        services::create_client,
        services::delete_client,
        services::user,
        oauth::token,
        oauth::introspect,
        wellknown::jwks,
        wellknown::openid_configuration,
        ops::healthz,
        ops::readyz,
        ops::metrics,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError, auth::TokenDelivery)),
    modifiers(&BearerAuth),
    tags(
        (name = "sign-in", description = "Password sign-in, tokens and sessions"),
        (name = "my account", description = "The signed-in user's own account"),
        (name = "two-factor", description = "Two-factor authentication: one method, backup codes"),
        (name = "administration", description = "Site administration (admins only)"),
        (name = "single sign-on", description = "Sign in with Google / Office 365, connected accounts"),
        (name = "services", description = "For other CloudCX services: client credentials, introspection, users"),
        (name = "discovery", description = "Keys and metadata for services that verify our tokens"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

pub fn spec() -> utoipa::openapi::OpenApi {
    let mut spec = ApiDoc::openapi();
    // The version of the document follows the crate's, not utoipa's default.
    spec.info.version = env!("CARGO_PKG_VERSION").to_string();
    spec
}

/// The spec as YAML, as committed in `openapi.yaml`.
pub fn yaml() -> anyhow::Result<String> {
    Ok(spec().to_yaml()?)
}
