/**
 * Stream tickets: how a browser opens the admin view of `/api/events`. `EventSource` cannot send an
 * `Authorization` header, and the admin token must never travel in a URL (URLs land in access logs, proxies
 * and browser history). So the web app trades its token, in an authenticated `POST /api/events/ticket`, for a
 * ticket: 32 random bytes, good for one stream (`/api/events` only), once, for a few seconds. A ticket that
 * reaches a log is already spent or expired. Only the SHA-256 of a ticket is kept, and a spent ticket is
 * remembered until it would have expired, so a replay is told apart from a forgery. Bounded; never logs a
 * ticket.
 */
import { createHash, randomBytes } from 'node:crypto';

/** Bytes of randomness in a ticket (base64url: 43 characters). */
const TICKET_BYTES = 32;
/** How long a ticket is good for by default. */
export const DEFAULT_TICKET_TTL_MS = 10_000;
/** Most tickets outstanding (issued, not yet expired) at once. */
export const MAX_TICKETS = 1024;

/** Why a ticket was refused (`ok` when it was accepted and is now spent). */
export type RedeemResult = 'ok' | 'unknown' | 'expired' | 'replayed';

export interface IssuedTicket {
  ticket: string;
  /** Unix ms after which it is refused. */
  expiresAt: number;
}

export interface TicketStoreOpts {
  ttlMs?: number;
  max?: number;
  /** The clock (Unix ms; tests pass their own). */
  now?: () => number;
}

interface Entry {
  expiresAt: number;
  spent: boolean;
}

const digest = (ticket: string): string => createHash('sha256').update(ticket).digest('base64url');

/**
 * Issues and redeems single-use, short-lived tickets. The server keeps one store for the event stream and
 * redeems its tickets on `/api/events` alone, so a ticket opens nothing else.
 */
export class TicketStore {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(opts: TicketStoreOpts = {}) {
    this.#ttlMs = opts.ttlMs ?? DEFAULT_TICKET_TTL_MS;
    this.#max = opts.max ?? MAX_TICKETS;
    this.#now = opts.now ?? Date.now;
    if (!(this.#ttlMs > 0) || !Number.isInteger(this.#max) || this.#max < 1)
      throw new RangeError('TicketStore: ttlMs must be > 0 and max >= 1');
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** A new ticket, or undefined when {@link MAX_TICKETS} are outstanding. */
  issue(): IssuedTicket | undefined {
    this.#sweep();
    if (this.#entries.size >= this.#max) return undefined;
    const ticket = randomBytes(TICKET_BYTES).toString('base64url');
    const expiresAt = this.#now() + this.#ttlMs;
    this.#entries.set(digest(ticket), { expiresAt, spent: false });
    return { ticket, expiresAt };
  }

  /** Spends `ticket`: `ok` once; a second use is `replayed`, a late one `expired`, any other `unknown`. */
  redeem(ticket: string): RedeemResult {
    const key = digest(ticket);
    const entry = this.#entries.get(key);
    if (entry === undefined) return 'unknown';
    if (entry.spent) return 'replayed';
    if (this.#now() > entry.expiresAt) {
      this.#entries.delete(key);
      return 'expired';
    }
    entry.spent = true;
    return 'ok';
  }

  /** Tickets kept (outstanding or spent, not yet past their expiry). */
  get size(): number {
    this.#sweep();
    return this.#entries.size;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, e] of this.#entries) if (now > e.expiresAt) this.#entries.delete(key);
  }
}
