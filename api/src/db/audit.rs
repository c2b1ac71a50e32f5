//! Audit events: written in the same transaction as the change they record.

use diesel::prelude::*;

use super::schema::audit_events;
use super::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: String,
    pub tenant_id: Option<String>,
    pub at: i64,
    pub kind: String,
    pub user_id: Option<String>,
    pub actor_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// JSON object.
    pub details: String,
}

/// Who and where, as the request shows it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The language of ours the browser prefers (`Accept-Language`): the language of the mails
    /// the request causes to a user who has not chosen one. Not recorded.
    pub browser_locale: Option<crate::domain::Locale>,
}

/// An event about to be recorded.
pub struct NewEvent<'a> {
    pub tenant_id: Option<&'a str>,
    pub kind: &'a str,
    pub user_id: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub details: serde_json::Value,
}

impl<'a> NewEvent<'a> {
    /// An event of a user's own doing on their own account (the actor is the user).
    pub fn own(tenant_id: &'a str, user_id: &'a str, kind: &'a str, details: serde_json::Value) -> Self {
        Self { tenant_id: Some(tenant_id), kind, user_id: Some(user_id), actor_id: Some(user_id), details }
    }
}

pub fn record(conn: &mut AnyConnection, origin: &Origin, now: i64, event: NewEvent<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_events::table).values(&row(origin, now, event)).execute(conn)?;
    Ok(())
}

/// The row [`record`] inserts.
pub fn row(origin: &Origin, now: i64, event: NewEvent<'_>) -> AuditEvent {
    AuditEvent {
        // Version 7: time-ordered, so "newest first" and the `before` cursor sort by id.
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: event.tenant_id.map(str::to_string),
        at: now,
        kind: event.kind.to_string(),
        user_id: event.user_id.map(str::to_string),
        actor_id: event.actor_id.map(str::to_string),
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.as_deref().map(|ua| ua.chars().take(512).collect()),
        details: event.details.to_string(),
    }
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub user_id: Option<String>,
    pub kind: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub before: Option<String>,
    pub limit: i64,
}

/// A site's events, newest first.
pub fn list(conn: &mut AnyConnection, tenant_id: &str, f: &Filter) -> QueryResult<Vec<AuditEvent>> {
    let mut q = audit_events::table.filter(audit_events::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(u) = &f.user_id {
        q = q.filter(audit_events::user_id.eq(u.clone()));
    }
    if let Some(k) = &f.kind {
        q = q.filter(audit_events::kind.eq(k.clone()));
    }
    if let Some(s) = f.since {
        q = q.filter(audit_events::at.ge(s));
    }
    if let Some(u) = f.until {
        q = q.filter(audit_events::at.lt(u));
    }
    if let Some(b) = &f.before {
        q = q.filter(audit_events::id.lt(b.clone()));
    }
    q.order(audit_events::id.desc()).limit(f.limit).select(AuditEvent::as_select()).load(conn)
}
