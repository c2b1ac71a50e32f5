ALTER TABLE mfa_challenges DROP COLUMN link_token_hash;
ALTER TABLE mfa_challenges DROP COLUMN first_factor;
DROP TABLE sso_link_tokens;
DROP TABLE sso_connections;
DROP TABLE sso_results;
DROP TABLE sso_attempts;
DROP TABLE sso_providers;
