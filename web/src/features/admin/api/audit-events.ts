import { api, call } from '@/lib/api-client';
import type { components, operations } from '@/api/schema';

export type AuditEvent = components['schemas']['AuditEventView'];
export type AuditPage = components['schemas']['AuditEventList'];
export type AuditQuery = NonNullable<operations['audit_events']['parameters']['query']>;

export function listAuditEvents(query: AuditQuery): Promise<AuditPage> {
  return call(api.GET('/api/v1/admin/audit-events', { params: { query } }));
}
