import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '@/api/schema';
import { accessToken, markSignedOut, refresh } from './auth';
import i18n from './i18n';
import { networkProblem, toApiProblem } from './problem';

const copies = new Map<string, Request>();

/**
 * Adds the bearer token; on a 401 `unauthenticated` (an expired token after the laptop slept)
 * refreshes once and repeats the request. When that fails too, the session is over.
 */
const bearer: Middleware = {
  async onRequest({ request, id }) {
    const token = accessToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    if (token) copies.set(id, request.clone());
    return request;
  },
  async onResponse({ response, id }) {
    const copy = copies.get(id);
    copies.delete(id);
    if (response.status !== 401 || !copy) return undefined;
    const body = (await response.clone().json().catch(() => null)) as { code?: string } | null;
    if (body?.code !== 'unauthenticated') return undefined;
    const fresh = await refresh().catch(() => null);
    if (!fresh) {
      markSignedOut(i18n.t('problems.invalid_refresh_token'));
      return undefined;
    }
    const retry = new Request(copy, { headers: new Headers(copy.headers) });
    retry.headers.set('Authorization', `Bearer ${fresh}`);
    const second = await fetch(retry);
    if (second.status === 401) markSignedOut(i18n.t('problems.invalid_refresh_token'));
    return second;
  },
  onError({ id }) {
    copies.delete(id);
    return undefined;
  },
};

/** The API, typed from openapi.yaml. */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(bearer);

type FetchResult<T> = { data?: T; error?: unknown; response: Response };

/**
 * Unwrap an openapi-fetch result: the data, or an ApiProblem thrown. Network failures become
 * the `network_error` problem so every screen can show one sentence for them.
 */
export async function call<T>(promise: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await promise;
  } catch (err) {
    if (err instanceof TypeError) throw networkProblem();
    throw err;
  }
  if (!result.response.ok) throw toApiProblem(result.error, result.response);
  return result.data as T;
}
