//! Persistence: one r2d2 pool over PostgreSQL or embedded SQLite, reached only through
//! [`Db::run`] (off the event loop) and [`write_tx`] (one atomic write transaction).

pub mod attempts;
pub mod audit;
pub mod mfa;
pub mod outbox;
pub mod passkeys;
pub mod password_resets;
pub mod revocations;
pub mod schema;
pub mod service_clients;
pub mod sessions;
pub mod sso;
pub mod statement;
pub mod tenants;
pub mod throttle;
pub mod trusted_devices;
pub mod users;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// A connection to either supported database; queries written once against the diesel DSL run on both.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// Arbitrary but fixed key of the advisory lock that serialises migrations across instances.
const MIGRATION_LOCK_KEY: i64 = 0x0C1D_CA07;

/// Where the data lives, parsed from `DATABASE_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget {
    Postgres(String),
    Sqlite(String),
}

impl DbTarget {
    /// `sqlite://PATH` (the prefix is stripped) or `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite://PATH needs a path".into());
            }
            Ok(Self::Sqlite(path.to_string()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_string()))
        } else {
            Err("expected sqlite://PATH or postgres://…".into())
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }
}

/// Opens connections of the right kind; a PostgreSQL URL never falls back to SQLite.
#[derive(Debug, Clone)]
pub struct Manager {
    target: DbTarget,
    /// Set when the last attempt to open a connection failed, cleared by the next success: while
    /// it is set, requests wait [`CHECKOUT_TIMEOUT_WHILE_DOWN`] for a connection instead of the
    /// full [`CHECKOUT_TIMEOUT`], so an outage answers 503 at once instead of holding requests.
    down: Arc<AtomicBool>,
    /// When a pooled connection was last found dead, at checkout or by the work of a request (a
    /// connection handed out within the alive bypass). A database that ends one connection (a
    /// restart, a failover, `pg_terminate_backend`) has usually ended them all, so from then on
    /// every connection that last worked before it is tested too, alive bypass or not.
    found_dead: Arc<std::sync::Mutex<Option<Instant>>>,
}

/// How long a request waits for a pooled connection (all of them busy) in normal times.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long it waits while the database is known to be unreachable. The pool keeps retrying in
/// the background (at least every `CHECKOUT_TIMEOUT / 2`), so service resumes by itself.
const CHECKOUT_TIMEOUT_WHILE_DOWN: Duration = Duration::from_millis(250);

/// `url` with `application_name=name` added, unless it names one itself: operators (and the
/// tests) tell the pool's connections from the revocation listener's in `pg_stat_activity`.
pub fn with_application_name(url: &str, name: &str) -> String {
    if url.contains("application_name") {
        return url.to_string();
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return format!("{url} application_name={name}");
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}application_name={name}")
}

/// `application_name` of the pool's connections.
pub const POOL_APPLICATION_NAME: &str = "cloudcx-auth";

/// Opens a PostgreSQL connection; the one way this code base reaches libpq.
///
/// Two of libpq's libraries free their global state in exit handlers while other threads may
/// still use it, and the pool opens connections on threads of its own: a process exiting in the
/// middle of a connection's opening died of "double free or corruption", SIGSEGV or a Kerberos
/// mutex error (the test `a_process_exits_cleanly_while_connections_open`). So, once per
/// process, OpenSSL (TLS to the database) is initialised without its exit handler, and GSSAPI
/// encryption is not attempted unless the URL asks for it (`gssencmode=`): Kerberos is then never
/// loaded, and no connection waits for its credential look-up.
pub fn pg_establish(url: &str) -> diesel::ConnectionResult<diesel::PgConnection> {
    openssl_sys::init();
    diesel::PgConnection::establish(&without_gssapi(url))
}

/// `url` with `gssencmode=disable` added, unless it names a `gssencmode` itself.
fn without_gssapi(url: &str) -> std::borrow::Cow<'_, str> {
    if url.contains("gssencmode") {
        return url.into();
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return format!("{url} gssencmode=disable").into(); // keyword = value form
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}gssencmode=disable").into()
}

