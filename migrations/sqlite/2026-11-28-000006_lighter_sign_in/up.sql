-- Fewer index entries per sign-in (docs/PERFORMANCE.md). SQLite keeps the site key of
-- refresh_families (dropping it means rebuilding the table; SQLite has no row locks to save).

-- (user_id, created_at) already serves every look-up of a user's sessions.
DROP INDEX refresh_families_user;

-- Only tokens outside any session (client credentials) are revoked by subject; a user's tokens
-- are revoked with their sessions (`sessions::revoke_family`).
DROP INDEX access_tokens_subject;
CREATE INDEX access_tokens_subject ON access_tokens (subject) WHERE family_id IS NULL;
