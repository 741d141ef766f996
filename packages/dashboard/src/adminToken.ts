/**
 * The admin token: a random secret in a file (mode 0600) that unlocks the dashboard's state-changing
 * endpoints, and its constant-time check. The gateway creates the file at start when it is missing;
 * `subnet gateway admin-token` prints it. Never log the token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Bytes of randomness in a new token (base64url: 43 characters). */
const TOKEN_BYTES = 32;

/** The admin token file: `gateway.adminTokenFile` when set, else `<dataDir>/gateway-admin-token`. */
export function adminTokenFileOf(dataDir: string, adminTokenFile: string | undefined): string {
  return adminTokenFile ?? join(dataDir, 'gateway-admin-token');
}

/**
 * Reads the admin token from `file`, creating the file (0600, its directory 0700) with a fresh random
 * token when it does not exist. Two processes racing to create it read the same token.
 */
export async function loadOrCreateAdminToken(file: string): Promise<string> {
  try {
    return checked(await readFile(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  // Written whole to a file of its own, then linked into place: `file` never exists half-written (a gateway
  // starting beside another read an empty file between the other's create and write, and refused to start).
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${token}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, file);
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return checked(await readFile(file, 'utf8'), file);
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

function checked(text: string, file: string): string {
  const token = text.trim();
  if (token.length < 16)
    throw new Error(
      `the admin token in ${file} is shorter than 16 characters; delete the file to get a new one`,
    );
  return token;
}

/**
 * True when the `Authorization: Bearer <token>` header carries `token`. Both sides are hashed first, so the
 * comparison takes the same time whatever the length or content of the guess.
 */
export function isAdmin(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined || authorization.length < 8) return false;
  if (authorization.slice(0, 7).toLowerCase() !== 'bearer ') return false;
  const given = createHash('sha256').update(authorization.slice(7).trim()).digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want);
}
