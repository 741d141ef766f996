/** Display formatting: token amounts (18-decimal strings), fractions, times, hotkeys. Pure functions. */

const UNIT = 10n ** 18n;

/** `amount` (smallest unit, decimal string) as SUB with `places` decimals, rounded, with thousands separators. */
export function formatAmount(amount: string, places = 4): string {
  let value: bigint;
  try {
    value = BigInt(amount);
  } catch {
    return '—';
  }
  const scale = 10n ** BigInt(places);
  const scaled = (value * scale + UNIT / 2n) / UNIT;
  const whole = (scaled / scale).toLocaleString('en-US');
  if (places === 0) return whole;
  const frac = (scaled % scale).toString().padStart(places, '0');
  return `${whole}.${frac}`;
}

/** `amount` (smallest unit) as a float number of SUB, for charts and sorting where precision is not needed. */
export function amountToNumber(amount: string): number {
  try {
    const value = BigInt(amount);
    return Number(value / 10n ** 10n) / 1e8;
  } catch {
    return 0;
  }
}

/** Compares two amount strings numerically. */
export function compareAmounts(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A fraction in [0, 1] as a percentage. */
export function formatPercent(value: number | null, places = 2): string {
  return value === null ? '—' : `${(value * 100).toFixed(places)}%`;
}

/** A number in [0, 1] with four decimals. */
export function formatFraction(value: number | null): string {
  return value === null ? '—' : value.toFixed(4);
}

export function formatMs(value: number | null): string {
  if (value === null) return '—';
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

export function formatTime(ms: number | null): string {
  if (ms === null) return '—';
  return new Date(ms).toLocaleString();
}

export function formatClock(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

/** Seconds as `1h 02m 03s` / `2m 03s` / `3s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m ${String(r).padStart(2, '0')}s`;
  if (m > 0) return `${m}m ${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

/** `0x1234…abcd` for a long hex key; short strings unchanged. */
export function shortKey(key: string): string {
  return key.length > 14 ? `${key.slice(0, 6)}…${key.slice(-4)}` : key;
}

/**
 * `amount` (smallest unit, decimal string) of a token with `decimals` decimals, exactly (every decimal
 * shown, so a payment can be checked to the unit), with thousands separators; `symbol` appended when given.
 */
export function formatTokenAmount(amount: string, decimals: number, symbol?: string): string {
  let value: bigint;
  try {
    value = BigInt(amount);
  } catch {
    return '—';
  }
  const unit = 10n ** BigInt(decimals);
  const whole = (value / unit).toLocaleString('en-US');
  const text = decimals === 0 ? whole : `${whole}.${(value % unit).toString().padStart(decimals, '0')}`;
  return symbol === undefined ? text : `${text} ${symbol}`;
}

/** Basis points as a percentage (`1000` → `10.00%`). */
export function formatBps(bps: number): string {
  return `${(bps / 100).toFixed(2)}%`;
}
