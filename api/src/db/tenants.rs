use diesel::prelude::*;

use super::schema::tenants;
use super::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
    pub require_2fa: bool,
}

pub fn find_by_slug(conn: &mut AnyConnection, slug: &str) -> QueryResult<Option<Tenant>> {
    tenants::table.filter(tenants::slug.eq(slug)).select(Tenant::as_select()).first(conn).optional()
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Tenant>> {
    tenants::table.find(id).select(Tenant::as_select()).first(conn).optional()
}

/// The site with this slug, created (named `name`) when missing.
pub fn ensure(conn: &mut AnyConnection, slug: &str, name: &str, now: i64) -> QueryResult<Tenant> {
    if let Some(t) = find_by_slug(conn, slug)? {
        return Ok(t);
    }
    let tenant = Tenant {
        id: uuid::Uuid::new_v4().to_string(),
        slug: slug.into(),
        name: name.into(),
        created_at: now,
        require_2fa: false,
    };
    diesel::insert_into(tenants::table).values(&tenant).execute(conn)?;
    Ok(tenant)
}

pub fn set_require_2fa(conn: &mut AnyConnection, id: &str, value: bool, now: i64) -> QueryResult<()> {
    diesel::update(tenants::table.find(id)).set(tenants::require_2fa.eq(value)).execute(conn)?;
    changed(conn, id, now)
}

/// Writes the change of site `id` to the revocation log (every instance drops its cached copy).
fn changed(conn: &mut AnyConnection, id: &str, now: i64) -> QueryResult<()> {
    super::revocations::record(conn, super::revocations::Change::Tenant(id.to_string()), now)
}

/// The site's policy for passkeys and trusted devices (read apart from [`Tenant`], which the
/// sign-in look-up reads on every password sign-in, so that the hot path stays as it is).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct SitePolicy {
    /// Users may add passkeys and sign in with them.
    pub passkeys_enabled: bool,
    /// The second-factor step offers "Remember this device".
    pub remember_device: bool,
    /// How long a remembered device skips the second factor (1–90).
    pub remember_device_days: i32,
    /// The `acr` of a sign-in whose second factor was remembered: `aal1` or `aal2`.
    pub remembered_device_acr: String,
}

/// The policy of the site `id` (`None` when the site is gone).
pub fn policy(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<SitePolicy>> {
    tenants::table.find(id).select(SitePolicy::as_select()).first(conn).optional()
}

/// Stores the whole policy of the site `id`.
pub fn set_policy(conn: &mut AnyConnection, id: &str, p: &SitePolicy) -> QueryResult<()> {
    diesel::update(tenants::table.find(id))
        .set((
            tenants::passkeys_enabled.eq(p.passkeys_enabled),
            tenants::remember_device.eq(p.remember_device),
            tenants::remember_device_days.eq(p.remember_device_days),
            tenants::remembered_device_acr.eq(&p.remembered_device_acr),
        ))
        .execute(conn)?;
    Ok(())
}
