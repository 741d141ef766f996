/**
 * In-process transport: hands the encoded body straight to a server in the same process. The encode,
 * validate and decode steps are the very ones the HTTP transport uses; only the socket is missing.
 */
import type { EngineServer } from '../server.js';
import type { Transport } from '../transport.js';

const never = new AbortController().signal;

/** A transport to `server` in this process, calling as `caller`. */
export function createInProcessTransport(server: EngineServer, opts: { caller?: string } = {}): Transport {
  const caller = opts.caller ?? 'in-process';
  return {
    request: (body, { signal, deadlineMs }) =>
      server.handle(body, { signal: signal ?? never, caller, deadlineMs }),
    close: async () => {},
  };
}
