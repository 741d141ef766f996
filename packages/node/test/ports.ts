/**
 * Test helper: a run of consecutive free TCP ports on 127.0.0.1, for tests that start many libp2p nodes.
 */
import { createServer } from 'node:net';

/** A base port with `count` consecutive free ports on 127.0.0.1 (free now; the test binds them a moment later). */
export async function freePortRange(count: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 2 * Math.floor(Math.random() * 15_000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await tryPort(p);
    if (ok) return base;
  }
  throw new Error('no free port range');
}
