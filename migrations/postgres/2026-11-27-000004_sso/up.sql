-- SSO applications an admin set up for a site.
CREATE TABLE sso_providers (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind                  TEXT NOT NULL CHECK (kind IN ('google', 'microsoft', 'oidc')),
    display_name          TEXT NOT NULL,
    client_id             TEXT NOT NULL,
    client_secret_sealed  TEXT NOT NULL,
    issuer                TEXT NOT NULL,
    microsoft_tenant      TEXT,
    allowed_tenants       TEXT NOT NULL DEFAULT '',
    trust_idp_mfa         BOOLEAN NOT NULL DEFAULT FALSE,
    enabled               BOOLEAN NOT NULL DEFAULT TRUE,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX sso_providers_tenant ON sso_providers (tenant_id);

-- One attempt: from /authorize to the callback. Single use, 10 minutes, bound to the browser.
CREATE TABLE sso_attempts (
    state_hash       TEXT PRIMARY KEY,
    provider_id      TEXT NOT NULL REFERENCES sso_providers (id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    intent           TEXT NOT NULL CHECK (intent IN ('login', 'connect')),
    user_id          TEXT REFERENCES users (id) ON DELETE CASCADE,
    binding_hash     TEXT NOT NULL,
    nonce            TEXT NOT NULL,
    pkce_verifier    TEXT NOT NULL,
    return_to        TEXT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    used_at          BIGINT
);

-- The callback's outcome, redeemed once by /sso/complete within 2 minutes.
CREATE TABLE sso_results (
    result_hash   TEXT PRIMARY KEY,
    binding_hash  TEXT NOT NULL,
    intent        TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    return_to     TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT
);

-- Linked external accounts: by (application, issuer, subject), never by e-mail.
CREATE TABLE sso_connections (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id   TEXT NOT NULL REFERENCES sso_providers (id) ON DELETE CASCADE,
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    email         TEXT,
    connected_at  BIGINT NOT NULL,
    UNIQUE (provider_id, issuer, subject),
    UNIQUE (user_id, provider_id)
);

-- "Connect from the login page": an external account waiting for a password sign-in.
CREATE TABLE sso_link_tokens (
    token_hash    TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    provider_id   TEXT NOT NULL REFERENCES sso_providers (id) ON DELETE CASCADE,
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    email         TEXT,
    binding_hash  TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT
);

ALTER TABLE mfa_challenges ADD COLUMN first_factor TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE mfa_challenges ADD COLUMN link_token_hash TEXT;
