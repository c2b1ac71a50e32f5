ALTER TABLE mfa_throttle DROP COLUMN reserved_at;
ALTER TABLE mfa_throttle DROP COLUMN pending;
ALTER TABLE login_throttle DROP COLUMN reserved_at;
ALTER TABLE login_throttle DROP COLUMN pending;
