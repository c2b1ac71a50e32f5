//! The notice outbox: rows written in the transaction of the change they announce.

use diesel::prelude::*;

use super::schema::outbox;
use super::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    /// AES-GCM under the data key (a reset link is a secret until used).
    pub sealed_body: String,
    pub created_at: i64,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

pub fn enqueue(conn: &mut AnyConnection, row: &OutboxRow) -> QueryResult<()> {
    diesel::insert_into(outbox::table).values(row).execute(conn)?;
    Ok(())
}

/// Rows due at `now`, oldest first.
pub fn due(conn: &mut AnyConnection, now: i64, limit: i64) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::next_attempt_at.le(now))
        .order(outbox::created_at.asc())
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)
}

/// Claims a row for one sender for `lease` seconds; another instance sees it as not due.
pub fn claim(conn: &mut AnyConnection, id: &str, now: i64, lease: i64) -> QueryResult<bool> {
    Ok(diesel::update(outbox::table.find(id).filter(outbox::sent_at.is_null()).filter(outbox::next_attempt_at.le(now)))
        .set(outbox::next_attempt_at.eq(now + lease))
        .execute(conn)?
        == 1)
}

pub fn mark_sent(conn: &mut AnyConnection, id: &str, now: i64) -> QueryResult<()> {
    diesel::update(outbox::table.find(id)).set(outbox::sent_at.eq(now)).execute(conn)?;
    Ok(())
}

/// A failed attempt: retried later, with a growing pause (at most 10 minutes).
pub fn mark_failed(conn: &mut AnyConnection, row: &OutboxRow, error: &str, now: i64) -> QueryResult<()> {
    let pause = (5_i64 << row.attempts.clamp(0, 7) as u32).min(600);
    diesel::update(outbox::table.find(&row.id))
        .set((
            outbox::attempts.eq(row.attempts + 1),
            outbox::next_attempt_at.eq(now + pause),
            outbox::last_error.eq(error.chars().take(300).collect::<String>()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Notices not yet delivered (for tests and operations).
pub fn pending_count(conn: &mut AnyConnection) -> QueryResult<i64> {
    outbox::table.filter(outbox::sent_at.is_null()).count().get_result(conn)
}
