//! The PostgreSQL fast paths against the step-by-step paths they replace: each one-statement
//! path runs beside its steps on PostgreSQL, on twin accounts, and both must leave the same rows.

use cloudcx_auth::auth::session::{self, account_key, Lifetimes, Refreshed};
use cloudcx_auth::auth::tokens::{new_refresh_token, token_hash};
use cloudcx_auth::db::attempts::{GiveBack, Reservation, PASSWORD};
use cloudcx_auth::db::audit::{self, NewEvent, Origin};
use cloudcx_auth::db::schema::{audit_events, login_throttle, outbox, rate_limits, refresh_tokens, users};
use cloudcx_auth::db::sessions::{self, Family, Opening};
use cloudcx_auth::db::{throttle, write_tx, AnyConnection};
use cloudcx_auth::error::ApiError;
use cloudcx_auth_tests::*;
use diesel::prelude::*;

/// Two agents of the same site, made alike: their rows are compared after one path each.
async fn twins(app: &TestApp) -> (String, String) {
    let admin = app.admin_token().await;
    let (a, _, _) = app.create_agent(&admin, "fast").await;
    let (b, _, _) = app.create_agent(&admin, "steps").await;
    (a, b)
}

async fn db<T: Send + 'static>(
    app: &TestApp,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
) -> T {
    app.state.db.run(f).await.expect("database work")
}

fn origin() -> Origin {
    Origin { ip: Some("192.0.2.7".into()), user_agent: Some("parity/1.0".into()), browser_locale: None }
}

/// A family of `user_id` as a sign-in at `now` makes it (ids differ between twins).
fn family(conn: &mut AnyConnection, user_id: &str, now: i64) -> Family {
    let user = cloudcx_auth::db::users::find(conn, user_id).unwrap().unwrap();
    Family {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id,
        tenant_id: user.tenant_id,
        created_at: now,
        auth_time: now,
        last_used_at: now,
        expires_at: now + 3600,
        amr: "[\"pwd\"]".into(),
        acr: "aal1".into(),
        ip: origin().ip,
        user_agent: origin().user_agent,
        revoked_at: None,
        revoked_reason: None,
    }
}

/// A family's times, methods and device: created, auth_time, last used, expires, amr, acr, ip,
/// user agent, revoked.
type FamilyColumns = (i64, i64, i64, i64, String, String, Option<String>, Option<String>, Option<i64>);
/// An audit row's kind, actor, ip and user agent.
type AuditColumns = (String, Option<String>, Option<String>, Option<String>);

/// What a sign-in leaves for one user, ids and hashes left out.
#[derive(Debug, PartialEq)]
struct SignInRows {
    opened: (bool, bool),
    family: FamilyColumns,
    tokens: Vec<(i64, Option<i64>)>,
    last_sign_in_at: Option<i64>,
    /// Kind, whether the actor is the user, address, user agent.
    audit: Vec<(String, bool, Option<String>, Option<String>)>,
    notices: usize,
    /// Failures, lock, attempts in flight.
    throttle: Option<(i32, Option<i64>, i32)>,
}

fn sign_in_rows(conn: &mut AnyConnection, user_id: &str, family_id: &str, opened: (bool, bool)) -> SignInRows {
    let f = sessions::find_family(conn, family_id).unwrap().unwrap();
    let tokens = refresh_tokens::table
        .filter(refresh_tokens::family_id.eq(family_id))
        .select((refresh_tokens::created_at, refresh_tokens::used_at))
        .load(conn)
        .unwrap();
    let last_sign_in_at = users::table.find(user_id).select(users::last_sign_in_at).first(conn).unwrap();
    let audit: Vec<AuditColumns> = audit_events::table
        .filter(audit_events::user_id.eq(user_id))
        .filter(audit_events::kind.eq("sign_in_succeeded"))
        .select((audit_events::kind, audit_events::actor_id, audit_events::ip, audit_events::user_agent))
        .load(conn)
        .unwrap();
    let audit = audit.into_iter().map(|(k, actor, ip, ua)| (k, actor.as_deref() == Some(user_id), ip, ua)).collect();
    let email: String = users::table.find(user_id).select(users::email).first(conn).unwrap();
    let notices = outbox::table.filter(outbox::recipient.eq(email)).count().get_result::<i64>(conn).unwrap() as usize;
    let throttle = login_throttle::table
        .find(format!("parity\n{user_id}"))
        .select((login_throttle::failures, login_throttle::locked_until, login_throttle::pending))
        .first(conn)
        .optional()
        .unwrap();
    SignInRows {
        opened,
        family: (
            f.created_at,
            f.auth_time,
            f.last_used_at,
            f.expires_at,
            f.amr,
            f.acr,
            f.ip,
            f.user_agent,
            f.revoked_at,
        ),
        tokens,
        last_sign_in_at,
        audit,
        notices,
        throttle,
    }
}

