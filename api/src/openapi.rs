//! The OpenAPI 3.1 document, generated from the handlers. `openapi.yaml` at the repository
//! root is this, printed by `cloudcx-auth openapi`; a test fails when they differ.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    admin, auth, lifecycle, me, mfa, oauth, ops, passkeys, services, sso, trusted_devices, two_factor, views, wellknown,
};

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
        passkeys::reauth_options,
        passkeys::reauth,
        passkeys::sign_in_options,
        passkeys::login,
        mfa::verify,
        mfa::resend,
        lifecycle::forgot,
        lifecycle::reset,
        sso::providers,
        sso::authorize,
        sso::callback,
        sso::complete,
        me::me,
        me::patch_me,
        sso::my_sso,
        lifecycle::change_password,
        lifecycle::list_sessions,
        lifecycle::delete_session,
        lifecycle::revoke_others,
        sso::disconnect,
        trusted_devices::list,
        trusted_devices::forget_all,
        trusted_devices::forget,
        two_factor::status,
        two_factor::email_setup,
        two_factor::totp_setup,
        two_factor::confirm,
        two_factor::disable,
        two_factor::view_backup_codes,
        two_factor::download_backup_codes,
        two_factor::regenerate_backup_codes,
        passkeys::registration_options,
        passkeys::list,
        passkeys::add,
        passkeys::rename,
        passkeys::remove,
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
    components(schemas(crate::error::Problem, crate::error::FieldError, views::TokenDelivery)),
    modifiers(&BearerAuth, &CommonErrors),
    tags(
        (name = "sign-in", description = "Password sign-in, tokens and sessions"),
        (name = "my account", description = "The signed-in user's own account"),
        (name = "two-factor", description = "Two-factor authentication: one method, backup codes"),
        (name = "passkeys", description = "The user's passkeys (WebAuthn): add, list, rename, remove; a passkey counts as 2FA"),
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

/// The errors any operation under `/api/` can answer, whatever its handler does: the
/// extractors' (malformed JSON or query, wrong content type, a body over 64 KiB, unknown or
/// invalid fields), the bearer check's (missing or dead token; a service token or a user not
/// allowed here) and an unreachable database. Added where a handler's own list lacks them, so
/// the document declares every status the service can send.
struct CommonErrors;

impl CommonErrors {
    fn add(op: &mut Operation) {
        let bearer = op
            .security
            .as_ref()
            .and_then(|s| serde_json::to_value(s).ok())
            .is_some_and(|v| v.to_string().contains("\"bearer\""));
        let has_body = op.request_body.is_some();
        let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
        if op.responses.responses.keys().any(|s| s.starts_with('3')) {
            return; // a redirect answers every outcome (the SSO callback)
        }
        let mut add = |status: &str, description: &str| {
            op.responses.responses.entry(status.to_string()).or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
                        .build(),
                )
            });
        };
        if has_body || has_params {
            add("400", "`validation_failed`: malformed JSON, wrong content type, bad path or query");
        }
        if bearer {
            add("401", "`unauthenticated`: missing, expired, revoked or invalid bearer token");
            add("403", "`forbidden`: not allowed here (a service token on a user route, not an admin)");
        }
        if has_body {
            add("413", "`payload_too_large`: a body over 64 KiB");
            add("422", "`validation_failed`: invalid or unknown fields");
        }
        add("503", "`service_unavailable`: the database is unreachable");
    }
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/api/") {
                continue;
            }
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            ops.into_iter().flatten().for_each(Self::add);
        }
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
