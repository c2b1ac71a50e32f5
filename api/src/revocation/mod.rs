//! The in-process view of what has been revoked, one per instance, kept in step with the
//! revocation log ([`crate::db::revocations`]). Bearer checks, introspection and client
//! authentication answer from it with no database statement in the steady state:
//!
//! - **ended sessions**: the `sid`s whose access tokens are dead, each kept until every token that
//!   could name it has expired ([`View::horizon_secs`]), so memory is bounded by the revocations
//!   of the last quarter of an hour;
//! - **caches** of the rows a check needs (a user and whether they have a second factor, a site,
//!   a service client), filled on first use and dropped by the log entry of any change to them.
//!
//! The view is trusted only while it has been confirmed against the log within
//! [`View::stale_after`]: the listener ([`listener`]) confirms it every poll (and at once on a
//! notification). When it cannot, every check goes back to the database, which then answers or
//! fails (503), and the view starts afresh once the log can be read again. An instance brings
//! its view up to date right after its own revoking commit, before it answers ([`crate::db::Db::run`]).

pub mod check;
pub mod listener;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::db::revocations::{self, Change, Entry};
use crate::db::service_clients::ServiceClient;
use crate::db::tenants::Tenant;
use crate::db::users::User;
use crate::db::AnyConnection;

/// A user as the checks need them.
#[derive(Debug, Clone)]
pub struct CachedUser {
    /// As of the last change the log recorded (its `last_sign_in_at` is not followed: sign-ins do
    /// not write to the log).
    pub user: User,
    /// The user has a second factor (a method or a passkey): a site requiring 2FA asks nothing more.
    pub has_2fa: bool,
}

/// How many entries each cache holds at most; a full cache starts again empty (bounded memory
/// whatever the number of accounts, at the cost of one look-up per account afterwards).
const USER_CAP: usize = 100_000;
const TENANT_CAP: usize = 10_000;
const CLIENT_CAP: usize = 10_000;

#[derive(Default)]
struct Inner {
    /// The log's position this view has applied.
    applied: i64,
    /// Bumped whenever something may have been dropped from the caches (an applied entry, a
    /// fresh start): a look-up that began before a bump does not fill the cache.
    version: u64,
    /// `sid` → when its entry may go (unix seconds, the app's clock).
    ended: HashMap<String, i64>,
    users: HashMap<String, Arc<CachedUser>>,
    tenants: HashMap<String, Arc<Tenant>>,
    /// `None`: there is no such client (remembered too, so that an unknown client id costs what a
    /// known one does, and no statement).
    clients: HashMap<String, Option<Arc<ServiceClient>>>,
    /// When `ended` was last pruned.
    pruned_at: i64,
}

/// One instance's view of the revocation log.
pub struct View {
    inner: RwLock<Inner>,
    /// When the view was last confirmed against the log: nanoseconds since `epoch`, 0 = never.
    confirmed: AtomicU64,
    epoch: Instant,
    stale_after: Duration,
    horizon_secs: i64,
    /// How many checks went to the database (a cache miss, or a view not trusted).
    db_lookups: AtomicU64,
}

impl View {
    /// `stale_after`: how long a view stays trusted without confirmation; `horizon_secs`: the
    /// longest life of a token the view decides about (plus clock leeway).
    pub fn new(stale_after: Duration, horizon_secs: i64) -> Self {
        Self {
            inner: RwLock::default(),
            confirmed: AtomicU64::new(0),
            epoch: Instant::now(),
            stale_after,
            horizon_secs,
            db_lookups: AtomicU64::new(0),
        }
    }

    /// How many checks have gone to the database so far: constant in the steady state.
    pub fn db_lookups(&self) -> u64 {
        self.db_lookups.load(Ordering::Relaxed)
    }

