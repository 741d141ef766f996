/**
 * The language-agnostic proof: a Python client written with the standard library only (test/python/
 * client.py) mints its own JWT from the node's secret file, calls, batches and reads a stream.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EngineErrorCode, loadOrCreateJwtSecret } from '../src/index.js';
import { type Harness, startHarness, type WireResponse } from './harness.js';

/** dist/test → test/python: the script is plain Python and is not compiled. */
const script = fileURLToPath(new URL('../../test/python/client.py', import.meta.url));

interface Summary {
  echo: { status: number; sent: string; response: WireResponse };
  batch: { status: number; sentIds: number[]; responses: WireResponse[] };
  notification: { status: number; body: unknown };
  stream: {
    status: number;
    contentType: string;
    streamId: string;
    start: { streamId: string };
    events: { seq: number; payload: string }[];
    end: { reason: string };
    count: number;
  };
  wrongSecret: { status: number; response: WireResponse };
}

describe('a Python client (standard library only)', () => {
  let dir: string;
  let h: Harness;
  let summary: Summary;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engine-python-'));
    const secretFile = join(dir, 'engine-jwt.hex');
    h = await startHarness({ secret: await loadOrCreateJwtSecret(secretFile) });
    const secretHex = (await readFile(secretFile, 'utf8')).trim();
    const { stdout } = await promisify(execFile)('python3', [script, h.http.url, secretHex], {
      timeout: 20_000,
      env: { ...process.env, PYTHONIOENCODING: 'utf-8' },
    });
    summary = JSON.parse(stdout) as Summary;
  });

  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('calls engine_echoV1 and gets its payload back', () => {
    assert.equal(summary.echo.status, 200);
    assert.equal(summary.echo.sent, 'héllo from python ✓');
    assert.deepEqual(summary.echo.response, {
      jsonrpc: '2.0',
      id: 1,
      result: { payload: summary.echo.sent },
    });
  });

  it('sends a batch: results and errors matched by id, the notification unanswered', () => {
    const { status, sentIds, responses } = summary.batch;
    assert.equal(status, 200);
    assert.equal(responses.length, 3);
    assert.deepEqual(responses.map((r) => r.id).sort(), [...sentIds].sort());
    const byId = new Map(responses.map((r) => [r.id, r]));
    assert.deepEqual(byId.get(sentIds[0] as number)?.result, { payload: 'first' });
    assert.equal(byId.get(sentIds[1] as number)?.error?.code, EngineErrorCode.METHOD_NOT_FOUND);
    assert.equal(byId.get(sentIds[2] as number)?.error?.code, EngineErrorCode.INVALID_PARAMS);
  });

  it('a notification gets 204 and no body', () => {
    assert.deepEqual(summary.notification, { status: 204, body: null });
  });

  it('reads a stream: start, count data events with seqs 0..n-1, end "complete"', () => {
    const s = summary.stream;
    assert.equal(s.status, 200);
    assert.match(s.contentType, /^text\/event-stream/);
    assert.equal(s.start.streamId, s.streamId);
    assert.ok(s.count > 0);
    assert.equal(s.events.length, s.count);
    assert.deepEqual(
      s.events.map((e) => e.seq),
      Array.from({ length: s.count }, (_, i) => i),
    );
    assert.ok(s.events.every((e) => e.payload === 'py'));
    assert.deepEqual(s.end, { reason: 'complete' });
    assert.equal(h.server.openStreams, 0);
  });

  it('a token signed with a wrong secret is refused with 401 / -32001', () => {
    assert.equal(summary.wrongSecret.status, 401);
    assert.equal(summary.wrongSecret.response.error?.code, EngineErrorCode.UNAUTHORIZED);
    assert.equal(summary.wrongSecret.response.result, undefined);
  });
});
