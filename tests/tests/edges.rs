//! Smaller edges (issue 17, §6): display names that print, e-mail addresses in one normal form,
//! and the generated demo password kept out of the log stream.

use cloudcx_auth::db::DbTarget;
use cloudcx_auth_tests::*;
use serde_json::{json, Value};

// ------------------------------------------------------------------------------------------------
// Display names.

async fn create_user(app: &TestApp, admin: &str, email: &str, display_name: &str) -> Reply {
    app.post_auth(
        "/api/v1/admin/users",
        admin,
        json!({"email": email, "display_name": display_name, "password": "Edge-Case-Passw0rd-42", "role": "agent"}),
    )
    .await
}

fn google(display_name: &str) -> Value {
    json!({"kind": "google", "display_name": display_name, "client_id": "cid", "client_secret": "secret", "enabled": true})
}

fn assert_field_refused(r: &Reply, field: &str, what: &str) {
    r.assert_problem(422, "validation_failed");
    let errors = r.body["errors"].as_array().cloned().unwrap_or_default();
    assert!(errors.iter().any(|e| e["field"] == field), "{what}: no error on {field}: {}", r.text);
}

async fn sso_names(app: &TestApp, admin: &str) -> Vec<String> {
    let r = app.get_auth("/api/v1/admin/sso-providers", admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["providers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["display_name"].as_str().map(str::to_string))
        .collect()
}

/// What does not print in a name: line breaks (they reached mail subjects), a NUL (stored by
/// SQLite, a 500 on PostgreSQL), other controls, and text-direction overrides.
const UNPRINTABLE: [&str; 7] = [
    "Google\r\nBcc: attacker@evil.example",
    "Google\nWorkspace",
    "Goo\u{0}gle",
    "Goo\u{7}gle",
    "Office\u{2028}365",
    "Office \u{202e}563",
    "Office \u{2067}365\u{2069}",
];

async fn an_sso_application_name_prints_or_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    for name in UNPRINTABLE {
        let r = app.post_auth("/api/v1/admin/sso-providers", &admin, google(name)).await;
        assert_field_refused(&r, "display_name", &format!("create {name:?}"));
    }
    let r = app.post_auth("/api/v1/admin/sso-providers", &admin, google("  Google Workspace — ACME  ")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["display_name"], "Google Workspace — ACME");
    let id = r.body["id"].as_str().expect("id").to_string();
    for name in UNPRINTABLE {
        let r =
            app.patch_auth(&format!("/api/v1/admin/sso-providers/{id}"), &admin, json!({"display_name": name})).await;
        assert_field_refused(&r, "display_name", &format!("update {name:?}"));
    }
    assert_eq!(sso_names(&app, &admin).await, vec!["Google Workspace — ACME".to_string()], "nothing stored");
}

async fn a_nul_in_a_display_name_is_refused_on_both_databases(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let r = app.post_auth("/api/v1/admin/sso-providers", &admin, google("Goo\u{0}gle")).await;
    assert_field_refused(&r, "display_name", "an SSO application");
    let r = create_user(&app, &admin, "nul@acme.example", "Nul\u{0}Name").await;
    assert_field_refused(&r, "display_name", "a new user");
    let (id, _, _) = app.create_agent(&admin, "nully").await;
    let r = app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"display_name": "Nul\u{0}Name"})).await;
    assert_field_refused(&r, "display_name", "a renamed user");
}

async fn a_user_display_name_prints_or_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    for (i, name) in UNPRINTABLE.iter().enumerate() {
        let r = create_user(&app, &admin, &format!("unprintable{i}@acme.example"), name).await;
        assert_field_refused(&r, "display_name", &format!("create {name:?}"));
    }
    let (id, email, password) = app.create_agent(&admin, "renamed").await;
    for name in UNPRINTABLE {
        let r = app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"display_name": name})).await;
        assert_field_refused(&r, "display_name", &format!("update {name:?}"));
    }
    let r =
        app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"display_name": "  Ana María  "})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (token, _) = app.sign_in(&email, &password).await;
    assert_eq!(app.get_auth("/api/v1/me", &token).await.body["display_name"], "Ana María");
}

// ------------------------------------------------------------------------------------------------
// E-mail addresses.

const PASSWORD: &str = "Edge-Case-Passw0rd-42";

