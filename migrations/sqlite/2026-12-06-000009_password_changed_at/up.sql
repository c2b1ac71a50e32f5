-- When the password was last set (creation, change or reset): a password reset removes the SSO
-- connections made since then, which someone who knew that password may have made. Existing
-- accounts count from their creation, the only time known to have set their password. SQLite
-- adds a NOT NULL column only with a default; 0 ("since ever") is the safe side, and every
-- insert sets it anyway.
ALTER TABLE users ADD COLUMN password_changed_at BIGINT NOT NULL DEFAULT 0;
UPDATE users SET password_changed_at = created_at;
