//! Service clients (client credentials) of a site.

use diesel::prelude::*;

use super::schema::service_clients;
use super::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = service_clients)]
pub struct ServiceClient {
    pub client_id: String,
    pub tenant_id: String,
    pub name: String,
    /// SHA-256 of the secret (256 random bits: no dictionary to guess from).
    pub secret_hash: String,
    /// Space-separated.
    pub scopes: String,
    pub created_at: i64,
    pub created_by: Option<String>,
}

impl ServiceClient {
    pub fn scope_list(&self) -> Vec<&str> {
        self.scopes.split_whitespace().collect()
    }
}

/// Stores a new client. Its id goes to the revocation log too: an instance that was asked for it
/// before (and remembers that there was none) learns that there is one now.
pub fn insert(conn: &mut AnyConnection, client: &ServiceClient) -> QueryResult<()> {
    diesel::insert_into(service_clients::table).values(client).execute(conn)?;
    super::revocations::record(conn, super::revocations::Change::Client(client.client_id.clone()), client.created_at)
}

pub fn find(conn: &mut AnyConnection, client_id: &str) -> QueryResult<Option<ServiceClient>> {
    service_clients::table.find(client_id).select(ServiceClient::as_select()).first(conn).optional()
}

pub fn list(conn: &mut AnyConnection, tenant_id: &str) -> QueryResult<Vec<ServiceClient>> {
    service_clients::table
        .filter(service_clients::tenant_id.eq(tenant_id))
        .order(service_clients::created_at.asc())
        .select(ServiceClient::as_select())
        .load(conn)
}

/// Deletes a client; its tokens and secret die with it on every instance (the revocation log).
/// `Ok(false)`: no such client on that site.
pub fn delete(conn: &mut AnyConnection, tenant_id: &str, client_id: &str, now: i64) -> QueryResult<bool> {
    let gone = diesel::delete(
        service_clients::table
            .filter(service_clients::tenant_id.eq(tenant_id))
            .filter(service_clients::client_id.eq(client_id)),
    )
    .execute(conn)?
        == 1;
    if gone {
        super::revocations::record(conn, super::revocations::Change::Client(client_id.to_string()), now)?;
    }
    Ok(gone)
}