    /// Counts a check that goes to the database.
    pub(crate) fn count_db_lookup(&self) {
        self.db_lookups.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stale_after(&self) -> Duration {
        self.stale_after
    }

    pub fn horizon_secs(&self) -> i64 {
        self.horizon_secs
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether checks may answer from the view: it was confirmed against the log within `stale_after`.
    pub fn trusted(&self) -> bool {
        let at = self.confirmed.load(Ordering::Acquire);
        at != 0 && self.epoch.elapsed().saturating_sub(Duration::from_nanos(at)) < self.stale_after
    }

    /// Records that the log was read whole by a read that began at `started`.
    fn confirm(&self, started: Instant) {
        let at = (started.duration_since(self.epoch).as_nanos() as u64).max(1);
        self.confirmed.fetch_max(at, Ordering::AcqRel);
    }

    /// Forgets the confirmation: checks go to the database until the view starts afresh.
    pub fn distrust(&self) {
        self.confirmed.store(0, Ordering::Release);
    }

    /// The log position applied, and the cache version (for [`Self::fill_user`] and the others).
    pub fn position(&self) -> (i64, u64) {
        let inner = self.read();
        (inner.applied, inner.version)
    }

    /// Whether the session `sid` has ended (as far as the log says).
    pub fn session_ended(&self, sid: &str) -> bool {
        self.read().ended.contains_key(sid)
    }

    pub fn user(&self, id: &str) -> Option<Arc<CachedUser>> {
        self.read().users.get(id).cloned()
    }

    pub fn tenant(&self, id: &str) -> Option<Arc<Tenant>> {
        self.read().tenants.get(id).cloned()
    }

    /// `Some(None)`: known to be no client.
    pub fn client(&self, id: &str) -> Option<Option<Arc<ServiceClient>>> {
        self.read().clients.get(id).cloned()
    }

    /// Caches a user read from the database by a look-up that began at cache version `version`,
    /// unless the view changed since (the row read may be older than an entry applied meanwhile).
    pub fn fill_user(&self, version: u64, user: Arc<CachedUser>) {
        let mut inner = self.write();
        if inner.version == version {
            fill(&mut inner.users, user.user.id.clone(), user, USER_CAP);
        }
    }

    pub fn fill_tenant(&self, version: u64, tenant: Arc<Tenant>) {
        let mut inner = self.write();
        if inner.version == version {
            fill(&mut inner.tenants, tenant.id.clone(), tenant, TENANT_CAP);
        }
    }

    /// Caches what a look-up of client `id` found (`None`: no such client).
    pub fn fill_client(&self, version: u64, id: &str, client: Option<Arc<ServiceClient>>) {
        let mut inner = self.write();
        if inner.version == version {
            fill(&mut inner.clients, id.to_string(), client, CLIENT_CAP);
        }
    }

    /// Applies log entries read by a read that began at `started` after position `from` (the
    /// entries after `from` up to the end of the log); entries at or before the applied position
    /// are skipped, so concurrent readers may apply the same rows.
    pub fn apply(&self, from: i64, entries: &[Entry], started: Instant) {
        {
            let mut inner = self.write();
            if from > inner.applied {
                // A fresh start happened meanwhile, past this read: nothing of it is news.
                return;
            }
            for entry in entries {
                if entry.seq <= inner.applied {
                    continue;
                }
                match &entry.change {
                    Change::Session(id) => {
                        inner.ended.insert(id.clone(), entry.created_at + self.horizon_secs);
                    }
                    Change::User(id) => {
                        inner.users.remove(id);
                    }
                    Change::Tenant(id) => {
                        inner.tenants.remove(id);
                    }
                    Change::Client(id) => {
                        inner.clients.remove(id);
                    }
                }
                inner.applied = entry.seq;
                inner.version += 1;
            }
        }
        self.confirm(started);
    }

    /// Starts afresh from the log: empty caches, the sessions ended within the horizon, the
    /// position of the end of the log as read by a read that began at `started`.
    pub fn restart(&self, last_seq: i64, ended: Vec<(String, i64)>, started: Instant) {
        {
            let mut inner = self.write();
            let version = inner.version + 1;
            *inner = Inner { applied: last_seq, version, ..Inner::default() };
            for (sid, at) in ended {
                inner.ended.insert(sid, at + self.horizon_secs);
            }
        }
        self.confirm(started);
    }

    /// Drops ended sessions whose tokens have all expired (at most once every 10 s).
    pub fn prune(&self, now: i64) {
        if now - self.read().pruned_at < 10 {
            return;
        }
        let mut inner = self.write();
        inner.ended.retain(|_, until| *until >= now);
        inner.pruned_at = now;
    }

    /// How many ended sessions the view holds (for metrics and tests).
    pub fn ended_sessions(&self) -> usize {
        self.read().ended.len()
    }

    /// Reads the log after the applied position and applies it (one statement, more only after a
    /// burst of over 10,000 entries).
    pub fn catch_up(&self, conn: &mut AnyConnection) -> diesel::QueryResult<()> {
        loop {
            let started = Instant::now();
            let from = self.read().applied;
            let entries = revocations::since(conn, from, CATCH_UP_BATCH)?;
            self.apply(from, &entries, started);
            if (entries.len() as i64) < CATCH_UP_BATCH {
                return Ok(());
            }
        }
    }

    /// Starts afresh from the log (at start-up, and after the view went stale).
    pub fn start_afresh(&self, conn: &mut AnyConnection, now: i64) -> diesel::QueryResult<()> {
        let started = Instant::now();
        // The end first: every row up to it has committed (see `db::revocations`), so the sessions
        // read next include all of them; later rows may be read too, and are applied again harmlessly.
        let last = revocations::last_seq(conn)?;
        let ended = revocations::sessions_ended_since(conn, now - self.horizon_secs)?;
        self.restart(last, ended, started);
        Ok(())
    }
}

const CATCH_UP_BATCH: i64 = 10_000;

fn fill<T>(map: &mut HashMap<String, T>, key: String, value: T, cap: usize) {
    if map.len() >= cap && !map.contains_key(&key) {
        map.clear();
    }
    map.insert(key, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> View {
        View::new(Duration::from_secs(60), 960)
    }

    fn entry(seq: i64, change: Change) -> Entry {
        Entry { seq, change, created_at: 1_000 }
    }

    fn user(id: &str) -> Arc<CachedUser> {
        Arc::new(CachedUser {
            user: User {
                id: id.into(),
                tenant_id: "t".into(),
                email: format!("{id}@example.com"),
                display_name: id.into(),
                password_hash: String::new(),
                role: "agent".into(),
                disabled: false,
                created_at: 0,
                last_sign_in_at: None,
                locale: None,
            },
            has_2fa: false,
        })
    }

    #[test]
    fn a_view_never_confirmed_is_not_trusted() {
        let v = view();
        assert!(!v.trusted());
        v.apply(0, &[], Instant::now());
        assert!(v.trusted());
        v.distrust();
        assert!(!v.trusted());
    }

    #[test]
    fn a_view_not_confirmed_within_its_bound_is_not_trusted() {
        let v = View::new(Duration::from_millis(1), 960);
        v.apply(0, &[], Instant::now());
        std::thread::sleep(Duration::from_millis(5));
        assert!(!v.trusted());
    }

    #[test]
    fn an_ended_session_is_refused_until_its_tokens_have_expired() {
        let v = view();
        v.apply(0, &[entry(1, Change::Session("s1".into()))], Instant::now());
        assert!(v.session_ended("s1"));
        assert!(!v.session_ended("s2"));
        v.prune(1_000 + 960);
        assert!(v.session_ended("s1"), "kept while a token could still name it");
        v.prune(1_000 + 961 + 10);
        assert!(!v.session_ended("s1"), "gone once every token naming it has expired");
        assert_eq!(v.ended_sessions(), 0);
    }

    #[test]
    fn a_user_entry_drops_the_cached_user() {
        let v = view();
        let (_, version) = v.position();
        v.fill_user(version, user("u1"));
        assert!(v.user("u1").is_some());
        v.apply(0, &[entry(1, Change::User("u1".into()))], Instant::now());
        assert!(v.user("u1").is_none());
    }

    #[test]
    fn a_look_up_that_raced_an_entry_does_not_fill_the_cache() {
        let v = view();
        let (_, version) = v.position();
        // The change commits and is applied while the look-up's row (read before it) is on its way.
        v.apply(0, &[entry(1, Change::User("u1".into()))], Instant::now());
        v.fill_user(version, user("u1"));
        assert!(v.user("u1").is_none(), "a row read before the entry must not be cached after it");
    }

    #[test]
    fn entries_already_applied_are_not_applied_again() {
        let v = view();
        v.apply(0, &[entry(1, Change::Session("s1".into())), entry(2, Change::User("u".into()))], Instant::now());
        let (_, version) = v.position();
        v.fill_user(version, user("u"));
        // A slower reader of the same rows.
        v.apply(0, &[entry(1, Change::Session("s1".into())), entry(2, Change::User("u".into()))], Instant::now());
        assert!(v.user("u").is_some());
        assert_eq!(v.position().0, 2);
    }

    #[test]
    fn a_fresh_start_empties_the_caches_and_loads_the_ended_sessions() {
        let v = view();
        let (_, version) = v.position();
        v.fill_user(version, user("u1"));
        v.restart(42, vec![("s9".into(), 1_000)], Instant::now());
        assert!(v.user("u1").is_none());
        assert!(v.session_ended("s9"));
        assert_eq!(v.position().0, 42);
        // A read that began before the restart, from an older position, changes nothing.
        v.apply(3, &[entry(4, Change::Session("s4".into()))], Instant::now());
        assert!(!v.session_ended("s4"));
    }

    #[test]
    fn a_full_cache_starts_again_empty() {
        let mut map = HashMap::new();
        for i in 0..3 {
            fill(&mut map, format!("k{i}"), Arc::new(i), 3);
        }
        assert_eq!(map.len(), 3);
        fill(&mut map, "k3".into(), Arc::new(3), 3);
        assert_eq!(map.len(), 1);
    }
}
