import { createContext, useContext } from 'react';
import type { components } from '@/api/schema';

export type Me = components['schemas']['MeResponse'];

export type MeContextValue = {
  me: Me | null;
  loading: boolean;
  error: unknown;
  reload: () => void;
};

export const MeContext = createContext<MeContextValue>({ me: null, loading: true, error: null, reload: () => {} });

/** The signed-in user (GET /me), loaded once per session by the app's providers. */
export function useMe(): MeContextValue {
  return useContext(MeContext);
}
