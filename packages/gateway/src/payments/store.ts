/**
 * The payment rows of the gateway's SQLite file (schema version 2, `keys.ts` migrates it): each bound
 * authorization's cap, expiry, collected, charged and settled totals, each miner's served and settled
 * cost, and the settlements made. The running figures live in memory (the request path never reads
 * SQLite); every charge is written at once, in one small transaction, so a restart never forgets a charge
 * and never re-settles a settled one. Amounts are decimal strings of token units in the file.
 */
import type { DatabaseSync } from 'node:sqlite';
import { type AuthorizationState, applySettlement, type MinerServed, type SettlementPlan } from './policy.js';

/** One bound authorization with everything a voucher needs. */
export interface BoundAuthorization extends AuthorizationState {
  digest: string;
  client: string;
  keyId: string;
  /** The SpendingAuthorization JSON (amounts as decimal strings) and its signature. */
  authorization: Record<string, unknown>;
  signature: string;
  settled: bigint;
}

interface AuthRow {
  digest: string;
  key_id: string;
  client: string;
  authorization: string;
  signature: string;
  cap: string;
  expiry: string;
  collected: string;
  charged: string;
  settled: string;
}

export interface PaymentStore {
  /** The authorization (loaded from the file when it was bound since the last look). */
  get(digest: string): BoundAuthorization | undefined;
  /** The client's authorizations (lower-case address). */
  ofClient(client: string): BoundAuthorization[];
  all(): BoundAuthorization[];
  miners(): MinerServed[];
  /** Adds `amount` to `digest`'s charged total and to `miner`'s served cost, written at once. */
  charge(digest: string, amount: bigint, miner: string | undefined): bigint;
  /** Records a settlement of `plan` (settled totals set to the plan's, never added). */
  settled(
    plan: SettlementPlan,
    settledMiners: boolean,
    result: { settlementId: number; txHash: string; total: string } & Record<string, unknown>,
  ): void;
  /** Settlements recorded, newest first. */
  settlements(limit?: number): SettlementRecord[];
  /** How many settlements were recorded, in all. */
  settlementCount(): number;
  /**
   * An authorization found collected on chain up to `collected` (a settlement whose record a crash lost): its
   * settled and collected totals are raised to it (never lowered).
   */
  recovered(digest: string, collected: bigint): void;
  /** Records a request paid with x402 (its cost also counts as served by `miner`), written at once. */
  x402Charge(p: {
    payer: string;
    paid: bigint;
    cost: bigint;
    miner: string | undefined;
    txHash: string;
  }): void;
  /** What x402 payments still owe: unused parts per payer (not yet credited) and costs not yet settled. */
  x402Open(): {
    credits: { payer: string; amount: bigint; ids: number[] }[];
    direct: bigint;
    directIds: number[];
  };
  /** Marks x402 rows credited (their unused part was deposited for the payer). */
  x402Credited(ids: readonly number[]): void;
  /** x402 totals: requests, paid, cost, credited back and settled. */
  x402Totals(): { requests: number; paid: bigint; cost: bigint; credited: bigint; settledCost: bigint };
}

interface X402Row {
  id: number;
  payer: string;
  paid: string;
  cost: string;
  credited: number;
  settled: number;
}

/** A recorded settlement; the split is null when its recorded result lacks it. */
export interface SettlementRecord {
  settlementId: number;
  txHash: string;
  total: string;
  at: number;
  vouchers: number;
  validatorFee: string | null;
  ownerFee: string | null;
  burned: string | null;
  minerTotal: string | null;
}

const amountOr = (v: unknown): string | null => (typeof v === 'string' && /^[0-9]+$/.test(v) ? v : null);

