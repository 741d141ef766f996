import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Address, encodeDeployData, getAddress, parseEventLogs, zeroAddress } from 'viem';
import { stakingAbi, stakingBytecode } from '../src/generated/index.js';
import { expectRevert, prng, SUB, useFixture } from './fixture.js';

const HOT_A: Address = getAddress('0x000000000000000000000000000000000000a11a');
const HOT_B: Address = getAddress('0x000000000000000000000000000000000000b22b');

describe('Staking', () => {
  const fx = useFixture();

  it('is deployed for the token with the default unbonding period; refuses the zero token', async () => {
    const { staking, addresses, deployer, publicClient } = fx();
    assert.equal(await staking.read.token(), addresses.token);
    assert.equal(await staking.read.unbondingPeriod(), 7_200n);
    assert.equal(await staking.read.owner(), deployer.address);
    const data = encodeDeployData({ abi: stakingAbi, bytecode: stakingBytecode, args: [zeroAddress] });
    await expectRevert(publicClient.call({ account: deployer.address, data }), 'ZeroAddress');
  });

  it('stakes into free stake, pulling the tokens', async () => {
    const { staking, token, mined, alice, addresses } = fx();
    const before = await token.read.balanceOf([alice.address]);
    const receipt = await mined(staking.write.stake([10n * SUB], { account: alice }));
    const [event] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: 'Staked' });
    assert.deepEqual(event?.args, { coldkey: alice.address, amount: 10n * SUB });
    assert.equal(await token.read.balanceOf([alice.address]), before - 10n * SUB);
    assert.equal(await token.read.balanceOf([addresses.staking]), 10n * SUB);
    assert.equal(await staking.read.freeStake([alice.address]), 10n * SUB);
    assert.equal(await staking.read.totalStake([alice.address]), 10n * SUB);
    assert.equal(await staking.read.totalStaked(), 10n * SUB);
    await expectRevert(staking.write.stake([0n], { account: alice }), 'ZeroAmount');
  });

  it('needs an allowance to stake', async () => {
    const { staking, token, mined, bob, addresses } = fx();
    await mined(token.write.approve([addresses.staking, 0n], { account: bob }));
    await expectRevert(staking.write.stake([SUB], { account: bob }), 'ERC20InsufficientAllowance');
  });

  it('unstakes into one unbonding record whose release block moves to the latest unstake', async () => {
    const { staking, mined, mine, blockNumber, alice } = fx();
    await mined(staking.write.stake([10n * SUB], { account: alice }));
    await expectRevert(staking.write.unstake([0n], { account: alice }), 'ZeroAmount');
    await expectRevert(staking.write.unstake([11n * SUB], { account: alice }), 'InsufficientFreeStake', [
      10n * SUB,
      11n * SUB,
    ]);
    await mined(staking.write.unstake([3n * SUB], { account: alice }));
    const first = await blockNumber();
    assert.deepEqual(await staking.read.unbonding([alice.address]), [3n * SUB, first + 7_200n]);
    await mine(5);
    const receipt = await mined(staking.write.unstake([2n * SUB], { account: alice }));
    const second = await blockNumber();
    const [event] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: 'Unstaked' });
    assert.deepEqual(event?.args, {
      coldkey: alice.address,
      amount: 2n * SUB,
      unbondingAmount: 5n * SUB,
      releaseBlock: second + 7_200n,
    });
    assert.deepEqual(await staking.read.unbonding([alice.address]), [5n * SUB, second + 7_200n]);
    assert.equal(await staking.read.freeStake([alice.address]), 5n * SUB);
    assert.equal(await staking.read.totalStake([alice.address]), 5n * SUB);
    assert.equal(await staking.read.totalStaked(), 5n * SUB);
    assert.equal(await staking.read.totalUnbonding(), 5n * SUB);
  });

  it('claims a matured unbonding record, not before', async () => {
    const { staking, token, mined, nextTxAt, blockNumber, deployer, alice } = fx();
    await expectRevert(staking.write.claim({ account: alice }), 'NothingToClaim');
    await mined(staking.write.setUnbondingPeriod([10n], { account: deployer }));
    await mined(staking.write.stake([10n * SUB], { account: alice }));
    await mined(staking.write.unstake([4n * SUB], { account: alice }));
    const release = (await blockNumber()) + 10n;
    await expectRevert(staking.write.claim({ account: alice }), 'UnbondingNotMatured', [release]);
    await nextTxAt(release - 1n);
    await expectRevert(staking.write.claim({ account: alice }), 'UnbondingNotMatured');
    await nextTxAt(release);
    const before = await token.read.balanceOf([alice.address]);
    const receipt = await mined(staking.write.claim({ account: alice }));
    assert.equal(receipt.blockNumber, release);
    assert.equal(await token.read.balanceOf([alice.address]), before + 4n * SUB);
    assert.deepEqual(await staking.read.unbonding([alice.address]), [0n, 0n]);
    assert.equal(await staking.read.totalUnbonding(), 0n);
    await expectRevert(staking.write.claim({ account: alice }), 'NothingToClaim');
  });

  it('allocates free stake to (subnet, hotkey) pairs; deallocated stake returns only after the deallocation period', async () => {
    const { staking, mined, mine, blockNumber, deployer, alice, bob } = fx();
    await mined(staking.write.setDeallocationPeriod([5n], { account: deployer }));
    await mined(staking.write.stake([100n * SUB], { account: alice }));
    await mined(staking.write.stake([50n * SUB], { account: bob }));
    const receipt = await mined(staking.write.allocate([1, HOT_A, 30n * SUB], { account: alice }));
    const [event] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: 'Allocated' });
    assert.deepEqual(event?.args, { coldkey: alice.address, netuid: 1, hotkey: HOT_A, amount: 30n * SUB });
    await mined(staking.write.allocate([2, HOT_A, 20n * SUB], { account: alice }));
    await mined(staking.write.allocate([1, HOT_A, 5n * SUB], { account: bob }));
    await mined(staking.write.allocate([1, HOT_B, 7n * SUB], { account: bob }));

    assert.equal(await staking.read.freeStake([alice.address]), 50n * SUB);
    assert.equal(await staking.read.allocatedStake([alice.address]), 50n * SUB);
    assert.equal(await staking.read.totalStake([alice.address]), 100n * SUB);
    assert.equal(await staking.read.allocation([alice.address, 1, HOT_A]), 30n * SUB);
    assert.equal(await staking.read.allocation([alice.address, 2, HOT_A]), 20n * SUB);
    assert.equal(await staking.read.hotkeyStake([1, HOT_A]), 35n * SUB);
    assert.equal(await staking.read.hotkeyStake([2, HOT_A]), 20n * SUB);
    assert.equal(await staking.read.hotkeyTotalStake([HOT_A]), 55n * SUB);
    assert.equal(await staking.read.subnetStake([1]), 42n * SUB);
    assert.equal(await staking.read.subnetStake([2]), 20n * SUB);
    assert.equal(await staking.read.totalStaked(), 150n * SUB);

    await expectRevert(staking.write.allocate([1, HOT_A, 0n], { account: alice }), 'ZeroAmount');
    await expectRevert(staking.write.allocate([0, HOT_A, SUB], { account: alice }), 'InvalidNetuid');
    await expectRevert(staking.write.allocate([1, zeroAddress, SUB], { account: alice }), 'ZeroAddress');
    await expectRevert(
      staking.write.allocate([1, HOT_A, 51n * SUB], { account: alice }),
      'InsufficientFreeStake',
    );
    // Allocated stake cannot be unstaked directly.
    await expectRevert(staking.write.unstake([51n * SUB], { account: alice }), 'InsufficientFreeStake');

    const dereceipt = await mined(staking.write.deallocate([1, HOT_A, 10n * SUB], { account: alice }));
    const release = dereceipt.blockNumber + 5n;
    console.log(`gas deallocate (partial, first deallocation of the pair) ${dereceipt.gasUsed}`);
    const [de] = parseEventLogs({ abi: stakingAbi, logs: dereceipt.logs, eventName: 'Deallocated' });
    assert.deepEqual(de?.args, {
      coldkey: alice.address,
      netuid: 1,
      hotkey: HOT_A,
      amount: 10n * SUB,
      pending: 10n * SUB,
      releaseBlock: release,
    });
    // It leaves the hotkey's stake at once but is not free: it waits out the deallocation period.
    assert.equal(await staking.read.allocation([alice.address, 1, HOT_A]), 20n * SUB);
    assert.deepEqual(await staking.read.deallocation([alice.address, 1, HOT_A]), [10n * SUB, release]);
    assert.equal(await staking.read.freeStake([alice.address]), 50n * SUB);
    assert.equal(await staking.read.hotkeyStake([1, HOT_A]), 25n * SUB);
    assert.equal(await staking.read.hotkeyDeallocating([1, HOT_A]), 10n * SUB);
    assert.equal(await staking.read.hotkeyTotalStake([HOT_A]), 45n * SUB);
    assert.equal(await staking.read.subnetStake([1]), 32n * SUB);
    assert.equal(await staking.read.totalStake([alice.address]), 90n * SUB);
    assert.equal(await staking.read.totalStaked(), 140n * SUB);
    assert.equal(await staking.read.totalDeallocating(), 10n * SUB);
    // The same tokens cannot back another subnet at once (nothing at stake otherwise).
    await expectRevert(
      staking.write.allocate([2, HOT_B, 51n * SUB], { account: alice }),
      'InsufficientFreeStake',
      [50n * SUB, 51n * SUB],
    );
    await expectRevert(
      staking.write.withdrawAllocation([1, HOT_A], { account: alice }),
      'UnbondingNotMatured',
      [release],
    );
    await expectRevert(
      staking.write.withdrawAllocation([1, HOT_B], { account: alice }),
      'NothingToWithdraw',
      [1, HOT_B],
    );
    // A second deallocation joins the record and moves its release block.
    await mine(2);
    const second = await mined(staking.write.deallocate([1, HOT_A, 5n * SUB], { account: alice }));
    const release2 = second.blockNumber + 5n;
    assert.deepEqual(await staking.read.deallocation([alice.address, 1, HOT_A]), [15n * SUB, release2]);
    const now = (await blockNumber()) + 1n;
    await mine(Number(release2 - now - 1n));
    await expectRevert(
      staking.write.withdrawAllocation([1, HOT_A], { account: alice }),
      'UnbondingNotMatured',
    );
    await mine(1);
    const wreceipt = await mined(staking.write.withdrawAllocation([1, HOT_A], { account: alice }));
    assert.equal(wreceipt.blockNumber, release2);
    console.log(`gas withdrawAllocation ${wreceipt.gasUsed}`);
    const [w] = parseEventLogs({ abi: stakingAbi, logs: wreceipt.logs, eventName: 'AllocationWithdrawn' });
    assert.deepEqual(w?.args, { coldkey: alice.address, netuid: 1, hotkey: HOT_A, amount: 15n * SUB });
    assert.equal(await staking.read.freeStake([alice.address]), 65n * SUB);
    assert.deepEqual(await staking.read.deallocation([alice.address, 1, HOT_A]), [0n, 0n]);
    assert.equal(await staking.read.totalStake([alice.address]), 100n * SUB);
    assert.equal(await staking.read.totalDeallocating(), 0n);
    assert.equal(await staking.read.totalStaked(), 150n * SUB);
    await mined(staking.write.allocate([2, HOT_B, 51n * SUB], { account: alice }));

    await expectRevert(
      staking.write.deallocate([1, HOT_A, 21n * SUB], { account: alice }),
      'InsufficientAllocation',
      [15n * SUB, 21n * SUB],
    );
    await expectRevert(
      staking.write.deallocate([1, HOT_B, SUB], { account: alice }),
      'InsufficientAllocation',
    );
    await expectRevert(staking.write.deallocate([1, HOT_A, 0n], { account: alice }), 'ZeroAmount');
    await expectRevert(staking.write.deallocate([0, HOT_A, SUB], { account: alice }), 'InvalidNetuid');
    await expectRevert(staking.write.deallocate([1, zeroAddress, SUB], { account: alice }), 'ZeroAddress');
  });

  it('lets only the owner set a bounded unbonding period', async () => {
    const { staking, mined, deployer, alice } = fx();
    await expectRevert(
      staking.write.setUnbondingPeriod([5n], { account: alice }),
      'OwnableUnauthorizedAccount',
    );
    await expectRevert(
      staking.write.setUnbondingPeriod([216_001n], { account: deployer }),
      'UnbondingPeriodTooLong',
      [216_001n, 216_000n],
    );
    const receipt = await mined(staking.write.setUnbondingPeriod([216_000n], { account: deployer }));
    const [event] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: 'UnbondingPeriodSet' });
    assert.equal(event?.args.period, 216_000n);
    assert.equal(await staking.read.unbondingPeriod(), 216_000n);
    await mined(staking.write.setUnbondingPeriod([0n], { account: deployer }));
    assert.equal(await staking.read.unbondingPeriod(), 0n);
  });

  it('lets only the owner set a bounded deallocation period and the slasher (once wired)', async () => {
    const { staking, mined, deployer, alice } = fx();
    assert.equal(await staking.read.deallocationPeriod(), 7_200n);
    await expectRevert(
      staking.write.setDeallocationPeriod([5n], { account: alice }),
      'OwnableUnauthorizedAccount',
    );
    await expectRevert(
      staking.write.setDeallocationPeriod([216_001n], { account: deployer }),
      'DeallocationPeriodTooLong',
      [216_001n, 216_000n],
    );
    const receipt = await mined(staking.write.setDeallocationPeriod([3n], { account: deployer }));
    const [event] = parseEventLogs({
      abi: stakingAbi,
      logs: receipt.logs,
      eventName: 'DeallocationPeriodSet',
    });
    assert.equal(event?.args.period, 3n);
    assert.equal(await staking.read.deallocationPeriod(), 3n);
    await expectRevert(
      staking.write.setSlasher([alice.address], { account: alice }),
      'OwnableUnauthorizedAccount',
    );
    await expectRevert(staking.write.setSlasher([zeroAddress], { account: deployer }), 'ZeroAddress');
    await expectRevert(staking.write.slash([1, HOT_A, 100n], { account: alice }), 'NotSlasher', [
      alice.address,
    ]);
  });

  it('keeps balance == totalStaked + deallocating + unbonding through 120 random operations by 4 coldkeys', async () => {
    const { staking, token, mined, mine, blockNumber, deployer, addresses, accounts } = fx();
    await mined(staking.write.setUnbondingPeriod([3n], { account: deployer }));
    await mined(staking.write.setDeallocationPeriod([2n], { account: deployer }));
    const coldkeys = accounts.slice(2, 6);
    const pairs: [number, Address][] = [
      [1, HOT_A],
      [1, HOT_B],
      [2, HOT_A],
    ];
    const rand = prng(42);
    // A model of the ledger, checked against the contract at the end.
    const free = new Map<Address, bigint>();
    const unbond = new Map<Address, { amount: bigint; release: bigint }>();
    const alloc = new Map<string, bigint>();
    const dealloc = new Map<string, { amount: bigint; release: bigint }>();
    const key = (c: Address, p: number) => `${c}/${p}`;
    let applied = 0;
    for (let op = 0; op < 120; op++) {
      const coldkey = coldkeys[rand(coldkeys.length)] as (typeof coldkeys)[number];
      const c = coldkey.address;
      const f = free.get(c) ?? 0n;
      const kind = rand(7);
      const amount = BigInt(1 + rand(1000)) * 10n ** 15n;
      if (kind === 0 || f === 0n) {
        await mined(staking.write.stake([amount], { account: coldkey }));
        free.set(c, f + amount);
      } else if (kind === 1) {
        const a = amount > f ? f : amount;
        await mined(staking.write.unstake([a], { account: coldkey }));
        free.set(c, f - a);
        const u = unbond.get(c) ?? { amount: 0n, release: 0n };
        unbond.set(c, { amount: u.amount + a, release: (await blockNumber()) + 3n });
      } else if (kind === 2) {
        const u = unbond.get(c);
        if (u === undefined || u.amount === 0n) continue;
        const now = (await blockNumber()) + 1n;
        if (now < u.release) await mine(Number(u.release - now));
        await mined(staking.write.claim({ account: coldkey }));
        unbond.delete(c);
      } else if (kind === 3 || kind === 4) {
        const p = rand(pairs.length);
        const [netuid, hotkey] = pairs[p] as [number, Address];
        const a = amount > f ? f : amount;
        await mined(staking.write.allocate([netuid, hotkey, a], { account: coldkey }));
        free.set(c, f - a);
        alloc.set(key(c, p), (alloc.get(key(c, p)) ?? 0n) + a);
      } else if (kind === 5) {
        const p = rand(pairs.length);
        const [netuid, hotkey] = pairs[p] as [number, Address];
        const current = alloc.get(key(c, p)) ?? 0n;
        if (current === 0n) continue;
        const a = amount > current ? current : amount;
        await mined(staking.write.deallocate([netuid, hotkey, a], { account: coldkey }));
        alloc.set(key(c, p), current - a);
        const d = dealloc.get(key(c, p)) ?? { amount: 0n, release: 0n };
        dealloc.set(key(c, p), { amount: d.amount + a, release: (await blockNumber()) + 2n });
      } else {
        const p = rand(pairs.length);
        const [netuid, hotkey] = pairs[p] as [number, Address];
        const d = dealloc.get(key(c, p));
        if (d === undefined) continue;
        const now = (await blockNumber()) + 1n;
        if (now < d.release) await mine(Number(d.release - now));
        await mined(staking.write.withdrawAllocation([netuid, hotkey], { account: coldkey }));
        dealloc.delete(key(c, p));
        free.set(c, f + d.amount);
      }
      applied++;
      if (op % 10 === 9) {
        const [balance, staked, deallocating, unbonding] = await Promise.all([
          token.read.balanceOf([addresses.staking]),
          staking.read.totalStaked(),
          staking.read.totalDeallocating(),
          staking.read.totalUnbonding(),
        ]);
        assert.equal(balance, staked + deallocating + unbonding, `after op ${op}`);
      }
    }
    assert.ok(applied > 90);

    let staked = 0n;
    let unbonding = 0n;
    let deallocating = 0n;
    for (const coldkey of coldkeys) {
      const c = coldkey.address;
      let allocated = 0n;
      for (let p = 0; p < pairs.length; p++) {
        const [netuid, hotkey] = pairs[p] as [number, Address];
        const expected = alloc.get(key(c, p)) ?? 0n;
        allocated += expected;
        assert.equal(await staking.read.allocation([c, netuid, hotkey]), expected);
        const d = dealloc.get(key(c, p));
        assert.deepEqual(await staking.read.deallocation([c, netuid, hotkey]), [
          d?.amount ?? 0n,
          d?.release ?? 0n,
        ]);
        deallocating += d?.amount ?? 0n;
      }
      assert.equal(await staking.read.freeStake([c]), free.get(c) ?? 0n);
      assert.equal(await staking.read.allocatedStake([c]), allocated);
      assert.equal(await staking.read.totalStake([c]), (free.get(c) ?? 0n) + allocated);
      const u = unbond.get(c);
      assert.deepEqual(await staking.read.unbonding([c]), [u?.amount ?? 0n, u?.release ?? 0n]);
      staked += (free.get(c) ?? 0n) + allocated;
      unbonding += u?.amount ?? 0n;
    }
    let pairSum = 0n;
    for (let p = 0; p < pairs.length; p++) {
      const [netuid, hotkey] = pairs[p] as [number, Address];
      let expected = 0n;
      for (const coldkey of coldkeys) expected += alloc.get(key(coldkey.address, p)) ?? 0n;
      assert.equal(await staking.read.hotkeyStake([netuid, hotkey]), expected);
      pairSum += expected;
    }
    assert.equal(
      (await staking.read.subnetStake([1])) + (await staking.read.subnetStake([2])),
      pairSum,
      'subnet stakes sum to all allocations',
    );
    assert.equal(
      (await staking.read.hotkeyTotalStake([HOT_A])) + (await staking.read.hotkeyTotalStake([HOT_B])),
      pairSum,
    );
    assert.equal(await staking.read.totalStaked(), staked);
    assert.equal(await staking.read.totalUnbonding(), unbonding);
    assert.equal(await staking.read.totalDeallocating(), deallocating);
    assert.equal(await token.read.balanceOf([addresses.staking]), staked + deallocating + unbonding);
  });
});
