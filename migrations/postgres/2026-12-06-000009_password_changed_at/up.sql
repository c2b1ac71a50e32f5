-- When the password was last set (creation, change or reset): a password reset removes the SSO
-- connections made since then, which someone who knew that password may have made. Existing
-- accounts count from their creation, the only time known to have set their password.
ALTER TABLE users ADD COLUMN password_changed_at BIGINT;
UPDATE users SET password_changed_at = created_at;
ALTER TABLE users ALTER COLUMN password_changed_at SET NOT NULL;
