/**
 * Stream tickets alone, on a test clock: a ticket opens once, a second use is a replay, a late one has
 * expired, an unknown one is refused; spent and expired tickets are forgotten after their expiry, and the
 * store is bounded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TicketStore } from '../src/streamTickets.js';

describe('TicketStore', () => {
  it('a ticket is good once, for ttlMs; replays, late and unknown tickets are refused', () => {
    let now = 1_000_000;
    const store = new TicketStore({ ttlMs: 5000, now: () => now });
    const a = store.issue();
    assert.ok(a !== undefined);
    assert.match(a.ticket, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(a.expiresAt, now + 5000);
    now += 5000;
    assert.equal(store.redeem(a.ticket), 'ok', 'good up to its expiry');
    assert.equal(store.redeem(a.ticket), 'replayed');

    const b = store.issue();
    assert.ok(b !== undefined);
    assert.notEqual(b.ticket, a.ticket);
    now += 5001;
    assert.equal(store.redeem(b.ticket), 'expired');
    assert.equal(store.redeem(b.ticket), 'unknown', 'an expired ticket is forgotten');
    assert.equal(store.redeem(`${a.ticket.slice(0, -1)}x`), 'unknown', 'a forged ticket');
    assert.equal(store.redeem(''), 'unknown');
  });

  it('forgets spent tickets after their expiry and holds at most max outstanding', () => {
    let now = 0;
    const store = new TicketStore({ ttlMs: 100, max: 2, now: () => now });
    const a = store.issue();
    assert.ok(a !== undefined && store.issue() !== undefined);
    assert.equal(store.issue(), undefined, 'full');
    assert.equal(store.redeem(a.ticket), 'ok');
    assert.equal(store.size, 2, 'a spent ticket is kept until its expiry, to tell a replay');
    now = 101;
    assert.equal(store.size, 0);
    assert.ok(store.issue() !== undefined);
    assert.throws(() => new TicketStore({ ttlMs: 0 }), RangeError);
  });
});
