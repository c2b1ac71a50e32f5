//! An account's standing as an administrator sees it: the user, whether a password or
//! second-factor lock is in force, and their 2FA method. Reads only, no actix: route modules
//! turn it into their answer shape (`routes::views::UserView`), so none of them has to call
//! another's helper to get it.
//!
//! One definition of "locked" for the single user and the whole list, so the two answers
//! cannot disagree.

use std::collections::HashMap;

use diesel::QueryResult;

use crate::auth::session::account_key;
use crate::db::tenants::Tenant;
use crate::db::users::User;
use crate::db::{mfa, throttle, users, AnyConnection};

/// A user with their lock and 2FA status at one instant.
#[derive(Debug, Clone)]
pub struct AccountStatus {
    pub user: User,
    /// A password lock (per site and e-mail) or a second-factor lock is in force.
    pub locked: bool,
    /// `email` or `totp`; `None` while 2FA is off.
    pub mfa_method: Option<String>,
}

/// The status of user `id` of `tenant` at `now`; `None` when the site has no such user.
pub fn status_in_tenant(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    id: &str,
    now: i64,
) -> QueryResult<Option<AccountStatus>> {
    let Some(user) = users::find_in_tenant(conn, &tenant.id, id)? else {
        return Ok(None);
    };
    let locked = throttle::locked_for(conn, &account_key(&tenant.slug, &user.email), now)?.is_some()
        || mfa::mfa_locked_for(conn, &user.id, now)?.is_some();
    let mfa_method = mfa::find(conn, &user.id)?.map(|m| m.method);
    Ok(Some(AccountStatus { user, locked, mfa_method }))
}

/// Every user of `tenant` with their status at `now`, in a fixed number of queries.
pub fn statuses_in_tenant(conn: &mut AnyConnection, tenant: &Tenant, now: i64) -> QueryResult<Vec<AccountStatus>> {
    let all = users::list(conn, &tenant.id)?;
    let keys: Vec<String> = all.iter().map(|u| account_key(&tenant.slug, &u.email)).collect();
    let ids: Vec<String> = all.iter().map(|u| u.id.clone()).collect();
    let locked = throttle::locked_keys(conn, &keys, now)?;
    let mfa_locked = mfa::mfa_locked_users(conn, &ids, now)?;
    let methods: HashMap<String, String> = mfa::methods_of(conn, &ids)?.into_iter().collect();
    Ok(all
        .into_iter()
        .zip(keys)
        .map(|(user, key)| AccountStatus {
            locked: locked.contains(&key) || mfa_locked.contains(&user.id),
            mfa_method: methods.get(&user.id).cloned(),
            user,
        })
        .collect())
}
