-- The revocation log: every change that ends or alters what a token grants (a session ended, a
-- user changed, disabled or deleted, a site's settings, a service client deleted) writes a row in
-- the change's own transaction. Every instance keeps a view of it in memory and reads it from the
-- last position it saw (api/src/revocation/), so bearer checks and introspection need no query.
-- Rows are written just before commit under one lock (PostgreSQL: an advisory lock), so `seq`
-- order is commit order and a reader never skips a row that commits late.
CREATE TABLE revocations (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX revocations_created_at ON revocations (created_at);

-- Client-credentials tokens are no longer recorded one by one: a deleted client's tokens die with
-- the client (the view's client cache, invalidated by the log). Nothing else used these tables.
DROP TABLE revoked_access_tokens;
DROP TABLE access_tokens;
