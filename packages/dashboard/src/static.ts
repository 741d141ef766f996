/**
 * Serves the built web app (`packages/dashboard/dist/web`): `index.html` for `/` and for the app's own
 * client-side routes, `/assets/*` with an immutable cache (their names carry a content hash), correct
 * content types, and a clear 503 page when the app was not built. It must never serve a file outside the
 * build directory: a path that decodes to `..`, a NUL or a backslash is refused.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';

function sendText(res: ServerResponse, status: number, type: string, text: string, head: boolean): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(head ? undefined : text);
}

function notBuilt(dir: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>The dashboard is not built</h1>
<p>This node serves the dashboard's web app from <code>${escapeHtml(dir)}</code>, which holds no
<code>index.html</code>. Build it from the repository root with <code>npm run build</code>, then reload
this page. The JSON API under <code>/api/</code> works without it.</p>
</body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Serves static files from `dir` (an absolute path). */
export function createStaticHandler(
  dir: string,
): (req: IncomingMessage, res: ServerResponse, path: string) => void {
  const root = resolve(dir);

  async function fileAt(rel: string): Promise<{ file: string; size: number } | undefined> {
    const file = join(root, rel);
    if (file !== root && !file.startsWith(root + sep)) return undefined;
    try {
      const s = await stat(file);
      return s.isFile() ? { file, size: s.size } : undefined;
    } catch {
      return undefined;
    }
  }

  function sendFile(
    req: IncomingMessage,
    res: ServerResponse,
    f: { file: string; size: number },
    cache: string,
  ): void {
    res.writeHead(200, {
      'content-type': TYPES[extname(f.file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': f.size,
      'cache-control': cache,
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const s = createReadStream(f.file);
    s.on('error', () => res.destroy());
    s.pipe(res);
  }

  async function serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
      res.end();
      return;
    }
    let rel: string;
    try {
      rel = decodeURIComponent(path);
    } catch {
      sendText(res, 400, 'text/plain; charset=utf-8', 'Bad path: invalid percent-encoding.\n', head);
      return;
    }
    const segments = rel.split('/');
    if (rel.includes('\0') || rel.includes('\\') || segments.some((s) => s === '..' || s === '.')) {
      sendText(res, 400, 'text/plain; charset=utf-8', 'Bad path: it leaves the web app.\n', head);
      return;
    }
    const index = await fileAt('index.html');
    if (index === undefined) {
      sendText(res, 503, 'text/html; charset=utf-8', notBuilt(root), head);
      return;
    }
    const name = rel.replace(/^\/+/, '');
    if (name !== '' && name !== 'index.html') {
      const f = await fileAt(name);
      if (f !== undefined) {
        sendFile(req, res, f, name.startsWith('assets/') ? IMMUTABLE : 'no-cache');
        return;
      }
      // A missing file is a 404; a path without an extension is a route of the app itself.
      if (name.startsWith('assets/') || extname(name) !== '') {
        sendText(res, 404, 'text/plain; charset=utf-8', `Not found: /${name}\n`, head);
        return;
      }
    }
    sendFile(req, res, index, 'no-cache');
  }

  return (req, res, path) => {
    serve(req, res, path).catch(() => {
      if (!res.headersSent) sendText(res, 500, 'text/plain; charset=utf-8', 'Internal error\n', false);
      else res.destroy();
    });
  };
}