impl Manager {
    fn open(&self) -> Result<AnyConnection, r2d2::Error> {
        match &self.target {
            DbTarget::Postgres(url) => pg_establish(&with_application_name(url, POOL_APPLICATION_NAME))
                .map(AnyConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            DbTarget::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the one writer; the busy timeout makes writers queue
                // instead of failing with "database is locked". The timeout comes first: switching
                // a fresh file to WAL takes a lock, and the pool opens several connections at once
                // at start-up (before, the first start logged "database is locked").
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

/// A pooled connection and when it last did its work without error.
pub struct Conn {
    inner: AnyConnection,
    /// Set when a [`Db::run`] step on it succeeded, cleared when one failed.
    worked_at: Option<Instant>,
}

impl std::ops::Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

/// A connection that did its work this recently is handed out without a `SELECT 1` first
/// (HikariCP's "alive bypass window" is the same 500 ms). Under load every checkout is that
/// recent, and the test was one of the few round trips of a refresh (docs/PERFORMANCE.md). A
/// connection whose last step failed is always tested, so a dead one is thrown away at its next
/// checkout instead of failing request after request; once one is found dead, every connection
/// that last worked before that is tested as well (`Manager::found_dead`).
const ALIVE_BYPASS: Duration = Duration::from_millis(500);

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Conn, r2d2::Error> {
        let opened = self.open();
        self.down.store(opened.is_err(), Ordering::Relaxed);
        Ok(Conn { inner: opened?, worked_at: Some(Instant::now()) })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), r2d2::Error> {
        let found_dead = *self.found_dead.lock().unwrap_or_else(|e| e.into_inner());
        if conn.worked_at.is_some_and(|at| at.elapsed() < ALIVE_BYPASS && found_dead.is_none_or(|dead| at > dead)) {
            return Ok(());
        }
        if let Err(e) = conn.inner.batch_execute("SELECT 1") {
            record_found_dead(&self.found_dead);
            return Err(r2d2::Error::QueryError(e));
        }
        conn.worked_at = Some(Instant::now());
        Ok(())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        is_broken(&mut conn.inner)
    }
}

/// Whether the connection itself is lost (not merely a failed statement).
fn is_broken(conn: &mut AnyConnection) -> bool {
    match conn {
        AnyConnection::Postgresql(c) => <diesel::PgConnection as diesel::r2d2::R2D2Connection>::is_broken(c),
        AnyConnection::Sqlite(c) => <diesel::SqliteConnection as diesel::r2d2::R2D2Connection>::is_broken(c),
    }
}

/// Records that a pooled connection was found dead now (see `Manager::found_dead`).
fn record_found_dead(found_dead: &std::sync::Mutex<Option<Instant>>) {
    *found_dead.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
}

pub type Pool = r2d2::Pool<Manager>;

/// Error of a database step: either the database is unreachable, or a query failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// The shared pool plus the one way to use it from async code.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    target: DbTarget,
    down: Arc<AtomicBool>,
    /// The pool manager's `found_dead`, also set when a request's work finds its connection lost.
    found_dead: Arc<std::sync::Mutex<Option<Instant>>>,
    /// This instance's view of the revocation log, brought up to date after each of its own
    /// revoking commits (before the request answers).
    view: Arc<crate::revocation::View>,
}

/// How the pool and the revocation view behave (from [`crate::config::Config`]).
#[derive(Debug, Clone, Copy)]
pub struct DbOptions {
    /// Connections kept open when idle.
    pub min_idle: u32,
    /// Idle connections above `min_idle` are closed after this long (r2d2 looks every 30 s).
    pub idle_timeout: Duration,
    /// A view of the revocation log not confirmed for this long is not trusted.
    pub stale_after: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self { min_idle: 1, idle_timeout: Duration::from_secs(60), stale_after: Duration::from_secs(1) }
    }
}

/// The longest a token the view decides about can live (user access tokens: 15 minutes), plus
/// two minutes of clock leeway between instances.
pub const REVOCATION_HORIZON_SECS: i64 = crate::state::AppState::ACCESS_TOKEN_SECS + 120;

impl Db {
    /// Builds the pool lazily: start-up and `/readyz` work even while the database is down.
    pub fn new(target: DbTarget) -> Self {
        Self::with_options(target, DbOptions::default())
    }

