ALTER TABLE tenants ADD COLUMN require_2fa BOOLEAN NOT NULL DEFAULT FALSE;

-- The active second factor. The primary key makes "one method at a time" a database rule.
CREATE TABLE user_mfa (
    user_id         TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    method          TEXT NOT NULL CHECK (method IN ('email', 'totp')),
    totp_secret     TEXT,
    last_totp_step  BIGINT NOT NULL DEFAULT 0,
    enabled_at      BIGINT NOT NULL
);

-- A method being set up, not active until confirmed.
CREATE TABLE mfa_setups (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    method       TEXT NOT NULL CHECK (method IN ('email', 'totp')),
    totp_secret  TEXT,
    code_hash    TEXT,
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE backup_code_sets (
    user_id        TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    sealed_codes   TEXT NOT NULL,
    generated_at   BIGINT NOT NULL,
    downloaded_at  BIGINT
);

CREATE TABLE backup_codes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    set_id     TEXT NOT NULL,
    position   INTEGER NOT NULL,
    salt       TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX backup_codes_user ON backup_codes (user_id);

-- A pending second-factor step: a sign-in's mfa_token, or a re-authentication's e-mailed code.
CREATE TABLE mfa_challenges (
    token_hash       TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose          TEXT NOT NULL CHECK (purpose IN ('signin', 'reauth')),
    method           TEXT NOT NULL,
    code_hash        TEXT,
    code_expires_at  BIGINT,
    last_sent_at     BIGINT,
    expires_at       BIGINT NOT NULL,
    consumed_at      BIGINT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX mfa_challenges_user ON mfa_challenges (user_id);

-- Consecutive wrong second factors per account, across sign-in attempts.
CREATE TABLE mfa_throttle (
    user_id          TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    failures         INTEGER NOT NULL,
    locked_until     BIGINT,
    last_failure_at  BIGINT NOT NULL
);

-- Notices, written in the transaction of the change they announce; sent in the background.
CREATE TABLE outbox (
    id               TEXT PRIMARY KEY,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    sealed_body      TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    sent_at          BIGINT,
    last_error       TEXT
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);
