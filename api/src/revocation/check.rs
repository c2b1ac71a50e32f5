//! The look-ups of bearer checks, introspection and client authentication: from the view while
//! it is trusted (no statement once the rows are cached), from the database otherwise.

use std::sync::Arc;

use crate::db::service_clients::{self, ServiceClient};
use crate::db::tenants::{self, Tenant};
use crate::db::{passkeys, sessions, users, Db, DbError};

use super::CachedUser;

/// The account behind a live user token.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: Arc<CachedUser>,
    pub tenant: Arc<Tenant>,
}

impl Account {
    /// The site requires 2FA and this user has none yet.
    pub fn mfa_setup_required(&self) -> bool {
        self.tenant.require_2fa && !self.user.has_2fa
    }
}

/// The account behind a user's token of session `sid`, user `sub`, site `tid` — `None` when the
/// session ended, the user is gone or disabled, or the token's site is not the user's.
pub async fn account(db: &Db, sid: &str, sub: &str, tid: &str) -> Result<Option<Account>, DbError> {
    let view = db.view();
    if view.trusted() {
        if view.session_ended(sid) {
            return Ok(None);
        }
        let (user, tenant) = (view.user(sub), view.tenant(tid));
        if let (Some(user), Some(tenant)) = (&user, &tenant) {
            return Ok(usable(user, tid).then(|| Account { user: user.clone(), tenant: tenant.clone() }));
        }
        // Fill what is missing. A look-up that raced a log entry answers but is not cached.
        let (_, version) = view.position();
        view.count_db_lookup();
        let (sub, tid) = (sub.to_string(), tid.to_string());
        let found = db
            .run(move |conn| -> Result<_, DbError> {
                let user = match user {
                    Some(u) => Some(u),
                    None => load_user(conn, &sub)?.map(Arc::new),
                };
                let tenant = match tenant {
                    Some(t) => Some(t),
                    None => tenants::find(conn, &tid)?.map(Arc::new),
                };
                Ok((user, tenant))
            })
            .await?;
        let (Some(user), Some(tenant)) = found else { return Ok(None) };
        view.fill_user(version, user.clone());
        view.fill_tenant(version, tenant.clone());
        return Ok(usable(&user, &tenant.id).then_some(Account { user, tenant }));
    }
    // The view cannot be trusted: the database decides, and nothing is cached.
    view.count_db_lookup();
    let (sid, sub, tid) = (sid.to_string(), sub.to_string(), tid.to_string());
    db.run(move |conn| -> Result<_, DbError> {
        if !sessions::is_live(conn, &sid)? {
            return Ok(None);
        }
        let Some(user) = load_user(conn, &sub)? else { return Ok(None) };
        if !usable(&user, &tid) {
            return Ok(None);
        }
        let Some(tenant) = tenants::find(conn, &tid)? else { return Ok(None) };
        Ok(Some(Account { user: Arc::new(user), tenant: Arc::new(tenant) }))
    })
    .await
}

fn usable(user: &CachedUser, tid: &str) -> bool {
    !user.user.disabled && user.user.tenant_id == tid
}

fn load_user(conn: &mut crate::db::AnyConnection, id: &str) -> diesel::QueryResult<Option<CachedUser>> {
    let Some(user) = users::find(conn, id)? else { return Ok(None) };
    let has_2fa = !passkeys::lacks_2fa(conn, id)?;
    Ok(Some(CachedUser { user, has_2fa }))
}

/// The service client `id` (`None` when there is none, e.g. it was deleted). An unknown id is
/// remembered as unknown too, so that it costs what a known one does.
pub async fn client(db: &Db, id: &str) -> Result<Option<Arc<ServiceClient>>, DbError> {
    let view = db.view();
    let trusted = view.trusted();
    if trusted {
        if let Some(known) = view.client(id) {
            return Ok(known);
        }
    }
    let (_, version) = view.position();
    view.count_db_lookup();
    let key = id.to_string();
    let found = db.run(move |conn| service_clients::find(conn, &key).map_err(DbError::from)).await?.map(Arc::new);
    if trusted {
        view.fill_client(version, id, found.clone());
    }
    Ok(found)
}
