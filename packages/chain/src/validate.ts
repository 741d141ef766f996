/**
 * Input checks run before anything is sent, so a bad address, amount or parameter is refused with a
 * message that says what to fix instead of a revert (or a wasted fee).
 */
import { RESULT_ENTRY_BYTES } from '@subnet/contracts';
import { type Address, getAddress, type Hex, isAddress, isHex, parseUnits } from 'viem';
import { invalidInput } from './errors.js';

export function checkNetuid(netuid: number): number {
  if (!Number.isInteger(netuid) || netuid < 1 || netuid > 65_535) {
    throw invalidInput(`netuid must be an integer 1..65535, got ${netuid}`);
  }
  return netuid;
}

export function checkUid(uid: number): number {
  if (!Number.isInteger(uid) || uid < 0 || uid > 65_535)
    throw invalidInput(`uid must be an integer 0..65535, got ${uid}`);
  return uid;
}

/** An epoch number: a non-negative integer that fits a uint64. */
export function checkEpoch(epoch: number | bigint): bigint {
  const e = typeof epoch === 'bigint' ? epoch : Number.isSafeInteger(epoch) ? BigInt(epoch) : -1n;
  if (e < 0n || e >= 2n ** 64n) throw invalidInput(`epoch must be a non-negative integer, got ${epoch}`);
  return e;
}

export function checkAddress(value: string, what: string): Address {
  if (!isAddress(value, { strict: false })) {
    throw invalidInput(`${what} must be a 0x-prefixed 20-byte hex address, got ${JSON.stringify(value)}`);
  }
  return getAddress(value);
}

/** A positive amount in wei. */
export function checkAmount(amount: bigint, what: string): bigint {
  if (amount <= 0n) throw invalidInput(`${what} must be greater than zero`);
  if (amount >= 2n ** 256n) throw invalidInput(`${what} is too large`);
  return amount;
}

/** Parses a decimal SUB amount ("1.5") to wei; refuses negatives, junk and more than 18 decimals. */
export function parseSub(text: string, what = 'amount'): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(text.trim())) {
    throw invalidInput(
      `${what} must be a positive decimal number of SUB with at most 18 decimals, got ${JSON.stringify(text)}`,
    );
  }
  return checkAmount(parseUnits(text.trim(), 18), what);
}

export function checkBytes32(value: string, what: string): `0x${string}` {
  if (!isHex(value) || value.length !== 66) throw invalidInput(`${what} must be 32 bytes of 0x-prefixed hex`);
  return value;
}

/**
 * An epoch's packed results (`EpochConsensus.propose`, `recordResults`): whole {@link RESULT_ENTRY_BYTES}-byte
 * entries.
 */
export function checkResults(results: Hex): Hex {
  if ((results.length - 2) % (2 * RESULT_ENTRY_BYTES) !== 0) {
    throw invalidInput(`results must be whole ${RESULT_ENTRY_BYTES}-byte entries`);
  }
  return results;
}

/** Weight vectors: same length, 1..4096 entries, uids and weights within uint16, no duplicate uid. */
export function checkWeights(uids: readonly number[], weights: readonly number[]): void {
  if (uids.length !== weights.length) throw invalidInput('uids and weights must have the same length');
  if (uids.length === 0 || uids.length > 4096) throw invalidInput('a weight vector has 1..4096 entries');
  const seen = new Set<number>();
  for (const u of uids) {
    checkUid(u);
    if (seen.has(u)) throw invalidInput(`uid ${u} appears twice in the weight vector`);
    seen.add(u);
  }
  for (const w of weights) {
    if (!Number.isInteger(w) || w < 0 || w > 65_535)
      throw invalidInput(`weights must be integers 0..65535, got ${w}`);
  }
}
