import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Address,
  encodeAbiParameters,
  encodeDeployData,
  type Hex,
  keccak256,
  parseEventLogs,
  toHex,
  zeroAddress,
  zeroHash,
} from 'viem';
import { neuronRegistryAbi, weightsAbi, weightsBytecode } from '../src/generated/index.js';
import { packU16, unpackU16, WeightsErrorCode, weightsCommitHash } from '../src/weights.js';
import {
  defaultHyperparams,
  expectRevert,
  type Fixture,
  MULTIADDR,
  peerIdOf,
  SUB,
  useFixture,
} from './fixture.js';

const hp = defaultHyperparams; // 8 UIDs, tempo 10, reveal 1 epoch after commit, version key 1
const SALT = keccak256(toHex('salt'));

/** The epoch the next transaction lands in. */
async function nextTxEpoch(f: Fixture): Promise<bigint> {
  const schedule = await f.subnets.read.getEpochSchedule([1]);
  const last = schedule[schedule.length - 1];
  assert.ok(last);
  const block = (await f.blockNumber()) + 1n;
  return last.epoch + (block - last.startBlock) / last.tempo;
}

/** The commit hash as Weights.sol defines it, over raw packed vectors (which may be malformed). */
function rawCommitHash(
  f: Fixture,
  committer: Address,
  epoch: bigint,
  uids: Hex,
  weights: Hex,
  salt: Hex,
  netuid = 1,
): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'uint256' },
        { type: 'address' },
        { type: 'uint16' },
        { type: 'address' },
        { type: 'uint64' },
        { type: 'bytes' },
        { type: 'bytes' },
        { type: 'bytes32' },
      ],
      [BigInt(f.chain.id), f.addresses.weights, netuid, committer, epoch, uids, weights, salt],
    ),
  );
}

/** Commits raw packed vectors from `hotkey` and returns the commit epoch. */
async function commitRaw(f: Fixture, hotkey: Fixture['erin'], uids: Hex, weights: Hex, salt: Hex = SALT) {
  const epoch = await nextTxEpoch(f);
  const hash = rawCommitHash(f, hotkey.address, epoch, uids, weights, salt);
  await f.mined(f.weights.write.commitWeights([1, hash], { account: hotkey }));
  return epoch;
}

/** Mines until the next transaction lands on the first block of `epoch`. */
async function toEpoch(f: Fixture, epoch: bigint): Promise<void> {
  await f.nextTxAt(await f.subnets.read.epochStartBlock([1, epoch]));
}

/** Registers `hotkey` as a validator of `alice` with the minimum stake; returns its UID. */
async function validator(f: Fixture, hotkey: Fixture['erin']): Promise<number> {
  await f.mined(f.staking.write.stake([100n * SUB], { account: f.alice }));
  await f.mined(f.staking.write.allocate([1, hotkey.address, 100n * SUB], { account: f.alice }));
  await f.mined(
    f.neurons.write.registerNeuron(
      [1, hotkey.address, true, peerIdOf(hotkey), MULTIADDR, '', await f.consent(hotkey.address, f.alice)],
      {
        account: f.alice,
      },
    ),
  );
  return f.neurons.read.uidOf([1, hotkey.address]);
}

describe('weights helpers', () => {
  it('pack and unpack big-endian uint16 arrays', () => {
    assert.equal(packU16([1, 258, 65_535, 0]), '0x00010102ffff0000');
    assert.equal(packU16([]), '0x');
    assert.deepEqual(unpackU16('0x00010102ffff0000'), [1, 258, 65_535, 0]);
    assert.deepEqual(unpackU16('0x'), []);
    for (const bad of [-1, 65_536, 1.5, Number.NaN]) {
      assert.throws(
        () => packU16([bad]),
        (err: { code?: string }) => err.code === WeightsErrorCode.INVALID_UINT16,
      );
    }
    assert.throws(
      () => unpackU16('0x000102'),
      (err: { code?: string }) => err.code === WeightsErrorCode.INVALID_PACKED_ARRAY,
    );
  });

  it('hash abi.encode(chainId, contract, netuid, committer, epoch, uids, weights, salt)', () => {
    const contract: Address = '0x00000000000000000000000000000000000000c0';
    const committer: Address = '0x00000000000000000000000000000000000000e1';
    const base = {
      chainId: 31_337,
      contract,
      netuid: 1,
      committer,
      epoch: 5n,
      uids: [1, 2],
      weights: [32_767, 1],
    };
    const expected = keccak256(
      encodeAbiParameters(
        [
          { type: 'uint256' },
          { type: 'address' },
          { type: 'uint16' },
          { type: 'address' },
          { type: 'uint64' },
          { type: 'bytes' },
          { type: 'bytes' },
          { type: 'bytes32' },
        ],
        [31_337n, contract, 1, committer, 5n, '0x00010002', '0x7fff0001', SALT],
      ),
    );
    assert.equal(weightsCommitHash({ ...base, salt: SALT }), expected);
    // Every bound field changes the hash.
    const variants = [
      { chainId: 1 },
      { contract: '0x00000000000000000000000000000000000000c1' as Address },
      { netuid: 2 },
      { committer: '0x00000000000000000000000000000000000000e2' as Address },
      { epoch: 6n },
      { weights: [32_767, 2] },
    ];
    for (const v of variants) assert.notEqual(weightsCommitHash({ ...base, salt: SALT, ...v }), expected);
  });
});

