/**
 * Test harness: one Engine API server answered both in-process and over HTTP (JWT on, 127.0.0.1, port 0),
 * so a table of cases can run over both transports. Helpers for raw HTTP, token minting and error checks.
 * Never used by `src/`; never binds anything but loopback.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { silentLogger, waitFor } from '@subnet/utils';
import { SignJWT } from 'jose';
import {
  type Api,
  createEngineClient,
  createEngineServer,
  createHttpTransport,
  createInProcessTransport,
  createTokenSigner,
  createTokenVerifier,
  type EngineClient,
  type EngineClientOpts,
  EngineError,
  type EngineHttpServer,
  type EngineServer,
  type EngineServerOpts,
  startEngineHttpServer,
  type Transport,
} from '../src/index.js';

export const JWT_SUBJECT = 'test-suite';
export const MAX_LIFETIME_S = 300;

export interface HarnessOpts {
  server?: Partial<EngineServerOpts>;
  maxBodyBytes?: number;
  /** The JWT secret (random when absent). */
  secret?: Uint8Array;
}

export const TRANSPORTS = ['in-process', 'http'] as const;
export type TransportName = (typeof TRANSPORTS)[number];
export type ClientFactory = <A extends Api>(api: A, opts?: EngineClientOpts) => EngineClient<A>;

/**
 * `[name, makeClient]` for each transport, for `for (const [name, makeClient] of eachTransport(() => h))`
 * loops declared before the harness starts (`get` is only called inside tests).
 */
export function eachTransport(get: () => Harness): ReadonlyArray<readonly [TransportName, ClientFactory]> {
  return TRANSPORTS.map((kind) => [kind, (api, opts) => get().client(kind, api, opts)] as const);
}

export interface Harness {
  readonly server: EngineServer;
  readonly http: EngineHttpServer;
  readonly secret: Uint8Array;
  /** A valid bearer token for `JWT_SUBJECT`. */
  token(): Promise<string>;
  /** A raw transport of each kind (closed by `close()`). */
  transport(kind: TransportName): Transport;
  /** A typed client for `api` over a fresh transport of `kind` (closed by `close()`). */
  client<A extends Api>(kind: TransportName, api: A, opts?: EngineClientOpts): EngineClient<A>;
  close(): Promise<void>;
}

/** Starts a server with the built-in `engine_*` methods, served in-process and on HTTP. */
export async function startHarness(opts: HarnessOpts = {}): Promise<Harness> {
  const logger = silentLogger();
  const secret = opts.secret ?? new Uint8Array(randomBytes(32));
  const server = createEngineServer(
    { streamDeadlineMs: 60_000, maxStreams: 1_000, ...opts.server },
    { logger },
  );
  const http = await startEngineHttpServer(
    { host: '127.0.0.1', port: 0, maxBodyBytes: opts.maxBodyBytes ?? 1_048_576 + 1024 },
    { server, verifier: createTokenVerifier(secret, { maxLifetimeS: MAX_LIFETIME_S }), logger },
  );
  const token = createTokenSigner(secret, { subject: JWT_SUBJECT, lifetimeS: 60 });
  const transports: Transport[] = [];
  const make = (kind: TransportName): Transport => {
    const t =
      kind === 'http'
        ? createHttpTransport({ url: http.url, token })
        : createInProcessTransport(server, { caller: 'in-process' });
    transports.push(t);
    return t;
  };
  return {
    server,
    http,
    secret,
    token,
    transport: make,
    client: (kind, api, clientOpts) => createEngineClient(api, make(kind), clientOpts),
    async close() {
      // The server first: it ends open streams, so the pools' graceful close does not wait on them.
      await http.close();
      await Promise.all(transports.map((t) => t.close()));
    },
  };
}

/** Signs a JWT with arbitrary claims (`iat`/`exp` as given, in seconds); for auth tests. */
export async function mintToken(
  secret: Uint8Array,
  claims: { iat?: number; exp?: number; sub?: string; nbf?: number },
): Promise<string> {
  const jwt = new SignJWT(claims.sub === undefined ? {} : { sub: claims.sub }).setProtectedHeader({
    alg: 'HS256',
    typ: 'JWT',
  });
  if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
  if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  return jwt.sign(secret);
}

/** Seconds since the epoch. */
export function nowS(): number {
  return Math.floor(Date.now() / 1000);
}

/** base64url of a JSON value, as in a JWT segment. */
export function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  json: unknown;
}

/** One HTTP request on a fresh connection (no pooling), to see exactly what the binding answers. */
export function rawRequest(
  url: string,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawResponse> {
  const target = new URL(opts.path ?? '/rpc', url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      target,
      {
        method: opts.method ?? 'POST',
        headers: opts.headers ?? {},
        agent: false,
        signal: AbortSignal.timeout(10_000),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Asserts that `p` rejects with an EngineError of symbolic `code` (and numeric `rpcCode` when given). */
export async function expectEngineError(
  p: Promise<unknown>,
  code: string,
  rpcCode?: number,
): Promise<EngineError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof EngineError, `expected an EngineError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (rpcCode !== undefined) assert.equal(err.rpcCode, rpcCode);
    return err;
  }
  assert.fail(`expected an EngineError ${code}, but it resolved`);
}

/** Collects every value of an async iterable. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

/** Waits until the server has no open stream (streams close asynchronously after a disconnect). */
export async function waitForNoStreams(server: EngineServer, timeoutMs = 3_000): Promise<void> {
  await waitFor(() => (server.openStreams === 0 ? true : undefined), {
    timeoutMs,
    intervalMs: 5,
    what: `open streams (${server.openStreams}) to drop to 0`,
  });
}

/** A JSON-RPC wire response, loosely typed for assertions. */
export interface WireResponse {
  jsonrpc: string;
  id: string | number | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}