    /// As [`Db::new`], with the pool's idle behaviour and the view's staleness bound.
    pub fn with_options(target: DbTarget, options: DbOptions) -> Self {
        let size = match target {
            DbTarget::Postgres(_) => 16,
            DbTarget::Sqlite(_) => 8,
        };
        let down = Arc::new(AtomicBool::new(false));
        // A small minimum kept warm, the rest closed when idle: after a burst the service gives
        // its PostgreSQL backends back, and the next burst opens them again (the group commit of
        // concurrent sign-ins needs the connections only while they run).
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(options.min_idle.min(size)))
            .idle_timeout(Some(options.idle_timeout.max(Duration::from_secs(1))))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .test_on_check_out(true);
        let found_dead: Arc<std::sync::Mutex<Option<Instant>>> = Default::default();
        let manager = Manager { target: target.clone(), down: down.clone(), found_dead: found_dead.clone() };
        // SQLite: a new file is switched to WAL by one connection, alone, before the pool opens
        // its own in the background. The switch needs the file to itself and answers "database
        // is locked" at once (no busy wait) when another connection has it open: the first
        // `make run` logged that error. Once in WAL (kept in the file), the pragma is a no-op.
        if matches!(target, DbTarget::Sqlite(_)) {
            drop(manager.open());
        }
        let pool = pool.build_unchecked(manager);
        let view = Arc::new(crate::revocation::View::new(options.stale_after, REVOCATION_HORIZON_SECS));
        Self { pool, target, down, found_dead, view }
    }

    /// This instance's view of the revocation log.
    pub fn view(&self) -> &Arc<crate::revocation::View> {
        &self.view
    }

    pub fn target(&self) -> &DbTarget {
        &self.target
    }

    /// Runs blocking diesel work on the blocking pool, never on the event loop.
    ///
    /// The work runs in the caller's tracing span (a request's: its lines carry the request id).
    /// Failing to get a connection is an outage ([`DbError::Unavailable`]) that says what failed
    /// and how long it waited; it is turned into `E` back on the caller's task.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (pool, found_dead, view) = (self.pool.clone(), self.found_dead.clone(), self.view.clone());
        let wait = self.checkout_timeout();
        let span = tracing::Span::current();
        let outcome = actix_web::web::block(move || {
            let _in_span = span.enter();
            let mut conn = pool.get_timeout(wait)?;
            revocations::take_committed();
            let result = f(&mut conn.inner);
            // A revocation this instance made counts here before the request answers. A view
            // that is not trusted is left to the listener, which starts it afresh.
            if revocations::take_committed() && view.trusted() {
                if let Err(e) = view.catch_up(&mut conn.inner) {
                    tracing::warn!(error = %e, "revocation log: reading after a revoking commit failed");
                    view.distrust();
                }
            }
            // Any failure (an outage among them) has the connection tested before its next use;
            // a lost connection has every other one that last worked before now tested too.
            conn.worked_at = result.is_ok().then(Instant::now);
            if result.is_err() && is_broken(&mut conn.inner) {
                record_found_dead(&found_dead);
            }
            Ok::<_, r2d2::PoolError>(result)
        })
        .await;
        match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(checkout)) => Err(E::from(DbError::Unavailable(format!(
                "no database connection within {} ms: {checkout}",
                wait.as_millis()
            )))),
            Err(blocking) => {
                Err(E::from(DbError::Unavailable(format!("the blocking thread pool refused the work: {blocking}"))))
            }
        }
    }

    /// How long a request may wait for a connection: short while the database is unreachable.
    fn checkout_timeout(&self) -> Duration {
        if self.down.load(Ordering::Relaxed) {
            CHECKOUT_TIMEOUT_WHILE_DOWN
        } else {
            CHECKOUT_TIMEOUT
        }
    }

    /// A connection outside the async world (CLI and start-up).
    pub fn get_blocking(&self) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        self.pool.get().map_err(|e| DbError::Unavailable(format!("no database connection: {e}")))
    }
}

/// Runs `f` in one write transaction: `BEGIN IMMEDIATE` on SQLite (a deferred transaction
/// that reads then writes fails with SQLITE_BUSY under concurrency), a plain `BEGIN` on PostgreSQL.
/// Any error rolls everything back.
pub fn write_tx<T, E, F>(conn: &mut AnyConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        AnyConnection::Sqlite(inner) => AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?,
        AnyConnection::Postgresql(_) => {
            <AnyConnection as diesel::Connection>::TransactionManager::begin_transaction(conn)?
        }
    }
    let outermost = revocations::begin();
    // The log's rows go last, just before the commit (see `revocations`).
    let done = f(conn).and_then(|value| {
        let wrote = if outermost { revocations::flush(conn)? } else { false };
        Ok((value, wrote))
    });
    match done {
        Ok((value, wrote)) => {
            let committed = <AnyConnection as diesel::Connection>::TransactionManager::commit_transaction(conn);
            if outermost {
                revocations::abandon();
            }
            committed?;
            if wrote {
                revocations::mark_committed();
            }
            Ok(value)
        }
        Err(e) => {
            // The original error matters more than a failed rollback.
            let _ = <AnyConnection as diesel::Connection>::TransactionManager::rollback_transaction(conn);
            if outermost {
                revocations::abandon();
            }
            Err(e)
        }
    }
}

