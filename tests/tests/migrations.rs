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
