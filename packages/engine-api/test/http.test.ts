/**
 * The HTTP binding: statuses, JWT authentication (401 + -32001 for every kind of bad token), body limits
 * (413 + -32002 by Content-Length and by a chunked body, answered without reading the rest), and a server
 * that survives any input.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@subnet/utils';
import {
  createEngineClient,
  createEngineServer,
  createHttpTransport,
  createTokenSigner,
  EngineErrorCode,
  engineApi,
  startEngineHttpServer,
} from '../src/index.js';
import {
  b64url,
  expectEngineError,
  type Harness,
  MAX_LIFETIME_S,
  mintToken,
  nowS,
  type RawResponse,
  rawRequest,
  startHarness,
  type WireResponse,
} from './harness.js';

const MAX_BODY = 64 * 1024;

let h: Harness;

before(async () => {
  h = await startHarness({ maxBodyBytes: MAX_BODY });
});

after(() => h.close());

const echo = (payload: string, id: number | string = 1) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'engine_echoV1', params: { payload } });

async function post(body: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(h.http.url, {
    body,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await h.token()}`, ...headers },
  });
}

function wireError(res: RawResponse, status: number, code: number): WireResponse['error'] & {} {
  assert.equal(res.status, status, res.text);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json as WireResponse;
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.id, null);
  assert.ok(body.error !== undefined);
  assert.equal(body.error.code, code);
  return body.error;
}

describe('HTTP statuses', () => {
  it('answers a call with 200 and a JSON-RPC response', async () => {
    const res = await post(echo('hi'));
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { jsonrpc: '2.0', id: 1, result: { payload: 'hi' } });
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.text));
  });

  it('answers JSON-RPC errors with 200 (the error is in the body)', async () => {
    const res = await post('{oops');
    assert.equal(res.status, 200);
    assert.equal((res.json as WireResponse).error?.code, EngineErrorCode.PARSE_ERROR);
  });

  it('answers a notification with 204 and no body', async () => {
    const res = await post(
      JSON.stringify({ jsonrpc: '2.0', method: 'engine_echoV1', params: { payload: 'x' } }),
    );
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
  });

  it('answers an all-notification batch with 204', async () => {
    const n = { jsonrpc: '2.0', method: 'engine_echoV1', params: { payload: 'x' } };
    const res = await post(JSON.stringify([n, n]));
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
  });

  it('answers a stream as text/event-stream with X-Stream-Id and start/data/end events', async () => {
    const res = await post(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'engine_echoStreamV1',
        params: { count: 2, payload: 'q' },
      }),
    );
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    const id = String(res.headers['x-stream-id']);
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(
      res.text,
      `event: start\ndata: {"streamId":"${id}"}\n\n` +
        'event: data\ndata: {"seq":0,"payload":"q"}\n\nevent: data\ndata: {"seq":1,"payload":"q"}\n\n' +
        'event: end\ndata: {"reason":"complete"}\n\n',
    );
  });

  it('refuses other verbs with 405', async () => {
    const res = await rawRequest(h.http.url, {
      method: 'GET',
      headers: { authorization: `Bearer ${await h.token()}` },
    });
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'POST');
    assert.equal((res.json as WireResponse).error?.code, EngineErrorCode.INVALID_REQUEST);
  });

  it('answers other paths with 404', async () => {
    const res = await rawRequest(h.http.url, { path: '/nope', body: echo('x') });
    assert.equal(res.status, 404);
  });

  it('serves extra routes given to startEngineHttpServer', async () => {
    const server = createEngineServer({ streamDeadlineMs: 1_000, maxStreams: 1 });
    const srv = await startEngineHttpServer(
      {
        host: '127.0.0.1',
        port: 0,
        maxBodyBytes: 1024,
        routes: { '/health': (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok') },
      },
      { server, verifier: undefined, logger: silentLogger() },
    );
    try {
      assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(srv.port > 0);
      const health = await rawRequest(srv.url, { method: 'GET', path: '/health?x=1' });
      assert.equal(health.status, 200);
      assert.equal(health.text, 'ok');
      // verifier undefined: no token needed.
      const res = await rawRequest(srv.url, { body: echo('open') });
      assert.deepEqual((res.json as WireResponse).result, { payload: 'open' });
    } finally {
      await srv.close();
    }
  });

  it('a bad X-Deadline-Ms is ignored, a good one is applied', async () => {
    assert.equal((await post(echo('x'), { 'x-deadline-ms': 'soon' })).status, 200);
    assert.equal((await post(echo('x'), { 'x-deadline-ms': '-5' })).status, 200);
    const res = await post(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'engine_echoStreamV1',
        params: { count: 1000, intervalMs: 10 },
      }),
      { 'x-deadline-ms': '50' },
    );
    const end = res.text.trimEnd().split('\n').at(-1) ?? '';
    const parsed = JSON.parse(end.replace(/^data: /, '')) as { reason: string; error: { code: number } };
    assert.equal(parsed.reason, 'deadline');
    assert.equal(parsed.error.code, EngineErrorCode.DEADLINE_EXCEEDED);
  });
});

describe('authentication', () => {
  const { UNAUTHORIZED } = EngineErrorCode;

  async function withAuth(authorization: string | undefined): Promise<RawResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization !== undefined) headers.authorization = authorization;
    return rawRequest(h.http.url, { body: echo('secret stuff'), headers });
  }

  const other = new Uint8Array(32).fill(7);
  const cases: Record<string, () => Promise<string | undefined>> = {
    'no Authorization header': async () => undefined,
    'an empty Authorization header': async () => '',
    'a Basic scheme': async () => 'Basic dXNlcjpwYXNz',
    'a bearer that is not a JWT': async () => 'Bearer not-a-jwt',
    'a token signed with another secret': async () =>
      `Bearer ${await mintToken(other, { iat: nowS(), exp: nowS() + 60, sub: 'x' })}`,
    'an alg "none" token': async () =>
      `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'x', iat: nowS(), exp: nowS() + 60 })}.`,
    'an HS256 header on an unsigned token': async () =>
      `Bearer ${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'x', iat: nowS(), exp: nowS() + 60 })}.`,
    'a tampered payload': async () => {
      const [head, , sig] = (await h.token()).split('.');
      return `Bearer ${head}.${b64url({ sub: 'admin', iat: nowS(), exp: nowS() + 60 })}.${sig}`;
    },
    'a tampered signature': async () => {
      // Change the signature's first character: all six of its bits are signature bits (the last
      // character's low bits are padding, so changing it may leave the signature as it was).
      const [head, payload, sig = ''] = (await h.token()).split('.');
      return `Bearer ${head}.${payload}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
    },
    'an expired token': async () =>
      `Bearer ${await mintToken(h.secret, { iat: nowS() - 120, exp: nowS() - 60, sub: 'x' })}`,
    'a lifetime over the maximum': async () =>
      `Bearer ${await mintToken(h.secret, { iat: nowS(), exp: nowS() + MAX_LIFETIME_S + 60, sub: 'x' })}`,
    'a token without exp': async () => `Bearer ${await mintToken(h.secret, { iat: nowS(), sub: 'x' })}`,
    'a token without iat': async () => `Bearer ${await mintToken(h.secret, { exp: nowS() + 60, sub: 'x' })}`,
    'a token issued in the future': async () =>
      `Bearer ${await mintToken(h.secret, { iat: nowS() + 120, exp: nowS() + 180, sub: 'x' })}`,
    'a token not valid yet': async () =>
      `Bearer ${await mintToken(h.secret, { iat: nowS(), exp: nowS() + 60, nbf: nowS() + 60, sub: 'x' })}`,
  };

  for (const [name, make] of Object.entries(cases)) {
    it(`refuses ${name} with 401 / -32001`, async () => {
      const res = await withAuth(await make());
      const err = wireError(res, 401, UNAUTHORIZED);
      assert.ok(err.message.length > 10, 'the message says what is wrong');
      assert.ok(!res.text.includes('secret stuff'));
    });
  }

  it('accepts a token at exactly the maximum lifetime', async () => {
    const token = await mintToken(h.secret, { iat: nowS(), exp: nowS() + MAX_LIFETIME_S, sub: 'max' });
    const res = await withAuth(`Bearer ${token}`);
    assert.equal(res.status, 200);
    assert.deepEqual((res.json as WireResponse).result, { payload: 'secret stuff' });
  });

  it('checks the token before reading the body', async () => {
    const res = await rawSocketRequest(h.http.port, {
      head: 'POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n',
      chunks: () => undefined,
    });
    assert.equal(res.status, 401);
    assert.equal((JSON.parse(res.body) as WireResponse).error?.code, UNAUTHORIZED);
    assert.equal(res.closedByServer, true);
  });

  it('a client signing with the wrong secret gets UNAUTHORIZED', async () => {
    const wrong = createTokenSigner(other, { subject: 'intruder', lifetimeS: 60 });
    const client = createEngineClient(engineApi, createHttpTransport({ url: h.http.url, token: wrong }));
    try {
      await expectEngineError(client.call('engine_echoV1', { payload: 'x' }), 'UNAUTHORIZED', UNAUTHORIZED);
      await expectEngineError(
        client.stream('engine_echoStreamV1', { count: 1 }),
        'UNAUTHORIZED',
        UNAUTHORIZED,
      );
    } finally {
      await client.close();
    }
  });

  it('a client without a token gets UNAUTHORIZED', async () => {
    const client = createEngineClient(engineApi, createHttpTransport({ url: h.http.url }));
    try {
      await expectEngineError(client.call('engine_echoV1', { payload: 'x' }), 'UNAUTHORIZED', UNAUTHORIZED);
    } finally {
      await client.close();
    }
  });
});

interface SocketResult {
  status: number;
  body: string;
  /** Body bytes written before the server answered. */
  written: number;
  /** The server closed the connection (instead of draining the rest of the body). */
  closedByServer: boolean;
}

