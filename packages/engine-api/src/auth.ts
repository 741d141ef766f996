/**
 * Authentication between compartments: HS256 JWTs signed with a per-node secret kept in a file that only
 * the node's user can read. Tokens are short-lived (`iat` and `exp` required, at most `maxLifetimeS`
 * apart); a verified token is remembered until it expires, so the hot path costs a map lookup.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage, SubnetError } from '@subnet/utils';
import { jwtVerify, SignJWT } from 'jose';

export const AuthErrorCode = { BAD_SECRET_FILE: 'BAD_SECRET_FILE' } as const;

const SECRET_BYTES = 32;

/** Reads the node's JWT secret (64 hex characters), creating it with mode 0600 when absent. */
export async function loadOrCreateJwtSecret(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const secret = randomBytes(SECRET_BYTES);
    try {
      await writeFile(file, `${secret.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      return new Uint8Array(secret);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      text = await readFile(file, 'utf8'); // another process created it first
    }
  }
  const hex = text.trim().replace(/^0x/, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new SubnetError(
      AuthErrorCode.BAD_SECRET_FILE,
      `JWT secret file ${file} must hold 64 hex characters (32 bytes); delete it to have a new one made`,
    );
  }
  await chmod(file, 0o600).catch(() => {});
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Mints tokens for one caller, reusing each until half its lifetime has passed. */
export function createTokenSigner(
  secret: Uint8Array,
  opts: { subject: string; lifetimeS: number },
): () => Promise<string> {
  let cached: { token: string; renewAt: number } | undefined;
  return async () => {
    const now = Date.now();
    if (cached !== undefined && now < cached.renewAt) return cached.token;
    const iat = Math.floor(now / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(opts.subject)
      .setIssuedAt(iat)
      .setExpirationTime(iat + opts.lifetimeS)
      .sign(secret);
    cached = { token, renewAt: now + (opts.lifetimeS * 1000) / 2 };
    return token;
  };
}

export type VerifyResult = { ok: true; subject: string } | { ok: false; reason: string };
export type TokenVerifier = (authorization: string | undefined) => Promise<VerifyResult>;

/** Verifies `Authorization: Bearer <jwt>` headers against the node secret. */
export function createTokenVerifier(secret: Uint8Array, opts: { maxLifetimeS: number }): TokenVerifier {
  const verified = new Map<string, { subject: string; expMs: number }>();
  const CACHE_MAX = 256;
  return async (authorization) => {
    if (authorization === undefined || authorization === '') {
      return {
        ok: false,
        reason: 'missing Authorization header: send "Bearer <JWT>" signed with the node secret',
      };
    }
    const m = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization);
    if (m === null) return { ok: false, reason: 'Authorization header must be "Bearer <JWT>"' };
    const token = m[1] as string;
    const now = Date.now();
    const hit = verified.get(token);
    if (hit !== undefined) {
      if (now < hit.expMs) return { ok: true, subject: hit.subject };
      verified.delete(token);
    }
    try {
      const { payload } = await jwtVerify(token, secret, {
        algorithms: ['HS256'],
        requiredClaims: ['iat', 'exp'],
        clockTolerance: 5,
      });
      const iat = payload.iat as number;
      const exp = payload.exp as number;
      if (exp - iat > opts.maxLifetimeS) {
        return {
          ok: false,
          reason: `token lifetime ${exp - iat}s exceeds the allowed ${opts.maxLifetimeS}s`,
        };
      }
      if (iat * 1000 > now + 5000) return { ok: false, reason: 'token issued in the future' };
      const subject = typeof payload.sub === 'string' ? payload.sub : 'unknown';
      if (verified.size >= CACHE_MAX) verified.clear();
      verified.set(token, { subject, expMs: exp * 1000 });
      return { ok: true, subject };
    } catch (err) {
      return { ok: false, reason: `invalid token: ${errorMessage(err)}` };
    }
  };
}
