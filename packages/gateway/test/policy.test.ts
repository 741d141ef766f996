/**
 * The routing policy as a table: eligibility under the validator's advice, cost (score, latency, load,
 * success), the power-of-two-choices pick, the moving averages, and failure classification.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '@subnet/engine-api';
import { GatewayError, GatewayErrorCode } from '../src/errors.js';
import {
  type Advice,
  type Candidate,
  classify,
  costOf,
  DEFAULT_TTFT_MS,
  eligible,
  type MinerAdvice,
  type MinerStat,
  pickOf,
  update,
} from '../src/policy.js';

const HK = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;
const cand = (uid: number, extra: Partial<Candidate> = {}): Candidate => ({
  peerId: `peer${uid}`,
  uid,
  hotkey: HK(uid).toUpperCase().replace('0X', '0x'),
  load: 0,
  ...extra,
});
const adv = (uid: number, score: number, routable = true, hotkey = HK(uid)): MinerAdvice => ({
  uid,
  hotkey,
  score,
  routable,
});
const adviceOf = (...a: MinerAdvice[]): Advice => new Map(a.map((x) => [x.uid, x]));
const stat = (extra: Partial<MinerStat> = {}): MinerStat => ({
  peerId: 'p',
  uid: 1,
  models: [],
  inFlight: 0,
  requests: 0,
  failures: 0,
  ttftEwmaMs: null,
  successEwma: 1,
  ...extra,
});

describe('routing policy', () => {
  it('eligible: unroutable miners are left out while a routable one serves the model', () => {
    const all = [cand(1), cand(2), cand(3)];
    const table: { name: string; advice: Advice; want: number[] }[] = [
      { name: 'no advice: everyone', advice: undefined, want: [1, 2, 3] },
      { name: 'one unroutable', advice: adviceOf(adv(2, 0, false)), want: [1, 3] },
      { name: 'unknown miners count as routable', advice: adviceOf(adv(1, 1, false)), want: [2, 3] },
      {
        name: 'every one unroutable: all (the model is still served)',
        advice: adviceOf(adv(1, 0, false), adv(2, 0, false), adv(3, 0, false)),
        want: [1, 2, 3],
      },
      {
        name: 'advice for another hotkey on the uid does not apply',
        advice: adviceOf(adv(2, 0, false, HK(99))),
        want: [1, 2, 3],
      },
    ];
    for (const t of table)
      assert.deepEqual(
        eligible(all, t.advice).map((c) => c.uid),
        t.want,
        t.name,
      );
  });

  it('cost: a higher verified score, lower latency, load and failures cost less', () => {
    const a = adviceOf(adv(1, 0.9), adv(2, 0.1));
    const table: { name: string; cheaper: number; dearer: number }[] = [
      { name: 'score', cheaper: costOf(undefined, cand(1), a), dearer: costOf(undefined, cand(2), a) },
      {
        name: 'unknown miner between good and bad',
        cheaper: costOf(undefined, cand(3), a),
        dearer: costOf(undefined, cand(2), a),
      },
      {
        name: 'latency',
        cheaper: costOf(stat({ ttftEwmaMs: 10 }), cand(1), undefined),
        dearer: costOf(stat({ ttftEwmaMs: 100 }), cand(1), undefined),
      },
      {
        name: 'load and in flight',
        cheaper: costOf(stat({ inFlight: 1 }), cand(1), undefined),
        dearer: costOf(stat({ inFlight: 1 }), cand(1, { load: 3 }), undefined),
      },
      {
        name: 'success rate',
        cheaper: costOf(stat({ successEwma: 0.9 }), cand(1), undefined),
        dearer: costOf(stat({ successEwma: 0.2 }), cand(1), undefined),
      },
    ];
    for (const t of table) assert.ok(t.cheaper < t.dearer, `${t.name}: ${t.cheaper} < ${t.dearer}`);
    // A miner scored 0 and never failing still has a finite cost; one that always fails too.
    assert.ok(Number.isFinite(costOf(stat({ successEwma: 0 }), cand(2), adviceOf(adv(2, 0)))));
    assert.equal(costOf(undefined, cand(1), undefined), DEFAULT_TTFT_MS / 1 / 1.05);
  });

  it('pick: power of two choices takes the cheaper of the two drawn', () => {
    const items = ['a', 'b', 'c'];
    const cost = (s: string) => ({ a: 3, b: 1, c: 2 })[s] ?? 0;
    const draws = (...r: number[]) => {
      let i = 0;
      return () => r[i++ % r.length] ?? 0;
    };
    assert.equal(pickOf(items, cost, draws(0, 0.5)), 'b'); // a vs b
    assert.equal(pickOf(items, cost, draws(0, 0.9)), 'c'); // a vs c
    assert.equal(pickOf(items, cost, draws(0, 0)), 'a'); // a vs a
    assert.equal(pickOf([], cost, Math.random), undefined);
  });

  it('update: moving averages and counters', () => {
    const s = stat({ inFlight: 2 });
    update(s, true, 100);
    assert.deepEqual([s.inFlight, s.requests, s.failures, s.ttftEwmaMs, s.successEwma], [1, 1, 0, 100, 1]);
    update(s, false, null);
    assert.deepEqual([s.inFlight, s.requests, s.failures, s.ttftEwmaMs], [0, 2, 1, 100]);
    assert.ok(Math.abs(s.successEwma - 0.8) < 1e-12);
    update(s, true, 200);
    assert.ok(Math.abs((s.ttftEwmaMs ?? 0) - 120) < 1e-9);
    assert.equal(s.inFlight, 0, 'never negative');
  });

  it('classify: whose fault a failure is, and whether another miner may be tried', () => {
    const remote = (remoteCode: string) =>
      new EngineError('REMOTE_ERROR', -1, 'the miner said no', { data: { remoteCode } });
    const timeout = new GatewayError(GatewayErrorCode.TIMEOUT, 'deadline');
    const base: { aborted: boolean; reason: unknown; model: string; delivered: boolean } = {
      aborted: false,
      reason: undefined,
      model: 'm',
      delivered: false,
    };
    const table: {
      name: string;
      err: unknown;
      ctx?: Partial<typeof base>;
      code: string;
      blameless: boolean;
      retry: boolean;
    }[] = [
      {
        name: 'miner error before the first event',
        err: remote('APP_BACKEND_FAILED'),
        code: GatewayErrorCode.UPSTREAM_FAILED,
        blameless: false,
        retry: true,
      },
      {
        name: 'the request is bad (context overflow)',
        err: remote('CONTEXT_OVERFLOW'),
        code: GatewayErrorCode.INVALID_REQUEST,
        blameless: true,
        retry: false,
      },
      {
        name: 'miner error after the first event',
        err: remote('APP_BACKEND_FAILED'),
        ctx: { delivered: true },
        code: GatewayErrorCode.UPSTREAM_FAILED,
        blameless: false,
        retry: false,
      },
      {
        name: 'deadline',
        err: new Error('aborted'),
        ctx: { aborted: true, reason: timeout },
        code: GatewayErrorCode.TIMEOUT,
        blameless: false,
        retry: false,
      },
      {
        name: 'the client left',
        err: new Error('aborted'),
        ctx: { aborted: true, reason: 'gone' },
        code: GatewayErrorCode.CANCELLED,
        blameless: true,
        retry: false,
      },
      {
        name: 'not an engine error',
        err: new TypeError('boom'),
        code: GatewayErrorCode.UPSTREAM_FAILED,
        blameless: false,
        retry: true,
      },
    ];
    for (const t of table) {
      const f = classify(t.err, { ...base, ...t.ctx });
      assert.deepEqual([f.error.code, f.blameless, f.retry], [t.code, t.blameless, t.retry], t.name);
    }
    const mid = classify(remote('X'), { ...base, delivered: true });
    assert.match(mid.error.message, /mid-response/);
    assert.equal(mid.error.meta?.upstreamCode, 'X');
  });
});
