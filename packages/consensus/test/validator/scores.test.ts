import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  combineScore,
  createScoreboard,
  ewma,
  type NeuronRef,
  neuronKey,
  routingOf,
  weightScore,
} from '../../src/validator/scores.js';

const opts = { alpha: 0.2, latencyTargetMs: 1000, recoveryPasses: 3, minCorrectness: 0.5 };
const hk = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;
const neuron = (uid: number, owner = uid, registeredAt = 10): NeuronRef => ({
  uid,
  hotkey: hk(owner),
  registeredAt,
});

describe('ewma', () => {
  it('the first sample sets it, later ones move it by alpha', () => {
    assert.equal(ewma(null, 1, 0.1), 1);
    assert.equal(ewma(1, 0, 0.1), 0.9);
    let v: number | null = null;
    for (let i = 0; i < 200; i++) v = ewma(v, 0, 0.1);
    assert.ok((v as number) < 1e-6);
  });
});

describe('combineScore', () => {
  it('is correctness × availability × latency factor', () => {
    assert.deepEqual(combineScore(0.8, 0.5, 1000, 2000), { score: 0.4, latencyFactor: 1 });
    assert.deepEqual(combineScore(1, 1, 4000, 2000), { score: 0.5, latencyFactor: 0.5 });
    assert.equal(combineScore(null, null, null, 2000).score, 0, 'no challenge passed: no score');
    assert.equal(combineScore(1, null, null, 2000).score, 1);
  });
});