/// Sign-in writes: [`sessions::open`] (one statement on PostgreSQL) and
/// [`sessions::open_in_steps`] leave the same rows, the password attempt given back included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_statement_sign_in_leaves_the_rows_of_the_steps() {
    let app = spawn_app(Backend::Postgres).await;
    let (fast, steps) = twins(&app).await;
    let (now, data_key) = (app.clock_now(), app.state.data_key.clone());
    let rows = db(&app, move |conn| {
        let mut out = Vec::new();
        for (user_id, one_statement) in [(fast, true), (steps, false)] {
            let key = format!("parity\n{user_id}");
            // Eleven failures before (a lock), then this sign-in's own attempt, given back with
            // its writes: the count starts again and the lock goes.
            for i in 0..11 {
                let then = now - 2000 + i * 100;
                assert_eq!(PASSWORD.reserve(conn, &key, then)?, Reservation::Reserved);
                PASSWORD.settle_failure(conn, &key, then)?;
            }
            diesel::update(login_throttle::table.find(&key))
                .set(login_throttle::locked_until.eq(now - 1))
                .execute(conn)?;
            assert_eq!(PASSWORD.reserve(conn, &key, now)?, Reservation::Reserved);
            let f = family(conn, &user_id, now);
            let event = NewEvent {
                tenant_id: Some(&f.tenant_id),
                kind: "sign_in_succeeded",
                user_id: Some(&user_id),
                actor_id: Some(&user_id),
                details: serde_json::json!({}),
            };
            let notice = cloudcx_auth::notices::sealed_text(&data_key, "x@acme.example", "new device", "text", now);
            let email: String = users::table.find(&user_id).select(users::email).first(conn)?;
            let notice = cloudcx_auth::db::outbox::OutboxRow { recipient: email, ..notice };
            let opening = Opening {
                family: &f,
                refresh_hash: &token_hash(&new_refresh_token()),
                seen_since: now - 86_400,
                audit: &audit::row(&origin(), now, event),
                notice: &notice,
                give_back: Some(GiveBack { key: &key }),
            };
            let opened = write_tx(conn, |conn| {
                if one_statement {
                    sessions::open(conn, &opening)
                } else {
                    sessions::open_in_steps(conn, &opening)
                }
            })?;
            out.push(sign_in_rows(conn, &user_id, &f.id, (opened.new_device, opened.mfa_setup_required)));
        }
        Ok(out)
    })
    .await;
    assert!(matches!(app.db.target, cloudcx_auth::db::DbTarget::Postgres(_)));
    assert_eq!(rows[0], rows[1]);
    assert_eq!(rows[0].throttle, Some((0, None, 0)), "the attempt given back, the count started again");
    assert_eq!(rows[0].notices, 1, "a new device");
}

