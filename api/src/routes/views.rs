//! Answer shapes shared by several route modules, so that no route module reaches into another
//! for a type. Pure: built from values already read, never touching the database.
//
// The types below carry no doc comments on purpose: utoipa turns them into `description`s of
// the generated schema, and `openapi.yaml` is the contract.

use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::AccountStatus;
use crate::clock::rfc3339;
use crate::db::tenants::Tenant;
use crate::db::users::User;

// A user's second factor at a glance (the admin's user list, the services' user answer).
#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorSummary {
    pub enabled: bool,
    /// `email`, `totp` or null.
    pub method: Option<String>,
}

impl TwoFactorSummary {
    /// Enabled exactly when there is a method.
    pub fn of(method: Option<String>) -> Self {
        Self { enabled: method.is_some(), method }
    }
}

// A site, as `/me` and the services' user answer name it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: String,
    pub slug: String,
    pub name: String,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self { id: t.id, slug: t.slug, name: t.name }
    }
}

// A user as the admin sees them (`/admin/users`, `PATCH /admin/users/{id}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub disabled: bool,
    pub two_factor: TwoFactorSummary,
    /// A password or second-factor lock is in force.
    pub locked: bool,
    pub created_at: String,
    pub last_sign_in_at: Option<String>,
}

impl UserView {
    /// The user, whether a lock is in force, and their 2FA method (`None`: 2FA is off).
    pub fn from_parts(user: User, locked: bool, method: Option<String>) -> Self {
        Self {
            id: user.id,
            email: user.email,
            display_name: user.display_name,
            role: user.role,
            disabled: user.disabled,
            two_factor: TwoFactorSummary::of(method),
            locked,
            created_at: rfc3339(user.created_at),
            last_sign_in_at: user.last_sign_in_at.map(rfc3339),
        }
    }
}

impl From<AccountStatus> for UserView {
    fn from(s: AccountStatus) -> Self {
        Self::from_parts(s.user, s.locked, s.mfa_method)
    }
}