async fn an_address_typed_composed_or_decomposed_signs_in_to_the_same_account(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    // Created with precomposed letters (U+00C9, U+00E9)…
    let r = create_user(&app, &admin, "\u{c9}b\u{e9}@acme.example", "Ébé").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].clone();
    // …found when typed with combining accents (as macOS keyboards and some forms send them).
    for typed in ["E\u{301}be\u{301}@acme.example", "e\u{301}be\u{301}@ACME.example", "\u{e9}b\u{e9}@acme.example"] {
        let r = app.login(TENANT, typed, PASSWORD).await;
        assert_eq!(r.status, 200, "{typed:?}: {}", r.text);
        assert_eq!(claims_of(r.body["access_token"].as_str().expect("token"))["sub"], id, "{typed:?}");
    }
}

async fn an_address_in_capitals_beyond_ascii_finds_the_same_account(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    for (created, typed) in [
        ("\u{e0}dmin@acme.example", "\u{c0}DMIN@ACME.EXAMPLE"),
        ("\u{f8}ystein@acme.example", "\u{d8}YSTEIN@acme.example"),
        // Σ at the end of a word lower-cases to ς: case folding makes it one letter with σ.
        (
            "\u{39f}\u{394}\u{3a5}\u{3a3}\u{3a3}\u{395}\u{3a5}\u{3a3}@acme.example",
            "\u{3bf}\u{3b4}\u{3c5}\u{3c3}\u{3c3}\u{3b5}\u{3c5}\u{3c3}@acme.example",
        ),
    ] {
        let r = create_user(&app, &admin, created, "Capitals").await;
        assert_eq!(r.status, 201, "{created:?}: {}", r.text);
        let id = r.body["id"].clone();
        let r = app.login(TENANT, typed, PASSWORD).await;
        assert_eq!(r.status, 200, "{typed:?}: {}", r.text);
        assert_eq!(claims_of(r.body["access_token"].as_str().expect("token"))["sub"], id, "{typed:?}");
    }
}

async fn a_new_address_with_an_invisible_character_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    for c in ['\u{200b}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{ad}', '\u{202e}'] {
        let r = create_user(&app, &admin, &format!("ag{c}ent@acme.example"), "Invisible").await;
        assert_field_refused(&r, "email", &format!("U+{:04X}", c as u32));
    }
    let r = app.get_auth("/api/v1/admin/users", &admin).await;
    let users = r.body["users"].as_array().cloned().unwrap_or_default();
    assert_eq!(users.len(), 1, "only the admin: {}", r.text);
}

async fn an_address_differing_only_by_normalisation_is_the_existing_duplicate(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let r = create_user(&app, &admin, "zo\u{eb}@acme.example", "Zoë").await;
    assert_eq!(r.status, 201, "{}", r.text);
    for twin in ["ZOE\u{308}@acme.example", "Zo\u{eb}@ACME.EXAMPLE", " zoe\u{308}@acme.example "] {
        let r = create_user(&app, &admin, twin, "Zoë again").await;
        assert_field_refused(&r, "email", twin);
        assert!(r.text.contains("already exists"), "the duplicate's own answer: {}", r.text);
    }
    // The site's own admin, too, whatever the spelling.
    let r = create_user(&app, &admin, &ADMIN_EMAIL.to_uppercase(), "Admin twin").await;
    assert_field_refused(&r, "email", "the admin in capitals");
}

