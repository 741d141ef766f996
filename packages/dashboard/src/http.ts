/**
 * Small HTTP helpers of the `/api/` routes: JSON answers, a size-capped body reader and zod parsing that
 * names the failing field. Nothing here knows a route.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { DashboardError, DashboardErrorCode, toHttpFailure } from './errors.js';

/** Largest request body the dashboard reads. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Sends `value` as JSON; never cached (the data changes with every block). */
export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

/** Answers a failure with its status and `{ error: { code, message } }`. */
export function sendFailure(res: ServerResponse, err: unknown): void {
  const f = toHttpFailure(err);
  sendJson(res, f.status, f.body, f.headers);
}

function tooLarge(): DashboardError {
  return new DashboardError(
    DashboardErrorCode.TOO_LARGE,
    `The request body exceeds ${MAX_BODY_BYTES} bytes.`,
  );
}

/**
 * Reads the body as UTF-8, refusing it by its Content-Length without reading, or as soon as a chunked body
 * passes the limit.
 */
export function readBody(req: IncomingMessage, max: number = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (declared > max) return Promise.reject(tooLarge());
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size < 0) return;
      size += chunk.length;
      if (size > max) {
        size = -1;
        chunks.length = 0;
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** Parses a JSON body with `schema`; a failure is a 400 naming the first failing field. */
export function parseBody<S extends z.ZodType>(text: string, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new DashboardError(
      DashboardErrorCode.BAD_REQUEST,
      'The body is not valid JSON; send a JSON object.',
    );
  }
  if (json === undefined)
    throw new DashboardError(DashboardErrorCode.BAD_REQUEST, 'The body is empty; send a JSON object.');
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const keys = issue?.code === 'unrecognized_keys' ? issue.keys : [];
  const path = [...(issue?.path ?? []), ...keys.slice(0, 1)].map(String).join('.');
  const field = path === '' ? 'body' : path;
  throw new DashboardError(
    DashboardErrorCode.BAD_REQUEST,
    `Invalid field '${field}': ${issue?.message ?? 'invalid value'}.`,
  );
}
