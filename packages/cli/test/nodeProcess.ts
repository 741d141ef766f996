/**
 * Test helper: the URL a `subnet --json node start` child prints as its first line. A node that cannot start
 * exits instead: the promise then fails with the node's stderr, so a test never waits forever for a line that
 * will not come.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export async function nodeUrl(node: ChildProcess): Promise<URL> {
  let stderr = '';
  node.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const line = await Promise.race([
    once(node.stdout as NodeJS.ReadableStream, 'data').then(([d]) => String(d)),
    once(node, 'exit').then(([code]) => assert.fail(`the node exited (${String(code)}): ${stderr}`)),
  ]);
  return new URL((JSON.parse(line) as { url: string }).url);
}
