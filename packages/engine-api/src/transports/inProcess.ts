/**
 * In-process transport: hands the encoded body straight to a server in the same process. The encode,
 * validate and decode steps are the very ones the HTTP transport uses; only the socket is missing.
 * Streams served by a handler of this process take the trusted path instead (`openLocal`): the handler's
 * values reach the caller as they are, with no JSON and no second validation between two stacks of one
 * process (params are still validated once, by the server). Validation stays at every process and network
 * boundary: the HTTP transport, split mode's child stacks and the P2P protocols never take this path.
 */
import type { EngineServer } from '../server.js';
import type { Transport, TransportReply } from '../transport.js';

const never = new AbortController().signal;

/** A transport to `server` in this process, calling as `caller`. */
export function createInProcessTransport(server: EngineServer, opts: { caller?: string } = {}): Transport {
  const caller = opts.caller ?? 'in-process';
  return {
    request: (body, { signal, deadlineMs }) => {
      if (signal === undefined) return server.handle(body, { signal: never, caller, deadlineMs });
      if (signal.aborted) return Promise.reject(signal.reason);
      return untilAborted(server.handle(body, { signal, caller, deadlineMs }), signal);
    },
    openLocal: (method, params, { signal, deadlineMs }) =>
      server.openLocal(method, params, { signal: signal ?? never, caller, deadlineMs }),
    close: async () => {},
  };
}

/** Settles as `reply` does, or rejects as soon as `signal` aborts, as the HTTP transport does. */
function untilAborted(reply: Promise<TransportReply>, signal: AbortSignal): Promise<TransportReply> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    reply.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