/// Runs the embedded migrations; on PostgreSQL under an advisory lock so instances starting
/// together take turns.
pub fn migrate(conn: &mut AnyConnection) -> anyhow::Result<()> {
    match conn {
        AnyConnection::Postgresql(pg) => {
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let result = pg.run_pending_migrations(PG_MIGRATIONS).map(versions).map_err(|e| anyhow::anyhow!(e));
            // The data steps run under the same lock: one instance rewrites, the others wait.
            let result = result.and_then(|applied| data_steps(conn, &applied));
            if let AnyConnection::Postgresql(pg) = conn {
                pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            }
            result
        }
        AnyConnection::Sqlite(lite) => {
            let applied =
                lite.run_pending_migrations(SQLITE_MIGRATIONS).map(versions).map_err(|e| anyhow::anyhow!(e))?;
            data_steps(conn, &applied)
        }
    }
}

/// The applied migrations' versions, digits only (`2026-12-06-000010` → `20261206000010`).
fn versions(applied: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    applied.iter().map(|v| v.to_string().chars().filter(char::is_ascii_digit).collect()).collect()
}

/// Work in Rust that a migration just applied calls for (SQL cannot do it alike on both databases).
fn data_steps(conn: &mut AnyConnection, applied: &[String]) -> anyhow::Result<()> {
    if applied.iter().any(|v| v == "20261206000010") {
        let report = users::normalise_stored_emails(conn).map_err(|e| anyhow::anyhow!("normalising e-mails: {e}"))?;
        if report.rewritten > 0 || !report.left_as_they_were.is_empty() {
            tracing::warn!(
                rewritten = report.rewritten,
                left_as_they_were = ?report.left_as_they_were,
                "e-mail addresses put in their normal form; the users listed keep theirs (a twin address \
                 exists, or it is no longer valid) and cannot sign in until an admin resolves it"
            );
        }
    }
    Ok(())
}

/// Reverts every migration (used by the up → down → up test).
pub fn revert_all(conn: &mut AnyConnection) -> anyhow::Result<()> {
    match conn {
        AnyConnection::Postgresql(pg) => pg.revert_all_migrations(PG_MIGRATIONS).map(|_| ()),
        AnyConnection::Sqlite(lite) => lite.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| anyhow::anyhow!(e))
}

/// Runs one statement written with `?` placeholders on whichever database is behind `$conn`:
/// for the few statements the portable DSL cannot express (upserts with `RETURNING`).
#[macro_export]
macro_rules! on_each_backend {
    ($conn:expr, $sql:expr, |$c:ident, $q:ident| $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Postgresql($c) => {
                let pg_sql = $crate::db::numbered_placeholders($sql);
                let $q = diesel::sql_query(pg_sql);
                $body
            }
            $crate::db::AnyConnection::Sqlite($c) => {
                let $q = diesel::sql_query($sql);
                $body
            }
        }
    };
}

/// `?` → `$1`, `$2`, … for PostgreSQL.
pub fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Kinds of the SSO accounts connected to a user.
pub fn sso_kinds_of(conn: &mut AnyConnection, user_id: &str) -> diesel::QueryResult<Vec<String>> {
    Ok(sso::connections_of(conn, user_id)?.into_iter().map(|(_, kind)| kind).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(numbered_placeholders("a = ? AND b = ?"), "a = $1 AND b = $2");
    }

    #[test]
    fn database_urls_are_parsed() {
        assert_eq!(DbTarget::parse("sqlite://data/x.db"), Ok(DbTarget::Sqlite("data/x.db".into())));
        assert!(DbTarget::parse("postgres://u@h/db").is_ok());
        assert!(DbTarget::parse("mysql://x").is_err());
        assert!(DbTarget::parse("sqlite://").is_err());
    }

    #[test]
    fn gssapi_is_off_unless_the_url_names_it() {
        assert_eq!(without_gssapi("postgres://u@h/db"), "postgres://u@h/db?gssencmode=disable");
        assert_eq!(
            without_gssapi("postgresql://u@h/db?sslmode=require"),
            "postgresql://u@h/db?sslmode=require&gssencmode=disable"
        );
        assert_eq!(without_gssapi("host=h dbname=db"), "host=h dbname=db gssencmode=disable");
        assert_eq!(without_gssapi("postgres://u@h/db?gssencmode=require"), "postgres://u@h/db?gssencmode=require");
    }
}
