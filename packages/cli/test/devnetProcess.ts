/**
 * Test helper: the first line a `subnet devnet --json` process prints (its ready line), or its stderr if it
 * exits first.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** The first line `proc` writes on stdout (or its stderr, if it exits first). */
export async function firstLine(proc: ChildProcess): Promise<string> {
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const exited = once(proc, 'exit').then(([code]) => {
    throw new Error(`subnet devnet exited with ${code} before it was ready:\n${stderr}`);
  });
  try {
    return await Promise.race([once(lines, 'line').then(([line]) => line as string), exited]);
  } finally {
    lines.close();
  }
}