describe('scoreboard', () => {
  it('correctness is per model and the least of them: passing one model does not cover failing another', () => {
    const b = createScoreboard(opts);
    b.retain([neuron(1), neuron(2)]);
    for (let i = 0; i < 20; i++) {
      b.recordVerdict(1, true, { model: 'embed' });
      b.recordVerdict(1, i % 2 === 0, { model: 'chat' });
      b.recordVerdict(2, true, { model: 'embed' });
      b.recordVerdict(2, true, { model: 'chat' });
    }
    const one = b.get(1);
    assert.ok(one !== undefined && one.correctness !== null && one.correctness < 0.6, JSON.stringify(one));
    assert.equal(b.get(2)?.correctness, 1);
  });

  it('a miss (no answer) lowers the model correctness without making the miner unroutable', () => {
    const b = createScoreboard(opts);
    b.retain([neuron(1)]);
    for (let i = 0; i < 5; i++) b.recordVerdict(1, true, { model: 'chat' });
    for (let i = 0; i < 5; i++) b.recordMiss(1, 'chat');
    const s = b.get(1);
    assert.ok(s !== undefined && (s.correctness ?? 1) < 0.5, JSON.stringify(s));
    assert.equal(s?.failed, 0, 'a miss is not a failed verdict');
    // Below routingMinCorrectness it is unroutable until passes raise it again, but on probation it is not.
    assert.match(s?.reason ?? '', /correctness/);
  });

  it('honest miners converge to 1, a cheater to 0, an unreliable one in between', () => {
    const b = createScoreboard(opts);
    b.retain([neuron(1), neuron(2), neuron(3)]);
    for (let i = 0; i < 30; i++) {
      b.recordResponse(1, 100);
      b.recordVerdict(1, true);
      b.recordResponse(2, 100);
      b.recordVerdict(2, false);
      if (i % 2 === 0) {
        b.recordResponse(3, 100);
        b.recordVerdict(3, true);
      } else b.recordResponse(3, null);
    }
    const [s1, s2, s3] = [b.get(1), b.get(2), b.get(3)];
    assert.ok((s1?.score ?? 0) > 0.99);
    assert.equal(s2?.score, 0);
    assert.ok((s3?.score ?? 0) > 0.3 && (s3?.score ?? 1) < 0.7, String(s3?.score));
    assert.deepEqual([s1?.passed, s2?.failed, s3?.errors, s3?.challenges], [30, 30, 15, 15]);
  });

  it('organic outcomes count for availability, and retain drops neurons that left', () => {
    const b = createScoreboard({ ...opts, alpha: 0.5 });
    b.retain([neuron(4), neuron(5)]);
    b.recordResponse(4, 50, { organic: true });
    b.recordResponse(4, null, { organic: true });
    b.recordResponse(5, 50);
    assert.equal(b.get(4)?.organic, 2);
    assert.equal(b.get(4)?.availability, 0.5);
    b.retain([neuron(5)]);
    assert.equal(b.get(4), undefined);
    assert.deepEqual(
      b.list().map((s) => s.uid),
      [5],
    );
  });

  it('records for a uid with no known holder are ignored', () => {
    const b = createScoreboard(opts);
    b.recordVerdict(7, true);
    b.recordResponse(7, 10);
    assert.equal(b.get(7), undefined);
    assert.deepEqual(b.list(), []);
  });

  it('scores follow the neuron: a uid re-registered by someone else starts from no score', () => {
    const b = createScoreboard(opts);
    b.retain([neuron(1, 1)]);
    for (let i = 0; i < 10; i++) {
      b.recordResponse(1, 100);
      b.recordVerdict(1, true);
    }
    assert.ok((b.get(1)?.score ?? 0) > 0.99);
    assert.equal(b.get(1)?.hotkey, hk(1));

    // Hotkey 9 takes uid 1 over: it gets no credit for the old holder's passes.
    b.retain([neuron(1, 9, 50)]);
    const fresh = b.get(1);
    assert.equal(fresh, undefined, 'no record yet for the new holder');
    b.recordResponse(1, 100);
    assert.deepEqual([b.get(1)?.hotkey, b.get(1)?.score, b.get(1)?.passed], [hk(9), 0, 0]);

    // The same hotkey registering again (a new registration block) is a new neuron too.
    b.retain([neuron(1, 9, 80)]);
    assert.equal(b.get(1), undefined);
  });

  it('a neuron keeps its entry when its uid moves, and weights are set by the uid it holds now', () => {
    const b = createScoreboard(opts);
    b.retain([neuron(1, 1)]);
    b.recordVerdict(1, true);
    b.retain([neuron(2, 1)]);
    assert.equal(b.get(1), undefined);
    assert.deepEqual([b.get(2)?.uid, b.get(2)?.passed], [2, 1]);
  });

  it('a failed verdict makes a miner unroutable at once; it returns after recoveryPasses passes in a row', () => {
    const b = createScoreboard({ ...opts, alpha: 0.1 });
    b.retain([neuron(3)]);
    for (let i = 0; i < 5; i++) b.recordVerdict(3, true);
    assert.deepEqual([b.get(3)?.routable, b.get(3)?.reason], [true, null]);

    b.recordVerdict(3, false, { reason: 'audit' });
    const failed = b.get(3);
    assert.equal(failed?.routable, false);
    assert.match(failed?.reason ?? '', /audit.*3 more passed challenges/);
    assert.ok((failed?.correctness ?? 0) > 0.5, 'unroutable although its average is still high');

    b.recordVerdict(3, true);
    b.recordVerdict(3, true);
    assert.match(b.get(3)?.reason ?? '', /1 more passed challenge in a row/);
    // A second fail before the first is forgiven: the streak restarts, twice as long.
    b.recordVerdict(3, false, { reason: 'minority' });
    assert.match(b.get(3)?.reason ?? '', /minority.*6 more passed challenges/);
    for (let i = 0; i < 5; i++) b.recordVerdict(3, true);
    assert.equal(b.get(3)?.routable, false, 'the streak restarts after another fail');
    b.recordVerdict(3, true);
    assert.deepEqual([b.get(3)?.routable, b.get(3)?.reason], [true, null]);
  });

  it('probation doubles with each recent fail (a challenge spotter stays out); clean passes forgive strikes', () => {
    const b = createScoreboard({ ...opts, alpha: 0.1, minCorrectness: 0 });
    b.retain([neuron(5), neuron(6)]);
    const probation = (uid: number) => Number(/after (\d+) more/.exec(b.get(uid)?.reason ?? '')?.[1] ?? 0);
    // Fails in a row: 3, 6, 12, 24, 48, 96, then no longer growing (MAX_STRIKES).
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      b.recordVerdict(5, false);
      seen.push(probation(5));
    }
    assert.deepEqual(seen, [3, 6, 12, 24, 48, 96, 96, 96]);
    // A spotter that recognises 3 challenges in 4 (passes those, fails the rest) is routable for none of a
    // long run, where a fixed probation of 3 let it back in after every fourth challenge.
    let routable = 0;
    for (let i = 0; i < 400; i++) {
      b.recordVerdict(6, i % 4 !== 3);
      if (b.get(6)?.routable === true) routable++;
    }
    assert.ok(routable <= 8, `routable after ${routable} of 400 challenges`);
    // An honest miner's rare false fails are forgiven: after 2 × recoveryPasses clean passes a strike goes.
    const c = createScoreboard({ ...opts, alpha: 0.1, minCorrectness: 0 });
    c.retain([neuron(7)]);
    c.recordVerdict(7, false);
    for (let i = 0; i < 3 + 6; i++) c.recordVerdict(7, true);
    c.recordVerdict(7, false);
    assert.equal(Number(/after (\d+) more/.exec(c.get(7)?.reason ?? '')?.[1]), 3, 'back to the first rung');
  });

  it('a miner whose correctness average is below minCorrectness stays unroutable past its probation', () => {
    const b = createScoreboard({ ...opts, alpha: 0.1, recoveryPasses: 1 });
    b.retain([neuron(4)]);
    b.recordVerdict(4, false);
    b.recordVerdict(4, true);
    const s = b.get(4);
    assert.equal(s?.routable, false);
    assert.match(s?.reason ?? '', /correctness 0\.100 is below 0\.5/);
    let passes = 1;
    while (b.get(4)?.routable !== true) {
      b.recordVerdict(4, true);
      passes++;
    }
    assert.equal(passes, 7, '1 - 0.9^k ≥ 0.5 first at k = 7');
    assert.deepEqual(routingOf({ correctness: null, probation: 0, failReason: null }, opts), {
      routable: true,
      reason: null,
    });
  });

  it('tracks what changed for a store, and starts from loaded entries', () => {
    const b = createScoreboard(opts);
    b.retain([neuron(1), neuron(2)]);
    b.recordVerdict(1, true);
    b.recordResponse(2, 30);
    const first = b.takeChanges();
    assert.deepEqual(first.upserts.map((e) => e.uid).sort(), [1, 2]);
    assert.deepEqual(first.deletes, []);
    assert.deepEqual(b.takeChanges(), { upserts: [], deletes: [] });
    b.retain([neuron(2)]);
    assert.deepEqual(b.takeChanges(), { upserts: [], deletes: [neuronKey(neuron(1))] });

    const again = createScoreboard(opts, { initial: first.upserts });
    assert.deepEqual(again.get(1)?.passed, 1, 'a loaded entry is found by its uid before any metagraph');
    again.retain([neuron(1)]);
    assert.deepEqual(
      again.list().map((s) => s.uid),
      [1],
    );
  });
});

