-- Fewer index entries and no shared row lock per sign-in (docs/PERFORMANCE.md).

-- (user_id, created_at) already serves every look-up of a user's sessions.
DROP INDEX refresh_families_user;

-- A session's site is its user's, and the user's key already removes a deleted site's sessions.
-- This key made every sign-in lock its site's row (FOR KEY SHARE) until it committed: one row
-- locked by every concurrent sign-in of a site.
ALTER TABLE refresh_families DROP CONSTRAINT refresh_families_tenant_id_fkey;

-- Only tokens outside any session (client credentials) are revoked by subject; a user's tokens
-- are revoked with their sessions (`sessions::revoke_family`).
DROP INDEX access_tokens_subject;
CREATE INDEX access_tokens_subject ON access_tokens (subject) WHERE family_id IS NULL;
