-- Passkeys (WebAuthn credentials) beside the one second-factor method, the single-use WebAuthn
-- challenges every instance shares, browsers trusted to skip the second factor, and the site's
-- policy for both.
ALTER TABLE tenants ADD COLUMN passkeys_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE tenants ADD COLUMN remember_device BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE tenants ADD COLUMN remember_device_days INTEGER NOT NULL DEFAULT 30;
ALTER TABLE tenants ADD COLUMN remembered_device_acr TEXT NOT NULL DEFAULT 'aal2';

CREATE TABLE passkeys (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- base64url of the credential ID: unique across every site and user
    credential_id   TEXT NOT NULL UNIQUE,
    -- the library's stored credential (public key, counter, backup flags), JSON
    credential      TEXT NOT NULL,
    name            TEXT NOT NULL,
    backup_eligible BOOLEAN NOT NULL,
    backed_up       BOOLEAN NOT NULL,
    sign_count      BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

CREATE TABLE webauthn_challenges (
    id          TEXT PRIMARY KEY,
    -- null for a sign-in whose site is unknown: such a challenge can never succeed
    tenant_id   TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    -- null for a discoverable sign-in (the credential names the user)
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    -- register | signin | reauth
    purpose     TEXT NOT NULL,
    -- the library's ceremony state, JSON
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at);

CREATE TABLE trusted_devices (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the cookie's random value; the value itself is never stored
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX trusted_devices_user ON trusted_devices (user_id);
CREATE INDEX trusted_devices_expiry ON trusted_devices (expires_at);