describe('Weights', () => {
  const fx = useFixture({ subnet: hp });

  it('commits a hash and reveals the vector one epoch later, marking the neuron updated', async () => {
    const f = fx();
    const { weights, neurons, mined, erin, addresses } = f;
    assert.equal(await weights.read.subnetRegistry(), addresses.subnetRegistry);
    assert.equal(await weights.read.neuronRegistry(), addresses.neuronRegistry);
    const uid = await validator(f, erin);
    const uids = [0, 3, 5, 7];
    const values = [100, 0, 65_535, 7];
    const epoch = await nextTxEpoch(f);
    const hash = weightsCommitHash({
      chainId: f.chain.id,
      contract: addresses.weights,
      netuid: 1,
      committer: erin.address,
      epoch,
      uids,
      weights: values,
      salt: SALT,
    });
    // The contract computes the same hash.
    assert.equal(
      await weights.read.commitHashOf([1, erin.address, epoch, packU16(uids), packU16(values), SALT]),
      hash,
    );
    const committed = await mined(weights.write.commitWeights([1, hash], { account: erin }));
    const [commitEvent] = parseEventLogs({
      abi: weightsAbi,
      logs: committed.logs,
      eventName: 'WeightsCommitted',
    });
    assert.deepEqual(commitEvent?.args, { netuid: 1, uid, hotkey: erin.address, commitHash: hash, epoch });
    assert.deepEqual(await weights.read.getCommit([1, uid]), {
      commitHash: hash,
      hotkey: erin.address,
      epoch,
    });
    assert.equal(await weights.read.lastCommitBlock([1, uid]), committed.blockNumber);

    await toEpoch(f, epoch + 1n);
    const revealed = await mined(
      weights.write.revealWeights([1, packU16(uids), packU16(values), SALT, 1n], { account: erin }),
    );
    const [event] = parseEventLogs({ abi: weightsAbi, logs: revealed.logs, eventName: 'WeightsRevealed' });
    assert.equal(event?.args.netuid, 1);
    assert.equal(event?.args.uid, uid);
    assert.equal(event?.args.epoch, epoch);
    assert.deepEqual(unpackU16(event?.args.uids ?? '0x'), uids);
    assert.deepEqual(unpackU16(event?.args.weights ?? '0x'), values);
    const [updated] = parseEventLogs({
      abi: neuronRegistryAbi,
      logs: revealed.logs,
      eventName: 'NeuronUpdated',
    });
    assert.deepEqual(updated?.args, { netuid: 1, uid, blockNumber: revealed.blockNumber });
    assert.equal((await neurons.read.getNeuronInfo([1, uid])).lastUpdate, revealed.blockNumber);
    assert.deepEqual(await weights.read.getCommit([1, uid]), {
      commitHash: zeroHash,
      hotkey: zeroAddress,
      epoch: 0n,
    });
    // The commit is gone: a second reveal has nothing to open.
    await expectRevert(
      weights.write.revealWeights([1, packU16(uids), packU16(values), SALT, 1n], { account: erin }),
      'NoCommit',
      [1, uid],
    );
  });

  it('lets only registered validator hotkeys with a permit commit, rate-limited', async () => {
    const f = fx();
    const { weights, neurons, mined, nextTxAt, alice, bob, erin, frank } = f;
    const hash = keccak256(toHex('h'));
    await expectRevert(weights.write.commitWeights([1, zeroHash], { account: erin }), 'EmptyCommitHash');
    await expectRevert(weights.write.commitWeights([9, hash], { account: erin }), 'SubnetNotFound', [9]);
    await expectRevert(weights.write.commitWeights([1, hash], { account: bob }), 'NotRegistered', [
      1,
      bob.address,
    ]);
    await mined(
      neurons.write.registerNeuron(
        [1, frank.address, false, peerIdOf(frank), '', '', await f.consent(frank.address, alice)],
        { account: alice },
      ),
    );
    await expectRevert(
      weights.write.commitWeights([1, hash], { account: frank }),
      'NoValidatorPermit',
      [1, 0],
    );

    const uid = await validator(f, erin);
    await f.applyHyperparams(1, { ...hp, weightsRateLimit: 5n });
    const first = await mined(weights.write.commitWeights([1, hash], { account: erin }));
    await expectRevert(weights.write.commitWeights([1, hash], { account: erin }), 'RateLimited', [
      1,
      uid,
      first.blockNumber + 5n,
    ]);
    await nextTxAt(first.blockNumber + 4n);
    await expectRevert(weights.write.commitWeights([1, hash], { account: erin }), 'RateLimited');
    await nextTxAt(first.blockNumber + 5n);
    await mined(weights.write.commitWeights([1, hash], { account: erin }));
  });

  it('reveals only in commit epoch + commitRevealPeriod, with the subnet version key and the committed data', async () => {
    const f = fx();
    const { weights, mined, erin } = f;
    await f.applyHyperparams(1, { ...hp, commitRevealPeriod: 2 });
    await validator(f, erin);
    const uids = packU16([1, 2]);
    const values = packU16([10, 20]);
    const reveal = (salt: Hex = SALT, version = 1n) =>
      weights.write.revealWeights([1, uids, values, salt, version], { account: erin });
    await expectRevert(reveal(), 'NoCommit');
    const epoch = await commitRaw(f, erin, uids, values);
    await expectRevert(reveal(), 'RevealTooEarly', [epoch, epoch + 2n]);
    await toEpoch(f, epoch + 1n);
    await expectRevert(reveal(), 'RevealTooEarly', [epoch + 1n, epoch + 2n]);
    await toEpoch(f, epoch + 2n);
    await expectRevert(reveal(SALT, 2n), 'WeightsVersionMismatch', [1n, 2n]);
    await expectRevert(reveal(keccak256(toHex('other'))), 'CommitHashMismatch');
    await toEpoch(f, epoch + 3n);
    await expectRevert(reveal(), 'RevealTooLate', [epoch + 3n, epoch + 2n]);
    // A new commit replaces the stale one.
    const next = await commitRaw(f, erin, uids, values, keccak256(toHex('fresh')));
    await toEpoch(f, next + 2n);
    await expectRevert(reveal(), 'CommitHashMismatch');
    await mined(reveal(keccak256(toHex('fresh'))));
  });

  it('refuses malformed or out-of-bounds vectors even when they match the commit', async () => {
    const f = fx();
    const { weights, mined, erin } = f;
    await f.applyHyperparams(1, { ...hp, minAllowedWeights: 2, maxWeightLimit: 32_768 });
    await validator(f, erin);
    const cases: [string, Hex, Hex, readonly unknown[]][] = [
      ['LengthMismatch', packU16([1, 2]), packU16([5]), [4n, 2n]],
      ['MalformedPackedArray', '0x000100', '0x000500', [3n]],
      ['InvalidWeightCount', '0x', '0x', [0n, 8n]],
      [
        'InvalidWeightCount',
        packU16([0, 1, 2, 3, 4, 5, 6, 7, 8]),
        packU16([1, 1, 1, 1, 1, 1, 1, 1, 1]),
        [9n, 8n],
      ],
      ['UidOutOfRange', packU16([1, 8]), packU16([5, 5]), [8n]],
      ['DuplicateUid', packU16([1, 2, 1]), packU16([5, 5, 5]), [1n]],
      ['TooFewNonZeroWeights', packU16([1, 2, 3]), packU16([5, 0, 0]), [1n, 2n]],
      // 3 of 5 is above 32768/65535 of the sum.
      ['WeightAboveLimit', packU16([4, 2]), packU16([3, 2]), [4n, 3n]],
    ];
    for (const [name, uids, values, args] of cases) {
      const epoch = await commitRaw(f, erin, uids, values);
      await toEpoch(f, epoch + 1n);
      await expectRevert(
        weights.write.revealWeights([1, uids, values, SALT, 1n], { account: erin }),
        name,
        args,
      );
    }
    // Exactly at the limit passes: 1 of 2 is 32767.5/65535 <= 32768/65535.
    const epoch = await commitRaw(f, erin, packU16([4, 2]), packU16([1, 1]));
    await toEpoch(f, epoch + 1n);
    await mined(
      weights.write.revealWeights([1, packU16([4, 2]), packU16([1, 1]), SALT, 1n], { account: erin }),
    );
  });

  it("refuses a copier that commits the victim's hash and replays its reveal", async () => {
    const f = fx();
    const { weights, mined, erin, frank } = f;
    await validator(f, erin); // the victim
    const copier = await validator(f, frank);
    const { lastUpdate } = await f.neurons.read.getNeuronInfo([1, copier]);
    const uids = packU16([1, 2, 3]);
    const values = packU16([300, 200, 100]);
    // The victim commits; its hash is public in the WeightsCommitted event. The copier commits the same hash
    // in the same epoch.
    const epoch = await commitRaw(f, erin, uids, values);
    const victim = await weights.read.getCommit([1, await f.neurons.read.uidOf([1, erin.address])]);
    await mined(weights.write.commitWeights([1, victim.commitHash], { account: frank }));
    assert.equal((await weights.read.getCommit([1, copier])).commitHash, victim.commitHash);
    // The victim reveals; the copier replays the revealed vector and salt from the event.
    await toEpoch(f, epoch + 1n);
    const revealed = await mined(weights.write.revealWeights([1, uids, values, SALT, 1n], { account: erin }));
    const [event] = parseEventLogs({ abi: weightsAbi, logs: revealed.logs, eventName: 'WeightsRevealed' });
    assert.equal(event?.args.uids, uids);
    await expectRevert(
      weights.write.revealWeights([1, event?.args.uids ?? '0x', event?.args.weights ?? '0x', SALT, 1n], {
        account: frank,
      }),
      'CommitHashMismatch',
    );
    // The copier got nothing out of it: its commit still waits, and its neuron was never marked updated.
    assert.equal((await weights.read.getCommit([1, copier])).commitHash, victim.commitHash);
    assert.equal((await f.neurons.read.getNeuronInfo([1, copier])).lastUpdate, lastUpdate);
  });

  it("binds the hash to the subnet: a commit does not reveal with another netuid's hash", async () => {
    const f = fx();
    const { weights, mined, erin } = f;
    await validator(f, erin);
    const uids = packU16([1]);
    const values = packU16([1]);
    const epoch = await nextTxEpoch(f);
    await mined(
      weights.write.commitWeights([1, rawCommitHash(f, erin.address, epoch, uids, values, SALT, 2)], {
        account: erin,
      }),
    );
    await toEpoch(f, epoch + 1n);
    await expectRevert(
      weights.write.revealWeights([1, uids, values, SALT, 1n], { account: erin }),
      'CommitHashMismatch',
    );
  });

  it("refuses to reveal a commit made by the UID's previous holder", async () => {
    const f = fx();
    const { weights, neurons, mined, alice, erin, frank } = f;
    const uid = await validator(f, erin);
    const uids = packU16([1]);
    const values = packU16([1]);
    const epoch = await commitRaw(f, erin, uids, values);
    await mined(neurons.write.deregisterNeuron([1, uid], { account: alice }));
    assert.equal(await validator(f, frank), uid);
    await toEpoch(f, epoch + 1n);
    await expectRevert(
      weights.write.revealWeights([1, uids, values, SALT, 1n], { account: frank }),
      'NoCommit',
    );
    await expectRevert(
      weights.write.revealWeights([1, uids, values, SALT, 1n], { account: erin }),
      'NotRegistered',
    );
  });

  it('refuses a deployment with a zero registry', async () => {
    const { publicClient, deployer, addresses } = fx();
    const data = encodeDeployData({
      abi: weightsAbi,
      bytecode: weightsBytecode,
      args: [addresses.subnetRegistry, zeroAddress],
    });
    await expectRevert(publicClient.call({ account: deployer.address, data }), 'ZeroAddress');
  });
});
