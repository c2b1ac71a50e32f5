//! Migrations run up → down → up on both databases.

use cloudcx_auth::db::{self, Db};
use cloudcx_auth_tests::*;

both_databases!(migrations_run_up_down_and_up_again);

async fn migrations_run_up_down_and_up_again(b: Backend) {
    let test_db = TestDb::new(b);
    let database = Db::new(test_db.target.clone());
    tokio::task::spawn_blocking(move || {
        let mut conn = database.get_blocking().expect("connection");
        db::migrate(&mut conn).expect("up");
        db::revert_all(&mut conn).expect("down");
        db::migrate(&mut conn).expect("up again");
        // Running them again is a no-op.
        db::migrate(&mut conn).expect("idempotent");
    })
    .await
    .expect("joined");
    drop(test_db);
}

/// Three instances starting together on one PostgreSQL database take turns on the migrations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_start_ups_migrate_once_under_the_advisory_lock() {
    let test_db = TestDb::new(Backend::Postgres);
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let database = Db::new(test_db.target.clone());
            tokio::task::spawn_blocking(move || {
                let mut conn = database.get_blocking().expect("connection");
                db::migrate(&mut conn)
            })
        })
        .collect();
    for h in handles {
        h.await.expect("joined").expect("each start-up migrates or finds it done");
    }
}

/// One table's column, as the database's catalog names it.
#[derive(diesel::QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

/// The tables and columns a fresh database has after every migration, diesel's own table aside.
async fn migrated_columns(backend: Backend) -> std::collections::BTreeSet<(String, String)> {
    use diesel::RunQueryDsl;
    let test_db = TestDb::new(backend);
    let database = Db::new(test_db.target.clone());
    let columns = tokio::task::spawn_blocking(move || {
        let mut conn = database.get_blocking().expect("connection");
        db::migrate(&mut conn).expect("migrations");
        match &mut **conn {
            db::AnyConnection::Postgresql(pg) => diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name \
                 FROM information_schema.columns WHERE table_schema = 'public'",
            )
            .load::<Column>(pg),
            db::AnyConnection::Sqlite(lite) => diesel::sql_query(
                "SELECT m.name AS table_name, p.name AS column_name \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
            )
            .load::<Column>(lite),
        }
        .expect("catalog")
    })
    .await
    .expect("joined");
    drop(test_db);
    columns
        .into_iter()
        .filter(|c| c.table_name != "__diesel_schema_migrations")
        .map(|c| (c.table_name, c.column_name))
        .collect()
}

/// The PostgreSQL and SQLite migration trees are written twice by hand: a column added to one
/// and forgotten in the other would only show as a failing query on one database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_sqlite_migrations_give_the_same_tables_and_columns() {
    let postgres = migrated_columns(Backend::Postgres).await;
    let sqlite = migrated_columns(Backend::Sqlite).await;
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    assert!(
        only_postgres.is_empty() && only_sqlite.is_empty(),
        "only in PostgreSQL: {only_postgres:?}\nonly in SQLite: {only_sqlite:?}"
    );
    assert!(postgres.iter().any(|(t, _)| t == "users"), "the catalog was read: {postgres:?}");
}
