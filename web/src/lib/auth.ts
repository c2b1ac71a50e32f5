import { http } from './http';
import i18n from './i18n';
import { ApiProblem, toApiProblem } from './problem';

/**
 * The session of this tab. The access token lives only here, in memory; the refresh token is
 * the HttpOnly `cx_refresh` cookie the browser holds for us. Tabs share new access tokens over
 * a BroadcastChannel and refresh under a Web Lock, so two tabs never spend one refresh token
 * (the server revokes the whole family on re-use).
 */
export type SessionState =
  | { status: 'unknown' }
  | { status: 'signed_out'; notice?: string }
  | { status: 'signed_in'; accessToken: string; expiresAt: number };

type Message = { type: 'token'; accessToken: string; expiresAt: number } | { type: 'signed_out' };

const LOCK_NAME = 'cx-refresh';
const CHANNEL_NAME = 'cx-auth';
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000;

let state: SessionState = { status: 'unknown' };
let version = 0;
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setTimeout> | undefined;
let inflight: Promise<string | null> | null = null;

const channel: BroadcastChannel | null =
  typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL_NAME) : null;

channel?.addEventListener('message', (event: MessageEvent<Message>) => {
  const msg = event.data;
  if (msg?.type === 'token' && msg.expiresAt > Date.now()) {
    set({ status: 'signed_in', accessToken: msg.accessToken, expiresAt: msg.expiresAt });
  } else if (msg?.type === 'signed_out') {
    set({ status: 'signed_out' });
  }
});

function set(next: SessionState) {
  state = next;
  version += 1;
  schedule();
  listeners.forEach((l) => l());
}

function schedule() {
  clearTimeout(timer);
  timer = undefined;
  if (state.status !== 'signed_in') return;
  const lifetime = state.expiresAt - Date.now();
  // Some jitter so tabs woken together do not all queue for the lock at once.
  const delay = Math.max(lifetime - REFRESH_MARGIN_MS - Math.random() * 10_000, lifetime / 2, 0);
  timer = setTimeout(() => {
    void refresh().catch(() => undefined);
  }, delay);
}

export function getSession(): SessionState {
  return state;
}

export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The access token to send, or null when signed out. */
export function accessToken(): string | null {
  return state.status === 'signed_in' ? state.accessToken : null;
}

/** Adopt a fresh access token (sign-in, refresh, re-authentication) and tell the other tabs. */
export function acceptToken(token: string, expiresInSeconds: number) {
  const expiresAt = Date.now() + expiresInSeconds * 1000;
  set({ status: 'signed_in', accessToken: token, expiresAt });
  channel?.postMessage({ type: 'token', accessToken: token, expiresAt } satisfies Message);
}

/** Forget the session here and in the other tabs. */
export function markSignedOut(notice?: string) {
  set(notice ? { status: 'signed_out', notice } : { status: 'signed_out' });
  channel?.postMessage({ type: 'signed_out' } satisfies Message);
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (locks?.request) return locks.request(LOCK_NAME, { mode: 'exclusive' }, fn) as Promise<T>;
  return fn();
}

/**
 * Exchange the refresh cookie for a new access token. Resolves to the token, or null when the
 * session is over (401 from the server). Network and server failures reject with ApiProblem.
 */
export function refresh(): Promise<string | null> {
  if (inflight) return inflight;
  const seen = version;
  inflight = withLock(async () => {
    // Another tab may have refreshed while we waited for the lock: use its token.
    if (version !== seen && state.status === 'signed_in' && state.expiresAt - Date.now() > REFRESH_MARGIN_MS) {
      return state.accessToken;
    }
    const { data, error, response } = await http.POST('/api/v1/auth/token/refresh', { body: {} });
    if (data && data.status === 'authenticated') {
      acceptToken(data.access_token, data.expires_in);
      return data.access_token;
    }
    if (response.status === 401 || response.status === 403) {
      markSignedOut();
      return null;
    }
    throw toApiProblem(error, response);
  }).finally(() => {
    inflight = null;
  });
  return inflight;
}

/** On page load: a silent refresh tells whether the cookie still holds a session. */
export async function bootstrapSession(): Promise<void> {
  if (state.status !== 'unknown') return;
  try {
    await refresh();
  } catch (err) {
    if (getSession().status === 'unknown') {
      set({
        status: 'signed_out',
        notice: err instanceof ApiProblem ? i18n.t('problems.service_unavailable') : undefined,
      } as SessionState);
    }
  }
}

/** Sign out: ends the refresh family on the server, then everywhere here. */
export async function signOut(): Promise<void> {
  const token = accessToken();
  try {
    await http.POST('/api/v1/auth/logout', {
      body: {},
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
  } catch {
    // Offline: the cookie stays, but this browser forgets the session anyway.
  }
  markSignedOut();
}

/** For tests only. */
export function resetSessionForTests(next: SessionState = { status: 'unknown' }) {
  inflight = null;
  set(next);
}

if (typeof document !== 'undefined') {
  // Timers sleep with the laptop: check again when the tab comes back.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.status === 'signed_in') {
      if (state.expiresAt - Date.now() < REFRESH_MARGIN_MS) void refresh().catch(() => undefined);
    }
  });
}