/// Refresh rotation: [`session::refresh`] (one statement on PostgreSQL for a live token) and
/// [`session::refresh_in_steps`] leave the same rows and hand out the same claims.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_statement_rotation_leaves_the_rows_of_the_steps() {
    let app = spawn_app(Backend::Postgres).await;
    let admin = app.admin_token().await;
    let (_, fast_email, fast_password) = app.create_agent(&admin, "fast").await;
    let (_, steps_email, steps_password) = app.create_agent(&admin, "steps").await;
    let (_, fast_token) = app.sign_in(&fast_email, &fast_password).await;
    let (_, steps_token) = app.sign_in(&steps_email, &steps_password).await;
    app.clock.advance(60);
    let (keys, now) = (app.state.keys.clone(), app.clock_now());
    let life = Lifetimes { access_secs: 900, family_max_secs: 12 * 3600, family_idle_secs: 7200 };
    let out = db(&app, move |conn| {
        let mut out = Vec::new();
        for (token, one_statement) in [(fast_token, true), (steps_token, false)] {
            let refreshed = if one_statement {
                session::refresh(conn, &keys, life, &token, &origin(), now)?
            } else {
                write_tx(conn, |conn| {
                    session::refresh_in_steps(conn, &keys, life, &token_hash(&token), &origin(), now)
                })?
            };
            let Refreshed::Ok(issued) = refreshed else { panic!("refused") };
            let f = sessions::find_family(conn, &issued.family_id)?.unwrap();
            let tokens: Vec<(i64, Option<i64>)> = refresh_tokens::table
                .filter(refresh_tokens::family_id.eq(&f.id))
                .order(refresh_tokens::created_at.asc())
                .select((refresh_tokens::created_at, refresh_tokens::used_at))
                .load(conn)?;
            let presented_used: Option<i64> =
                refresh_tokens::table.find(token_hash(&token)).select(refresh_tokens::used_at).first(conn)?;
            let mut claims = claims_of(&issued.access_token);
            for varying in ["sub", "jti", "sid"] {
                claims.as_object_mut().unwrap().remove(varying);
            }
            out.push((f.last_used_at, f.revoked_at, tokens.len(), presented_used, issued.refresh_max_age, claims));
        }
        Ok(out)
    })
    .await;
    assert_eq!(out[0], out[1]);
    assert_eq!(out[0].3, Some(now), "the presented token is spent");
}

/// The sign-in look-up: [`throttle::sign_in_look_up`] (one statement on PostgreSQL) and
/// [`throttle::sign_in_look_up_in_steps`] find the same account, reserve alike, and leave the
/// same counters — for ten attempts settled as failures and an eleventh refused by their lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_statement_sign_in_look_up_finds_and_counts_what_the_steps_do() {
    let app = spawn_app(Backend::Postgres).await;
    let now = app.clock_now();
    let out = db(&app, move |conn| {
        let mut out = Vec::new();
        for one_statement in [true, false] {
            let address = format!("signin-ip\n{one_statement}");
            let key = format!("{}\n{one_statement}", account_key(TENANT, ADMIN_EMAIL));
            let mut seen = Vec::new();
            for _ in 0..11 {
                let found = if one_statement {
                    throttle::sign_in_look_up(conn, &address, 100, 60, now, &key, TENANT, ADMIN_EMAIL)?
                } else {
                    throttle::sign_in_look_up_in_steps(conn, &address, 100, 60, now, &key, TENANT, ADMIN_EMAIL)?
                };
                if found.attempt == Some(Reservation::Reserved) {
                    PASSWORD.settle_failure(conn, &key, now)?;
                }
                let account = found.account.map(|(t, u, m)| (t.slug, u.email, u.role, m.map(|m| m.method)));
                seen.push((found.spent, found.attempt, account));
            }
            let counter: i32 = rate_limits::table.find(&address).select(rate_limits::count).first(conn)?;
            let row: (i32, Option<i64>, i32) = login_throttle::table
                .find(&key)
                .select((login_throttle::failures, login_throttle::locked_until, login_throttle::pending))
                .first(conn)?;
            out.push((seen, counter, row));
        }
        Ok(out)
    })
    .await;
    assert_eq!(out[0], out[1]);
    let (seen, counter, row) = &out[0];
    assert_eq!(seen[9].1, Some(Reservation::Reserved), "the tenth guess is checked");
    assert_eq!(seen[10].1, Some(Reservation::Refused { retry_after: 30 }), "the eleventh meets its lock");
    assert!(seen[0].2.is_some(), "the account is found");
    assert_eq!((*counter, *row), (11, (10, Some(now + 30), 0)));
}
