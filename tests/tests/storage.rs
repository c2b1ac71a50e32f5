//! What a sign-in asks of PostgreSQL: no lock on a row that every sign-in of a site shares, and a
//! rate counter whose relaxed commit never outlives its own statement. And how the process uses
//! libpq: an exit never races the threads that open connections.

use cloudcx_auth::db::{throttle, AnyConnection, DbTarget};
use cloudcx_auth_tests::*;
use diesel::{Connection, QueryableByName, RunQueryDsl};

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    synchronous_commit: String,
}

/// The first step of a password sign-in for `email` on the test site, from one test address.
fn look_up(conn: &mut AnyConnection, limit: u32, email: &str) -> diesel::QueryResult<throttle::SignInLookUp> {
    throttle::sign_in_look_up(conn, "test-address", limit, 60, present(), &format!("{TENANT}\n{email}"), TENANT, email)
}

/// One moment of the present, the same for every look-up of the run: the app's housekeeping (its
/// first round runs at start-up, beside the test) purges counter windows older than an hour, so a
/// window in 1970 could vanish between two look-ups.
fn present() -> i64 {
    static AT: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *AT.get_or_init(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs() as i64
    })
}

fn synchronous_commit(conn: &mut AnyConnection) -> String {
    diesel::sql_query("SHOW synchronous_commit").get_result::<Setting>(conn).expect("show").synchronous_commit
}

/// Another client holds every site row (`FOR UPDATE` conflicts with every row lock, the
/// `FOR KEY SHARE` of a foreign-key check included): a sign-in still completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_locks_no_row_of_its_site() {
    let app = spawn_app(Backend::Postgres).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "lou").await;
    let DbTarget::Postgres(url) = app.db.target.clone() else { unreachable!("a PostgreSQL test") };
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut conn = cloudcx_auth::db::pg_establish(&url).expect("connect");
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            diesel::sql_query("SELECT id FROM tenants FOR UPDATE").execute(conn)?;
            locked_tx.send(()).expect("signal");
            let _ = release_rx.recv_timeout(std::time::Duration::from_secs(30));
            Ok(())
        })
        .expect("lock held and released");
    });
    locked_rx.recv().expect("the site rows are locked");
    let signed_in =
        tokio::time::timeout(std::time::Duration::from_secs(10), app.login(TENANT, &email, &password)).await;
    release_tx.send(()).expect("release");
    holder.join().expect("holder");
    let reply = signed_in.expect("the sign-in waited for the lock on its site's row");
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.body["access_token"].is_string());
}

/// The per-address counter of a sign-in commits without waiting for the disk, and only itself:
/// the connection goes back to the pool with `synchronous_commit` on, and inside a caller's
/// transaction the counter leaves the commit to the caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_counters_relaxed_commit_ends_with_its_statement() {
    let app = spawn_app(Backend::Postgres).await;
    let counted = app
        .with_db(|conn| {
            let found = look_up(conn, 10, "nobody@acme.example")?;
            assert!(found.spent.is_ok());
            assert_eq!(synchronous_commit(conn), "on", "the relaxed commit outlived its statement");
            conn.transaction(|conn| {
                let found = look_up(conn, 10, "nobody@acme.example")?;
                assert!(found.spent.is_ok());
                assert_eq!(synchronous_commit(conn), "on", "a counter inside a transaction relaxed its commit");
                Ok::<_, diesel::result::Error>(())
            })?;
            Ok(look_up(conn, 2, "nobody@acme.example")?.spent)
        })
        .await;
    assert!(counted.is_err(), "both counts were kept: the third is over a budget of two");
}

/// The sign-in's one-statement look-up finds what the plain queries find: the site, the user and
/// their 2FA method for a known account, nothing for an unknown e-mail or site, and nothing once
/// the address's budget is spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_statement_sign_in_look_up_finds_what_the_plain_queries_find() {
    let app = spawn_app(Backend::Postgres).await;
    let admin = app.admin_token().await;
    let (id, email, _) = app.create_agent(&admin, "lia").await;
    let now = app.clock_now();
    app.with_db(move |conn| {
        diesel::sql_query(
            "INSERT INTO user_mfa (user_id, method, totp_secret, last_totp_step, enabled_at) VALUES ($1, 'email', NULL, 0, $2)",
        )
        .bind::<diesel::sql_types::Text, _>(&id)
        .bind::<diesel::sql_types::BigInt, _>(now)
        .execute(conn)
    })
    .await;
    let e = email.clone();
    let (found, plain, unknown_user, unknown_site, spent) = app
        .with_db(move |conn| {
            let found = look_up(conn, 100, &e)?.account;
            let plain = cloudcx_auth::db::users::find_for_sign_in(conn, TENANT, &e)?;
            let unknown_user = look_up(conn, 100, "nobody@acme.example")?.account;
            let unknown_site =
                throttle::sign_in_look_up(conn, "test-address", 100, 60, present(), "k", "no-such-site", &e)?.account;
            let spent = look_up(conn, 1, &e)?;
            Ok((found, plain, unknown_user, unknown_site, spent))
        })
        .await;
    let (site, user, mfa) = found.expect("the account is found");
    let (p_site, p_user, p_mfa) = plain.expect("the plain query finds it too");
    assert_eq!(format!("{site:?}"), format!("{p_site:?}"));
    assert_eq!(format!("{user:?}"), format!("{p_user:?}"));
    assert_eq!(format!("{mfa:?}"), format!("{p_mfa:?}"));
    assert_eq!(user.email, email);
    assert_eq!(mfa.map(|m| m.method).as_deref(), Some("email"));
    assert!(unknown_user.is_none() && unknown_site.is_none());
    assert!(spent.spent.is_err() && spent.account.is_none(), "a spent budget looks nothing up");
}

/// A process exits cleanly while other threads are still opening TLS connections to PostgreSQL
/// (the pool opens its connections on threads of its own). libpq initialises OpenSSL with an
/// exit handler that frees OpenSSL's global state under those threads; `db::pg_establish`
/// initialises it first, without the handler. This test runs itself as a child process that
/// exits in the middle of such connections, several times.
#[test]
fn a_process_exits_cleanly_while_connections_open() {
    const CHILD: &str = "CLOUDCX_EXIT_RACE_CHILD";
    let url = postgres_base_url();
    if std::env::var_os(CHILD).is_some() {
        drop(cloudcx_auth::db::pg_establish(&url).expect("connect"));
        for _ in 0..6 {
            let url = url.clone();
            std::thread::spawn(move || loop {
                drop(cloudcx_auth::db::pg_establish(&url));
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(60));
        std::process::exit(0);
    }
    let me = std::env::current_exe().expect("test binary");
    for run in 0..15 {
        let out = std::process::Command::new(&me)
            .args(["--exact", "a_process_exits_cleanly_while_connections_open", "--nocapture"])
            .env(CHILD, "1")
            .output()
            .expect("child runs");
        assert!(
            out.status.success(),
            "run {run}: the child exited with {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
