/**
 * Child-process entry of the bench: `worker.ts <contender>` sets the contender up, answers `ready`, then
 * serves the parent's commands (see ipc.ts) one at a time. Its stdout is discarded; it must never print the
 * report, and it exits when the parent goes away.
 */
import { CONTENDERS, type ContenderName, startContender } from './contenders.ts';
import type { Command, Reply } from './ipc.ts';
import { drive, sampleStreamCpu } from './measure.ts';

const name = process.argv[2] as ContenderName;
if (!CONTENDERS.includes(name))
  throw new Error(`unknown contender "${name}"; one of ${CONTENDERS.join(', ')}`);
const contender = await startContender(name);

async function answer(cmd: Command): Promise<Reply> {
  switch (cmd.op) {
    case 'drive': {
      const { unary } = contender;
      if (unary === undefined) throw new Error(`${name} has no unary call`);
      const samples: number[] = [];
      const t0 = performance.now();
      await drive(unary, cmd.concurrency, cmd.ms, cmd.record ? samples : undefined);
      return { op: 'drive', samples, elapsedMs: performance.now() - t0 };
    }
    case 'stream':
      return { op: 'stream', sample: await sampleStreamCpu(() => contender.stream(cmd.count)) };
    case 'close':
      await contender.close();
      return { op: 'close' };
  }
}

function reply(r: Reply): void {
  process.send?.(r);
}

process.on('message', (cmd: Command) => {
  answer(cmd).then(reply, (err: unknown) =>
    reply({ op: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
reply({ op: 'ready' });
