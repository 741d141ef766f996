/**
 * Pure arithmetic of the dashboard: rings of recent samples, the median, requests per second over a
 * window, an epoch's emission split and the countdown to the next epoch. No I/O.
 */

/** A fixed-capacity ring: pushing past `capacity` drops the oldest (O(1): no shifting per push). */
export class Ring<T> {
  private readonly items: T[] = [];
  /** Where the oldest item is once the ring is full (the next push overwrites it). */
  private start = 0;
  constructor(readonly capacity: number) {}

  push(v: T): void {
    if (this.items.length < this.capacity) {
      this.items.push(v);
      return;
    }
    this.items[this.start] = v;
    this.start = (this.start + 1) % this.capacity;
  }

  /** Oldest first. */
  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }

  get length(): number {
    return this.items.length;
  }

  last(): T | undefined {
    if (this.items.length === 0) return undefined;
    return this.items[(this.start + this.items.length - 1) % this.items.length];
  }
}

/**
 * Time-stamped entries of the last `windowMs`, oldest first, at most `capacity` (the oldest go first):
 * pushing and trimming are O(1) amortised, whatever the request rate (a filter of the whole list per push
 * cost the gateway's process ~3 % of its CPU at 500 requests/s).
 */
export class TimeWindow<T extends { at: number }> {
  private items: T[] = [];
  private head = 0;
  constructor(
    readonly windowMs: number,
    readonly capacity: number,
  ) {}

  /** Adds `v` (stamped `v.at`) and drops what is older than the window before `now`, or over capacity. */
  push(v: T, now: number): void {
    this.items.push(v);
    const from = now - this.windowMs;
    while (this.head < this.items.length && (this.items[this.head] as T).at <= from) this.head++;
    if (this.items.length - this.head > this.capacity) this.head = this.items.length - this.capacity;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** The entries held, oldest first. */
  toArray(): T[] {
    return this.items.slice(this.head);
  }

  get length(): number {
    return this.items.length - this.head;
  }
}

/** The median of `xs` (the mean of the two middle values for an even count); null when empty. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Distinct request ids seen within the last `windowMs` before `now`, per second. */
export function requestsPerSecond(
  seen: readonly { requestId: string; at: number }[],
  now: number,
  windowMs = 10_000,
): number {
  const ids = new Set<string>();
  for (const o of seen) if (o.at > now - windowMs && o.at <= now) ids.add(o.requestId);
  return ids.size / (windowMs / 1000);
}

/**
 * Splits an epoch's emission: the miners' and validators' sums of the per-uid amounts, and the owner's
 * share as the rest of the total (the owner is paid outside the per-uid results).
 */
export function emissionSplit(
  total: string,
  results: readonly { uid: number; emission: string; dividends: number }[],
  roleOf: (uid: number) => 'miner' | 'validator' | undefined,
): { total: string; owner: string; miners: string; validators: string } {
  let miners = 0n;
  let validators = 0n;
  for (const r of results) {
    const role = roleOf(r.uid) ?? (r.dividends > 0 ? 'validator' : 'miner');
    if (role === 'validator') validators += BigInt(r.emission);
    else miners += BigInt(r.emission);
  }
  const t = BigInt(total);
  const owner = t - miners - validators;
  return {
    total: t.toString(),
    owner: (owner < 0n ? 0n : owner).toString(),
    miners: miners.toString(),
    validators: validators.toString(),
  };
}

/**
 * The first block of the epoch after the current one, from an epoch's last block (`endBlock` of epoch
 * `epoch`) and the tempo: epochs are `tempo` blocks long and `current` is the epoch the chain is in.
 */
export function nextEpochStart(endBlock: number, epoch: number, current: number, tempo: number): number {
  return endBlock + 1 + Math.max(0, current - epoch) * tempo;
}

/** Mean milliseconds per block over recent `(number, timestampMs)` samples; undefined with too few. */
export function msPerBlock(samples: readonly { number: number; timestamp: number }[]): number | undefined {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined || last.number <= first.number) return undefined;
  const ms = (last.timestamp - first.timestamp) / (last.number - first.number);
  return ms > 0 ? ms : undefined;
}
