/**
 * The simulator's JSON-RPC client for its anvil: single calls and batches over one keep-alive HTTP
 * connection, every call bounded by a timeout signal. Errors keep anvil's `data` (the revert bytes of an
 * eth_call) so the caller can decode the custom error. Test code only; never used by a node.
 */

/** A JSON-RPC error answer (`data` holds the revert bytes of a reverted eth_call). */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    message: string,
    readonly code: number,
    readonly data: unknown,
  ) {
    super(message);
  }
}

/** One answer of a batch: the result, or the error of that request alone. */
export type RpcAnswer = { ok: true; result: unknown } | { ok: false; error: RpcError };

export interface Rpc {
  call<T>(method: string, params: readonly unknown[]): Promise<T>;
  /** Sends the requests as one batch; answers in request order. */
  batch(requests: readonly (readonly [string, readonly unknown[]])[]): Promise<RpcAnswer[]>;
}

const TIMEOUT_MS = 120_000;
/** Requests per HTTP batch (anvil answers large batches, but one body should stay small). */
const BATCH = 500;

/** A client for the JSON-RPC endpoint at `url`. */
export function createRpc(url: string): Rpc {
  let id = 0;
  async function post(body: unknown): Promise<unknown> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`anvil answered HTTP ${res.status}`);
    return await res.json();
  }
  const answer = (x: { result?: unknown; error?: { message: string; code: number; data?: unknown } }) =>
    x.error !== undefined
      ? ({ ok: false, error: new RpcError(x.error.message, x.error.code, x.error.data) } as const)
      : ({ ok: true, result: x.result } as const);
  return {
    async call<T>(method: string, params: readonly unknown[]): Promise<T> {
      const a = answer((await post({ jsonrpc: '2.0', id: ++id, method, params })) as never);
      if (!a.ok) throw a.error;
      return a.result as T;
    },
    async batch(requests) {
      const out: RpcAnswer[] = [];
      for (let at = 0; at < requests.length; at += BATCH) {
        const chunk = requests.slice(at, at + BATCH);
        const first = id + 1;
        id += chunk.length;
        const body = chunk.map(([method, params], k) => ({ jsonrpc: '2.0', id: first + k, method, params }));
        const res = (await post(body)) as { id: number }[];
        const byId = new Map(res.map((r) => [r.id, r]));
        for (let k = 0; k < chunk.length; k++) {
          const r = byId.get(first + k);
          if (r === undefined) throw new Error(`anvil left request ${first + k} of a batch unanswered`);
          out.push(answer(r as never));
        }
      }
      return out;
    },
  };
}
