/**
 * Files only their owner may read: a database or key file is created 0600 in a 0700 folder before anything
 * opens it, so no other user of the machine ever sees it, even for a moment.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/** Creates `file` 0600 (and its folder 0700) when absent; tightens an existing file to 0600. */
export function preparePrivateFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    try {
      chmodSync(file, 0o600);
    } catch {
      // not ours to change (another user's file): whoever opens it will say if it cannot
    }
  }
}
