CREATE INDEX access_tokens_family ON access_tokens (family_id);
