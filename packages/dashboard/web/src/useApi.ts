/**
 * `useApi(path, refreshKey)`: GETs a dashboard endpoint, refetching when `path`, `refreshKey` (e.g. the
 * current block) or the token change. Keeps the last good data while a refetch is in flight, so live pages do
 * not flicker; aborts stale requests.
 */
import { useCallback, useEffect, useState } from 'react';
import { errorMessage, request } from './client';

export interface ApiState<T> {
  data: T | null;
  error: string | null;
  /** Whether the last error was the server refusing the admin token. */
  unauthorised: boolean;
  loading: boolean;
  reload(): void;
}

export function useApi<T>(
  path: string | null,
  refreshKey: unknown = null,
  token: string | null = null,
): ApiState<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [unauthorised, setUnauthorised] = useState(false);
  const [loading, setLoading] = useState(path !== null);
  const [nonce, setNonce] = useState(0);
  const reload = useCallback(() => setNonce((n) => n + 1), []);

  // Forget data from another path (e.g. another uid) instead of showing it under the new one.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset only when the path changes
  useEffect(() => {
    setData(null);
    setError(null);
  }, [path]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshKey and nonce are refetch triggers
  useEffect(() => {
    if (path === null) {
      setLoading(false);
      return;
    }
    const controller = new AbortController();
    setLoading(true);
    request<T>(path, { token, signal: controller.signal })
      .then((next) => {
        setData(next);
        setError(null);
        setUnauthorised(false);
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return;
        setError(errorMessage(err));
        setUnauthorised((err as { status?: number }).status === 401);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [path, refreshKey, token, nonce]);

  return { data, error, unauthorised, loading, reload };
}