/**
 * Writes `head`, then whatever `chunks()` returns (until it returns undefined or the server answers),
 * and reads one HTTP response from a raw socket.
 */
function rawSocketRequest(
  port: number,
  opts: { head: string; chunks: () => string | undefined },
): Promise<SocketResult> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let received = '';
    let written = 0;
    let answered = false;
    let closedByServer = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response; got ${JSON.stringify(received.slice(0, 200))}`));
    }, 10_000);
    const parse = (): { status: number; body: string } | undefined => {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const head = received.slice(0, end);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? Number.NaN);
      const body = received.slice(end + 4);
      if (!Number.isFinite(length) || body.length < length) return undefined;
      return { status: Number(head.split(' ')[1]), body: body.slice(0, length) };
    };
    const finish = () => {
      const r = parse();
      if (r === undefined) return;
      clearTimeout(timer);
      resolve({ ...r, written, closedByServer });
    };
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      received += d;
      if (parse() !== undefined) answered = true;
    });
    socket.on('error', () => {
      closedByServer = true; // EPIPE / ECONNRESET once the server hung up on the rest of the body
    });
    socket.on('close', () => {
      closedByServer = true;
      finish();
    });
    socket.on('end', () => {
      closedByServer = true;
    });
    socket.write(opts.head);
    const pump = () => {
      while (!answered && !socket.destroyed) {
        const chunk = opts.chunks();
        if (chunk === undefined) return;
        written += Buffer.byteLength(chunk);
        if (!socket.write(chunk)) {
          socket.once('drain', () => setImmediate(pump));
          return;
        }
      }
    };
    setImmediate(pump);
  });
}

describe('body limits', () => {
  const { PAYLOAD_TOO_LARGE } = EngineErrorCode;

  it('accepts a body of exactly maxBodyBytes', async () => {
    const overhead = Buffer.byteLength(echo(''));
    const body = echo('a'.repeat(MAX_BODY - overhead));
    assert.equal(Buffer.byteLength(body), MAX_BODY);
    const res = await post(body);
    assert.equal(res.status, 200);
    assert.equal(
      ((res.json as WireResponse).result as { payload: string }).payload.length,
      MAX_BODY - overhead,
    );
  });

  it('refuses one byte more with 413 / -32002', async () => {
    const overhead = Buffer.byteLength(echo(''));
    const res = await post(echo('a'.repeat(MAX_BODY - overhead + 1)));
    const err = wireError(res, 413, PAYLOAD_TOO_LARGE);
    assert.match(err.message, /65536 bytes/);
  });

  it('refuses by Content-Length before any of the body is sent', async () => {
    const token = await h.token();
    const res = await rawSocketRequest(h.http.port, {
      head: `POST /rpc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`,
      chunks: () => undefined, // never send the body
    });
    assert.equal(res.status, 413);
    assert.equal((JSON.parse(res.body) as WireResponse).error?.code, PAYLOAD_TOO_LARGE);
    assert.equal(res.written, 0);
    assert.equal(res.closedByServer, true, 'the server hangs up rather than wait for 100 MiB');
  });

  it('refuses a chunked body as soon as it passes the limit, without reading the rest', async () => {
    const token = await h.token();
    const piece = 'x'.repeat(16 * 1024);
    const chunk = `${piece.length.toString(16)}\r\n${piece}\r\n`;
    const endless = 256 * 1024 * 1024;
    let sent = 0;
    const res = await rawSocketRequest(h.http.port, {
      head: `POST /rpc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      chunks: () => {
        if (sent >= endless) return undefined;
        sent += piece.length;
        return chunk;
      },
    });
    assert.equal(res.status, 413);
    assert.equal((JSON.parse(res.body) as WireResponse).error?.code, PAYLOAD_TOO_LARGE);
    assert.ok(res.written > MAX_BODY, 'the limit was passed');
    assert.ok(
      res.written < 32 * 1024 * 1024,
      `answered after ${res.written} bytes, not at the end of 256 MiB`,
    );
    assert.equal(res.closedByServer, true);
  });

  it('the typed client surfaces 413 as PAYLOAD_TOO_LARGE', async () => {
    const client = h.client('http', engineApi);
    await expectEngineError(
      client.call('engine_echoV1', { payload: 'a'.repeat(MAX_BODY) }),
      'PAYLOAD_TOO_LARGE',
      PAYLOAD_TOO_LARGE,
    );
  });
});

