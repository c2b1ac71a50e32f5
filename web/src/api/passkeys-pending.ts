// TEMPORARY: the passkey endpoints as the helper brief fixes them, until the API branch's
// openapi.yaml is merged and schema.ts regenerated. Delete this file then.
import type { components } from './schema';

type NoParams = { query?: never; header?: never; path?: never; cookie?: never };
type Json<T> = { headers: { [name: string]: unknown }; content: { 'application/json': T } };
type Problem = { headers: { [name: string]: unknown }; content: { 'application/problem+json': components['schemas']['Problem'] } };
type Op<Req, Res, Status extends number = 200> = {
  parameters: NoParams;
  requestBody: Req extends never ? never : { content: { 'application/json': Req } };
  responses: { [S in Status]: Json<Res> } & { 400: Problem; 401: Problem; 403: Problem };
};
type OpNoBody<Res, Status extends number = 200> = {
  parameters: NoParams;
  requestBody?: never;
  responses: { [S in Status]: Json<Res> } & { 401: Problem; 403: Problem };
};
type IdParams = { query?: never; header?: never; path: { id: string }; cookie?: never };

export type PendingPasskey = {
  id: string;
  name: string;
  created_at: string;
  last_used_at?: string | null;
  backup_eligible: boolean;
  backed_up: boolean;
  kind: 'synced' | 'device_bound';
};
export type PendingPasskeyOptions = { challenge_id: string; options: { [key: string]: unknown } };
type Slot = { parameters: NoParams; get?: never; put?: never; post?: never; delete?: never; options?: never; head?: never; patch?: never; trace?: never };

declare module './schema' {
  interface paths {
    '/api/v1/me/passkeys': Omit<Slot, 'get' | 'post'> & {
      get: OpNoBody<{ passkeys: PendingPasskey[] }>;
      post: Op<{ challenge_id: string; name: string; credential: { [key: string]: unknown } }, PendingPasskey, 201>;
    };
    '/api/v1/me/passkeys/options': Omit<Slot, 'post'> & { post: OpNoBody<PendingPasskeyOptions> };
    '/api/v1/me/passkeys/{id}': Omit<Slot, 'parameters' | 'patch' | 'delete'> & {
      parameters: IdParams;
      patch: {
        parameters: IdParams;
        requestBody: { content: { 'application/json': { name: string } } };
        responses: { 200: Json<PendingPasskey>; 404: Problem };
      };
      delete: { parameters: IdParams; requestBody?: never; responses: { 204: { headers: { [name: string]: unknown }; content?: never }; 403: Problem; 404: Problem } };
    };
    '/api/v1/auth/passkey/options': Omit<Slot, 'post'> & { post: Op<{ tenant: string }, PendingPasskeyOptions> };
    '/api/v1/auth/passkey/login': Omit<Slot, 'post'> & {
      post: Op<
        { tenant: string; challenge_id: string; credential: { [key: string]: unknown }; token_delivery?: null | components['schemas']['TokenDelivery'] },
        components['schemas']['SignInResponse']
      >;
    };
    '/api/v1/auth/reauth/passkey/options': Omit<Slot, 'post'> & { post: OpNoBody<PendingPasskeyOptions> };
    '/api/v1/auth/reauth/passkey': Omit<Slot, 'post'> & {
      post: Op<
        { challenge_id: string; credential: { [key: string]: unknown }; token_delivery?: null | components['schemas']['TokenDelivery'] },
        components['schemas']['SignInResponse']
      >;
    };
  }
}
