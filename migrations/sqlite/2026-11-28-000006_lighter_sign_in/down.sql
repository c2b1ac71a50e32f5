DROP INDEX access_tokens_subject;
CREATE INDEX access_tokens_subject ON access_tokens (subject);
CREATE INDEX refresh_families_user ON refresh_families (user_id);
