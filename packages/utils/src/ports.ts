/**
 * Free TCP port blocks on 127.0.0.1 for processes that must be told their ports before they start (a devnet
 * registers its neurons' multiaddrs on chain, then starts them). Blocks are drawn below Linux's default
 * ephemeral range (32768–60999): a port there is never taken by an outgoing connection between the probe
 * and the listen, the race that failed a CI run with EADDRINUSE on a port picked at random in that range.
 */
import { createServer } from 'node:net';

const FIRST = 20_000;
const END = 32_768;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The first port of `count` consecutive ports that are all free on 127.0.0.1 now, at a random place in 20000–32767. */
export async function freePortRange(count: number): Promise<number> {
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RangeError(`count ${count}: 1..1000`);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = FIRST + 2 * Math.floor((Math.random() * (END - FIRST - count)) / 2);
    let free = true;
    for (let p = base; p < base + count && free; p++) free = await bindable(p);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1 in ${FIRST}–${END - 1}`);
}
