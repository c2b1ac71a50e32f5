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

pub fn set_require_2fa(conn: &mut AnyConnection, id: &str, value: bool) -> QueryResult<()> {
    diesel::update(tenants::table.find(id)).set(tenants::require_2fa.eq(value)).execute(conn)?;
    Ok(())
}