export function createPaymentStore(db: DatabaseSync, now: () => number = Date.now): PaymentStore {
  const q = {
    auth: db.prepare('SELECT * FROM payment_auths WHERE digest = ?'),
    auths: db.prepare('SELECT * FROM payment_auths'),
    charge: db.prepare('UPDATE payment_auths SET charged = ? WHERE digest = ?'),
    settle: db.prepare('UPDATE payment_auths SET settled = ?, collected = ? WHERE digest = ?'),
    miners: db.prepare('SELECT * FROM payment_miners'),
    served: db.prepare(
      `INSERT INTO payment_miners (miner, served, settled) VALUES (?, ?, '0')
       ON CONFLICT(miner) DO UPDATE SET served = excluded.served`,
    ),
    minerSettled: db.prepare('UPDATE payment_miners SET settled = ? WHERE miner = ?'),
    settlement: db.prepare(
      `INSERT INTO payment_settlements (at, settlement_id, tx_hash, total, vouchers, result)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    settlements: db.prepare(
      'SELECT settlement_id, tx_hash, total, at, vouchers, result FROM payment_settlements ORDER BY id DESC LIMIT ?',
    ),
    x402Insert: db.prepare(
      `INSERT INTO payment_x402 (at, payer, paid, cost, miner, tx_hash, credited, settled)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    x402Open: db.prepare(
      'SELECT id, payer, paid, cost, credited, settled FROM payment_x402 WHERE credited = 0 OR settled = 0',
    ),
    x402All: db.prepare('SELECT id, payer, paid, cost, credited, settled FROM payment_x402'),
    x402Credited: db.prepare('UPDATE payment_x402 SET credited = 1 WHERE id = ?'),
    x402Settled: db.prepare('UPDATE payment_x402 SET settled = 1 WHERE id = ?'),
    settlementCount: db.prepare('SELECT count(*) AS n FROM payment_settlements'),
  };
  const auths = new Map<string, BoundAuthorization>();
  const miners = new Map<string, MinerServed>();
  const fromRow = (r: AuthRow): BoundAuthorization => ({
    digest: r.digest,
    keyId: r.key_id,
    client: r.client.toLowerCase(),
    authorization: JSON.parse(r.authorization) as Record<string, unknown>,
    signature: r.signature,
    cap: BigInt(r.cap),
    expiry: BigInt(r.expiry),
    collected: BigInt(r.collected),
    charged: BigInt(r.charged),
    settled: BigInt(r.settled),
    reserved: 0n,
  });
  /** Authorizations by client (lower case): the quota check of every request reads a client's, not all. */
  const byClient = new Map<string, BoundAuthorization[]>();
  const remember = (a: BoundAuthorization): void => {
    auths.set(a.digest, a);
    const list = byClient.get(a.client);
    if (list === undefined) byClient.set(a.client, [a]);
    else list.push(a);
  };
  for (const r of q.auths.all() as unknown as AuthRow[]) remember(fromRow(r));
  for (const r of q.miners.all() as unknown as { miner: string; served: string; settled: string }[])
    miners.set(r.miner, { miner: r.miner, served: BigInt(r.served), settled: BigInt(r.settled) });

  const tx = (work: () => void): void => {
    db.exec('BEGIN IMMEDIATE');
    try {
      work();
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  };

  const get = (digest: string): BoundAuthorization | undefined => {
    let a = auths.get(digest);
    if (a === undefined) {
      const r = q.auth.get(digest) as AuthRow | undefined;
      if (r === undefined) return undefined;
      a = fromRow(r);
      remember(a);
    }
    return a;
  };

  return {
    get,
    ofClient(client) {
      return [...(byClient.get(client.toLowerCase()) ?? [])];
    },
    all: () => [...auths.values()],
    miners: () => [...miners.values()],

    charge(digest, amount, miner) {
      const a = get(digest);
      if (a === undefined) throw new Error(`no bound authorization ${digest}`);
      const charged = a.charged + amount;
      let m: MinerServed | undefined;
      if (miner !== undefined && amount > 0n) {
        const prev = miners.get(miner) ?? { miner, served: 0n, settled: 0n };
        m = { ...prev, served: prev.served + amount };
      }
      tx(() => {
        q.charge.run(charged.toString(), digest);
        if (m !== undefined) q.served.run(m.miner, m.served.toString());
      });
      a.charged = charged;
      if (m !== undefined) miners.set(m.miner, m);
      return charged;
    },

    settled(plan, settledMiners, result) {
      const next = applySettlement(plan, auths, settledMiners ? miners : new Map());
      tx(() => {
        // The x402 costs this settlement carried as direct revenue (all that were open when it was planned).
        for (const id of plan.directIds ?? []) q.x402Settled.run(id);
        for (const a of next.auths) {
          const prev = auths.get(a.digest) as BoundAuthorization;
          const collected = prev.collected > a.settled ? prev.collected : a.settled;
          q.settle.run(a.settled.toString(), collected.toString(), a.digest);
        }
        for (const m of next.miners) q.minerSettled.run(m.settled.toString(), m.miner);
        q.settlement.run(
          now(),
          result.settlementId,
          result.txHash,
          result.total,
          plan.vouchers.length,
          JSON.stringify(result),
        );
      });
      for (const a of next.auths) {
        const prev = auths.get(a.digest) as BoundAuthorization;
        prev.settled = a.settled;
        if (prev.collected < a.settled) prev.collected = a.settled;
      }
      for (const m of next.miners) miners.set(m.miner, m);
    },

    recovered(digest, collected) {
      const a = get(digest);
      if (a === undefined || collected <= a.settled) return;
      const c = a.collected > collected ? a.collected : collected;
      tx(() => q.settle.run(collected.toString(), c.toString(), digest));
      a.settled = collected;
      a.collected = c;
    },

    x402Charge(p) {
      // Nothing unused to credit (cost = paid) counts as credited; a cost of 0 has nothing to settle.
      const unused = p.paid > p.cost ? p.paid - p.cost : 0n;
      let m: MinerServed | undefined;
      if (p.miner !== undefined && p.cost > 0n) {
        const prev = miners.get(p.miner) ?? { miner: p.miner, served: 0n, settled: 0n };
        m = { ...prev, served: prev.served + p.cost };
      }
      tx(() => {
        q.x402Insert.run(
          now(),
          p.payer.toLowerCase(),
          p.paid.toString(),
          p.cost.toString(),
          p.miner ?? null,
          p.txHash,
          unused === 0n ? 1 : 0,
          p.cost === 0n ? 1 : 0,
        );
        if (m !== undefined) q.served.run(m.miner, m.served.toString());
      });
      if (m !== undefined) miners.set(m.miner, m);
    },

    x402Open() {
      const byPayer = new Map<string, { payer: string; amount: bigint; ids: number[] }>();
      let direct = 0n;
      const directIds: number[] = [];
      for (const r of q.x402Open.all() as unknown as X402Row[]) {
        const paid = BigInt(r.paid);
        const cost = BigInt(r.cost);
        if (r.credited === 0 && paid > cost) {
          const e = byPayer.get(r.payer) ?? { payer: r.payer, amount: 0n, ids: [] };
          e.amount += paid - cost;
          e.ids.push(r.id);
          byPayer.set(r.payer, e);
        }
        if (r.settled === 0 && cost > 0n) {
          direct += cost;
          directIds.push(r.id);
        }
      }
      return { credits: [...byPayer.values()], direct, directIds };
    },

    x402Credited(ids) {
      tx(() => {
        for (const id of ids) q.x402Credited.run(id);
      });
    },

    x402Totals() {
      const t = { requests: 0, paid: 0n, cost: 0n, credited: 0n, settledCost: 0n };
      for (const r of q.x402All.all() as unknown as X402Row[]) {
        const paid = BigInt(r.paid);
        const cost = BigInt(r.cost);
        t.requests += 1;
        t.paid += paid;
        t.cost += cost;
        if (r.credited === 1 && paid > cost) t.credited += paid - cost;
        if (r.settled === 1) t.settledCost += cost;
      }
      return t;
    },

    settlements(limit = 100) {
      return (
        q.settlements.all(limit) as unknown as {
          settlement_id: number;
          tx_hash: string;
          total: string;
          at: number;
          vouchers: number;
          result: string;
        }[]
      ).map((r) => {
        let result: Record<string, unknown> = {};
        try {
          result = JSON.parse(r.result) as Record<string, unknown>;
        } catch {}
        return {
          settlementId: r.settlement_id,
          txHash: r.tx_hash,
          total: r.total,
          at: r.at,
          vouchers: r.vouchers,
          validatorFee: amountOr(result.validatorFee),
          ownerFee: amountOr(result.ownerFee),
          burned: amountOr(result.burned),
          minerTotal: amountOr(result.minerTotal),
        };
      });
    },

    settlementCount: () => (q.settlementCount.get() as { n: number }).n,
  };
}
