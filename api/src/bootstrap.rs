//! The first site and admin: from `AUTH_BOOTSTRAP_*` at start-up, or the `create-admin` command.

use anyhow::Context as _;

use crate::auth::password::hash_now;
use crate::auth::tokens::random_token;
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::users::User;
use crate::db::{tenants, users, write_tx, AnyConnection};
use crate::domain::{Email, NewPassword, Secret, TenantSlug};

/// What `ensure_admin` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    AlreadyThere,
    Created,
    /// Created with a generated password, to be shown once on the terminal (redacted in `Debug`,
    /// so no log line can carry it).
    CreatedWithPassword(Secret<String>),
}

/// Creates the site (if missing) and its admin (if missing). Without a password one is generated.
pub fn ensure_admin(
    conn: &mut AnyConnection,
    tenant: &str,
    email: &str,
    password: Option<&str>,
    now: i64,
) -> anyhow::Result<Outcome> {
    let slug = TenantSlug::parse(tenant).map_err(|e| anyhow::anyhow!("site {tenant:?}: {e}"))?;
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("e-mail {email:?}: {e}"))?;
    let (password, generated) = match password {
        Some(p) => (p.to_string(), false),
        None => (random_token(15), true),
    };
    let password = NewPassword::parse(&password).map_err(|e| anyhow::anyhow!("password: {e}"))?;
    let existing = admin_exists(conn, &slug, &email).context("looking for the site and its admin")?;
    if existing {
        return Ok(Outcome::AlreadyThere);
    }
    let hash = hash_now(password.expose()).context("hashing the admin's password")?;
    let created = write_tx(conn, |conn| {
        let name = site_name(slug.as_str());
        let tenant = tenants::ensure(conn, slug.as_str(), &name, now).context("creating the site")?;
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: tenant.id.clone(),
            email: email.as_str().to_string(),
            display_name: "Administrator".into(),
            password_hash: hash,
            role: "admin".into(),
            disabled: false,
            created_at: now,
            last_sign_in_at: None,
            locale: None,
        };
        users::insert(conn, &user).context("creating the admin")?;
        audit::record(
            conn,
            &Origin::default(),
            now,
            NewEvent {
                tenant_id: Some(&tenant.id),
                kind: "user_created",
                user_id: Some(&user.id),
                actor_id: None,
                details: serde_json::json!({ "role": "admin", "via": "bootstrap" }),
            },
        )
        .context("auditing the admin's creation")?;
        Ok::<_, anyhow::Error>(())
    });
    if let Err(e) = created {
        // Several instances starting together: another one created them first.
        let now_there = admin_exists(conn, &slug, &email).context("looking again for the site and its admin")?;
        return if now_there { Ok(Outcome::AlreadyThere) } else { Err(e) };
    }
    Ok(if generated {
        Outcome::CreatedWithPassword(Secret::new(password.expose().to_string()))
    } else {
        Outcome::Created
    })
}

/// Whether the site exists and has a user with that e-mail.
fn admin_exists(conn: &mut AnyConnection, slug: &TenantSlug, email: &Email) -> diesel::QueryResult<bool> {
    Ok(match tenants::find_by_slug(conn, slug.as_str())? {
        Some(t) => users::find_by_email(conn, &t.id, email.as_str())?.is_some(),
        None => false,
    })
}

/// `acme-support` → `Acme Support`.
fn site_name(slug: &str) -> String {
    slug.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}
