/**
 * Admin login: the admin token (`subnet gateway admin-token`, or the devnet printout) is checked with
 * `GET /api/admin` and kept in `sessionStorage` under `subnet.adminToken`. Showing or hiding controls is a
 * convenience only: the server refuses every state change without the right token.
 */
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import type { Admin } from '../../src/api';
import { request } from './client';

export const TOKEN_STORAGE_KEY = 'subnet.adminToken';

export interface Auth {
  token: string | null;
  /** Checks `token` with the server; stores it when accepted, throws `ApiError` (401) when not. */
  login(token: string): Promise<void>;
  logout(): void;
}

const AuthContext = createContext<Auth>({ token: null, login: async () => {}, logout: () => {} });

export function useAuth(): Auth {
  return useContext(AuthContext);
}

function readToken(): string | null {
  try {
    return window.sessionStorage.getItem(TOKEN_STORAGE_KEY);
  } catch {
    return null;
  }
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | null>(readToken);

  const login = useCallback(async (candidate: string) => {
    await request<Admin>('/api/admin', { token: candidate });
    window.sessionStorage.setItem(TOKEN_STORAGE_KEY, candidate);
    setToken(candidate);
  }, []);

  const logout = useCallback(() => {
    window.sessionStorage.removeItem(TOKEN_STORAGE_KEY);
    setToken(null);
  }, []);

  const value = useMemo(() => ({ token, login, logout }), [token, login, logout]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