describe('robustness', () => {
  it('survives hostile input, then still answers a good call', async () => {
    const token = await h.token();
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const bodies: (string | Buffer)[] = [
      deep,
      `{"jsonrpc":"2.0","id":1,"method":"engine_echoV1","params":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
      Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x80]),
      '{"jsonrpc":"2.0","id":1,"method":"__proto__","params":{}}',
      '{"jsonrpc":"2.0","id":1,"method":"constructor","params":{}}',
      '{"jsonrpc":"2.0","id":1,"method":"engine_echoV1","params":{"__proto__":{"payload":1}}}',
      '{"jsonrpc":"2.0","id":1,"method":"rpc.discover","params":[1,2]}',
      `[${Array.from({ length: 500 }, (_, i) => echo('x', i)).join(',')}]`,
      JSON.stringify({ jsonrpc: '2.0', id: 1e308 * 10, method: 'engine_echoV1', params: { payload: 'x' } }),
      '\u0000',
      'null',
    ];
    for (const body of bodies) {
      const res = await post(body);
      assert.ok(
        [200, 204, 413].includes(res.status),
        `status ${res.status} for ${String(body).slice(0, 40)}`,
      );
    }
    // Garbage that is not HTTP at all, a request cut off mid-body, and a stream abandoned mid-way.
    await new Promise<void>((resolve) => {
      const s = connect(h.http.port, '127.0.0.1', () => s.end('GARBAGE / NOT-HTTP\r\n\r\n'));
      s.on('data', () => {});
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    await new Promise<void>((resolve) => {
      const s = connect(h.http.port, '127.0.0.1', () => {
        s.write(
          `POST /rpc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 1000\r\n\r\n{"jsonrpc"`,
        );
        setTimeout(() => s.destroy(), 20);
      });
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    await new Promise<void>((resolve) => {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'engine_echoStreamV1',
        params: { count: 1_000_000, intervalMs: 1 },
      });
      const s = connect(h.http.port, '127.0.0.1', () => {
        s.write(
          `POST /rpc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
      });
      s.once('data', () => s.destroy());
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    const deadline = Date.now() + 3_000;
    while (h.server.openStreams > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(h.server.openStreams, 0, 'the abandoned stream was closed');

    const client = h.client('http', engineApi);
    assert.deepEqual(await client.call('engine_echoV1', { payload: 'still alive' }), {
      payload: 'still alive',
    });
    const events = [];
    for await (const ev of await client.stream('engine_echoStreamV1', { count: 3 })) events.push(ev.seq);
    assert.deepEqual(events, [0, 1, 2]);
  });
});
