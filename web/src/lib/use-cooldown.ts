import { useCallback, useEffect, useState } from 'react';

/** Seconds left before an action may be repeated (e.g. "Resend code" after 60 s). */
export function useCooldown(initialSeconds = 0) {
  const [until, setUntil] = useState(() => (initialSeconds > 0 ? Date.now() + initialSeconds * 1000 : 0));
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until <= now) return;
    const t = setTimeout(() => setNow(Date.now()), 1000);
    return () => clearTimeout(t);
  }, [until, now]);
  const start = useCallback((seconds: number) => {
    setUntil(Date.now() + seconds * 1000);
    setNow(Date.now());
  }, []);
  const left = Math.max(0, Math.ceil((until - now) / 1000));
  return { left, start };
}
