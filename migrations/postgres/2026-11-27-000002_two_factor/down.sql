DROP TABLE outbox;
DROP TABLE mfa_throttle;
DROP TABLE mfa_challenges;
DROP TABLE backup_codes;
DROP TABLE backup_code_sets;
DROP TABLE mfa_setups;
DROP TABLE user_mfa;
ALTER TABLE tenants DROP COLUMN require_2fa;
