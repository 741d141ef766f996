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
  for (const r of q.auths.all() as unknown as AuthRow[]) auths.set(r.digest, fromRow(r));
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
      auths.set(digest, a);
    }
    return a;
  };

  return {
    get,
    ofClient(client) {
      const c = client.toLowerCase();
      return [...auths.values()].filter((a) => a.client === c);
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
