DROP TABLE trusted_devices;
DROP TABLE webauthn_challenges;
DROP TABLE passkeys;
ALTER TABLE tenants DROP COLUMN remembered_device_acr;
ALTER TABLE tenants DROP COLUMN remember_device_days;
ALTER TABLE tenants DROP COLUMN remember_device;
ALTER TABLE tenants DROP COLUMN passkeys_enabled;
