/**
 * Server-sent events framing: what the server writes and how the client parses any chunking of it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSse, renderSse, type SseEvent } from '../src/index.js';

async function parseAll(chunks: (string | Buffer)[]): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  async function* source() {
    yield* chunks;
  }
  for await (const ev of parseSse(source())) out.push(ev);
  return out;
}

const sample: SseEvent[] = [
  { event: 'start', data: '{"streamId":"abc"}' },
  { event: 'data', data: '{"seq":0,"payload":"é😀 line\\nbreak"}' },
  { event: 'end', data: '{"reason":"complete"}' },
];

describe('renderSse', () => {
  it('writes one event and one data line, then a blank line', () => {
    assert.equal(renderSse({ event: 'data', data: '{"a":1}' }), 'event: data\ndata: {"a":1}\n\n');
  });
});

describe('parseSse', () => {
  it('parses what renderSse writes, in one chunk', async () => {
    assert.deepEqual(await parseAll([sample.map(renderSse).join('')]), sample);
  });

  it('parses any split, byte by byte, including inside multi-byte characters', async () => {
    const bytes = Buffer.from(sample.map(renderSse).join(''));
    const oneByOne = Array.from(bytes, (b) => Buffer.from([b]));
    assert.deepEqual(await parseAll(oneByOne), sample);
    for (const size of [2, 3, 7, 64]) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
      assert.deepEqual(await parseAll(pieces), sample, `chunks of ${size}`);
    }
  });

  it('accepts CRLF line ends, fields without a space, and multi-line data', async () => {
    const text = 'event:data\r\ndata:{"a":\r\ndata: 1}\r\n\r\nevent: end\r\ndata: {}\r\n\r\n';
    assert.deepEqual(await parseAll([text]), [
      { event: 'data', data: '{"a":\n1}' },
      { event: 'end', data: '{}' },
    ]);
  });

  it('skips comments, unknown events, events without data and a trailing partial event', async () => {
    const text =
      ': keep-alive\n\nevent: ping\ndata: x\n\nevent: data\n\nid: 4\nevent: data\ndata: ok\n\nevent: end\ndata: cut';
    assert.deepEqual(await parseAll([text]), [{ event: 'data', data: 'ok' }]);
  });

  it('resets the event name after each event', async () => {
    assert.deepEqual(await parseAll(['event: start\ndata: a\n\ndata: b\n\n']), [
      { event: 'start', data: 'a' },
    ]);
  });

  it('refuses a line longer than 16 MiB instead of buffering without end', async () => {
    const huge = `data: ${'x'.repeat(16 * 1024 * 1024 + 1)}`;
    await assert.rejects(parseAll([huge]), /16 MiB/);
  });
});
