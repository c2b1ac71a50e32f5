//! Single sign-on state: applications, attempts, results, connections, link tokens.

use diesel::prelude::*;

use super::schema::{sso_attempts, sso_connections, sso_link_tokens, sso_providers, sso_results};
use super::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sso_providers)]
pub struct Provider {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub display_name: String,
    pub client_id: String,
    /// AES-256-GCM under the data key; never answered.
    pub client_secret_sealed: String,
    /// Discovery base.
    pub issuer: String,
    pub microsoft_tenant: Option<String>,
    /// Space-separated tenant GUIDs (Microsoft multi-tenant).
    pub allowed_tenants: String,
    pub trust_idp_mfa: bool,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn insert_provider(conn: &mut AnyConnection, p: &Provider) -> QueryResult<()> {
    diesel::insert_into(sso_providers::table).values(p).execute(conn)?;
    Ok(())
}

pub fn update_provider(conn: &mut AnyConnection, p: &Provider) -> QueryResult<()> {
    diesel::update(sso_providers::table.find(&p.id)).set(p).execute(conn)?;
    Ok(())
}

pub fn delete_provider(conn: &mut AnyConnection, tenant_id: &str, id: &str) -> QueryResult<bool> {
    Ok(diesel::delete(
        sso_providers::table.filter(sso_providers::tenant_id.eq(tenant_id)).filter(sso_providers::id.eq(id)),
    )
    .execute(conn)?
        == 1)
}

pub fn find_provider(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Provider>> {
    sso_providers::table.find(id).select(Provider::as_select()).first(conn).optional()
}

/// A site's applications (the enabled ones only, or all), by display name regardless of case,
/// then id: every list the service answers shows them in one stable order. Sorted here, not in
/// SQL, so that both databases agree (their `lower` and collations differ beyond ASCII).
pub fn providers(conn: &mut AnyConnection, tenant_id: &str, enabled_only: bool) -> QueryResult<Vec<Provider>> {
    let mut q = sso_providers::table.filter(sso_providers::tenant_id.eq(tenant_id)).into_boxed();
    if enabled_only {
        q = q.filter(sso_providers::enabled.eq(true));
    }
    let mut list = q.select(Provider::as_select()).load(conn)?;
    list.sort_by_cached_key(|p| (p.display_name.to_lowercase(), p.id.clone()));
    Ok(list)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_attempts)]
pub struct Attempt {
    pub state_hash: String,
    pub provider_id: String,
    pub tenant_id: String,
    pub intent: String,
    pub user_id: Option<String>,
    pub binding_hash: String,
    pub nonce: String,
    /// Sealed.
    pub pkce_verifier: String,
    pub return_to: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert_attempt(conn: &mut AnyConnection, a: &Attempt) -> QueryResult<()> {
    diesel::insert_into(sso_attempts::table).values(a).execute(conn)?;
    Ok(())
}

pub fn find_attempt(conn: &mut AnyConnection, state_hash: &str) -> QueryResult<Option<Attempt>> {
    sso_attempts::table.find(state_hash).select(Attempt::as_select()).first(conn).optional()
}

/// Spends an attempt once, whatever instance the callback reaches.
pub fn use_attempt(conn: &mut AnyConnection, state_hash: &str, now: i64) -> QueryResult<bool> {
    Ok(diesel::update(sso_attempts::table.find(state_hash).filter(sso_attempts::used_at.is_null()))
        .set(sso_attempts::used_at.eq(now))
        .execute(conn)?
        == 1)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_results)]
pub struct SsoResult {
    pub result_hash: String,
    pub binding_hash: String,
    pub intent: String,
    /// JSON.
    pub outcome: String,
    pub return_to: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert_result(conn: &mut AnyConnection, r: &SsoResult) -> QueryResult<()> {
    diesel::insert_into(sso_results::table).values(r).execute(conn)?;
    Ok(())
}

pub fn find_result(conn: &mut AnyConnection, hash: &str) -> QueryResult<Option<SsoResult>> {
    sso_results::table.find(hash).select(SsoResult::as_select()).first(conn).optional()
}

pub fn use_result(conn: &mut AnyConnection, hash: &str, now: i64) -> QueryResult<bool> {
    Ok(diesel::update(sso_results::table.find(hash).filter(sso_results::used_at.is_null()))
        .set(sso_results::used_at.eq(now))
        .execute(conn)?
        == 1)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_connections)]
pub struct Connection {
    pub id: String,
    pub user_id: String,
    pub provider_id: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub connected_at: i64,
}

/// Links an external account; `Ok(false)` when it is linked already (to anyone) or the user
/// already has one for that application — the unique constraints decide.
pub fn insert_connection(conn: &mut AnyConnection, c: &Connection) -> QueryResult<bool> {
    match diesel::insert_into(sso_connections::table).values(c).execute(conn) {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn find_connection_by_subject(
    conn: &mut AnyConnection,
    provider_id: &str,
    issuer: &str,
    subject: &str,
) -> QueryResult<Option<Connection>> {
    sso_connections::table
        .filter(sso_connections::provider_id.eq(provider_id))
        .filter(sso_connections::issuer.eq(issuer))
        .filter(sso_connections::subject.eq(subject))
        .select(Connection::as_select())
        .first(conn)
        .optional()
}

pub fn connections_of(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Vec<(Connection, String)>> {
    sso_connections::table
        .inner_join(sso_providers::table)
        .filter(sso_connections::user_id.eq(user_id))
        .order(sso_connections::connected_at.asc())
        .select((Connection::as_select(), sso_providers::kind))
        .load(conn)
}

pub fn delete_connection(conn: &mut AnyConnection, user_id: &str, id: &str) -> QueryResult<Option<Connection>> {
    let found = sso_connections::table
        .filter(sso_connections::user_id.eq(user_id))
        .filter(sso_connections::id.eq(id))
        .select(Connection::as_select())
        .first(conn)
        .optional()?;
    if found.is_some() {
        diesel::delete(sso_connections::table.find(id)).execute(conn)?;
    }
    Ok(found)
}

/// The user's connections with their application's display name, oldest first.
pub fn connections_named(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Vec<(Connection, String)>> {
    sso_connections::table
        .inner_join(sso_providers::table)
        .filter(sso_connections::user_id.eq(user_id))
        .order((sso_connections::connected_at.asc(), sso_connections::id.asc()))
        .select((Connection::as_select(), sso_providers::display_name))
        .load(conn)
}

/// Removes the user's connections made at or after `since`; returns them with their
/// application's display name, oldest first.
pub fn remove_connections_since(
    conn: &mut AnyConnection,
    user_id: &str,
    since: i64,
) -> QueryResult<Vec<(Connection, String)>> {
    let gone: Vec<(Connection, String)> =
        connections_named(conn, user_id)?.into_iter().filter(|(c, _)| c.connected_at >= since).collect();
    let ids: Vec<&str> = gone.iter().map(|(c, _)| c.id.as_str()).collect();
    if !ids.is_empty() {
        diesel::delete(sso_connections::table.filter(sso_connections::id.eq_any(ids))).execute(conn)?;
    }
    Ok(gone)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_link_tokens)]
pub struct LinkToken {
    pub token_hash: String,
    pub tenant_id: String,
    pub provider_id: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub binding_hash: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert_link_token(conn: &mut AnyConnection, t: &LinkToken) -> QueryResult<()> {
    diesel::insert_into(sso_link_tokens::table).values(t).execute(conn)?;
    Ok(())
}

pub fn find_link_token(conn: &mut AnyConnection, hash: &str) -> QueryResult<Option<LinkToken>> {
    sso_link_tokens::table.find(hash).select(LinkToken::as_select()).first(conn).optional()
}

pub fn use_link_token(conn: &mut AnyConnection, hash: &str, now: i64) -> QueryResult<bool> {
    Ok(diesel::update(sso_link_tokens::table.find(hash).filter(sso_link_tokens::used_at.is_null()))
        .set(sso_link_tokens::used_at.eq(now))
        .execute(conn)?
        == 1)
}
