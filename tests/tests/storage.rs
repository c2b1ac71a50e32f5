//! What a sign-in asks of PostgreSQL: no lock on a row that every sign-in of a site shares, and a
//! rate counter whose relaxed commit never outlives its own statement.

use cloudcx_auth::db::{throttle, AnyConnection, DbTarget};
use cloudcx_auth_tests::*;
use diesel::{Connection, QueryableByName, RunQueryDsl};

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    synchronous_commit: String,
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
        let mut conn = diesel::PgConnection::establish(&url).expect("connect");
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
            let (spent, _) = throttle::hit_and_failures(conn, "test-address", 10, 60, 1_000, "acme:nobody")?;
            assert!(spent.is_ok());
            assert_eq!(synchronous_commit(conn), "on", "the relaxed commit outlived its statement");
            conn.transaction(|conn| {
                let (spent, _) = throttle::hit_and_failures(conn, "test-address", 10, 60, 1_000, "acme:nobody")?;
                assert!(spent.is_ok());
                assert_eq!(synchronous_commit(conn), "on", "a counter inside a transaction relaxed its commit");
                Ok::<_, diesel::result::Error>(())
            })?;
            let (spent, _) = throttle::hit_and_failures(conn, "test-address", 2, 60, 1_000, "acme:nobody")?;
            Ok(spent)
        })
        .await;
    assert!(counted.is_err(), "both counts were kept: the third is over a budget of two");
}
