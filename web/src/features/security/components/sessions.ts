import i18n from '@/lib/i18n';
import type { Session } from '../api/list-sessions';

/** This device first, then the others as the server sent them (newest first). */
export function orderSessions(sessions: readonly Session[]): Session[] {
  return [...sessions.filter((s) => s.current), ...sessions.filter((s) => !s.current)];
}

/** A name to show and to say: the server's "Chrome on Windows", or a fallback. */
export function deviceName(s: Pick<Session, 'device'>): string {
  return s.device?.trim() || i18n.t('security:devices.unknown');
}