/// Rows stored before the normal form (lower-cased only): rewritten once, by the migration that
/// introduced it; a row that would become another user's twin is left as it was.
async fn addresses_stored_before_are_put_in_their_normal_form(b: Backend) {
    use cloudcx_auth::db::schema::users;
    use diesel::{ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _};
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    // What the older code stored for these inputs (`to_lowercase` only).
    let stored_before = [
        ("le\u{301}gacy@acme.example", "l\u{e9}gacy@acme.example"),
        (
            "\u{3bf}\u{3b4}\u{3c5}\u{3c3}\u{3c3}\u{3b5}\u{3c5}\u{3c2}@acme.example",
            "\u{3bf}\u{3b4}\u{3c5}\u{3c3}\u{3c3}\u{3b5}\u{3c5}\u{3c3}@acme.example",
        ),
        // A twin of the "zoë" below once normalised: left as it was.
        ("zoe\u{308}@acme.example", "zoe\u{308}@acme.example"),
    ];
    let mut ids = Vec::new();
    for (i, (old, _)) in stored_before.iter().enumerate() {
        let (id, _, _) = app.create_agent(&admin, &format!("legacy{i}")).await;
        let old = old.to_string();
        let row = id.clone();
        app.with_db(move |c| diesel::update(users::table.find(row)).set(users::email.eq(old)).execute(c)).await;
        ids.push(id);
    }
    let (zoe, _, _) = app.create_agent(&admin, "zoe").await;
    let composed = "zo\u{eb}@acme.example".to_string();
    app.with_db(move |c| diesel::update(users::table.find(zoe)).set(users::email.eq(composed)).execute(c)).await;

    // Start-up again, as after an upgrade: the marker migration is pending once more.
    app.with_db(|c| {
        diesel::sql_query("DELETE FROM __diesel_schema_migrations WHERE version = '20261206000010'").execute(c)?;
        cloudcx_auth::db::migrate(c).map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))
    })
    .await;

    for ((_, now), id) in stored_before.iter().zip(&ids) {
        let row = id.clone();
        let email: String = app.with_db(move |c| users::table.find(row).select(users::email).first(c)).await;
        assert_eq!(&email, now, "user {id}");
    }
    let r = app.login(TENANT, "L\u{c9}GACY@acme.example", "legacy0-Secret-Pass-42").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(claims_of(r.body["access_token"].as_str().expect("token"))["sub"], ids[0].as_str());
    let r = app
        .login(
            TENANT,
            "\u{39f}\u{394}\u{3a5}\u{3a3}\u{3a3}\u{395}\u{3a5}\u{3a3}@acme.example",
            "legacy1-Secret-Pass-42",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

both_databases!(
    addresses_stored_before_are_put_in_their_normal_form,
    an_sso_application_name_prints_or_is_refused,
    a_nul_in_a_display_name_is_refused_on_both_databases,
    a_user_display_name_prints_or_is_refused,
    an_address_typed_composed_or_decomposed_signs_in_to_the_same_account,
    an_address_in_capitals_beyond_ascii_finds_the_same_account,
    a_new_address_with_an_invisible_character_is_refused,
    an_address_differing_only_by_normalisation_is_the_existing_duplicate,
);

// ------------------------------------------------------------------------------------------------
// The generated demo password.

/// Set in the child process: the SQLite file to bootstrap the demo site in.
const DEMO_CHILD: &str = "CLOUDCX_DEMO_PASSWORD_CHILD";
const SHOWN: &str = "Admin password (shown only this once): ";

/// `make run` with no `AUTH_BOOTSTRAP_ADMIN_PASSWORD`: the generated password is shown on the
/// terminal (standard error) once, and never written to the JSON log stream (standard output,
/// what log collectors keep). The start-up runs in a child process, as the binary would, with
/// the real log subscriber on its real standard output.
#[test]
fn the_generated_demo_password_is_shown_on_the_terminal_and_never_logged() {
    if let Ok(path) = std::env::var(DEMO_CHILD) {
        demo_child(path);
        return;
    }
    let db = TestDb::new(Backend::Sqlite);
    let DbTarget::Sqlite(path) = db.target.clone() else { unreachable!("a SQLite database") };
    let me = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new(&me)
        .args(["--exact", "the_generated_demo_password_is_shown_on_the_terminal_and_never_logged", "--nocapture"])
        .env(DEMO_CHILD, &path)
        .env("RUST_LOG", "info")
        .output()
        .expect("child runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the child failed: {stderr}\n{stdout}");

    let password = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix(SHOWN))
        .unwrap_or_else(|| panic!("no password on standard error:\n{stderr}"))
        .trim()
        .to_string();
    assert!(password.len() >= 15, "{password:?}");
    assert_eq!(stderr.matches(&password).count(), 1, "shown exactly once:\n{stderr}");
    let log_lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
    assert!(log_lines.iter().any(|l| l.contains("\"listening\"")), "the log stream was captured:\n{stdout}");
    assert!(!stdout.contains(&password), "the password reached standard output, the log stream:\n{stdout}");

    // The password shown is the admin's real one.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async move {
        let app = spawn_on(db, Backend::Sqlite, |_| {}).await;
        let r = app.login(TENANT, ADMIN_EMAIL, &password).await;
        assert_eq!(r.status, 200, "the shown password signs in: {}", r.text);
    });
}

/// The child: the binary's start-up (JSON logs on standard output, the bootstrap with no
/// password) on `path`, then exit.
fn demo_child(path: String) {
    cloudcx_auth::telemetry::init();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async move {
        let mut config = test_config(DbTarget::Sqlite(path));
        config.bootstrap_admin_password = None;
        let clock = std::sync::Arc::new(cloudcx_auth::clock::TestClock::default());
        let app = cloudcx_auth::startup::Application::build(config, clock).await.expect("start-up");
        let stopper = app.stopper();
        let served = tokio::spawn(app.run_until_stopped());
        tokio::task::spawn_blocking(move || stopper.stop_and_wait()).await.expect("stop");
        drop(served.await);
    });
}
