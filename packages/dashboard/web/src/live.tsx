/**
 * Live state: one `EventSource('/api/events')` for the whole app, shared through context. Every
 * `event: snapshot` replaces the Snapshot that drives Overview and Leaderboard; other pages refetch when its
 * block or last finalised epoch changes. The browser retries a dropped stream by itself; when the stream is
 * closed for good (an error answer) this reconnects with backoff. A logged-in operator sees the live scores:
 * `EventSource` cannot send the admin token, so each connection first trades it for a single-use stream
 * ticket (`POST /api/events/ticket`) and opens `/api/events?ticket=…`; the token never goes in a URL. A
 * spent ticket is refused when the browser retries with it, and the reconnect gets a fresh one. Changes
 * nothing on the server.
 */
import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import type { Snapshot, StreamTicket } from '../../src/api';
import { useAuth } from './auth';
import { errorMessage, request } from './client';

export type Connection = 'connecting' | 'live' | 'reconnecting';

export interface Live {
  snapshot: Snapshot | null;
  /** When (client clock, ms) the snapshot arrived: countdowns tick from here. */
  receivedAt: number;
  connection: Connection;
  /** Why the first snapshot could not be loaded (null once one arrives). */
  error: string | null;
}

const LiveContext = createContext<Live>({
  snapshot: null,
  receivedAt: 0,
  connection: 'connecting',
  error: null,
});

export function useLive(): Live {
  return useContext(LiveContext);
}

const MAX_BACKOFF_MS = 15_000;

export function LiveProvider({ children }: { children: ReactNode }) {
  const [live, setLive] = useState<Live>({
    snapshot: null,
    receivedAt: 0,
    connection: 'connecting',
    error: null,
  });

  const { token } = useAuth();

  useEffect(() => {
    const controller = new AbortController();
    let source: EventSource | null = null;
    let retry: number | undefined;
    let backoff = 1000;
    let connected = false;

    const accept = (snapshot: Snapshot) =>
      setLive((prev) =>
        prev.snapshot && prev.snapshot.at > snapshot.at
          ? prev
          : { ...prev, snapshot, receivedAt: Date.now(), error: null },
      );

    // The first paint need not wait for the next block.
    request<Snapshot>('/api/snapshot', { token, signal: controller.signal })
      .then(accept)
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setLive((prev) => ({ ...prev, error: errorMessage(err) }));
      });

    /** The stream's URL: the operator's (with a fresh ticket) when logged in, else the public one. */
    const streamUrl = async (): Promise<string> => {
      if (!token) return '/api/events';
      try {
        const t = await request<StreamTicket>('/api/events/ticket', {
          method: 'POST',
          token,
          signal: controller.signal,
        });
        return `/api/events?ticket=${encodeURIComponent(t.ticket)}`;
      } catch {
        // A refused token (or a node that is down): the public view keeps the page live meanwhile.
        return '/api/events';
      }
    };

    const connect = async () => {
      const url = await streamUrl();
      if (controller.signal.aborted) return;
      source = new EventSource(url);
      source.addEventListener('open', () => {
        connected = true;
        backoff = 1000;
        setLive((prev) => ({ ...prev, connection: 'live' }));
      });
      source.addEventListener('snapshot', (event) => {
        try {
          accept(JSON.parse((event as MessageEvent<string>).data) as Snapshot);
        } catch {
          // A malformed event: keep the last good snapshot.
        }
      });
      source.addEventListener('error', () => {
        setLive((prev) => ({ ...prev, connection: connected ? 'reconnecting' : prev.connection }));
        if (source?.readyState === EventSource.CLOSED) {
          source.close();
          retry = window.setTimeout(() => void connect(), backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
      });
    };
    void connect();

    return () => {
      controller.abort();
      window.clearTimeout(retry);
      source?.close();
    };
  }, [token]);

  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}
