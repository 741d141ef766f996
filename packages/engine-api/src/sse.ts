/**
 * Server-sent events framing for Engine API streams: render one event, and parse a byte stream back into
 * events incrementally (any chunking, `\n` or `\r\n` line ends, multi-line data).
 */
import type { SseEvent } from './transport.js';

/** Renders one event as SSE text. Data is single-line JSON, so one `data:` line suffices. */
export function renderSse(ev: SseEvent): string {
  return `event: ${ev.event}\ndata: ${ev.data}\n\n`;
}

const KNOWN = new Set(['start', 'data', 'end']);

/** Parses SSE text chunks into events; unknown event names and comments are skipped. */
export async function* parseSse(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buf = '';
  let event = 'message';
  let data: string[] = [];
  for await (const chunk of chunks) {
    buf += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let nl = buf.indexOf('\n');
    let from = 0;
    while (nl >= 0) {
      let line = buf.slice(from, nl);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      from = nl + 1;
      if (line === '') {
        if (data.length > 0 && KNOWN.has(event))
          yield { event: event as SseEvent['event'], data: data.join('\n') };
        event = 'message';
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line.charCodeAt(5) === 32 ? 6 : 5));
      } else if (line.startsWith('event:')) {
        event = line.slice(line.charCodeAt(6) === 32 ? 7 : 6);
      }
      nl = buf.indexOf('\n', from);
    }
    buf = buf.slice(from);
    if (buf.length > 16 * 1024 * 1024) throw new Error('SSE line longer than 16 MiB');
  }
}
