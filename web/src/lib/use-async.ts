import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { ReauthCancelled } from './reauth';

export type AsyncState<T> = {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  setData: (data: T) => void;
};

/** Load something when `deps` change; the last answer wins. */
export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): AsyncState<T> {
  const [tick, setTick] = useState(0);
  const key = [...deps, tick];
  // What the last load answered, and for which `key`: loading is "the answer is for another key",
  // worked out while rendering rather than set from the effect.
  const [settled, setSettled] = useState<{ key: readonly unknown[] | null; data: T | undefined; error: unknown }>({
    key: null,
    data: undefined,
    error: null,
  });
  const loadRef = useRef(load);
  useLayoutEffect(() => {
    loadRef.current = load;
  });

  useEffect(() => {
    let live = true;
    loadRef.current().then(
      (value) => {
        if (live) setSettled({ key, data: value, error: null });
      },
      (err: unknown) => {
        if (live) setSettled((s) => ({ key, data: s.data, error: err }));
      },
    );
    return () => {
      live = false;
    };
    // The caller's `deps` are the dependencies (the hook's contract), plus `reload`'s tick.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, key);

  const current = settled.key !== null && sameKey(settled.key, key);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const setData = useCallback((data: T) => setSettled((s) => ({ ...s, data })), []);
  return { data: settled.data, error: current ? settled.error : null, loading: !current, reload, setData };
}

function sameKey(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/** Run an action with its pending flag and error message. */
export function useAction<A extends unknown[], R>(fn: (...args: A) => Promise<R>) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fnRef = useRef(fn);
  useLayoutEffect(() => {
    fnRef.current = fn;
  });
  const run = useCallback(async (...args: A): Promise<R | undefined> => {
    setPending(true);
    setError(null);
    try {
      return await fnRef.current(...args);
    } catch (err) {
      // Closing the password dialog is not an error to show.
      if (!(err instanceof ReauthCancelled)) setError(err);
      return undefined;
    } finally {
      setPending(false);
    }
  }, []);
  return { run, pending, error, setError };
}
