-- Times are Unix seconds (BIGINT) on both databases, so one schema.rs serves PostgreSQL and SQLite.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email            TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('agent', 'admin')),
    disabled         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       BIGINT NOT NULL,
    last_sign_in_at  BIGINT,
    UNIQUE (tenant_id, email)
);

-- One row per sign-in: the session a user sees; all refresh tokens of one chain share it.
CREATE TABLE refresh_families (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    auth_time       BIGINT NOT NULL,
    last_used_at    BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    amr             TEXT NOT NULL,
    acr             TEXT NOT NULL,
    ip              TEXT,
    user_agent      TEXT,
    revoked_at      BIGINT,
    revoked_reason  TEXT
);
CREATE INDEX refresh_families_user ON refresh_families (user_id);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Every access token issued, with the family it came from, so ending a family can revoke them.
CREATE TABLE access_tokens (
    jti         TEXT PRIMARY KEY,
    family_id   TEXT,
    subject     TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX access_tokens_family ON access_tokens (family_id);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);

CREATE TABLE revoked_access_tokens (
    jti         TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    user_id     TEXT,
    actor_id    TEXT,
    ip          TEXT,
    user_agent  TEXT,
    details     TEXT NOT NULL
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);

-- Consecutive failed passwords per submitted (site, e-mail), real or not.
CREATE TABLE login_throttle (
    key              TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    locked_until     BIGINT,
    last_failure_at  BIGINT NOT NULL
);

-- Fixed-window request counters (per client address on the sign-in endpoints).
CREATE TABLE rate_limits (
    key           TEXT PRIMARY KEY,
    window_start  BIGINT NOT NULL,
    count         INTEGER NOT NULL
);
