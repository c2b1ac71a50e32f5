//! Hand-written SQL that the connection keeps prepared.
//!
//! diesel's `sql_query` marks itself unsafe to cache, so PostgreSQL parses and plans it on every
//! call (a multi-table CTE costs it about 0.3 ms each time). A [`Statement`] is the same text with
//! `?` placeholders and its binds, but safe to cache: diesel prepares it once per connection under a
//! name, keyed by its text and bind types, and PostgreSQL soon uses a generic plan for it. Only
//! the hot statements of sign-in, refresh and throttling use it; the text must be a constant so
//! that the cache holds one entry per statement.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Integer, Nullable, Text, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// One bound value.
#[derive(Debug, Clone, Copy)]
pub enum Bind<'a> {
    Text(&'a str),
    NullableText(Option<&'a str>),
    BigInt(i64),
    Integer(i32),
    Bool(bool),
}

/// A constant SQL text with `?` placeholders (numbered `$1`, `$2`, … on PostgreSQL by diesel) and
/// one [`Bind`] for each, in order. The text must not hold a `?` anywhere else.
#[derive(Debug, Clone)]
pub struct Statement<'a> {
    sql: &'static str,
    binds: Vec<Bind<'a>>,
}

impl<'a> Statement<'a> {
    pub fn new(sql: &'static str, binds: Vec<Bind<'a>>) -> Self {
        debug_assert_eq!(sql.matches('?').count(), binds.len(), "one bind per placeholder");
        Self { sql, binds }
    }
}

impl<DB> QueryFragment<DB> for Statement<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt> + HasSqlType<Integer> + HasSqlType<Bool>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    i32: ToSql<Integer, DB>,
    bool: ToSql<Bool, DB>,
    for<'x> Option<&'x str>: ToSql<Nullable<Text>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut parts = self.sql.split('?');
        if let Some(first) = parts.next() {
            out.push_sql(first);
        }
        for (part, bind) in parts.zip(&self.binds) {
            match bind {
                Bind::Text(v) => out.push_bind_param::<Text, str>(v)?,
                Bind::NullableText(v) => out.push_bind_param::<Nullable<Text>, Option<&str>>(v)?,
                Bind::BigInt(v) => out.push_bind_param::<BigInt, i64>(v)?,
                Bind::Integer(v) => out.push_bind_param::<Integer, i32>(v)?,
                Bind::Bool(v) => out.push_bind_param::<Bool, bool>(v)?,
            }
            out.push_sql(part);
        }
        Ok(())
    }
}

/// No static id: diesel keys the prepared statement by its SQL text and bind types.
impl QueryId for Statement<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Statement<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::debug_query;
    use diesel::pg::Pg;
    use diesel::sqlite::Sqlite;

    fn statement() -> Statement<'static> {
        Statement::new(
            "SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e",
            vec![Bind::Text("x"), Bind::NullableText(None), Bind::BigInt(7), Bind::Integer(3), Bind::Bool(true)],
        )
    }

    #[test]
    fn placeholders_are_numbered_on_postgresql_and_kept_on_sqlite() {
        let s = statement();
        assert!(debug_query::<Pg, _>(&s).to_string().starts_with("SELECT $1 AS a, $2 AS b, $3 AS c, $4 AS d, $5 AS e"));
        assert!(debug_query::<Sqlite, _>(&s).to_string().starts_with("SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e"));
    }

    #[test]
    fn a_statement_is_safe_to_cache_unlike_sql_query() {
        let s = statement();
        assert!(QueryFragment::<Pg>::is_safe_to_cache_prepared(&s, &Pg).unwrap());
        assert!(!QueryFragment::<Pg>::is_safe_to_cache_prepared(&diesel::sql_query("SELECT 1"), &Pg).unwrap());
    }
}
