import { createContext, useCallback, useContext } from 'react';
import { hasCode } from './problem';

/** Opens the re-authentication dialog; resolves when the user confirmed, rejects on cancel. */
export type AskReauth = () => Promise<void>;

export const ReauthContext = createContext<AskReauth>(() => Promise.reject(new Error('no reauth provider')));

export class ReauthCancelled extends Error {
  constructor() {
    super('Re-authentication cancelled');
    this.name = 'ReauthCancelled';
  }
}

/**
 * Wraps a sensitive action: when the API answers 403 `reauth_required`, ask for the password
 * (and second factor) and run the action again.
 */
export function useSensitive() {
  const ask = useContext(ReauthContext);
  return useCallback(
    async <T,>(action: () => Promise<T>): Promise<T> => {
      try {
        return await action();
      } catch (err) {
        if (!hasCode(err, 'reauth_required')) throw err;
        await ask();
        return action();
      }
    },
    [ask],
  );
}
