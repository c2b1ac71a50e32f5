DROP INDEX access_tokens_subject;
CREATE INDEX access_tokens_subject ON access_tokens (subject);
ALTER TABLE refresh_families
    ADD CONSTRAINT refresh_families_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
CREATE INDEX refresh_families_user ON refresh_families (user_id);