describe('weightScore', () => {
  const rule = { minCorrectness: 0.5 };
  it('an advertised model with no verdict yet holds the weight at 0, whatever the other models pass', () => {
    // The attack devnet's memory hog: embeddings served honestly (judged, 1), chat cheated (not yet judged).
    const b = createScoreboard(opts);
    b.retain([neuron(7)]);
    for (let i = 0; i < 5; i++) b.recordVerdict(7, true, { model: 'use-embed' });
    const s = b.get(7);
    assert.ok(s !== undefined && s.correctness === 1 && s.score > 0);
    assert.deepEqual(b.judgedModels(7), ['use-embed']);
    const advertised = ['devnet-chat', 'use-embed'];
    assert.equal(weightScore(s, { ...rule, judged: b.judgedModels(7), advertised }), 0);
    // Its first chat verdict is a fail: still 0, now by correctness.
    b.recordVerdict(7, false, { model: 'devnet-chat' });
    assert.equal(weightScore(b.get(7) as never, { ...rule, judged: b.judgedModels(7), advertised }), 0);
  });

  it('a miner judged on every advertised model gets its score; models it does not advertise do not matter', () => {
    const b = createScoreboard(opts);
    b.retain([neuron(3)]);
    b.recordVerdict(3, true, { model: 'devnet-chat' });
    b.recordVerdict(3, true, { model: 'use-embed' });
    const s = b.get(3);
    assert.ok(s !== undefined);
    const judged = b.judgedModels(3);
    assert.equal(weightScore(s, { ...rule, judged, advertised: ['devnet-chat', 'use-embed'] }), s.score);
    assert.equal(weightScore(s, { ...rule, judged, advertised: [] }), s.score);
    // A new advertised model is unknown until judged.
    assert.equal(weightScore(s, { ...rule, judged, advertised: ['devnet-chat', 'new-model'] }), 0);
  });

  it('a correctness below the threshold, or none, gives 0', () => {
    const ok = { routable: true, strikes: 0 };
    assert.equal(
      weightScore({ score: 0.4, correctness: 0.49, ...ok }, { ...rule, judged: ['m'], advertised: ['m'] }),
      0,
    );
    assert.equal(
      weightScore({ score: 0, correctness: null, ...ok }, { ...rule, judged: [], advertised: [] }),
      0,
    );
    assert.equal(
      weightScore({ score: 0.9, correctness: 0.9, ...ok }, { ...rule, judged: ['m'], advertised: ['m'] }),
      0.9,
    );
  });

  it('a repeat offender on probation gives 0; a single recent fail keeps the weight', () => {
    const b = createScoreboard({ ...opts, alpha: 0.1 });
    b.retain([neuron(8)]);
    for (let i = 0; i < 10; i++) b.recordVerdict(8, true, { model: 'm' });
    const judged = { ...rule, judged: ['m'], advertised: ['m'] };
    b.recordVerdict(8, false, { model: 'm' });
    const once = b.get(8);
    assert.ok(once !== undefined && !once.routable && once.strikes === 1);
    assert.ok(weightScore(once, judged) > 0, 'one false fail costs routing for a while, not the weight');
    for (let i = 0; i < 3; i++) b.recordVerdict(8, true, { model: 'm' });
    b.recordVerdict(8, false, { model: 'm' });
    const twice = b.get(8);
    assert.ok(twice !== undefined && twice.strikes === 2 && (twice.correctness ?? 0) >= 0.5);
    assert.equal(weightScore(twice, judged), 0, 'a second fail on the heels of the first: no weight');
    for (let i = 0; i < 6; i++) b.recordVerdict(8, true, { model: 'm' });
    const back = b.get(8);
    assert.ok(back?.routable);
    assert.ok(weightScore(back, judged) > 0, 'its weight returns with its routing');
  });

  it('a miss counts as judged (at 0): a model a miner advertises but never answers cannot stall the rule', () => {
    const b = createScoreboard(opts);
    b.retain([neuron(4)]);
    b.recordMiss(4, 'devnet-chat');
    assert.deepEqual(b.judgedModels(4), ['devnet-chat']);
    assert.deepEqual(b.judgedModels(99), [], 'no holder: nothing judged');
  });
});
