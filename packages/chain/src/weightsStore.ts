/**
 * Durable weight-commit records: the salt and vector of a commit, written under `<dataDir>/weights/` before
 * the commit transaction is sent (temp file, fsync, rename, directory fsync), one file per commit hash, so a
 * node killed at any point after the send still finds what its on-chain commit needs to be revealed. The
 * reveal picks the record whose hash the chain holds; a commit that never landed leaves a stray record
 * that the next commit prunes. Records hold the salt: files are 0600 in a 0700 directory, never logged.
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hex } from 'viem';
import type { PreparedWeightsCommit } from './actions/commitWeights.js';

/** Where one record lives. */
function recordName(netuid: number, hotkey: string, commitHash: Hex): string {
  return `${netuid}-${hotkey.toLowerCase()}-${commitHash.toLowerCase()}.json`;
}

function recordPrefix(netuid: number, hotkey: string): string {
  return `${netuid}-${hotkey.toLowerCase()}-`;
}

/**
 * Writes `text` to `path` so that after a crash the file holds either its old content or all of `text`:
 * a temp file beside it is written and fsynced, renamed over `path`, and the directory is fsynced so the
 * rename itself survives.
 */
export async function writeFileDurable(path: string, text: string, mode = 0o600): Promise<void> {
  const dir = join(path, '..');
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const file = await open(tmp, 'w', mode);
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Saves a prepared commit of `hotkey` durably; call before the commit transaction is sent. */
export async function saveCommitRecord(dir: string, hotkey: string, c: PreparedWeightsCommit): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileDurable(
    join(dir, recordName(c.netuid, hotkey, c.commitHash)),
    JSON.stringify({ ...c, epoch: c.epoch.toString() }),
  );
}

/** The saved record of `hotkey`'s commit `commitHash` in `netuid`, or undefined when this node has none. */
export async function loadCommitRecord(
  dir: string,
  netuid: number,
  hotkey: string,
  commitHash: Hex,
): Promise<PreparedWeightsCommit | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, recordName(netuid, hotkey, commitHash)), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const raw = JSON.parse(text) as Omit<PreparedWeightsCommit, 'epoch'> & { epoch: string };
  return { ...raw, epoch: BigInt(raw.epoch) };
}

/** Deletes `hotkey`'s records in `netuid` except those whose hash is in `keep`. */
export async function pruneCommitRecords(
  dir: string,
  netuid: number,
  hotkey: string,
  keep: ReadonlySet<string>,
): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const prefix = recordPrefix(netuid, hotkey);
  const wanted = new Set([...keep].map((h) => h.toLowerCase()));
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.json')) continue;
    const hash = name.slice(prefix.length, -'.json'.length);
    if (!wanted.has(hash)) await rm(join(dir, name), { force: true });
  }
}
