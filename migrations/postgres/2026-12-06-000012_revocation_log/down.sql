CREATE TABLE access_tokens (
    jti         TEXT PRIMARY KEY,
    family_id   TEXT,
    subject     TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);
CREATE INDEX access_tokens_subject ON access_tokens (subject) WHERE family_id IS NULL;
CREATE TABLE revoked_access_tokens (
    jti         TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
DROP TABLE revocations;
