-- Other CloudCX services: client-credentials clients of one site.
CREATE TABLE service_clients (
    client_id    TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT
);
CREATE INDEX service_clients_tenant ON service_clients (tenant_id);
CREATE INDEX access_tokens_subject ON access_tokens (subject);
